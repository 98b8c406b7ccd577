package check

import (
	"testing"

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
		{Name: "@", Type: "TXT", Element: "spf", Values: []string{"apex"}},
		{Name: "_dmarc", Type: "TXT", Element: "dmarc", Values: []string{"rel"}},
		{Name: "S1._DomainKey", Type: "TXT", Element: "dkim", Values: []string{"upper"}},
		{Name: "s2._domainkey.example.com.", Type: "TXT", Element: "dkim", Values: []string{"absolute"}},
		{Name: "_mta-sts", Zone: "example.com.", Type: "TXT", Element: "mta_sts", Values: []string{"zone dot"}},
		{Name: "", Type: "MX", Element: "mx", Values: []string{"empty"}},
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
