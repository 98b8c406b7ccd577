package sync

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/sync/journal"
)

// journal.keep counts runs, never entries: a run that writes more entries
// than keep keeps every one of them (each is a restore point of the run),
// and the next run prunes the runs beyond keep, never its own entries.
func TestRunPrunesJournalToKeep(t *testing.T) {
	const n, keep = 7, 1
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
		plan, err := e.Run(context.Background(), Options{Mode: ModeOnce, AllowWeakening: true})
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
		var entries []string
		for _, de := range ents {
			if journal.IsEntry(de.Name()) {
				entries = append(entries, de.Name())
				if journal.RunOfFile(de.Name()) != plan.RunID {
					t.Errorf("run %d (%s): entry %s of another run left, want journal.keep = %d run", run, plan.RunID, de.Name(), keep)
				}
			}
		}
		if len(entries) != n {
			t.Errorf("run %d: %d journal entries (%v), want the run's %d", run, len(entries), entries, n)
		}
	}
}
