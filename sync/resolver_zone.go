package sync

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/providers"
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
	zones   map[string][]libdns.RR // by zone name, lower case, no trailing dot
	next    Resolver
	answers atomic.Int64
}

var _ Resolver = (*ZoneResolver)(nil)

// NewZoneResolver returns a resolver answering from zones (keys: zone names
// without trailing dot; records canonical, names relative to their zone)
// and asking next for the rest. next may be nil: names outside the zones
// are then an error.
func NewZoneResolver(zones map[string][]libdns.RR, next Resolver) Resolver {
	z := &ZoneResolver{zones: map[string][]libdns.RR{}, next: next}
	for name, recs := range zones {
		z.zones[strings.ToLower(strings.TrimSuffix(name, "."))] = recs
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
	zone, recs := z.zoneOf(name)
	if zone == "" || z.delegated(recs, providers.RelativeName(name, zone)) {
		if z.next == nil {
			return Answer{}, fmt.Errorf("looking up %s %s: outside the zones read and no resolver", name, qtype)
		}
		return z.next.Lookup(ctx, name, qtype)
	}
	z.answers.Add(1)
	rel := providers.RelativeName(name, zone)
	at := recordsAt(recs, rel)
	if len(at) == 0 && !hasBelow(recs, rel) {
		at = z.wildcard(recs, rel)
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
func (z *ZoneResolver) zoneOf(name string) (string, []libdns.RR) {
	for fq := strings.TrimSuffix(name, "."); fq != ""; {
		if recs, ok := z.zones[fq]; ok {
			return fq, recs
		}
		i := strings.IndexByte(fq, '.')
		if i < 0 {
			break
		}
		fq = fq[i+1:]
	}
	return "", nil
}

// delegated reports whether rel lies at or below an NS RRset other than the apex.
func (z *ZoneResolver) delegated(recs []libdns.RR, rel string) bool {
	if rel == "@" {
		return false
	}
	for _, r := range recs {
		if r.Type != "NS" || r.Name == "@" {
			continue
		}
		n := strings.ToLower(r.Name)
		if rel == n || strings.HasSuffix(rel, "."+n) {
			return true
		}
	}
	return false
}

// wildcard returns the records of the wildcard at the closest encloser of
// rel (RFC 4592), if any.
func (z *ZoneResolver) wildcard(recs []libdns.RR, rel string) []libdns.RR {
	for n := rel; n != "@"; {
		parent := "@"
		if i := strings.IndexByte(n, '.'); i >= 0 {
			parent = n[i+1:]
		}
		if parent == "@" || len(recordsAt(recs, parent)) > 0 || hasBelowExcept(recs, parent, n) {
			w := "*"
			if parent != "@" {
				w = "*." + parent
			}
			return recordsAt(recs, w)
		}
		n = parent
	}
	return nil
}

func recordsAt(recs []libdns.RR, rel string) []libdns.RR {
	var out []libdns.RR
	for _, r := range recs {
		if strings.EqualFold(r.Name, rel) {
			out = append(out, r)
		}
	}
	return out
}

// hasBelow reports whether a record lies below rel (rel is an empty non-terminal).
func hasBelow(recs []libdns.RR, rel string) bool {
	return hasBelowExcept(recs, rel, "")
}

// hasBelowExcept is hasBelow ignoring the names at or below except.
func hasBelowExcept(recs []libdns.RR, rel, except string) bool {
	for _, r := range recs {
		n := strings.ToLower(r.Name)
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
