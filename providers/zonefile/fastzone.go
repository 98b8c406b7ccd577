package zonefile

import (
	"bytes"
	"net"
	"sync"

	"github.com/miekg/dns"
)

// parseZoneFast parses a zone file written one record a line with $ORIGIN
// and $TTL, as maildns and most generators write them: owner, optional TTL
// and class IN, and a type among SOA, NS, A, AAAA, MX, CNAME, PTR, SRV, CAA
// and TXT (quoted strings). It returns the records miekg/dns's zone parser
// would (owner and data as written, relative names completed) at a fraction
// of its cost. Anything else — parentheses, blank owners, escapes, other
// types or classes, TTL units, $INCLUDE and $GENERATE, non-ASCII text — and
// every error returns ok false, and the caller parses the text with
// miekg/dns, which then gives its own answer and its own messages.
func parseZoneFast(data []byte, origin string) (rrs []dns.RR, ok bool) {
	return parseZoneFastSplit(data, origin, len(data) >= parallelMin)
}

// parseZoneFastSplit is parseZoneFast, in two halves side by side when
// split.
func parseZoneFastSplit(data []byte, origin string, split bool) (rrs []dns.RR, ok bool) {
	if !fastCandidate(data) {
		return nil, false
	}
	start := fastState{origin: origin}
	if split {
		// Each line stands alone but for the $ORIGIN and $TTL before it:
		// a large text is parsed in two halves side by side, the second
		// from the state the first leaves (found by reading only its
		// directives).
		mid := bytes.IndexByte(data[len(data)/2:], '\n')
		if mid >= 0 {
			mid += len(data)/2 + 1
			if st, ok := start.after(data[:mid]); ok {
				var second []dns.RR
				var secondOK bool
				var wg sync.WaitGroup
				lines := bytes.Count(data, []byte{'\n'}) + 1
				wg.Go(func() { second, secondOK = parseFastFrom(data[mid:], st, 0) })
				// The first half's array has room for the second's.
				first, firstOK := parseFastFrom(data[:mid], start, lines)
				wg.Wait()
				if !firstOK || !secondOK {
					return nil, false
				}
				return append(first, second...), true
			}
		}
	}
	return parseFastFrom(data, start, 0)
}

// parallelMin is the size of zone text from which its work runs in two
// side by side: parseZoneFast's and readCanonical's halves; a read's parse
// and split into entries, and its records' naming in halves; an edit's
// check and the writing of its temporary file.
const parallelMin = 256 << 10

// parseFastFrom is parseZoneFast of data read from the state st, into an
// array of room for size records (0: one a line of data).
func parseFastFrom(data []byte, st fastState, size int) (rrs []dns.RR, ok bool) {
	if size == 0 {
		size = bytes.Count(data, []byte{'\n'}) + 1
	}
	rrs = make([]dns.RR, 0, size)
	ok = scanZoneFastFrom(data, st, func(owner []byte, ttl uint32, typ string, f [][]byte, origin string) bool {
		name, ok := fastName(owner, origin)
		if !ok {
			return false
		}
		rr, ok := fastRData(dns.RR_Header{Name: name, Class: dns.ClassINET, Ttl: ttl}, typ, f, origin)
		if ok {
			rrs = append(rrs, rr)
		}
		return ok
	})
	if !ok {
		return nil, false
	}
	return rrs, true
}

// fastState is what scanZoneFastFrom carries from line to line: the $ORIGIN
// and the $TTL in force.
type fastState struct {
	origin  string
	ttl     uint32
	haveTTL bool
}

// directive takes the $ORIGIN or $TTL line of fields into st: is says
// whether it is one, ok whether it is one scanZoneFastFrom takes.
func (st *fastState) directive(fields [][]byte) (is, ok bool) {
	switch string(fields[0]) {
	case "$ORIGIN":
		if len(fields) != 2 || !bytes.HasSuffix(fields[1], []byte{'.'}) {
			return true, false
		}
		if !fastNameOK(fields[1], "") {
			return true, false
		}
		if string(fields[1]) != st.origin { // the zone's own: no copy
			st.origin = string(fields[1])
		}
		return true, true
	case "$TTL":
		if len(fields) != 2 {
			return true, false
		}
		t, ok := fastUint(fields[1], 9)
		if !ok {
			return true, false
		}
		st.ttl, st.haveTTL = uint32(t), true
		return true, true
	}
	return false, true
}

// after returns the state scanZoneFastFrom is in after data, read from st,
// looking only at its directive lines; ok is false when one of those is
// not one scanZoneFastFrom takes (it would refuse the text).
func (st fastState) after(data []byte) (fastState, bool) {
	var fields [][]byte
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte{'\n'})
		if len(line) == 0 || line[0] != '$' {
			continue
		}
		var ok bool
		if fields, ok = zoneFields(line, fields[:0]); !ok || len(fields) == 0 {
			return st, false
		}
		if is, ok := st.directive(fields); is && !ok {
			return st, false
		}
	}
	return st, true
}

// scanZoneFastFrom reads the lines of data as parseZoneFast takes them,
// from the $ORIGIN and $TTL of st, and calls record for each record line:
// its owner as written, its TTL, its type (one of fastTypes), its data
// fields and the $ORIGIN in force. record checks the owner and the data
// and returns false for what it does not take. scanZoneFastFrom returns
// false as soon as a line or record is refused. Its callers first check
// data with fastCandidate.
func scanZoneFastFrom(data []byte, st fastState, record func(owner []byte, ttl uint32, typ string, f [][]byte, origin string) bool) bool {
	fp := fieldBufs.Get().(*[][]byte)
	fields := *fp
	defer func() {
		clear(fields[:cap(fields)]) // the file's bytes
		*fp = fields[:0]
		fieldBufs.Put(fp)
	}()
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte{'\n'})
		var ok bool
		fields, ok = zoneFields(line, fields[:0])
		if !ok {
			return false
		}
		if len(fields) == 0 {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			return false // a blank owner: the previous record's
		}
		if is, ok := st.directive(fields); is {
			if !ok {
				return false
			}
			continue
		}
		rest := fields[1:]
		var ttl uint32
		ttlSet, classSet := false, false
		for len(rest) > 0 {
			if t, ok := fastUint(rest[0], 9); ok && !ttlSet {
				ttl, ttlSet = uint32(t), true
			} else if bytes.EqualFold(rest[0], []byte("IN")) && !classSet {
				classSet = true
			} else {
				break
			}
			rest = rest[1:]
		}
		if !ttlSet {
			if !st.haveTTL {
				return false
			}
			ttl = st.ttl
		}
		if len(rest) < 2 {
			return false
		}
		typ := fastType(rest[0])
		if typ == "" || !record(fields[0], ttl, typ, rest[1:], st.origin) {
			return false
		}
	}
	return true
}

// fastCandidate reports whether data may be a zone parseZoneFast takes:
// one without parentheses (multi-line records), escapes or CRLF, which are
// not worth a try.
func fastCandidate(data []byte) bool {
	// Four vector scans of the text rather than one byte at a time
	// against a set: 0.19 µs rather than 1.9 for a 1 KB zone.
	return bytes.IndexByte(data, '(') < 0 && bytes.IndexByte(data, ')') < 0 &&
		bytes.IndexByte(data, '\\') < 0 && bytes.IndexByte(data, '\r') < 0
}

// fieldBufs hold scanZoneFastFrom's room for a line's fields.
var fieldBufs = sync.Pool{New: func() any { f := make([][]byte, 0, 16); return &f }}

// zoneFields splits a line into its fields, a quoted string one field with
// its quotes, up to a comment. ok is false for what parseZoneFast leaves to
// miekg/dns: parentheses, escapes, control and non-ASCII characters, and a
// quote that is not closed or is followed by more than a space.
func zoneFields(line []byte, out [][]byte) ([][]byte, bool) {
	for i := 0; i < len(line); {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == ';':
			return out, true
		case c == '"':
			j := bytes.IndexByte(line[i+1:], '"')
			if j < 0 {
				return nil, false
			}
			end := i + 1 + j + 1
			if end < len(line) && line[end] != ' ' && line[end] != '\t' {
				return nil, false
			}
			for _, b := range line[i+1 : end-1] {
				if b < 0x20 || b >= 0x7f || b == '\\' {
					return nil, false
				}
			}
			out = append(out, line[i:end])
			i = end
		default:
			j := i
			for j < len(line) && line[j] != ' ' && line[j] != '\t' {
				b := line[j]
				if b < 0x21 || b >= 0x7f || b == '\\' || b == '(' || b == ')' || b == '"' || b == ';' {
					return nil, false
				}
				j++
			}
			out = append(out, line[i:j])
			i = j
		}
	}
	return out, true
}

// fastName returns s as a fully qualified name: "@" is origin, a relative
// name is completed with it. Only letters, digits, '-' and '_' in labels of
// 1 to 63 characters, and a first label "*", are taken.
func fastName(b []byte, origin string) (string, bool) {
	if !fastNameOK(b, origin) {
		return "", false
	}
	switch {
	case len(b) == 1 && b[0] == '@':
		return origin, true
	case b[len(b)-1] == '.':
		return string(b), true
	case origin == ".":
		return string(b) + ".", true
	}
	return string(b) + "." + origin, true
}

// appendLowerName appends the name fastName returns, in lower case.
func appendLowerName(dst, b []byte, origin string) ([]byte, bool) {
	if !fastNameOK(b, origin) {
		return dst, false
	}
	switch {
	case len(b) == 1 && b[0] == '@':
		return appendLower(dst, origin), true
	case b[len(b)-1] == '.':
		return appendLower(dst, b), true
	}
	dst = append(appendLower(dst, b), '.')
	if origin != "." {
		dst = appendLower(dst, origin)
	}
	return dst, true
}

// appendLower appends s in ASCII lower case.
func appendLower[S string | []byte](dst []byte, s S) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// fastNameOK reports whether fastName takes b.
func fastNameOK(b []byte, origin string) bool {
	if len(b) == 1 && b[0] == '@' {
		return origin != ""
	}
	relative := b[len(b)-1] != '.'
	if relative && origin == "" {
		return false
	}
	n := len(b)
	if relative && origin != "." {
		n += 1 + len(origin)
	}
	if n > 254 {
		return false
	}
	if len(b) == 1 && b[0] == '.' {
		return true
	}
	label := 0
	for i, c := range b {
		switch {
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
			continue
		case c == '*':
			if i != 0 || len(b) < 2 || b[1] != '.' {
				return false
			}
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
		if label++; label > 63 {
			return false
		}
	}
	return true
}

// fastUint parses a number of at most digits decimal digits.
func fastUint(b []byte, digits int) (uint64, bool) {
	if len(b) == 0 || len(b) > digits {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// fastTypes are the types parseZoneFast reads.
var fastTypes = []string{"A", "AAAA", "CAA", "CNAME", "MX", "NS", "PTR", "SOA", "SRV", "TXT"}

// fastType returns the type b names in any case, "" for another.
func fastType(b []byte) string {
	for _, t := range fastTypes {
		if len(b) == len(t) && bytes.EqualFold(b, []byte(t)) {
			return t
		}
	}
	return ""
}

// fastRData builds the record of type typ from its data fields.
func fastRData(hdr dns.RR_Header, typ string, f [][]byte, origin string) (dns.RR, bool) {
	name := func(b []byte) (string, bool) { return fastName(b, origin) }
	switch typ {
	case "A", "AAAA":
		if len(f) != 1 {
			return nil, false
		}
		ip := net.ParseIP(string(f[0]))
		if ip == nil || bytes.IndexByte(f[0], ':') >= 0 != (typ == "AAAA") {
			return nil, false
		}
		if typ == "A" {
			hdr.Rrtype = dns.TypeA
			return &dns.A{Hdr: hdr, A: ip}, true
		}
		hdr.Rrtype = dns.TypeAAAA
		return &dns.AAAA{Hdr: hdr, AAAA: ip}, true
	case "NS", "CNAME", "PTR":
		if len(f) != 1 {
			return nil, false
		}
		target, ok := name(f[0])
		if !ok {
			return nil, false
		}
		switch typ {
		case "NS":
			hdr.Rrtype = dns.TypeNS
			return &dns.NS{Hdr: hdr, Ns: target}, true
		case "CNAME":
			hdr.Rrtype = dns.TypeCNAME
			return &dns.CNAME{Hdr: hdr, Target: target}, true
		}
		hdr.Rrtype = dns.TypePTR
		return &dns.PTR{Hdr: hdr, Ptr: target}, true
	case "MX":
		if len(f) != 2 {
			return nil, false
		}
		pref, ok := fastUint(f[0], 5)
		if !ok || pref > 65535 {
			return nil, false
		}
		target, ok := name(f[1])
		if !ok {
			return nil, false
		}
		hdr.Rrtype = dns.TypeMX
		return &dns.MX{Hdr: hdr, Preference: uint16(pref), Mx: target}, true
	case "TXT":
		txt := make([]string, len(f))
		for i, s := range f {
			if len(s) < 3 || s[0] != '"' || len(s)-2 > 255 {
				return nil, false // unquoted, empty or longer than a string may be
			}
			txt[i] = string(s[1 : len(s)-1])
		}
		hdr.Rrtype = dns.TypeTXT
		return &dns.TXT{Hdr: hdr, Txt: txt}, true
	case "SOA":
		v, ok := fastSOA(f, origin)
		if !ok {
			return nil, false
		}
		ns, _ := name(f[0])
		mbox, _ := name(f[1])
		hdr.Rrtype = dns.TypeSOA
		return &dns.SOA{Hdr: hdr, Ns: ns, Mbox: mbox, Serial: v[0], Refresh: v[1], Retry: v[2], Expire: v[3], Minttl: v[4]}, true
	case "SRV":
		if len(f) != 4 {
			return nil, false
		}
		var v [3]uint16
		for i := range v {
			n, ok := fastUint(f[i], 5)
			if !ok || n > 65535 {
				return nil, false
			}
			v[i] = uint16(n)
		}
		target, ok := name(f[3])
		if !ok {
			return nil, false
		}
		hdr.Rrtype = dns.TypeSRV
		return &dns.SRV{Hdr: hdr, Priority: v[0], Weight: v[1], Port: v[2], Target: target}, true
	case "CAA":
		if len(f) != 3 || len(f[2]) < 2 || f[2][0] != '"' || len(f[2])-2 > 255 {
			return nil, false // miekg/dns splits a longer value, then refuses it
		}
		flag, ok := fastUint(f[0], 3)
		if !ok || flag > 255 || len(f[1]) == 0 {
			return nil, false
		}
		for _, c := range f[1] {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return nil, false
			}
		}
		hdr.Rrtype = dns.TypeCAA
		return &dns.CAA{Hdr: hdr, Flag: uint8(flag), Tag: string(f[1]), Value: string(f[2][1 : len(f[2])-1])}, true
	}
	return nil, false
}

// fastSOA checks the data fields of an SOA record as fastRData takes them
// and returns its five numbers.
func fastSOA(f [][]byte, origin string) (v [5]uint32, ok bool) {
	if len(f) != 7 || !fastNameOK(f[0], origin) || !fastNameOK(f[1], origin) {
		return v, false
	}
	for i := range v {
		n, ok := fastUint(f[2+i], 10)
		if !ok || n > 1<<32-1 || i > 0 && n > 1<<31-1 {
			return v, false
		}
		v[i] = uint32(n)
	}
	return v, true
}
