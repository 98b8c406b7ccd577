package sync

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
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
