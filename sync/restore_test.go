package sync

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
)

// sortedRRs returns recs sorted, for comparing zones.
func sortedRRs(recs []libdns.RR) []libdns.RR {
	out := slices.Clone(recs)
	slices.SortFunc(out, func(a, b libdns.RR) int {
		return strings.Compare(a.Name+" "+a.Type+" "+a.Data+" "+a.TTL.String(), b.Name+" "+b.Type+" "+b.Data+" "+b.TTL.String())
	})
	return out
}

func TestRestore(t *testing.T) {
	e, st, logs := testEngine(t, map[string][]libdns.RR{"example.com.": driftedCom()}, map[string][]policy.RRset{"example.com": comPolicy()})
	e.Config.StateDir = t.TempDir()
	if _, err := e.Run(context.Background(), Options{Mode: ModeOnce}); err != nil {
		t.Fatal(err)
	}
	paths, _ := ListJournal(e.Config.StateDir)
	if len(paths) != 1 {
		t.Fatalf("%d entries", len(paths))
	}
	synced := st.records("example.com.")
	// Someone adds a value to a touched RRset after the run: restore keeps it.
	later := tRR("@", "TXT", tHour, "added-later=1")
	st.mu.Lock()
	st.zones["example.com."] = append(st.zones["example.com."], later)
	st.mu.Unlock()

	// Dry run: the plan, nothing written.
	writes := st.appends + st.deletes + st.sets
	plan, err := e.Restore(context.Background(), paths[0], Options{Mode: ModeDryRun, AllowWeakening: true})
	if err != nil {
		t.Fatal(err)
	}
	if st.appends+st.deletes+st.sets != writes {
		t.Errorf("restore --dry-run wrote")
	}
	if plan.Mode != ModeRestore || len(plan.Zones) != 1 || plan.Zones[0].Status != StatusDrift || len(plan.Zones[0].Changes) != 4 {
		t.Fatalf("dry-run plan %+v", plan)
	}

	// Weakening is refused as in a sync.
	plan, _ = e.Restore(context.Background(), paths[0], Options{Mode: ModeOnce})
	if plan.Zones[0].Status != StatusRefused || st.appends+st.deletes+st.sets != writes {
		t.Errorf("restore without allow_weakening: %s", plan.Zones[0].Status)
	}

	plan, err = e.Restore(context.Background(), paths[0], Options{Mode: ModeOnce, AllowWeakening: true})
	if err != nil || plan.Zones[0].Status != StatusApplied {
		t.Fatalf("restore: %s %v\n%s", plan.Zones[0].Status, err, logs)
	}
	want := sortedRRs(append(driftedCom(), later))
	if diff := cmp.Diff(want, sortedRRs(st.records("example.com."))); diff != "" {
		t.Errorf("after restore (-want +got):\n%s", diff)
	}
	if !strings.Contains(logs.String(), `"msg":"restore"`) || !strings.Contains(logs.String(), `"action":"restored"`) {
		t.Errorf("no restore log lines:\n%s", logs)
	}
	// Nothing left to restore.
	plan, err = e.Restore(context.Background(), paths[0], Options{Mode: ModeDryRun})
	if err != nil || plan.Zones[0].Status != StatusInSync {
		t.Errorf("second restore: %s %+v %v", plan.Zones[0].Status, plan.Zones[0].Changes, err)
	}
	// The restore has its own entry, which undoes it.
	paths, _ = ListJournal(e.Config.StateDir)
	if len(paths) != 2 {
		t.Fatalf("%d entries after restore, want 2", len(paths))
	}
	var undo string
	for _, p := range paths {
		if j, _ := ReadJournal(p); j.Mode == ModeRestore {
			undo = p
			if j.Result == nil || j.Result.Status != StatusApplied || !strings.HasSuffix(j.Restores, ".json") {
				t.Errorf("restore entry %+v", j)
			}
		}
	}
	if _, err := e.Restore(context.Background(), undo, Options{Mode: ModeOnce}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sortedRRs(append(synced, later)), sortedRRs(st.records("example.com."))); diff != "" {
		t.Errorf("after undoing the restore (-want +got):\n%s", diff)
	}
}

func TestRestoreOps(t *testing.T) {
	entry := &JournalEntry{
		Changes: []Change{
			{Action: ActionUpdate, Name: "@", Type: "TXT", Before: []string{"v=spf1 ~all"}, After: []string{"v=spf1 -all"}},
			{Action: ActionCreate, Name: "_dmarc", Type: "TXT", After: []string{"v=DMARC1; p=reject"}},
			{Action: ActionUpdate, Name: "mail", Type: "A", TTL: 3600, BeforeTTL: 300, Before: []string{"192.0.2.1"}, After: []string{"192.0.2.1"}},
		},
		Before: []JournalRRset{
			{Name: "@", Type: "TXT", Records: []JournalRecord{{"foreign", 300}, {"v=spf1 ~all", 300}}},
			{Name: "_dmarc", Type: "TXT", Records: []JournalRecord{}},
			{Name: "mail", Type: "A", Records: []JournalRecord{{"192.0.2.1", 300}}},
		},
	}
	live := []libdns.RR{
		tRR("@", "TXT", 300e9, "v=spf1 -all"),
		tRR("@", "TXT", 300e9, "new-foreign"), // added by someone since: kept
		tRR("_dmarc", "TXT", tHour, "v=DMARC1; p=reject"),
		tRR("mail", "A", tHour, "192.0.2.1"),
	}
	// The foreign value was removed since: it is put back.
	per, changes := restoreOps(entry, live)
	want := []Change{
		{Action: ActionUpdate, Name: "@", Type: "TXT", TTL: 300, Before: []string{"new-foreign", "v=spf1 -all"}, After: []string{"foreign", "new-foreign", "v=spf1 ~all"}},
		{Action: ActionDelete, Name: "_dmarc", Type: "TXT", TTL: 3600, Before: []string{"v=DMARC1; p=reject"}},
		{Action: ActionUpdate, Name: "mail", Type: "A", TTL: 300, BeforeTTL: 3600, Before: []string{"192.0.2.1"}, After: []string{"192.0.2.1"}},
	}
	if diff := cmp.Diff(want, changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	wantOps := []writeOps{
		{Append: []libdns.RR{tRR("@", "TXT", 300e9, "foreign"), tRR("@", "TXT", 300e9, "v=spf1 ~all")}, Delete: []libdns.RR{tRR("@", "TXT", 300e9, "v=spf1 -all")}},
		{Delete: []libdns.RR{tRR("_dmarc", "TXT", tHour, "v=DMARC1; p=reject")}},
		{Replace: []libdns.RR{tRR("mail", "A", tHour, "192.0.2.1")}, ReplaceWith: []libdns.RR{tRR("mail", "A", 300e9, "192.0.2.1")}},
	}
	if diff := cmp.Diff(wantOps, per); diff != "" {
		t.Errorf("ops (-want +got):\n%s", diff)
	}
}
