package zonefile

import (
	"strings"

	"github.com/libdns/libdns"

	"github.com/maildns/maildns/providers"
)

var _ providers.WriteGuard = (*Provider)(nil)

// RefusedError is the error of a write to a zone file that must not be
// edited; nothing was written.
type RefusedError struct {
	Zone    string
	Refusal *providers.Refusal
}

func (e *RefusedError) Error() string {
	return "zone " + e.Zone + ": not written: " + e.Refusal.Message
}

// signedRefusal is the refusal of a zone file that holds DNSSEC signatures.
func signedRefusal(path string) *providers.Refusal {
	return &providers.Refusal{
		Kind: "dnssec",
		Message: "the zone file " + path + " holds DNSSEC signatures (RRSIG records), which any edit " +
			"would break, making validating resolvers treat the zone's records as bogus; let the name " +
			"server sign the zone (BIND: dnssec-policy with inline-signing yes; Knot DNS: dnssec-signing: on) " +
			"and point maildns at the unsigned source file",
	}
}

// GuardWrite implements providers.WriteGuard: a zone file holding DNSSEC
// signatures is not written (the write methods refuse it too).
func (p *Provider) GuardWrite(zone string, live []libdns.Record) *providers.Refusal {
	for _, r := range live {
		if strings.EqualFold(strings.TrimSpace(r.RR().Type), "RRSIG") {
			path, _, err := p.ZonePath(zone)
			if err != nil {
				path = zone
			}
			return signedRefusal(path)
		}
	}
	return nil
}
