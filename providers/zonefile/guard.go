package zonefile

import (
	"fmt"
	"slices"
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

// cnameConflicts returns, sorted, the names (canonical) at which recs
// hold a CNAME beside other data or two CNAMEs: no server loads such a
// zone (RFC 1034 3.6.2; DNSSEC records aside).
func cnameConflicts(recs []libdns.RR) []string {
	types := map[string][]string{}
	for _, r := range recs {
		types[r.Name] = append(types[r.Name], r.Type)
	}
	var out []string
	for name, ts := range types {
		cnames, other := 0, 0
		for _, t := range ts {
			switch t {
			case "CNAME":
				cnames++
			case "RRSIG", "NSEC":
			default:
				other++
			}
		}
		if cnames > 1 || (cnames == 1 && other > 0) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// newCNAMEConflict returns a refusal when after holds a CNAME conflict
// that before did not: a write must never make a zone that no server
// loads. A conflict the file already had is the operator's to mend.
func newCNAMEConflict(before, after []libdns.RR) *providers.Refusal {
	had := map[string]bool{}
	for _, n := range cnameConflicts(before) {
		had[n] = true
	}
	for _, n := range cnameConflicts(after) {
		if !had[n] {
			var types []string
			for _, r := range after {
				if r.Name == n {
					types = append(types, r.Type)
				}
			}
			slices.Sort(types)
			return &providers.Refusal{
				Kind: "cname",
				Message: fmt.Sprintf("the write would leave %s holding %s: a CNAME cannot stand beside other data, and no server loads such a zone",
					n, strings.Join(types, ", ")),
			}
		}
	}
	return nil
}
