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

// restoreChange puts back only owned values, only where the zone holds
// what the entry left, and says when it does not.
func TestRestoreChange(t *testing.T) {
	spf := tSPF(tHour)
	dmarc := tSet("_dmarc", "TXT", tHour)
	mail := tSet("mail", "A", tHour)
	cases := []struct {
		name    string
		rs      restoreSet
		live    []libdns.RR
		want    *Change
		ops     writeOps
		changed bool
	}{
		{
			name: "spf back, foreign values as the zone has them",
			rs:   restoreSet{owner: &spf, target: []JournalRecord{{Data: "v=spf1 ~all", TTL: 300}}, after: []string{"v=spf1 -all"}},
			live: []libdns.RR{tRR("@", "TXT", 300e9, "v=spf1 -all"), tRR("@", "TXT", 300e9, "new-foreign")},
			want: &Change{Action: ActionUpdate, Name: "@", Type: "TXT", TTL: 300, Before: []string{"v=spf1 -all"}, After: []string{"v=spf1 ~all"}},
			ops:  writeOps{Delete: []libdns.RR{tRR("@", "TXT", 300e9, "v=spf1 -all")}, Append: []libdns.RR{tRR("@", "TXT", 300e9, "v=spf1 ~all")}},
		},
		{
			name: "a created DMARC removed",
			rs:   restoreSet{owner: &dmarc, after: []string{"v=DMARC1; p=reject"}},
			live: []libdns.RR{tRR("_dmarc", "TXT", tHour, "v=DMARC1; p=reject")},
			want: &Change{Action: ActionDelete, Name: "_dmarc", Type: "TXT", TTL: 3600, Before: []string{"v=DMARC1; p=reject"}},
			ops:  writeOps{Delete: []libdns.RR{tRR("_dmarc", "TXT", tHour, "v=DMARC1; p=reject")}},
		},
		{
			name:    "DMARC changed since (A->B, now C): C replaced by A only with --force",
			rs:      restoreSet{owner: &dmarc, target: []JournalRecord{{Data: "v=DMARC1; p=none", TTL: 3600}}, after: []string{"v=DMARC1; p=quarantine"}},
			live:    []libdns.RR{tRR("_dmarc", "TXT", tHour, "v=DMARC1; p=reject")},
			want:    &Change{Action: ActionUpdate, Name: "_dmarc", Type: "TXT", TTL: 3600, Before: []string{"v=DMARC1; p=reject"}, After: []string{"v=DMARC1; p=none"}},
			ops:     writeOps{Delete: []libdns.RR{tRR("_dmarc", "TXT", tHour, "v=DMARC1; p=reject")}, Append: []libdns.RR{tRR("_dmarc", "TXT", tHour, "v=DMARC1; p=none")}},
			changed: true,
		},
		{
			name: "a TTL put back",
			rs:   restoreSet{owner: &mail, target: []JournalRecord{{Data: "192.0.2.1", TTL: 300}}, after: []string{"192.0.2.1"}},
			live: []libdns.RR{tRR("mail", "A", tHour, "192.0.2.1")},
			want: &Change{Action: ActionUpdate, Name: "mail", Type: "A", TTL: 300, BeforeTTL: 3600, Before: []string{"192.0.2.1"}, After: []string{"192.0.2.1"}},
			ops:  writeOps{Replace: []libdns.RR{tRR("mail", "A", tHour, "192.0.2.1")}, ReplaceWith: []libdns.RR{tRR("mail", "A", 300e9, "192.0.2.1")}},
		},
		{
			name: "already as recorded",
			rs:   restoreSet{owner: &mail, target: []JournalRecord{{Data: "192.0.2.1", TTL: 300}}, after: []string{"192.0.2.2"}},
			live: []libdns.RR{tRR("mail", "A", 300e9, "192.0.2.1")},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nt := nameType{strings.ToLower(tc.rs.owner.Name), tc.rs.owner.Type}
			c, ops, changed := restoreChange(nt, &tc.rs, tc.live)
			if diff := cmp.Diff(tc.want, c); diff != "" {
				t.Errorf("change (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.ops, ops); diff != "" {
				t.Errorf("ops (-want +got):\n%s", diff)
			}
			if (changed != "") != tc.changed {
				t.Errorf("changed since = %q, want %v", changed, tc.changed)
			}
		})
	}
}
