package check

import (
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/libdns/libdns"

	"github.com/maildns/maildns/internal/canon"
	"github.com/maildns/maildns/policy"
)

// TestRelativeIsCanon looks names up relative to the zone the short way
// (a domain at its zone's apex) and must get what canon.RelativeName gives
// for the whole name, for domains and prefixes as policies have them.
func TestRelativeIsCanon(t *testing.T) {
	for _, d := range []*policy.Domain{
		{Domain: "example.com"},
		{Domain: "Example.COM"},
		{Domain: "mail.example.com", Zone: "example.com"},
		{Domain: "example.com", Zone: "example.com."},
		{Domain: "example.com.", Zone: "example.com"},
		{Domain: "bücher.example"},
		{Domain: "xn--bcher-kva.example"},
	} {
		c := newMailCheck(&Env{}, d, "")
		for _, prefix := range []string{"", "_dmarc", "s1._domainkey", "Sel._DomainKey", "mta-sts", "@", "x.", " _dmarc", "_smtp._tls", "*"} {
			if got, want := c.relative(prefix), canon.RelativeName(c.fqdn(prefix), c.zone); got != want {
				t.Errorf("domain %q zone %q prefix %q: %q, want %q", d.Domain, d.Zone, prefix, got, want)
			}
		}
	}
}

// TestDesiredValuesShortWay finds the policy's values at a name the short
// way (plain names at the zone's apex) and the long way alike.
func TestDesiredValuesShortWay(t *testing.T) {
	sets := []policy.RRset{
		{Name: "@", Type: "TXT", Element: policy.ElemSPF, Values: []string{"apex"}},
		{Name: "_dmarc", Type: "TXT", Element: policy.ElemDMARC, Values: []string{"rel"}},
		{Name: "S1._DomainKey", Type: "TXT", Element: policy.ElemDKIM, Values: []string{"upper"}},
		{Name: "s2._domainkey.example.com.", Type: "TXT", Element: policy.ElemDKIM, Values: []string{"absolute"}},
		{Name: "_mta-sts", Zone: "example.com.", Type: "TXT", Element: policy.ElemMTASTS, Values: []string{"zone dot"}},
		{Name: "", Type: "MX", Element: policy.ElemMX, Values: []string{"empty"}},
	}
	for _, d := range []*policy.Domain{{Domain: "example.com"}, {Domain: "Example.com"}} {
		c := newMailCheck(&Env{Desired: sets}, d, "")
		for _, q := range []struct{ element, prefix, typ, want string }{
			{"spf", "", "TXT", "apex"},
			{"spf", "_dmarc", "TXT", ""},
			{"dmarc", "_dmarc", "TXT", "rel"},
			{"dmarc", "", "TXT", ""},
			{"dkim", "s1._domainkey", "TXT", "upper"},
			{"dkim", "s2._domainkey", "TXT", "absolute"},
			{"mta_sts", "_mta-sts", "TXT", "zone dot"},
			{"mx", "", "MX", "empty"},
		} {
			got := ""
			if v := c.desiredValues(q.element, q.prefix, q.typ); len(v) > 0 {
				got = v[0]
			}
			if got != q.want {
				t.Errorf("domain %s: %s at %q: %q, want %q", d.Domain, q.element, q.prefix, got, q.want)
			}
		}
	}
}

// TestZoneNamesGroupRuns indexes a large zone's names as a naive grouping
// would: names in runs, found again further on, in mixed case, NS records
// below the apex noted; the records themselves are left as they were.
func TestZoneNamesGroupRuns(t *testing.T) {
	recs := []libdns.RR{
		{Name: "m1", Type: "TXT", Data: "a"},
		{Name: "M1", Type: "MX", Data: "10 mail.m1.z."},
		{Name: "www.m1", Type: "A", Data: "192.0.2.1"},
		{Name: "m1", Type: "TXT", Data: "b"},
		{Name: "sub", Type: "NS", Data: "ns.sub.z."},
		{Name: "Sub", Type: "NS", Data: "ns2.sub.z."},
		{Name: "www.M1", Type: "AAAA", Data: "2001:db8::1"},
	}
	orig := slices.Clone(recs)
	want := map[string][]libdns.RR{}
	var wantNS []string
	for _, r := range recs {
		name := strings.ToLower(r.Name)
		want[name] = append(want[name], r)
		if r.Type == "NS" && r.Name != "@" {
			wantNS = append(wantNS, name)
		}
	}
	var n ZoneNames
	n.build(recs)
	if !reflect.DeepEqual(n.byName, want) || !slices.Equal(n.ns, wantNS) {
		t.Errorf("byName %v ns %v, want %v %v", n.byName, n.ns, want, wantNS)
	}
	if !slices.Equal(recs, orig) {
		t.Errorf("records changed: %v", recs)
	}
}

// TestAbsoluteIsCanon: absoluteIs answers as comparing with
// canon.AbsoluteName does, for names, zones and hosts as they come.
func TestAbsoluteIsCanon(t *testing.T) {
	names := []string{"", "@", "mail", "MAIL", "mail.", "mail.example.com.", "Mail.Example.COM.", "a.b", "\u212a", "k"}
	zones := []string{"example.com", "example.com.", "Example.COM", "b.example.com", "\u212aa.example"}
	hosts := []string{"mail.example.com.", "MAIL.example.COM.", "mail.example.com", "example.com.", "a.b.example.com.",
		"mail.b.example.com.", "mailexample.com.", ".", "", "k.example.com.", "k.ka.example.", "mail.\u212aa.example."}
	for _, n := range names {
		for _, z := range zones {
			for _, h := range hosts {
				if got, want := absoluteIs(n, z, h), strings.EqualFold(canon.AbsoluteName(n, z), h); got != want {
					t.Errorf("absoluteIs(%q, %q, %q) = %v, want %v", n, z, h, got, want)
				}
			}
		}
	}
}

// TestParseAddrLike: what netip.ParseAddr takes, parseAddrLike takes.
func TestParseAddrLike(t *testing.T) {
	for _, s := range []string{"192.0.2.1", "2001:db8::1", "::1", "::ffff:192.0.2.1", "fe80::1%eth0", "mail.example.com", "1mail.example", "", "a:b", "0"} {
		a, err := netip.ParseAddr(s)
		b, err2 := parseAddrLike(s)
		if a != b || (err == nil) != (err2 == nil) {
			t.Errorf("%q: %v %v, want %v %v", s, b, err2, a, err)
		}
	}
}

// TestValuesKeepApart: what Values returns stays as it was through later
// calls, a caller's append to it, and Clear of an env made for another
// domain; an index and a scan give the same values.
func TestValuesKeepApart(t *testing.T) {
	zone := []libdns.RR{
		{Name: "@", Type: "TXT", Data: "one"}, {Name: "@", Type: "MX", Data: "10 mx."},
		{Name: "@", Type: "TXT", Data: "two"}, {Name: "_dmarc", Type: "TXT", Data: "v=DMARC1; p=none"},
	}
	env := &Env{Zone: zone}
	txt := env.Values("@", "TXT")
	grown := append(txt, "three")
	mx := env.Values("@", "mx")
	dmarc := env.Values("_DMARC", "TXT")
	if !slices.Equal(txt, []string{"one", "two"}) || !slices.Equal(grown, []string{"one", "two", "three"}) ||
		!slices.Equal(mx, []string{"10 mx."}) || !slices.Equal(dmarc, []string{"v=DMARC1; p=none"}) || env.Values("www", "A") != nil {
		t.Fatalf("txt %q, grown %q, mx %q, dmarc %q", txt, grown, mx, dmarc)
	}
	env.Clear()
	env.Zone = zone[2:]
	if got := env.Values("@", "TXT"); !slices.Equal(got, []string{"two"}) || env.Zone == nil {
		t.Fatalf("after Clear: %q", got)
	}
	idx := &Env{Index: testIndex(zone)}
	if got := idx.Values("@", "TXT"); !slices.Equal(got, []string{"one", "two"}) {
		t.Fatalf("by the index: %q", got)
	}
}

type testIndex []libdns.RR

func (x testIndex) Lookup(rel, typ string) []libdns.RR {
	var out []libdns.RR
	for _, r := range x {
		if strings.EqualFold(r.Name, rel) && strings.EqualFold(r.Type, typ) {
			out = append(out, r)
		}
	}
	return out
}
