package check

import (
	"context"
	"fmt"
	"strings"
	gosync "sync"
	"sync/atomic"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/internal/canon"
)

// ZoneResolver answers names inside the zones maildns read this run from
// those records, with no lookup and no propagation lag (SPEC §3), and
// passes every other name to next.
//
// Inside a zone: the records at the name (or a wildcard covering it)
// answer; a CNAME there is followed (through this resolver, so a target in
// another zone or outside every zone works too); a name with no records
// and nothing below it is NXDOMAIN; a name at or below an NS delegation
// other than the apex belongs to another server and goes to next.
type ZoneResolver struct {
	zones   map[string]Zone       // by zone name, lower case, no trailing dot
	names   map[string]*ZoneNames // the zones of over indexedZone records
	next    Resolver
	answers atomic.Int64
}

// ZoneNames indexes the names of one large zone (many domains share it), so
// that a lookup does not scan the whole zone. Built on first use, or ahead
// by IndexNames.
type ZoneNames struct {
	once   gosync.Once
	byName map[string][]libdns.RR // lower-case name -> its records, in zone order
	below  map[string]int         // name ("@" too) -> distinct names strictly below it
	ns     []string               // lower-case names of the NS records but the apex
}

func (n *ZoneNames) build(recs []libdns.RR) {
	// Sized for its names at once (a zone lists a name's records
	// together): a map grown step by step to a million names costs more
	// than the count.
	names := 0
	for i := range recs {
		if i == 0 || recs[i].Name != recs[i-1].Name {
			names++
		}
	}
	n.byName = make(map[string][]libdns.RR, names)
	// A run of records at one name (a zone lists a name's records
	// together) is a capped piece of recs itself; a name found again
	// further on is copied.
	for i := 0; i < len(recs); {
		name := strings.ToLower(recs[i].Name)
		j := i + 1
		for j < len(recs) && (recs[j].Name == name || strings.ToLower(recs[j].Name) == name) {
			j++
		}
		if have, ok := n.byName[name]; ok {
			n.byName[name] = append(have, recs[i:j]...)
		} else {
			n.byName[name] = recs[i:j:j]
		}
		for _, r := range recs[i:j] {
			if r.Type == "NS" && r.Name != "@" {
				n.ns = append(n.ns, name)
			}
		}
		i = j
	}
	n.below = make(map[string]int, len(n.byName)/2)
	for name := range n.byName {
		if name == "@" {
			continue
		}
		n.below["@"]++
		for rest := name; ; {
			i := strings.IndexByte(rest, '.')
			if i < 0 {
				break
			}
			rest = rest[i+1:]
			n.below[rest]++
		}
	}
}

// Zone is one zone's records for NewZoneResolverOf: Records, or Packed
// when it is not nil. Names, when not nil, is IndexNames(Records).
type Zone struct {
	Records []libdns.RR
	Packed  *canon.Packed
	Names   *ZoneNames
}

// IndexNames starts building the index of the names of recs, a zone of
// over IndexedZone records, that a ZoneResolver otherwise builds on its
// first lookup there: given in Zone.Names, it is used, and a lookup waits
// for it to be done. recs must not change.
func IndexNames(recs []libdns.RR) *ZoneNames {
	n := &ZoneNames{}
	go n.once.Do(func() { n.build(recs) })
	return n
}

// zoneView is one zone's records, with the index of a large zone.
type zoneView struct {
	recs   []libdns.RR
	packed *canon.Packed // not nil: the records, packed (recs is nil)
	ix     *ZoneNames    // nil: scan the records
}

// scan reads a zoneView's records, in order, from recs or packed.
type scan struct {
	recs   []libdns.RR
	i      int // recs[i-1] is the record read
	packed bool
	r      canon.PackedReader
}

func (v zoneView) scan() scan {
	if v.packed != nil {
		return scan{packed: true, r: v.packed.Reader()}
	}
	return scan{recs: v.recs}
}

// next moves to the next record; false after the last.
func (s *scan) next() bool {
	if s.packed {
		return s.r.Next()
	}
	s.i++
	return s.i <= len(s.recs)
}

func (s *scan) name() string {
	if s.packed {
		return s.r.Name()
	}
	return s.recs[s.i-1].Name
}

func (s *scan) typ() string {
	if s.packed {
		return s.r.Type()
	}
	return s.recs[s.i-1].Type
}

func (s *scan) rr() libdns.RR {
	if s.packed {
		return s.r.RR()
	}
	return s.recs[s.i-1]
}

var _ Resolver = (*ZoneResolver)(nil)

// NewZoneResolver returns a resolver answering from zones (keys: zone names
// without trailing dot; records canonical, names relative to their zone)
// and asking next for the rest. next may be nil: names outside the zones
// are then an error.
func NewZoneResolver(zones map[string][]libdns.RR, next Resolver) Resolver {
	of := make(map[string]Zone, len(zones))
	for name, recs := range zones {
		of[strings.ToLower(strings.TrimSuffix(name, "."))] = Zone{Records: recs}
	}
	return NewZoneResolverOf(of, next)
}

// NewZoneResolverOf is NewZoneResolver of zones some of which are packed.
// zones is kept, not copied, when its keys are in lower case without a
// trailing dot (the engine's are).
func NewZoneResolverOf(zones map[string]Zone, next Resolver) Resolver {
	for name := range zones {
		if strings.ToLower(strings.TrimSuffix(name, ".")) != name {
			of := make(map[string]Zone, len(zones))
			for name, zone := range zones {
				of[strings.ToLower(strings.TrimSuffix(name, "."))] = zone
			}
			zones = of
			break
		}
	}
	z := &ZoneResolver{zones: zones, names: map[string]*ZoneNames{}, next: next}
	for name, zone := range zones {
		switch {
		case zone.Names != nil && zone.Packed == nil:
			z.names[name] = zone.Names
		case zone.Packed != nil && zone.Packed.Len() > IndexedZone || len(zone.Records) > IndexedZone:
			z.names[name] = &ZoneNames{}
		}
	}
	return z
}

// Lookups returns how many questions were answered from the zones.
func (z *ZoneResolver) Lookups() int64 { return z.answers.Load() }

// Lookup answers name (fully qualified) and qtype.
func (z *ZoneResolver) Lookup(ctx context.Context, name, qtype string) (Answer, error) {
	return z.lookup(ctx, strings.ToLower(name), strings.ToUpper(qtype), 0)
}

func (z *ZoneResolver) lookup(ctx context.Context, name, qtype string, depth int) (Answer, error) {
	if depth > 8 {
		return Answer{}, fmt.Errorf("looking up %s %s: CNAME chain too long", name, qtype)
	}
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	zone, v := z.zoneOf(name)
	// The DS of a zone lives in its parent: ask on.
	apexDS := qtype == "DS" && zone != "" && canon.RelativeName(name, zone) == "@"
	if zone == "" || v.delegated(canon.RelativeName(name, zone)) || apexDS {
		if z.next == nil {
			return Answer{}, fmt.Errorf("looking up %s %s: outside the zones read and no resolver", name, qtype)
		}
		return z.next.Lookup(ctx, name, qtype)
	}
	z.answers.Add(1)
	rel := canon.RelativeName(name, zone)
	at := v.recordsAt(rel)
	if len(at) == 0 && !v.hasBelow(rel) {
		at = v.wildcard(rel)
		if len(at) == 0 {
			return Answer{Rcode: RcodeNXDomain, FromZone: true}, nil
		}
	}
	ans := Answer{Rcode: RcodeSuccess, FromZone: true}
	var cname *libdns.RR
	for i := range at {
		switch {
		case at[i].Type == qtype:
			ans.Records = append(ans.Records, absolute(at[i], name))
		case at[i].Type == "CNAME" && cname == nil:
			cname = &at[i]
		}
	}
	if len(ans.Records) > 0 || cname == nil || qtype == "CNAME" {
		return ans, nil
	}
	ans.Records = append(ans.Records, absolute(*cname, name))
	rest, err := z.lookup(ctx, strings.ToLower(cname.Data), qtype, depth+1)
	if err != nil {
		return Answer{}, err
	}
	ans.Rcode = rest.Rcode
	ans.Records = append(ans.Records, rest.Records...)
	ans.FromZone = rest.FromZone
	return ans, nil
}

// zoneOf returns the longest zone holding name, and its records. It looks
// up name and each of its parents in turn (a map lookup per label, not a
// scan of every zone: a run over thousands of zones asks this per check).
func (z *ZoneResolver) zoneOf(name string) (string, zoneView) {
	for fq := strings.TrimSuffix(name, "."); fq != ""; {
		if zone, ok := z.zones[fq]; ok {
			v := zoneView{recs: zone.Records, packed: zone.Packed}
			if ix := z.names[fq]; ix != nil {
				ix.once.Do(func() {
					if recs := zone.Records; zone.Packed == nil {
						ix.build(recs)
					} else {
						ix.build(zone.Packed.Unpack())
					}
				})
				v.ix = ix
			}
			return fq, v
		}
		i := strings.IndexByte(fq, '.')
		if i < 0 {
			break
		}
		fq = fq[i+1:]
	}
	return "", zoneView{}
}

// delegated reports whether rel lies at or below an NS RRset other than the apex.
func (v zoneView) delegated(rel string) bool {
	if rel == "@" {
		return false
	}
	if v.ix != nil {
		for _, n := range v.ix.ns {
			if rel == n || strings.HasSuffix(rel, "."+n) {
				return true
			}
		}
		return false
	}
	for s := v.scan(); s.next(); {
		if s.typ() != "NS" || s.name() == "@" {
			continue
		}
		n := strings.ToLower(s.name())
		if rel == n || strings.HasSuffix(rel, "."+n) {
			return true
		}
	}
	return false
}

// wildcard returns the records of the wildcard at the closest encloser of
// rel (RFC 4592), if any.
func (v zoneView) wildcard(rel string) []libdns.RR {
	for n := rel; n != "@"; {
		parent := "@"
		if i := strings.IndexByte(n, '.'); i >= 0 {
			parent = n[i+1:]
		}
		if parent == "@" || len(v.recordsAt(parent)) > 0 || v.hasBelowExcept(parent, n) {
			w := "*"
			if parent != "@" {
				w = "*." + parent
			}
			return v.recordsAt(w)
		}
		n = parent
	}
	return nil
}

// recordsAt returns the records at rel, in zone order.
func (v zoneView) recordsAt(rel string) []libdns.RR {
	if v.ix != nil {
		return v.ix.byName[strings.ToLower(rel)]
	}
	return recordsAt(v.scan(), rel)
}

// hasBelow reports whether a record lies below rel.
func (v zoneView) hasBelow(rel string) bool {
	if v.ix != nil {
		return v.ix.below[rel] > 0
	}
	return hasBelow(v.scan(), rel)
}

// hasBelowExcept reports whether a record lies below parent but not at or
// below child, a name directly below parent.
func (v zoneView) hasBelowExcept(parent, child string) bool {
	if v.ix != nil {
		n := v.ix.below[parent] - v.ix.below[child]
		if _, ok := v.ix.byName[child]; ok {
			n--
		}
		return n > 0
	}
	return hasBelowExcept(v.scan(), parent, child)
}

func recordsAt(s scan, rel string) []libdns.RR {
	var out []libdns.RR
	for s.next() {
		if strings.EqualFold(s.name(), rel) {
			out = append(out, s.rr())
		}
	}
	return out
}

// hasBelow reports whether a record lies below rel (rel is an empty non-terminal).
func hasBelow(s scan, rel string) bool {
	return hasBelowExcept(s, rel, "")
}

// hasBelowExcept is hasBelow ignoring the names at or below except.
func hasBelowExcept(s scan, rel, except string) bool {
	for s.next() {
		n := strings.ToLower(s.name())
		if except != "" && (n == except || strings.HasSuffix(n, "."+except)) {
			continue
		}
		if n == "@" {
			continue
		}
		if rel == "@" || strings.HasSuffix(n, "."+rel) {
			return true
		}
	}
	return false
}

// absolute returns r with the fully qualified name it was asked by.
func absolute(r libdns.RR, name string) libdns.RR {
	r.Name = name
	return r
}
