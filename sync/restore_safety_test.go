package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/sync/journal"
)

// dmarcValues returns the DMARC records at _dmarc of example.com.
func dmarcValues(st *fakeStore) []string {
	var out []string
	for _, rr := range st.records("example.com.") {
		if rr.Name == "_dmarc" && rr.Type == "TXT" {
			out = append(out, rr.Data)
		}
	}
	return out
}

// After DMARC went A -> B -> C, restoring the A -> B entry leaves exactly one
// DMARC record: C (refused, shown) or, with --force, A; never two.
func TestRestoreAfterLaterChange(t *testing.T) {
	a, b, c := "v=DMARC1; p=none", "v=DMARC1; p=quarantine", "v=DMARC1; p=reject"
	desired := map[string][]policy.RRset{"example.com": {tOwned("example.com", "example.com", "_dmarc", "TXT", tHour, b)}}
	e, st, _ := testEngine(t, map[string][]libdns.RR{"example.com.": comZone(tRR("_dmarc", "TXT", tHour, a))}, desired)
	e.Config.StateDir = t.TempDir()
	plan, err := e.Run(context.Background(), Options{Mode: ModeOnce})
	if err != nil || plan.Zones[0].Status != StatusApplied {
		t.Fatalf("A -> B: %v %+v", err, plan.Zones)
	}
	ab, err := FindRun(e.Config.StateDir, plan.RunID)
	if err != nil {
		t.Fatal(err)
	}
	desired["example.com"][0].Values = []string{c}
	if _, err := e.Run(context.Background(), Options{Mode: ModeOnce}); err != nil {
		t.Fatal(err)
	}
	if got := dmarcValues(st); !cmp.Equal(got, []string{c}) {
		t.Fatalf("after B -> C: %v", got)
	}
	for _, force := range []bool{false, true} {
		plan, err := e.Restore(context.Background(), ab.Entries[0], Options{Mode: ModeOnce, Force: force, AllowWeakening: true})
		got := dmarcValues(st)
		if len(got) != 1 {
			t.Fatalf("force=%v: %d DMARC records after restoring A -> B: %v", force, len(got), got)
		}
		if !force {
			if got[0] != c || plan.Zones[0].Status != StatusRefused || err != nil {
				t.Errorf("restore over a later change: %v, status %s, err %v; want C kept and refused", got, plan.Zones[0].Status, err)
			}
			if len(plan.Findings) == 0 || !strings.Contains(plan.Findings[0].Message, "changed since") || !strings.Contains(plan.Findings[0].Message, c) {
				t.Errorf("findings %+v, want one saying what changed since", plan.Findings)
			}
		} else if got[0] != a || plan.Zones[0].Status != StatusApplied {
			t.Errorf("restore --force: %v, status %s, want A", got, plan.Zones[0].Status)
		}
	}
}

// A tampered entry naming the apex NS, a foreign www A or an SOA is refused
// whole, before any provider is read, and nothing is written.
func TestRestoreRefusesTamperedEntry(t *testing.T) {
	for _, tamper := range []JournalRRset{
		{Name: "@", Type: "NS", Records: []JournalRecord{}},
		{Name: "www", Type: "A", Records: []JournalRecord{{Data: "203.0.113.66", TTL: 60}}},
		{Name: "@", Type: "SOA", Records: []JournalRecord{}},
		{Name: "_dmarc", Type: "TXT", Records: []JournalRecord{{Data: "v=DMARC1; p=none", TTL: -5}}},
	} {
		t.Run(tamper.Name+" "+tamper.Type, func(t *testing.T) {
			e, st, _ := testEngine(t, map[string][]libdns.RR{"example.com.": driftedCom()}, map[string][]policy.RRset{"example.com": comPolicy()})
			e.Config.StateDir = t.TempDir()
			if _, err := e.Run(context.Background(), Options{Mode: ModeOnce}); err != nil {
				t.Fatal(err)
			}
			paths, _ := ListJournal(e.Config.StateDir)
			entry, err := ReadJournal(paths[0])
			if err != nil {
				t.Fatal(err)
			}
			entry.Before = append(entry.Before, tamper)
			entry.Changes = append(entry.Changes, Change{Action: ActionUpdate, Name: tamper.Name, Type: tamper.Type, After: []string{"x"}})
			data, _ := json.Marshal(entry)
			if err := os.WriteFile(paths[0], data, 0o600); err != nil {
				t.Fatal(err)
			}
			before := st.records("example.com.")
			gets := st.gets["example.com."]
			writes := st.appends + st.deletes + st.sets + st.replaces
			plan, err := e.Restore(context.Background(), paths[0], Options{Mode: ModeOnce, Force: true, AllowWeakening: true})
			if err == nil || plan.Zones[0].Status != StatusRefused {
				t.Errorf("tampered entry: status %s, err %v; want refused", plan.Zones[0].Status, err)
			}
			if err != nil && !strings.Contains(err.Error(), tamper.Name+" "+tamper.Type) {
				t.Errorf("error %v does not name %s %s", err, tamper.Name, tamper.Type)
			}
			if st.appends+st.deletes+st.sets+st.replaces != writes || st.gets["example.com."] != gets {
				t.Errorf("a refused entry touched the provider")
			}
			if diff := cmp.Diff(sortedRRs(before), sortedRRs(st.records("example.com."))); diff != "" {
				t.Errorf("zone changed (-before +after):\n%s", diff)
			}
		})
	}
}

// 50 policies in one zone with max_changes: 5 are refused as one zone, in a
// sync and in the restore of a forced run.
func TestMaxChangesPerZone(t *testing.T) {
	zone := []libdns.RR{tRR("@", "NS", tHour, "ns1.example.net.")}
	desired := map[string][]policy.RRset{}
	for i := range 50 {
		dom := fmt.Sprintf("m%d.example.com", i)
		desired[dom] = []policy.RRset{tOwned(dom, "example.com", fmt.Sprintf("_dmarc.m%d", i), "TXT", tHour, "v=DMARC1; p=reject")}
	}
	e, st, _ := testEngine(t, map[string][]libdns.RR{"example.com.": zone}, desired)
	e.Config.StateDir = t.TempDir()
	e.Config.Safety.MaxChanges = 5
	plan, err := e.Run(context.Background(), Options{Mode: ModeOnce})
	if err != nil {
		t.Fatal(err)
	}
	refused, safety := 0, 0
	for _, z := range plan.Zones {
		if z.Status == StatusRefused {
			refused++
		}
	}
	for _, f := range plan.Findings {
		if f.Kind == "safety" && strings.Contains(f.Message, "50 changes in zone example.com") {
			safety++
		}
	}
	if refused != 50 || safety != 50 || st.appends+st.replaces != 0 {
		t.Fatalf("%d refused, %d findings, %d writes; want 50 shares refused as one zone, nothing written", refused, safety, st.appends+st.replaces)
	}
	if plan, err := e.Run(context.Background(), Options{Mode: ModeDryRun}); err != nil || plan.Findings[0].Severity != SevWarning {
		t.Errorf("dry-run: %v %+v", err, plan.Findings)
	}
	plan, err = e.Run(context.Background(), Options{Mode: ModeOnce, Force: true})
	if err != nil || written(plan) != 50 {
		t.Fatalf("--force: %v, %d written", err, written(plan))
	}
	// Its restore is 50 changes in one zone too.
	plan, err = e.RestoreRun(context.Background(), plan.RunID, Options{Mode: ModeOnce, AllowWeakening: true})
	if err != nil || plan.Zones[0].Status != StatusRefused || len(dmarcNames(st)) != 50 {
		t.Errorf("restore: %v, %s, %d DMARC left; want refused", err, plan.Zones[0].Status, len(dmarcNames(st)))
	}
	plan, err = e.RestoreRun(context.Background(), "last", Options{Mode: ModeOnce, AllowWeakening: true, Force: true})
	if err != nil || len(dmarcNames(st)) != 0 || written(plan) != 50 {
		t.Errorf("restore --force: %v, %d DMARC left, %d written", err, len(dmarcNames(st)), written(plan))
	}
}

func dmarcNames(st *fakeStore) []string {
	var out []string
	for _, rr := range st.records("example.com.") {
		if strings.HasPrefix(rr.Name, "_dmarc") {
			out = append(out, rr.Name)
		}
	}
	return out
}

// Runs that wrote nothing do not push out the runs that did: with keep 2,
// ten failing runs after two applied ones leave both applied runs.
func TestFailedRunsDoNotEvictRestorePoints(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	write := func(i int, status string, result string) string {
		id := now.Add(time.Duration(i)*time.Minute).Format(journal.TimeFormat) + fmt.Sprintf("-%08x", i)
		e := JournalEntry{Version: 1, Run: id, Zone: "example.com", Provider: "p", Mode: ModeDaemon,
			Result: &JournalResult{Status: status, Changes: []ChangeResult{{Action: ActionUpdate, Name: "@", Type: "MX", Result: result}}}}
		data, _ := json.Marshal(e)
		if err := os.WriteFile(filepath.Join(dir, id+"-example.com-example.com.json"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		return id
	}
	a1 := write(0, StatusApplied, ChangeDone)
	a2 := write(1, StatusApplied, ChangeDone)
	var failed []string
	for i := 2; i < 12; i++ {
		failed = append(failed, write(i, StatusError, ChangeNotAttempted))
	}
	j := &journaler{dir: dir, keep: 2, maxAge: 90 * 24 * time.Hour, now: func() time.Time { return now.Add(time.Hour) }}
	if err := j.prune(failed[len(failed)-1]); err != nil {
		t.Fatal(err)
	}
	runs, err := ListRuns(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range runs {
		ids = append(ids, r.ID)
	}
	want := []string{a1, a2, failed[8], failed[9]}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("runs left (-want +got):\n%s", diff)
	}
	// A leftover temporary file of a killed run goes; a fresh one stays.
	old, fresh := filepath.Join(dir, ".tmp-journal-1"), filepath.Join(dir, ".tmp-journal-2")
	for _, p := range []string{old, fresh} {
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_ = os.Chtimes(old, time.Now().Add(-time.Hour), time.Now().Add(-time.Hour))
	_ = j.prune("")
	if _, err := os.Stat(old); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("leftover %s not removed", old)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a fresh temporary file was removed: %v", err)
	}
}

// A zone that cannot be locked keeps its planned changes in the plan.
func TestLockFailureKeepsPlan(t *testing.T) {
	e, _, _ := testEngine(t, map[string][]libdns.RR{"example.com.": driftedCom()}, map[string][]policy.RRset{"example.com": comPolicy()})
	e.Config.StateDir = t.TempDir()
	e.LockWait = 50 * time.Millisecond
	unlock, err := LockZone(context.Background(), e.Config.StateDir, "mem", "example.com", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	plan, err := e.Run(context.Background(), Options{Mode: ModeOnce})
	if !errors.Is(err, ErrZoneLocked) || plan.Zones[0].Status != StatusError || len(plan.Zones[0].Changes) != 4 {
		t.Errorf("locked zone: %v, status %s, %d changes; want error with the 4 planned changes", err, plan.Zones[0].Status, len(plan.Zones[0].Changes))
	}
	if written(plan) != 0 {
		t.Errorf("written %d", written(plan))
	}
	unlock()
	if left, _ := filepath.Glob(filepath.Join(e.Config.StateDir, "*.lock")); len(left) != 0 {
		t.Errorf("lock files left: %v", left)
	}
}

// A run that writes nothing still removes the journal temporary files a
// killed run left.
func TestRunRemovesJournalTemps(t *testing.T) {
	e, _, _ := testEngine(t, map[string][]libdns.RR{"example.com.": comZone()}, map[string][]policy.RRset{"example.com": nil})
	e.Config.StateDir = t.TempDir()
	old := filepath.Join(e.Config.StateDir, ".tmp-journal-123")
	if err := os.WriteFile(old, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = os.Chtimes(old, time.Now().Add(-time.Hour), time.Now().Add(-time.Hour))
	if _, err := e.Run(context.Background(), Options{Mode: ModeOnce}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("leftover %s not removed by a run that wrote nothing", old)
	}
}

// An entry that names a file other than the domain's MTA-STS policy file
// is refused whole: a restore never writes a path an entry makes up.
func TestRestoreRefusesForeignFile(t *testing.T) {
	e, _, _ := testEngine(t, map[string][]libdns.RR{"example.com.": driftedCom()}, map[string][]policy.RRset{"example.com": comPolicy()})
	e.Config.StateDir = t.TempDir()
	if _, err := e.Run(context.Background(), Options{Mode: ModeOnce}); err != nil {
		t.Fatal(err)
	}
	paths, _ := ListJournal(e.Config.StateDir)
	entry, err := ReadJournal(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "authorized_keys")
	entry.Files = []FileChange{{Action: ActionUpdate, Path: target, What: "MTA-STS policy", Before: "ssh-ed25519 AAAA attacker"}}
	data, _ := json.Marshal(entry)
	if err := os.WriteFile(paths[0], data, 0o600); err != nil {
		t.Fatal(err)
	}
	plan, err := e.Restore(context.Background(), paths[0], Options{Mode: ModeOnce, Force: true, AllowWeakening: true})
	if err == nil || plan.Zones[0].Status != StatusRefused || !strings.Contains(err.Error(), target) {
		t.Errorf("entry naming %s: status %s, err %v; want refused naming the file", target, plan.Zones[0].Status, err)
	}
	if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the restore wrote %s", target)
	}
}
