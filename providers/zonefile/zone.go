package zonefile

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/libdns/libdns"
	"github.com/miekg/dns"

	"github.com/maildns/maildns/providers"
)

// defaultTTL is the TTL of records appended with TTL 0 to a zone file that
// has neither a $TTL line nor an SOA record.
const defaultTTL = 3600

// maxTTL is the largest TTL RFC 2181 allows.
const maxTTL = 1<<31 - 1

// entry is one record of a zone file other than its SOA.
type entry struct {
	id int // the record's place in the file as read; -1 for a new record
	rr dns.RR
	// name is key.Name, known from the start. A write touches the records
	// of a few names of a zone of many: rec and key are worked out (full)
	// only for those, nil and zero until then.
	name string
	rec  libdns.Record // the canonical libdns view of rr
	key  libdns.RR     // rec.RR(), compared by name, type and data
}

// zoneData is a zone file read for a read-modify-write.
type zoneData struct {
	origin  string // zone name, lower case, with trailing dot
	ttl     uint32 // default TTL for records given with TTL 0
	ttlText string // the $TTL value as written in the file, "" when absent
	soa     *dns.SOA
	soaID   int     // the SOA's place in rrs
	serial  uint32  // the SOA serial as read
	entries []entry // every record but the SOA, in file order
	path    string  // the zone file, for messages
	rrs     []dns.RR
	// readNames are the names of readKeys, by id; readKeys the canonical
	// forms of rrs, each worked out when first asked for (readKey).
	readNames []string
	readKeys  []libdns.RR
	doc       *fileDoc // the file's entries, for editing it in place
	// edited are the records of the text editedText last returned, in
	// their order in it.
	edited    []dns.RR
	editedIDs []int32 // of edited: the id of a record kept as read, else -1
}

// parseZone calls fn for every record of the zone file text data in order.
// path is only used in errors, which name path:line.
func parseZone(data []byte, path, origin string, fn func(rr dns.RR, comment string)) error {
	zp := dns.NewZoneParser(bytes.NewReader(data), origin, "")
	if !containsFold(data, "$GENERATE") {
		for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
			fn(rr, zp.Comment())
		}
		if err := zp.Err(); err != nil {
			return parseError(path, err)
		}
		return nil
	}
	// The TTLs of a text with $GENERATE are set right (inheritTTLs)
	// before the records are handed on.
	var rrs []dns.RR
	var comments []string
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		rrs = append(rrs, rr)
		comments = append(comments, zp.Comment())
	}
	if err := zp.Err(); err != nil {
		return parseError(path, err)
	}
	inheritTTLs(unsafe.String(unsafe.SliceData(data), len(data)), origin, rrs)
	for i, rr := range rrs {
		fn(rr, comments[i])
	}
	return nil
}

// inheritTTLs sets the TTL of the records rrs (miekg/dns's of text, in
// order) that give none as BIND does, where miekg/dns does not: it gives
// the records of a $GENERATE line without a TTL the package default (3600)
// rather than the $TTL in force or the last TTL given, and a TTL given by
// a $GENERATE line is not the last TTL given for the records after. A
// text whose entries do not match the records one to one (an $INCLUDE)
// is left as read.
func inheritTTLs(text, origin string, rrs []dns.RR) {
	type fix struct {
		id  int
		ttl uint32
	}
	var fixes []fix
	dirs := directives{origin: origin}
	var dir ttlState   // the $TTL in force
	var last uint32    // the last TTL given
	haveLast := false  // whether one was
	generated := false // since the first $GENERATE line
	id := 0
	// inherit sets the TTL of the next n records, when it is known.
	inherit := func(n int) {
		if !dir.set && !haveLast {
			return
		}
		for k := range n {
			fixes = append(fixes, fix{id + k, dir.inherited(last)})
		}
	}
	entries := splitEntries(text)
	for i := range entries {
		e := &entries[i]
		n, err := dirs.take(e)
		switch e.kind {
		case entryTTL:
			if t, ok := zoneTTL(dirs.ttl); ok {
				dir = ttlState{set: true, byDirective: true, ttl: t}
			}
		case entryInclude:
			return
		case entryGenerate:
			if err != nil {
				return
			}
			if t, ok := generateTTL(e); ok {
				last, haveLast = t, true
			} else {
				inherit(n)
			}
			id += n
			generated = true
		case entryRecord:
			if id >= len(rrs) {
				return
			}
			if e.ttl >= 0 {
				last, haveLast = rrs[id].Header().Ttl, true
			} else if generated {
				inherit(1)
			}
			id++
		}
	}
	if id != len(rrs) {
		return
	}
	for _, f := range fixes {
		rrs[f.id].Header().Ttl = f.ttl
	}
}

// generateTTL returns the TTL a $GENERATE entry gives its records, if it
// gives one: $GENERATE range lhs [ttl] [class] type rhs.
func generateTTL(e *fileEntry) (uint32, bool) {
	if len(e.toks) <= 3 || isTypeToken(e.tok(3)) || isClassToken(e.tok(3)) {
		return 0, false
	}
	return zoneTTL(e.tok(3))
}

// containsFold reports whether data holds word in any case (word is upper
// case ASCII).
func containsFold(data []byte, word string) bool {
	for i := 0; ; {
		j := bytes.IndexByte(data[i:], word[0])
		if j < 0 {
			return false
		}
		i += j
		if len(data)-i >= len(word) && bytes.EqualFold(data[i:i+len(word)], []byte(word)) {
			return true
		}
		i++
	}
}

// parseAll returns the records of the zone file text data in order: by
// the fast parser when it takes the text (it gives exactly the records
// miekg/dns would, FuzzFastZone checks it), else by miekg/dns, whose
// errors name path:line.
func parseAll(data []byte, path, origin string) ([]dns.RR, error) {
	if rrs, ok := parseZoneFast(data, origin); ok {
		return rrs, nil
	}
	var rrs []dns.RR
	err := parseZone(data, path, origin, func(rr dns.RR, _ string) { rrs = append(rrs, rr) })
	return rrs, err
}

// parseError turns a miekg/dns parse error into one that starts with path:line.
func parseError(path string, err error) error {
	msg := err.Error()
	const at = " at line: "
	if i := strings.LastIndex(msg, at); i >= 0 {
		line, _, _ := strings.Cut(msg[i+len(at):], ":")
		if _, convErr := strconv.Atoi(line); convErr == nil {
			return fmt.Errorf("%s:%s: %w", path, line, err)
		}
	}
	return fmt.Errorf("%s: %w", path, err)
}

// toLibdns returns the canonical libdns view of rr (see providers.Normalize):
// name relative to origin and lower case, targets lower case and fully
// qualified, TXT text unescaped and joined. Types libdns models are returned
// as its typed structs, PTR and the rest as libdns.RR with the data in
// presentation form.
func toLibdns(rr dns.RR, origin string) libdns.Record {
	h := rr.Header()
	name := providers.RelativeName(h.Name, origin)
	ttl := time.Duration(h.Ttl) * time.Second
	switch v := rr.(type) {
	case *dns.A:
		if ip, ok := netip.AddrFromSlice(v.A); ok && ip.Unmap().Is4() {
			return libdns.Address{Name: name, TTL: ttl, IP: ip.Unmap()}
		}
	case *dns.AAAA:
		if ip, ok := netip.AddrFromSlice(v.AAAA); ok && ip.Is6() {
			return libdns.Address{Name: name, TTL: ttl, IP: ip}
		}
	case *dns.MX:
		return libdns.MX{Name: name, TTL: ttl, Preference: v.Preference, Target: strings.ToLower(v.Mx)}
	case *dns.CNAME:
		return libdns.CNAME{Name: name, TTL: ttl, Target: strings.ToLower(v.Target)}
	case *dns.NS:
		return libdns.NS{Name: name, TTL: ttl, Target: strings.ToLower(v.Ns)}
	case *dns.TXT:
		return libdns.TXT{Name: name, TTL: ttl, Text: decodeTXT(v.Txt)}
	case *dns.PTR:
		return libdns.RR{Name: name, TTL: ttl, Type: "PTR", Data: strings.ToLower(v.Ptr)}
	case *dns.SPF:
		return libdns.RR{Name: name, TTL: ttl, Type: "SPF", Data: decodeTXT(v.Txt)}
	case *dns.TLSA:
		// Hex in lower case and one piece, as providers.Normalize has it.
		return libdns.RR{Name: name, TTL: ttl, Type: "TLSA", Data: fmt.Sprintf("%d %d %d %s", v.Usage, v.Selector, v.MatchingType, strings.ToLower(v.Certificate))}
	case *dns.CAA:
		return libdns.CAA{Name: name, TTL: ttl, Flags: v.Flag, Tag: v.Tag, Value: decodeTXT([]string{v.Value})}
	case *dns.SRV:
		// libdns.SRV keeps the name only when it is _service._proto[.name].
		parts := strings.SplitN(name, ".", 3)
		if len(parts) >= 2 && len(parts[0]) > 1 && len(parts[1]) > 1 && parts[0][0] == '_' && parts[1][0] == '_' {
			rest := "@"
			if len(parts) == 3 {
				rest = parts[2]
			}
			return libdns.SRV{
				Service: parts[0][1:], Transport: parts[1][1:], Name: rest, TTL: ttl,
				Priority: v.Priority, Weight: v.Weight, Port: v.Port, Target: v.Target,
			}
		}
	}
	r := libdns.RR{Name: name, TTL: ttl, Type: typeString(h.Rrtype), Data: rdata(rr)}
	// Use libdns's own struct where it has one (CAA, SRV, HTTPS, SVCB), but
	// only when it keeps the name: an SRV without _service._proto labels
	// would come back under another name.
	if p, err := r.Parse(); err == nil {
		if pr := p.RR(); pr.Name == r.Name && pr.Type == r.Type {
			return p
		}
	}
	return r
}

func typeString(t uint16) string {
	if s, ok := dns.TypeToString[t]; ok {
		return s
	}
	return "TYPE" + strconv.Itoa(int(t))
}

// rdata returns the data of rr in presentation form. Records of types
// miekg/dns does not know, and NULL records (which have no presentation
// form), are given in the generic form of RFC 3597 (\# length hex), which
// every server reads back to the same bytes.
func rdata(rr dns.RR) string {
	switch v := rr.(type) {
	case *dns.RFC3597:
		return genericRdata(v.Rdata)
	case *dns.NULL:
		return genericRdata(hex.EncodeToString([]byte(v.Data)))
	}
	s, h := rr.String(), rr.Header().String()
	if strings.HasPrefix(s, h) {
		return s[len(h):]
	}
	var u dns.RFC3597
	if err := u.ToRFC3597(rr); err == nil {
		return genericRdata(u.Rdata)
	}
	return s
}

// genericRdata returns RFC 3597 data (\# length hex) for hex-encoded bytes.
func genericRdata(hexData string) string {
	if hexData == "" {
		return `\# 0`
	}
	return `\# ` + strconv.Itoa(len(hexData)/2) + " " + strings.ToLower(hexData)
}

// newEntry makes the entry of rr: its name only, but for a new record (id
// -1), whose canonical forms are worked out at once.
func newEntry(id int, rr dns.RR, origin string) entry {
	if id < 0 {
		rec := toLibdns(rr, origin)
		key := rec.RR()
		return entry{id: id, rr: rr, name: key.Name, rec: rec, key: key}
	}
	return entry{id: id, rr: rr, name: providers.RelativeName(rr.Header().Name, origin)}
}

// full returns e with its canonical forms worked out (kept in e).
func (z *zoneData) full(e *entry) *entry {
	if e.rec == nil {
		e.rec = toLibdns(e.rr, z.origin)
		e.key = e.rec.RR()
		if e.id >= 0 {
			z.readKeys[e.id] = e.key
		}
	}
	return e
}

// readKey returns the canonical form of the record of the file with id.
func (z *zoneData) readKey(id int) libdns.RR {
	if z.readKeys[id].Type == "" {
		z.readKeys[id] = toLibdns(z.rrs[id], z.origin).RR()
	}
	return z.readKeys[id]
}

// readZone parses a whole zone file for a read-modify-write. The zone's
// text is data itself, not a copy (a zone of 100,000 domains is 58 MB):
// data must not change afterwards.
func readZone(data []byte, path, origin string) (*zoneData, error) {
	z := &zoneData{origin: origin, path: path, soaID: -1}
	// The text's entries (for the edit) are split while its records are
	// parsed: a large zone's write waits for both.
	text := unsafe.String(unsafe.SliceData(data), len(data))
	var split chan []fileEntry
	if len(data) >= parallelMin {
		split = make(chan []fileEntry, 1)
		go func() { split <- splitEntries(text) }()
	}
	rrs, err := parseAll(data, path, origin)
	var entries []fileEntry
	if split != nil {
		entries = <-split
	} else if err == nil {
		entries = splitEntries(text)
	}
	if err != nil {
		return nil, err
	}
	z.rrs = rrs
	for id, rr := range rrs {
		if soa, ok := rr.(*dns.SOA); ok {
			z.soa, z.soaID, z.serial = soa, id, soa.Serial
			break
		}
	}
	n := len(rrs)
	if z.soa != nil {
		n--
	}
	z.entries = make([]entry, n)
	z.readNames = make([]string, len(rrs))
	z.readKeys = make([]libdns.RR, len(rrs))
	// Every record's entry (its name; the rest when a write looks at
	// it); the first SOA is not an entry.
	convert := func(from, to int) {
		for id := from; id < to; id++ {
			e := newEntry(id, rrs[id], origin)
			z.readNames[id] = e.name
			switch {
			case id < z.soaID || z.soaID < 0:
				z.entries[id] = e
			case id > z.soaID:
				z.entries[id-1] = e
			}
		}
	}
	var converted sync.WaitGroup
	if len(data) >= parallelMin {
		// A large zone's records are named in two halves while its
		// entries are matched with them.
		half := len(rrs) / 2
		converted.Go(func() { convert(0, half) })
		converted.Go(func() { convert(half, len(rrs)) })
	} else {
		convert(0, len(rrs))
	}
	z.doc, err = splitDoc(text, entries, path, origin, z.rrs)
	converted.Wait()
	if err != nil {
		return nil, err
	}
	z.ttlText = dollarTTL(data)
	switch ttl, ok := parseTTL(z.ttlText); {
	case ok:
		z.ttl = ttl
	case z.soa != nil:
		z.ttl = z.soa.Hdr.Ttl
	default:
		z.ttl = defaultTTL
	}
	return z, nil
}

// dollarTTL returns the value of the first $TTL line of a zone file, or "".
func dollarTTL(data []byte) string {
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte{'\n'})
		if !bytes.HasPrefix(line, []byte("$TTL")) {
			continue
		}
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		if f := strings.Fields(string(line)); len(f) >= 2 && f[0] == "$TTL" {
			return f[1]
		}
	}
	return ""
}

// parseTTL reads a TTL as zone files write it: seconds, or BIND units (1h30m).
func parseTTL(s string) (uint32, bool) {
	if s == "" {
		return 0, false
	}
	var total, num uint64
	digits := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isDigit(c) {
			num = num*10 + uint64(c-'0')
			digits = true
			if num > maxTTL {
				return 0, false
			}
			continue
		}
		if !digits {
			return 0, false
		}
		var unit uint64
		switch c {
		case 's', 'S':
			unit = 1
		case 'm', 'M':
			unit = 60
		case 'h', 'H':
			unit = 3600
		case 'd', 'D':
			unit = 86400
		case 'w', 'W':
			unit = 604800
		default:
			return 0, false
		}
		total += num * unit
		num, digits = 0, false
	}
	total += num
	if total > maxTTL {
		return 0, false
	}
	return uint32(total), true
}

// ttlFor returns the TTL in seconds to write for a record given with ttl.
// 0 means the zone's default; a TTL under a second is written as 0.
func (z *zoneData) ttlFor(ttl time.Duration) (uint32, error) {
	if ttl == 0 {
		return z.ttl, nil
	}
	if ttl < 0 || ttl/time.Second > maxTTL {
		return 0, fmt.Errorf("TTL %v out of range", ttl)
	}
	return uint32(ttl / time.Second), nil
}

// entryFor turns a record given to a libdns method into a zone file record.
// Its name and any target without a trailing dot are relative to the zone,
// TXT data is the raw text, everything else is zone file syntax.
func (z *zoneData) entryFor(rec libdns.Record) (entry, error) {
	r := rec.RR()
	typ := strings.ToUpper(strings.TrimSpace(r.Type))
	if strings.TrimSpace(r.Name) == "" {
		return entry{}, fmt.Errorf("%s record with an empty name", typ)
	}
	name := providers.RelativeName(r.Name, z.origin)
	bad := func(format string, args ...any) (entry, error) {
		return entry{}, fmt.Errorf("%s %s: %s", name, typ, fmt.Sprintf(format, args...))
	}
	switch typ {
	case "":
		return bad("record type is empty")
	case "SOA":
		return bad("the SOA record is kept by the zone file and not changed through libdns")
	}
	rrtype, ok := dns.StringToType[typ]
	if !ok {
		if n, err := strconv.ParseUint(strings.TrimPrefix(typ, "TYPE"), 10, 16); err == nil && strings.HasPrefix(typ, "TYPE") {
			rrtype = uint16(n)
		} else {
			return bad("unknown record type")
		}
	}
	if strings.ContainsAny(name, " \t\r\n;()\"") || strings.HasPrefix(name, "$") {
		return bad("name %q is not a domain name", name)
	}
	owner := providers.AbsoluteName(name, z.origin)
	if !dns.IsSubDomain(z.origin, owner) {
		return bad("name %q is outside the zone", r.Name)
	}
	ttl, err := z.ttlFor(r.TTL)
	if err != nil {
		return bad("%v", err)
	}
	var data string
	switch typ {
	case "TXT", "SPF":
		data = encodeTXT(r.Data)
	default:
		data = strings.TrimSpace(r.Data)
		if data == "" {
			return bad("record data is empty")
		}
		if strings.ContainsAny(data, "\r\n") {
			return bad("record data %q spans lines", r.Data)
		}
	}
	line := owner + " " + strconv.FormatUint(uint64(ttl), 10) + " IN " + typ + " " + data + "\n"
	// The fast parser first (it gives what miekg/dns gives, or declines):
	// a write of thousands of records makes no zone parser for each.
	if rrs, ok := parseZoneFastSplit([]byte(line), z.origin, false); ok && len(rrs) == 1 && rrs[0].Header().Rrtype == rrtype {
		return newEntry(-1, rrs[0], z.origin), nil
	}
	zp := dns.NewZoneParser(strings.NewReader(line), z.origin, "")
	rr, ok := zp.Next()
	if !ok {
		err := zp.Err()
		if err == nil {
			err = fmt.Errorf("no record")
		}
		return bad("bad data %q: %v", r.Data, err)
	}
	if _, more := zp.Next(); more || zp.Err() != nil {
		return bad("bad data %q", r.Data)
	}
	if rr.Header().Rrtype != rrtype {
		return bad("data %q parses as type %s", r.Data, typeString(rr.Header().Rrtype))
	}
	return newEntry(-1, rr, z.origin), nil
}

// sameRecord reports whether a and b are the same record (name, type and
// data), whatever their TTLs.
func sameRecord(a, b libdns.RR) bool {
	return a.Name == b.Name && a.Type == b.Type && a.Data == b.Data
}

// relOwner returns name relative to origin ("@" for the apex), keeping its
// case, or name itself when it is outside the zone.
func relOwner(name, origin string) string {
	if strings.EqualFold(name, origin) {
		return "@"
	}
	if n := len(name) - len(origin); n > 1 && name[n-1] == '.' && strings.EqualFold(name[n:], origin) {
		return name[:n-1]
	}
	return name
}

// nextSerial returns the SOA serial to write after old. A serial in the
// YYYYMMDDnn convention becomes today's date with nn 00, or old+1 when old is
// already at or past today; any other serial is incremented.
func nextSerial(old uint32, now time.Time) uint32 {
	if old >= 1_000_000_000 {
		d := old / 100
		y, m, day := d/10000, d/100%100, d%100
		if y >= 1970 && m >= 1 && m <= 12 && day >= 1 && day <= 31 {
			now = now.UTC()
			today := (uint32(now.Year())*10000 + uint32(now.Month())*100 + uint32(now.Day())) * 100
			if old < today {
				return today
			}
		}
	}
	return old + 1
}

// kept says, by id, which records of the file as read z still holds as
// they were (the SOA among them).
func (z *zoneData) kept() []bool {
	keep := make([]bool, len(z.rrs))
	if z.soa != nil {
		keep[z.soaID] = true
	}
	for _, e := range z.entries {
		if e.id >= 0 {
			keep[e.id] = true
		}
	}
	return keep
}

// changedNames returns the owner names (canonical) of the records the
// write removes or adds: those of every other name are as they were.
func (z *zoneData) changedNames() map[string]bool {
	names := map[string]bool{}
	for _, e := range z.entries {
		if e.id < 0 {
			names[e.name] = true
		}
	}
	for id, kept := range z.kept() {
		if !kept {
			names[z.readNames[id]] = true
		}
	}
	return names
}

// keys returns the canonical form of every record of z but the SOA, as
// they are now, at the names in names.
func (z *zoneData) keys(names map[string]bool) []libdns.RR {
	var out []libdns.RR
	for i := range z.entries {
		if names[z.entries[i].name] {
			out = append(out, z.full(&z.entries[i]).key)
		}
	}
	return out
}

// keysAsRead returns the canonical form of every record of the file as it
// was read, the SOA aside, at the names in names.
func (z *zoneData) keysAsRead(names map[string]bool) []libdns.RR {
	var out []libdns.RR
	for id, name := range z.readNames {
		if id != z.soaID && names[name] {
			out = append(out, z.readKey(id))
		}
	}
	return out
}
