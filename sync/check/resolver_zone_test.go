package check

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
	"github.com/maildns/maildns/internal/canon"
)

// The longest zone holding a name answers it: a child zone read in the same
// run wins over its parent, and a zone name that is only a string suffix
// ("xample.com" of "example.com") is not a parent.
func TestZoneResolverLongestZone(t *testing.T) {
	zones := map[string][]libdns.RR{
		"example.com":     {rsRR("@", "TXT", "parent"), rsRR("a.sub", "TXT", "parent's a.sub")},
		"sub.example.com": {rsRR("@", "TXT", "child"), rsRR("a", "TXT", "child's a")},
		"xample.com":      {rsRR("@", "TXT", "other")},
	}
	r := NewZoneResolver(zones, nil)
	cases := []struct {
		name  string
		want  []libdns.RR
		rcode int
	}{
		{"example.com.", []libdns.RR{rsRR("example.com.", "TXT", "parent")}, RcodeSuccess},
		{"sub.example.com.", []libdns.RR{rsRR("sub.example.com.", "TXT", "child")}, RcodeSuccess},
		{"a.sub.example.com.", []libdns.RR{rsRR("a.sub.example.com.", "TXT", "child's a")}, RcodeSuccess},
		{"A.SUB.Example.COM", []libdns.RR{rsRR("a.sub.example.com.", "TXT", "child's a")}, RcodeSuccess},
		{"b.a.sub.example.com.", nil, RcodeNXDomain},
		{"xample.com.", []libdns.RR{rsRR("xample.com.", "TXT", "other")}, RcodeSuccess},
	}
	for _, c := range cases {
		ans, err := r.Lookup(context.Background(), c.name, "TXT")
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if ans.Rcode != c.rcode || !ans.FromZone {
			t.Errorf("%s: rcode %d fromZone %v, want %d true", c.name, ans.Rcode, ans.FromZone, c.rcode)
		}
		if d := cmp.Diff(c.want, ans.Records); d != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, d)
		}
	}
	// Outside every zone, with no resolver behind: an error, not an answer
	// from a zone whose name is a mere suffix.
	for _, name := range []string{"ample.com.", "com.", "example.net.", "."} {
		if ans, err := r.Lookup(context.Background(), name, "TXT"); err == nil {
			t.Errorf("%s: answered %+v, want an error (outside the zones, no resolver)", name, ans)
		}
	}
}

// BenchmarkZoneResolverLookup looks up an in-zone name among 10,000 zones:
// the cost must not grow with the number of zones.
func BenchmarkZoneResolverLookup(b *testing.B) {
	for _, n := range []int{100, 10000} {
		zones := map[string][]libdns.RR{}
		for i := range n {
			zones[fmt.Sprintf("d%05d.example", i)] = []libdns.RR{
				rsRR("@", "MX", "10 mail.d.example."), rsRR("mail", "A", "192.0.2.25"),
			}
		}
		r := NewZoneResolver(zones, nil)
		b.Run(fmt.Sprintf("zones=%d", n), func(b *testing.B) {
			ctx := context.Background()
			for b.Loop() {
				if _, err := r.Lookup(ctx, "mail.d00042.example.", "A"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A large zone is answered through its index of names: every question the
// lookup asks of a zone (records at a name, names below it, below it but
// outside one child, delegation, wildcard) gets the answer a scan gives.
func TestZoneNamesIndexAsScan(t *testing.T) {
	recs := []libdns.RR{
		rsRR("@", "NS", "ns1.example.net."),
		rsRR("@", "TXT", "apex"),
		rsRR("Mail", "A", "192.0.2.25"),
		rsRR("mail", "AAAA", "2001:db8::25"),
		rsRR("a.b.c", "TXT", "deep"),
		rsRR("x.b.c", "TXT", "deep too"),
		rsRR("*.wild", "TXT", "wildcard"),
		rsRR("*", "TXT", "apex wildcard"),
		rsRR("sub", "NS", "ns1.example.net."),
		rsRR("in.sub", "A", "192.0.2.9"),
		rsRR("q.r", "TXT", "q"),
		rsRR("r", "TXT", "r"),
	}
	for i := len(recs); i <= IndexedZone; i++ {
		recs = append(recs, rsRR(fmt.Sprintf("h%d.hosts", i), "A", "192.0.2.1"))
	}
	scan := zoneView{recs: recs}
	ix := &ZoneNames{}
	ix.build(recs)
	indexed := zoneView{recs: recs, ix: ix}
	pk := canon.Pack(recs, nil)
	packed := zoneView{packed: &pk}
	names := []string{"@", "mail", "a.b.c", "b.c", "c", "x.b.c", "y.b.c", "b", "nope", "z.nope",
		"x.wild", "y.x.wild", "wild", "*.wild", "sub", "in.sub", "deeper.in.sub", "q.r", "r", "s.r",
		"hosts", "h70.hosts", "zz.h70.hosts", "*"}
	views := []struct {
		name string
		z    zoneView
	}{{"indexed", indexed}, {"packed", packed}}
	for _, n := range names {
		for _, v := range views {
			if d := cmp.Diff(scan.recordsAt(n), v.z.recordsAt(n)); d != "" {
				t.Errorf("recordsAt(%q) %s (+) differs from scanned (-):\n%s", n, v.name, d)
			}
			if a, b := scan.hasBelow(n), v.z.hasBelow(n); a != b {
				t.Errorf("hasBelow(%q): scanned %v, %s %v", n, a, v.name, b)
			}
			if a, b := scan.delegated(n), v.z.delegated(n); a != b {
				t.Errorf("delegated(%q): scanned %v, %s %v", n, a, v.name, b)
			}
			if d := cmp.Diff(scan.wildcard(n), v.z.wildcard(n)); d != "" {
				t.Errorf("wildcard(%q) %s (+) differs from scanned (-):\n%s", n, v.name, d)
			}
			if i := strings.IndexByte(n, '.'); i >= 0 {
				parent := n[i+1:]
				if a, b := scan.hasBelowExcept(parent, n), v.z.hasBelowExcept(parent, n); a != b {
					t.Errorf("hasBelowExcept(%q, %q): scanned %v, %s %v", parent, n, a, v.name, b)
				}
			}
		}
	}
	// Through the resolver, packed, and with the index built ahead
	// (IndexNames): answered as the records are.
	pr := NewZoneResolverOf(map[string]Zone{"example.com": {Packed: &pk}}, nil)
	ahead := IndexNames(recs)
	ar := NewZoneResolverOf(map[string]Zone{"example.com": {Records: recs, Names: ahead}}, nil)
	if got := ar.(*ZoneResolver).names["example.com"]; got != ahead {
		t.Error("the resolver does not use the index built ahead")
	}
	sr := NewZoneResolver(map[string][]libdns.RR{"example.com": recs}, nil)
	for _, n := range names {
		for _, qt := range []string{"TXT", "A", "NS", "CNAME"} {
			name := n + ".example.com."
			if n == "@" {
				name = "example.com."
			}
			a, aerr := sr.Lookup(context.Background(), name, qt)
			for kind, r := range map[string]Resolver{"packed": pr, "indexed ahead": ar} {
				b, berr := r.Lookup(context.Background(), name, qt)
				if d := cmp.Diff(a, b); d != "" || (aerr == nil) != (berr == nil) {
					t.Errorf("%s %s %s (+) differs (%v, %v):\n%s", name, qt, kind, aerr, berr, d)
				}
			}
		}
	}
	// And through the resolver: a zone over IndexedZone records is indexed.
	r := NewZoneResolver(map[string][]libdns.RR{"example.com": recs}, nil).(*ZoneResolver)
	if r.names["example.com"] == nil {
		t.Fatal("a zone of more than IndexedZone records has no index")
	}
	ans, err := r.Lookup(context.Background(), "y.x.wild.example.com.", "TXT")
	if err != nil || len(ans.Records) != 1 || ans.Records[0].Data != "wildcard" {
		t.Errorf("wildcard through the index: %+v, %v", ans, err)
	}
}

// Zone names in any case, with or without the trailing dot, are the zones'
// names: given as records or packed.
func TestZoneResolverOfNamesAnyCase(t *testing.T) {
	pk := canon.Pack([]libdns.RR{rsRR("@", "TXT", "packed")}, nil)
	r := NewZoneResolverOf(map[string]Zone{
		"Example.COM.":  {Records: []libdns.RR{rsRR("@", "TXT", "records")}},
		"other.example": {Packed: &pk},
	}, nil)
	for name, want := range map[string]string{"example.com.": "records", "OTHER.example.": "packed"} {
		ans, err := r.Lookup(context.Background(), name, "TXT")
		if err != nil || len(ans.Records) != 1 || ans.Records[0].Data != want || !ans.FromZone {
			t.Errorf("%s: %+v, %v; want %q from the zone", name, ans, err, want)
		}
	}
}
