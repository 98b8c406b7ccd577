package sync

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
)

// A run that writes more journal entries than journal.keep ends with the
// newest keep entries, as pruning after each entry would leave it (the
// engine prunes once, after the run's writes).
func TestRunPrunesJournalToKeep(t *testing.T) {
	const n, keep = 7, 3
	zones := map[string][]libdns.RR{}
	desired := map[string][]policy.RRset{}
	for i := range n {
		dom := fmt.Sprintf("d%d.example", i)
		zones[dom+"."] = []libdns.RR{tRR("@", "NS", tHour, "ns1.example.net.")}
		desired[dom] = []policy.RRset{tOwned(dom, dom, "_dmarc", "TXT", tHour, "v=DMARC1; p=reject")}
	}
	e, _, _ := testEngine(t, zones, desired)
	e.Config.StateDir = t.TempDir()
	e.Config.Journal = policy.JournalConfig{Keep: keep}
	for run := range 2 {
		if run == 1 {
			// Drift again so that the second run writes too.
			for i := range n {
				dom := fmt.Sprintf("d%d.example", i)
				desired[dom][0].Values = []string{"v=DMARC1; p=quarantine"}
			}
		}
		plan, err := e.Run(context.Background(), Options{Mode: ModeOnce})
		if err != nil {
			t.Fatal(err)
		}
		if plan.Summary.Create+plan.Summary.Update != n {
			t.Fatalf("run %d: %+v, want %d changes", run, plan.Summary, n)
		}
		ents, err := os.ReadDir(e.Config.StateDir)
		if err != nil {
			t.Fatal(err)
		}
		var journal []string
		for _, de := range ents {
			if journalName.MatchString(de.Name()) {
				journal = append(journal, de.Name())
			}
		}
		if len(journal) != keep {
			t.Errorf("run %d: %d journal entries (%v), want journal.keep = %d", run, len(journal), journal, keep)
		}
	}
}
