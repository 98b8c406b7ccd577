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
