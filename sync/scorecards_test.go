package sync

import (
	"context"
	"testing"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/sync/check"
)

// TestScorecardsFromEveryFinding judges each domain's scorecard from all of
// its findings, whoever made them: its own checks (judged as soon as they
// ran), the SPF hold's, and a check of another domain that reports on it
// (then every scorecard waits for the plan's findings).
func TestScorecardsFromEveryFinding(t *testing.T) {
	zones := map[string][]libdns.RR{}
	desired := map[string][]policy.RRset{}
	for _, dom := range []string{"a.example", "b.example"} {
		zones[dom+"."] = []libdns.RR{tRR("@", "TXT", time.Hour, "v=spf1 -all")}
		desired[dom] = []policy.RRset{tOwnedSPF(dom, dom, "v=spf1 -all")}
	}
	spfLine := func(t *testing.T, pl *Plan, dom string) Requirement {
		t.Helper()
		for _, r := range pl.Scorecard() {
			if r.Domain == dom && r.Requirement.String() == "spf" {
				return r
			}
		}
		t.Fatalf("no spf line for %s in %+v", dom, pl.Scorecard())
		return Requirement{}
	}
	for _, c := range []struct {
		name     string
		about    string // the domain a's check reports on
		failing  string // the domain whose spf line fails
		passing  string
		findings int
	}{
		{"own domain", "a.example", "a.example", "b.example", 1},
		{"another domain", "b.example", "b.example", "a.example", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, _, _ := testEngine(t, zones, desired)
			e.Checks = []check.Check{{Name: "spf", Run: func(_ context.Context, env *CheckEnv, d *policy.Domain) []Finding {
				if d.Domain != "a.example" {
					return nil
				}
				return []Finding{{Severity: SevError, Kind: KindSPF, Domain: c.about, Subject: "@", Message: "broken on purpose"}}
			}}}
			pl, err := e.Run(context.Background(), Options{Mode: ModeDryRun, Offline: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(pl.Findings) != c.findings {
				t.Fatalf("findings %+v", pl.Findings)
			}
			if got := spfLine(t, pl, c.failing); got.Status != ComplianceFail || got.Finding != "broken on purpose" {
				t.Errorf("%s: %+v, want fail: broken on purpose", c.failing, got)
			}
			if got := spfLine(t, pl, c.passing); got.Status != CompliancePass {
				t.Errorf("%s: %+v, want pass", c.passing, got)
			}
		})
	}
}
