package zonefile

import (
	"bytes"
	"net/netip"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/libdns/libdns"
	"github.com/miekg/dns"

	"github.com/maildns/maildns/providers"
)

// canonRec is one record readCanonical found: its name and data as spans
// [start, end) of canonBuf.text. name[0] is nameApex for "@", and nameLong
// for a record read the long way, whole in canonBuf.longs[data[0]].
type canonRec struct {
	name, data [2]int32
	ttl        uint32
	typ        string
}

const (
	nameApex = -1
	nameLong = -2
)

// Buffers grown past these by a large zone are left to the collector.
const (
	canonKeepText = 64 << 10
	canonKeepRecs = 2048
)

// canonBuf is readCanonical's working memory, kept between reads.
type canonBuf struct {
	text  []byte // the canonical names and data of the zone, back to back
	recs  []canonRec
	longs []libdns.RR
	name  []byte // a name being made
}

var canonBufs = sync.Pool{New: func() any { return new(canonBuf) }}

// readCanonical reads a zone file written as parseZoneFast takes it
// straight into the records the engine compares: what providers.Normalize
// makes of each record GetRecords returns but the SOA, in file order. All
// names and data share one string, and no dns.RR is made but for SRV and
// CAA. ok is false for any file parseZoneFast does not take, and for a TXT
// text with a space at either end (which Normalize would change: the
// engine needs both forms).
func readCanonical(data []byte, origin string) ([]libdns.RR, bool) {
	return readCanonicalSplit(data, origin, len(data) >= parallelMin)
}

// readCanonicalSplit is readCanonical, in two halves side by side when
// split (as parseZoneFastSplit: the second half read from the $ORIGIN and
// $TTL the first leaves). The records are the same; each half's names and
// data share a string of their own.
func readCanonicalSplit(data []byte, origin string, split bool) ([]libdns.RR, bool) {
	if len(data) > 1<<29 || !fastCandidate(data) {
		return nil, false // past what the spans count, or not for the fast parser
	}
	start := fastState{origin: origin}
	if split {
		if mid := bytes.IndexByte(data[len(data)/2:], '\n'); mid >= 0 {
			mid += len(data)/2 + 1
			if st, ok := start.after(data[:mid]); ok {
				var second []libdns.RR
				var secondOK bool
				var wg sync.WaitGroup
				wg.Go(func() { second, secondOK = readCanonicalFrom(data[mid:], st, origin, 0) })
				room := bytes.Count(data[mid:], []byte{'\n'}) + 1
				first, firstOK := readCanonicalFrom(data[:mid], start, origin, room)
				wg.Wait()
				if !firstOK || !secondOK {
					return nil, false
				}
				return append(first, second...), true
			}
		}
	}
	return readCanonicalFrom(data, start, origin, 0)
}

// readCanonicalFrom is readCanonical of data read from the state st, into
// an array with room for room records more.
func readCanonicalFrom(data []byte, st fastState, origin string, room int) ([]libdns.RR, bool) {
	b := canonBufs.Get().(*canonBuf)
	defer func() {
		if cap(b.text) > canonKeepText || cap(b.recs) > canonKeepRecs {
			return
		}
		clear(b.longs)
		b.text, b.recs, b.longs, b.name = b.text[:0], b.recs[:0], b.longs[:0], b.name[:0]
		canonBufs.Put(b)
	}()
	// Room for a line's record and its text at once: a big zone's buffers
	// are not grown by doubling.
	if n := bytes.Count(data, []byte{'\n'}) + 1; cap(b.recs) < n {
		b.recs = make([]canonRec, 0, n)
	}
	if cap(b.text) < len(data) {
		b.text = make([]byte, 0, len(data))
	}
	zone := origin[:len(origin)-1]
	ok := scanZoneFastFrom(data, st, func(owner []byte, ttl uint32, typ string, f [][]byte, cur string) bool {
		if typ == "SOA" {
			_, ok := fastSOA(f, cur)
			return ok && fastNameOK(owner, cur)
		}
		if typ == "SRV" || typ == "CAA" {
			return b.long(owner, ttl, typ, f, cur, origin)
		}
		r := canonRec{ttl: ttl, typ: typ}
		var ok bool
		if r.name, ok = b.owner(owner, cur, zone); !ok {
			return false
		}
		start := len(b.text)
		switch typ {
		case "A", "AAAA":
			if len(f) != 1 {
				return false
			}
			ip, ok := fastAddr(f[0], typ)
			if !ok {
				return false
			}
			if typ == "A" {
				ip = ip.Unmap()
			}
			b.text = ip.AppendTo(b.text)
		case "NS", "CNAME", "PTR":
			if len(f) != 1 {
				return false
			}
			if b.text, ok = appendLowerName(b.text, f[0], cur); !ok {
				return false
			}
		case "MX":
			if len(f) != 2 {
				return false
			}
			pref, ok := fastUint(f[0], 5)
			if !ok || pref > 65535 {
				return false
			}
			b.text = append(strconv.AppendUint(b.text, pref, 10), ' ')
			if b.text, ok = appendLowerName(b.text, f[1], cur); !ok {
				return false
			}
		case "TXT":
			for _, s := range f {
				if len(s) < 3 || s[0] != '"' || len(s)-2 > 255 {
					return false // unquoted, empty or longer than a string may be
				}
				b.text = append(b.text, s[1:len(s)-1]...)
			}
			if t := b.text[start:]; t[0] == ' ' || t[len(t)-1] == ' ' {
				return false // Normalize trims it, the engine keeps it as read
			}
		default:
			return false
		}
		r.data = [2]int32{int32(start), int32(len(b.text))}
		b.recs = append(b.recs, r)
		return true
	})
	if !ok {
		return nil, false
	}
	text := string(b.text)
	out := make([]libdns.RR, len(b.recs), len(b.recs)+room)
	for i, r := range b.recs {
		name := "@"
		switch r.name[0] {
		case nameLong:
			out[i] = b.longs[r.data[0]]
			continue
		case nameApex:
		default:
			name = text[r.name[0]:r.name[1]]
		}
		out[i] = libdns.RR{Name: name, TTL: time.Duration(r.ttl) * time.Second, Type: r.typ, Data: text[r.data[0]:r.data[1]]}
	}
	return out, true
}

// owner appends the owner name o (under the $ORIGIN cur) relative to zone
// (lower case, no trailing dot) as providers.RelativeName gives it, and
// returns its span; the previous record's span when it is the same name.
func (b *canonBuf) owner(o []byte, cur, zone string) ([2]int32, bool) {
	var ok bool
	if b.name, ok = appendLowerName(b.name[:0], o, cur); !ok {
		return [2]int32{}, false
	}
	n := b.name
	fq := n[:len(n)-1]
	switch {
	case string(fq) == zone:
		return [2]int32{nameApex, nameApex}, true
	case len(fq) > len(zone) && fq[len(fq)-len(zone)-1] == '.' && string(fq[len(fq)-len(zone):]) == zone:
		n = fq[:len(fq)-len(zone)-1]
	}
	if len(b.recs) > 0 {
		if p := b.recs[len(b.recs)-1]; p.name[0] >= 0 && bytes.Equal(b.text[p.name[0]:p.name[1]], n) {
			return p.name, true
		}
	}
	start := len(b.text)
	b.text = append(b.text, n...)
	return [2]int32{int32(start), int32(len(b.text))}, true
}

// long reads a record of type SRV or CAA as GetRecords does and
// normalises it.
func (b *canonBuf) long(owner []byte, ttl uint32, typ string, f [][]byte, cur, origin string) bool {
	name, ok := fastName(owner, cur)
	if !ok {
		return false
	}
	rr, ok := fastRData(dns.RR_Header{Name: name, Class: dns.ClassINET, Ttl: ttl}, typ, f, cur)
	if !ok {
		return false
	}
	n, err := providers.Normalize(toLibdns(rr, origin), origin)
	if err != nil {
		return false
	}
	b.recs = append(b.recs, canonRec{name: [2]int32{nameLong}, data: [2]int32{int32(len(b.longs))}})
	b.longs = append(b.longs, n)
	return true
}

// fastAddr parses the address of an A or AAAA record as fastRData does.
func fastAddr(f []byte, typ string) (netip.Addr, bool) {
	if bytes.IndexByte(f, ':') >= 0 != (typ == "AAAA") {
		return netip.Addr{}, false
	}
	// The string is only read while f is unchanged: ParseAddr keeps no
	// reference to it but in its error, which is dropped.
	ip, err := netip.ParseAddr(unsafe.String(unsafe.SliceData(f), len(f)))
	if err != nil || ip.Zone() != "" {
		return netip.Addr{}, false
	}
	return ip, true
}
