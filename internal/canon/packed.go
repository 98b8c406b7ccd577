package canon

import (
	"encoding/binary"
	"strings"
	"sync"
	"time"

	"github.com/libdns/libdns"
)

// Packed is a zone's records in one string, in their order. A record's
// four fields, kept as they were read, cost a 56-byte header and two or
// three small strings each, many times their text, and as many pointers
// for the collector to trace: the daemon keeps every zone it read this way
// between cycles, a dry run every small zone between its plan and its
// checks.
//
// Each record is a head byte, the length of its body, then the body: its
// name (unless the previous record's), its type (unless one of
// packedTypes), its TTL (unless the previous record's) and its data (or
// where its Dict holds it), each length first. A scan for a name and type
// steps over the other records by their length.
type Packed struct {
	s    string
	n    int
	dict Dict
}

// Dict holds values a packed zone shares rather than copies: strings kept
// elsewhere for as long as the packed records (a policy's compiled values,
// which the zone's owned records repeat when they are in sync).
type Dict interface {
	// Ref returns where data is in the dictionary, if it is.
	Ref(data string) (i, j int, ok bool)
	// Value returns the value Ref found at i, j.
	Value(i, j int) string
}

// The head byte of a packed record: a type code (packedTypes; 0: the type
// follows) and what the record shares.
const (
	headType     = 0x1f
	headSameName = 0x20 // the name of the record before
	headSameTTL  = 0x40 // the TTL of the record before
	headRef      = 0x80 // the data is in the Dict, at two numbers
)

// packedTypes are the types a head byte names, by their code.
var packedTypes = [...]string{"", "A", "AAAA", "CNAME", "MX", "NS", "PTR", "TXT", "SRV", "CAA", "TLSA",
	"SPF", "SOA", "DS", "DNSKEY", "HTTPS", "SVCB", "NAPTR", "SSHFP", "CDS", "CDNSKEY", "RRSIG", "NSEC",
	"NSEC3", "NSEC3PARAM", "HINFO", "LOC", "URI", "DNAME", "OPENPGPKEY", "SMIMEA", "CERT"}

func typeCode(t string) byte {
	switch t {
	case "A":
		return 1
	case "AAAA":
		return 2
	case "CNAME":
		return 3
	case "MX":
		return 4
	case "NS":
		return 5
	case "PTR":
		return 6
	case "TXT":
		return 7
	}
	for i := 8; i < len(packedTypes); i++ {
		if packedTypes[i] == t {
			return byte(i)
		}
	}
	return 0
}

var packBufs = sync.Pool{New: func() any { return new([]byte) }}

// Pack packs rrs; the data of a record that d (may be nil) holds is kept as
// where d holds it.
func Pack(rrs []libdns.RR, d Dict) Packed {
	if len(rrs) == 0 {
		return Packed{}
	}
	bp := packBufs.Get().(*[]byte)
	b := (*bp)[:0]
	for k := range rrs {
		rr := &rrs[k]
		head := typeCode(rr.Type)
		size := 0
		if k > 0 && rrs[k-1].Name == rr.Name {
			head |= headSameName
		} else {
			size += uvarintLen(uint64(len(rr.Name))) + len(rr.Name)
		}
		if head&headType == 0 {
			size += uvarintLen(uint64(len(rr.Type))) + len(rr.Type)
		}
		// Whole seconds, as records are read, in few bytes.
		var ttl, ttlNS uint64
		if k > 0 && rrs[k-1].TTL == rr.TTL {
			head |= headSameTTL
		} else if v := int64(rr.TTL); v >= 0 && v%int64(time.Second) == 0 {
			ttl = uint64(v/int64(time.Second)) << 1
			size += uvarintLen(ttl)
		} else {
			ttl, ttlNS = 1, uint64(v<<1)^uint64(v>>63)
			size += 1 + uvarintLen(ttlNS)
		}
		i, j, ref := 0, 0, false
		if d != nil {
			i, j, ref = d.Ref(rr.Data)
		}
		if ref {
			head |= headRef
			size += uvarintLen(uint64(i)) + uvarintLen(uint64(j))
		} else {
			size += uvarintLen(uint64(len(rr.Data))) + len(rr.Data)
		}
		b = appendUvarint(append(b, head), uint64(size))
		if head&headSameName == 0 {
			b = appendString(b, rr.Name)
		}
		if head&headType == 0 {
			b = appendString(b, rr.Type)
		}
		if head&headSameTTL == 0 {
			b = appendUvarint(b, ttl)
			if ttl == 1 {
				b = appendUvarint(b, ttlNS)
			}
		}
		if ref {
			b = appendUvarint(appendUvarint(b, uint64(i)), uint64(j))
		} else {
			b = appendString(b, rr.Data)
		}
	}
	p := Packed{s: string(b), n: len(rrs), dict: d}
	if cap(b) <= 64<<10 {
		*bp = b
		packBufs.Put(bp)
	}
	return p
}

func appendUvarint(b []byte, v uint64) []byte {
	if v < 0x80 {
		return append(b, byte(v))
	}
	return binary.AppendUvarint(b, v)
}

func appendString(b []byte, s string) []byte {
	return append(appendUvarint(b, uint64(len(s))), s...)
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// Len returns how many records p holds.
func (p *Packed) Len() int { return p.n }

// Size returns the bytes of p's text.
func (p *Packed) Size() int { return len(p.s) }

// Unpack returns the records, a new slice (the caller may index or reorder
// it) whose strings share the packed text and the Dict's values.
func (p *Packed) Unpack() []libdns.RR {
	if p.n == 0 {
		return nil
	}
	out := make([]libdns.RR, 0, p.n)
	for r := p.Reader(); r.Next(); {
		out = append(out, r.RR())
	}
	return out
}

// Lookup returns the records at rel of type typ (both any case), in the
// zone's order: a packed zone is a check.ZoneIndex, scanned.
func (p *Packed) Lookup(rel, typ string) []libdns.RR {
	var out []libdns.RR
	code := typeCode(typ)
	for r := p.Reader(); r.Next(); {
		if typeIs(r.s, r.head, r.body, code, typ) && strings.EqualFold(r.Name(), rel) {
			out = append(out, r.RR())
		}
	}
	return out
}

// Values returns the data of Lookup(rel, typ). The checks ask it several
// times a domain: a record of another type is stepped over by its length.
func (p *Packed) Values(rel, typ string) []string {
	var out []string
	code := typeCode(typ)
	s := p.s
	nameBody := 0
	for at := 0; at < len(s); {
		head, body, next := recordAt(s, at)
		at = next
		if head&headSameName == 0 {
			nameBody = body
		}
		if c := head & headType; c != code || c == 0 {
			if c != 0 && code != 0 || !typeIs(s, head, body, code, typ) {
				continue
			}
		}
		if name, _ := stringAt(s, nameBody); strings.EqualFold(name, rel) {
			out = append(out, dataOf(s, head, body, p.dict))
		}
	}
	return out
}

// recordAt reads the record header at s[at]: its head byte, where its
// body starts and where the next record starts.
func recordAt(s string, at int) (head byte, body, next int) {
	if n := int(s[at+1]); n < 0x80 { // the usual one-byte length
		return s[at], at + 2, at + 2 + n
	}
	v, k := uvarintLong(s, at+1)
	return s[at], at + 1 + k, at + 1 + k + int(v)
}

// Reader returns a reader of p's records, in order.
func (p *Packed) Reader() PackedReader { return PackedReader{s: p.s, d: p.dict} }

// PackedReader reads packed records one at a time, making nothing: the
// strings it returns share the packed text and the Dict's values. A
// record's fields are read when asked for.
type PackedReader struct {
	s    string
	d    Dict
	next int // where the next record starts
	head byte
	body int // where the record's body starts
	// The bodies of the last records with a name, and a TTL, of their own
	// (the record's, or one before it).
	nameBody, ttlBody int
	ttlHead           byte
}

// Next moves to the next record; false after the last.
func (r *PackedReader) Next() bool {
	s, at := r.s, r.next
	if at >= len(s) {
		return false
	}
	head, body, next := recordAt(s, at)
	r.head, r.body, r.next = head, body, next
	if head&headSameName == 0 {
		r.nameBody = body
	}
	if head&headSameTTL == 0 {
		r.ttlBody, r.ttlHead = body, head
	}
	return true
}

// Name returns the record's owner name.
func (r *PackedReader) Name() string {
	v, _ := stringAt(r.s, r.nameBody)
	return v
}

// afterType returns where the TTL (or, when it is the record before's, the
// data) is in the body at body of a record with head.
func afterType(s string, body int, head byte) int {
	if head&headSameName == 0 {
		_, body = stringAt(s, body)
	}
	if head&headType == 0 {
		_, body = stringAt(s, body)
	}
	return body
}

// Type returns the record's type.
func (r *PackedReader) Type() string { return typeOf(r.s, r.head, r.body) }

// typeOf returns the type of the record with head and body.
func typeOf(s string, head byte, body int) string {
	if c := head & headType; c != 0 {
		return packedTypes[c]
	}
	if head&headSameName == 0 {
		_, body = stringAt(s, body)
	}
	v, _ := stringAt(s, body)
	return v
}

// typeIs reports whether the type of the record with head and body is typ
// (in any case), whose code is code: a type of the head byte is told by
// the byte alone.
func typeIs(s string, head byte, body int, code byte, typ string) bool {
	switch c := head & headType; {
	case c == code && c != 0:
		return true
	case c == 0:
		return strings.EqualFold(typeOf(s, head, body), typ)
	case code == 0:
		return strings.EqualFold(packedTypes[c], typ) // typ not in upper case
	}
	return false
}

// TTL returns the record's TTL.
func (r *PackedReader) TTL() time.Duration {
	at := afterType(r.s, r.ttlBody, r.ttlHead)
	v, n := uvarintAt(r.s, at)
	if v&1 == 0 {
		return time.Duration(v>>1) * time.Second
	}
	z, _ := uvarintAt(r.s, at+n)
	return time.Duration(int64(z>>1) ^ -int64(z&1))
}

// Data returns the record's data.
func (r *PackedReader) Data() string { return dataOf(r.s, r.head, r.body, r.d) }

// dataOf returns the data of the record with head and body, d its Dict.
func dataOf(s string, head byte, body int, d Dict) string {
	at := afterType(s, body, head)
	if head&headSameTTL == 0 {
		v, n := uvarintAt(s, at)
		at += n
		if v&1 != 0 {
			_, n := uvarintAt(s, at)
			at += n
		}
	}
	if head&headRef != 0 {
		i, n := uvarintAt(s, at)
		j, _ := uvarintAt(s, at+n)
		return d.Value(int(i), int(j))
	}
	v, _ := stringAt(s, at)
	return v
}

// RR returns the record.
func (r *PackedReader) RR() libdns.RR {
	return libdns.RR{Name: r.Name(), Type: r.Type(), TTL: r.TTL(), Data: r.Data()}
}

// stringAt returns the string, length first, at s[at:], and where it ends.
func stringAt(s string, at int) (string, int) {
	if n := int(s[at]); n < 0x80 {
		return s[at+1 : at+1+n], at + 1 + n
	}
	n, k := uvarintLong(s, at)
	at += k
	return s[at : at+int(n)], at + int(n)
}

// uvarintAt is binary.Uvarint of s[at:]: the value and its length.
func uvarintAt(s string, at int) (uint64, int) {
	if c := s[at]; c < 0x80 {
		return uint64(c), 1
	}
	return uvarintLong(s, at)
}

//go:noinline
func uvarintLong(s string, at int) (uint64, int) {
	var v uint64
	for i := 0; at+i < len(s); i++ {
		c := s[at+i]
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, i + 1
		}
	}
	return v, len(s) - at
}
