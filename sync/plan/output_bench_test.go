package plan

import (
	"fmt"
	"io"
	"testing"
)

// BenchmarkWriteJSON writes the plan of a 1,000-domain dry run (one zone
// each, one in ten drifting, a finding and a scorecard line each) as JSON.
func BenchmarkWriteJSON(b *testing.B) {
	p := &Plan{Version: 1, Mode: "dry-run", RunID: "20261201T000000Z-00000000"}
	for i := range 1000 {
		dom := fmt.Sprintf("d%05d.example", i)
		z := ZonePlan{Domain: dom, Zone: dom, Provider: "local", Status: StatusInSync, Changes: []Change{}}
		if i%10 == 0 {
			z.Status = StatusDrift
			z.Changes = append(z.Changes, Change{Action: ActionUpdate, Name: "@", Type: "TXT", TTL: 3600,
				Before: []string{"v=spf1 ip4:198.18.0.1 ~all"}, After: []string{"v=spf1 ip4:198.18.0.1 -all"}})
		}
		p.Zones = append(p.Zones, z)
		p.Findings = append(p.Findings, Finding{Severity: SevWarning, Kind: "dmarc", Domain: dom, Subject: "_dmarc",
			Message: "rua=mailto:dmarc@" + dom + " \"quoted\" is not verified"})
		p.Compliance = append(p.Compliance, Requirement{Domain: dom, Requirement: RequirementNamed("spf"), Status: CompliancePass})
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteJSON(io.Discard, p); err != nil {
			b.Fatal(err)
		}
	}
}
