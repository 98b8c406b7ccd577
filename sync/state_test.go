package sync

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRecordRunMergesAndDerives(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	first := &Plan{
		Zones: []ZonePlan{
			{Domain: "a.example", Zone: "a.example", Provider: "p", Status: StatusApplied, Changes: []Change{{}, {}}},
			{Domain: "a.example", Zone: "113.0.203.in-addr.arpa", Provider: "p", Status: StatusRefused, Changes: []Change{{}}},
			{Domain: "b.example", Zone: "b.example", Provider: "p", Status: StatusWatched, Changes: []Change{{}}},
			{Domain: "c.example", Zone: "c.example", Provider: "p", Status: StatusInSync},
		},
		Findings: []Finding{
			{Domain: "c.example", Severity: SevAction, Kind: "ptr", ISPRequest: "Please set the reverse DNS"},
			{Domain: "c.example", Severity: SevInfo, Kind: "spf"},
		},
		Watched: []string{"b.example"},
	}
	if err := RecordRun(dir, ModeOnce, first, nil, t0, t0.Add(time.Second), time.Time{}, ""); err != nil {
		t.Fatal(err)
	}
	st, err := ReadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*DomainState{}
	for _, d := range st.Domains {
		got[d.Domain] = d
	}
	for name, want := range map[string]struct {
		status             string
		pending, corrected int
		findings           int
		attention, watched bool
	}{
		"a.example": {DomainRefused, 1, 2, 0, true, false},
		"b.example": {DomainWatched, 1, 0, 0, true, true},
		"c.example": {DomainInSync, 0, 0, 1, true, false}, // the ISP action; info left out
	} {
		d := got[name]
		if d == nil {
			t.Fatalf("no state for %s", name)
		}
		if d.Status != want.status || d.Pending != want.pending || d.Corrected != want.corrected ||
			len(d.Findings) != want.findings || d.Attention() != want.attention || d.Watched != want.watched {
			t.Errorf("%s: %+v, want %+v (attention %v)", name, d, want, d.Attention())
		}
	}
	if st.LastRun.Changes != 2 || st.LastRun.Mode != ModeOnce || st.NextRun != nil {
		t.Errorf("last run %+v, next %v", st.LastRun, st.NextRun)
	}

	// A daemon run over a.example only: a.example is replaced, the others
	// kept; the next run is recorded and a later one-shot keeps it.
	next := t0.Add(15 * time.Minute)
	second := &Plan{Zones: []ZonePlan{{Domain: "a.example", Zone: "a.example", Provider: "p", Status: StatusInSync}}}
	if err := RecordRun(dir, ModeDaemon, second, nil, t0.Add(time.Minute), t0.Add(time.Minute), next, "@every 15m"); err != nil {
		t.Fatal(err)
	}
	if err := RecordRun(dir, ModeDryRun, &Plan{}, os.ErrDeadlineExceeded, t0.Add(2*time.Minute), t0.Add(2*time.Minute), time.Time{}, ""); err != nil {
		t.Fatal(err)
	}
	st, err = ReadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Domains) != 3 || st.Domains[0].Domain != "a.example" || st.Domains[0].Status != DomainInSync || st.Domains[0].Mode != ModeDaemon {
		t.Errorf("domains after the partial run: %+v", st.Domains)
	}
	if st.NextRun == nil || !st.NextRun.Equal(next) || st.Schedule != "@every 15m" {
		t.Errorf("next run %v %q", st.NextRun, st.Schedule)
	}
	if st.LastRun.Result != "error" || !strings.Contains(st.LastRun.Error, "timeout") {
		t.Errorf("last run %+v", st.LastRun)
	}
	// Written whole through a rename: nothing but the state.
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "status.json" {
		t.Errorf("state_dir holds %v", names)
	}
	// A damaged state is replaced by the next run, not fatal to it.
	os.WriteFile(filepath.Join(dir, StateFile), []byte("{"), 0o640)
	if _, err := ReadState(dir); err == nil {
		t.Error("a damaged state reads without error")
	}
	if err := RecordRun(dir, ModeOnce, second, nil, t0, t0, time.Time{}, ""); err != nil {
		t.Fatal(err)
	}
	if st, err := ReadState(dir); err != nil || len(st.Domains) != 1 {
		t.Errorf("after a damaged state: %v %+v", err, st)
	}
}
