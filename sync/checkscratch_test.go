package sync

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/sync/check"
)

// TestCheckScratchKeepsDomainsApart: the checks' env and logger are reused
// from domain to domain, and what a check sees and logs is still its own
// domain's (its zone, its policy, its log lines, each logged once).
func TestCheckScratchKeepsDomainsApart(t *testing.T) {
	zones := map[string][]libdns.RR{}
	desired := map[string][]policy.RRset{}
	const n = 300
	for i := range n {
		dom := fmt.Sprintf("d%03d.example", i)
		zones[dom+"."] = []libdns.RR{tRR("@", "TXT", time.Hour, "mark="+dom)}
		desired[dom] = []policy.RRset{tOwnedSPF(dom, dom, "v=spf1 -all")}
	}
	e, _, logs := testEngine(t, zones, desired)
	e.Checks = []check.Check{{Name: "mark", Run: func(ctx context.Context, env *CheckEnv, d *policy.Domain) []Finding {
		marks := env.Values("@", "TXT")
		if len(marks) != 1 || marks[0] != "mark="+d.Domain || env.Desired[0].Name != "@" || env.Desired[0].Zone != d.Domain {
			t.Errorf("%s: env of another domain: %v %+v", d.Domain, marks, env.Desired)
		}
		env.Logger.Warn("checked", "for", d.Domain)
		return nil
	}}}
	if _, err := e.Run(context.Background(), Options{Mode: ModeDryRun, Offline: true}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	for sc.Scan() {
		var line struct{ Msg, Domain, For string }
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatal(err)
		}
		if line.Msg != "checked" {
			continue
		}
		if line.Domain != line.For {
			t.Errorf("a line of %s logged as domain %s", line.For, line.Domain)
		}
		seen[line.For]++
	}
	for dom := range desired {
		if seen[dom] != 1 {
			t.Errorf("%s: %d lines", dom, seen[dom])
		}
	}
}

// TestCheckScratchParsesApart: the reused envs parse each domain's SPF
// and DMARC records (desired and live, which differ) into the same
// buffers, and each domain's findings and scorecard still speak of its
// own records only.
func TestCheckScratchParsesApart(t *testing.T) {
	zones := map[string][]libdns.RR{}
	desired := map[string][]policy.RRset{}
	const n = 120
	for i := range n {
		dom := fmt.Sprintf("d%03d.example", i)
		zones[dom+"."] = []libdns.RR{
			tRR("@", "TXT", time.Hour, fmt.Sprintf("v=spf1 ptr:live%d.example ~all", i)),
			tRR("_dmarc", "TXT", time.Hour, fmt.Sprintf("v=DMARC1; p=none; pct=L%d", i)),
		}
		dmarc := tOwned(dom, dom, "_dmarc", "TXT", time.Hour, fmt.Sprintf("v=DMARC1; p=reject; pct=D%d", i))
		dmarc.Element = policy.ElemDMARC
		desired[dom] = []policy.RRset{tOwnedSPF(dom, dom, fmt.Sprintf("v=spf1 ptr:want%d.example -all", i)), dmarc}
	}
	e, _, _ := testEngine(t, zones, desired)
	e.Checks = check.All()
	plan, err := e.Run(context.Background(), Options{Mode: ModeDryRun, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	per := map[string][]string{}
	for _, f := range plan.Findings {
		per[f.Domain] = append(per[f.Domain], f.Message)
	}
	for _, r := range plan.Scorecard() {
		if r.Requirement.String() == "dmarc_alignment" {
			per[r.Domain] = append(per[r.Domain], r.Finding)
		}
	}
	for i := range n {
		dom := fmt.Sprintf("d%03d.example", i)
		all := strings.Join(per[dom], "\n")
		for _, want := range []string{fmt.Sprintf("ptr:live%d.example", i), fmt.Sprintf("ptr:want%d.example", i), fmt.Sprintf(`"L%d"`, i), fmt.Sprintf(`"D%d"`, i)} {
			if !strings.Contains(all, want) {
				t.Errorf("%s: no finding about %s in:\n%s", dom, want, all)
			}
		}
		for j := range n {
			if j != i && (strings.Contains(all, fmt.Sprintf("live%d.example", j)) || strings.Contains(all, fmt.Sprintf(`"L%d"`, j))) {
				t.Errorf("%s: a finding about d%03d's records:\n%s", dom, j, all)
			}
		}
	}
}
