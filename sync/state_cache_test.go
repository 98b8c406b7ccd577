package sync

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// statusBytesAsMarshalled checks that status.json is exactly what
// json.MarshalIndent makes of the state it holds.
func statusBytesAsMarshalled(t *testing.T, dir string) *State {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		t.Fatal(err)
	}
	st, err := ReadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, append(want, '\n')) {
		t.Fatalf("status.json differs from its state marshalled:\n%s\nwant:\n%s", data, want)
	}
	return st
}

// A daemon records each cycle from the state it wrote last, not by
// parsing status.json again, and re-encodes only the domains whose state
// changed; the file stays byte for byte what json.MarshalIndent gives, and
// a status.json another run wrote meanwhile is read, its domains kept.
func TestRecordRunFromWrittenState(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 123456789, time.UTC)
	plan := func(cStatus string, msg string) *Plan {
		return &Plan{
			Zones: []ZonePlan{
				{Domain: "a.example", Zone: "a.example", Provider: "p", Status: StatusInSync},
				{Domain: "a.example", Zone: "113.0.203.in-addr.arpa", Provider: "p", Status: StatusRefused, Changes: []Change{{}}, Error: "no <write> & \"quotes\" \u2028"},
				{Domain: "c.example", Zone: "c.example", Provider: "p", Status: cStatus},
			},
			Findings: []Finding{
				{Domain: "a.example", Severity: SevAction, Kind: "ptr", Subject: "203.0.113.25", Message: msg, ISPRequest: "Please set <PTR>"},
				{Domain: "a.example", Severity: SevWarning, Kind: "spf", Message: "ünïcode\ttab"},
			},
		}
	}
	next := t0.Add(15 * time.Minute)
	if err := RecordRun(dir, ModeDaemon, plan(StatusInSync, "m1"), nil, t0, t0.Add(time.Second), next, "@every 15m"); err != nil {
		t.Fatal(err)
	}
	statusBytesAsMarshalled(t, dir)

	// The next cycles: the same, then c changed and a's finding too.
	t1 := t0.Add(15 * time.Minute)
	if err := RecordRun(dir, ModeDaemon, plan(StatusInSync, "m1"), nil, t1, t1.Add(time.Second), next, "@every 15m"); err != nil {
		t.Fatal(err)
	}
	st := statusBytesAsMarshalled(t, dir)
	if !st.Domains[0].Run.Equal(t1) || !st.Domains[1].Run.Equal(t1) {
		t.Fatalf("runs %v %v, want %v", st.Domains[0].Run, st.Domains[1].Run, t1)
	}
	t2 := t1.Add(15 * time.Minute)
	if err := RecordRun(dir, ModeDaemon, plan(StatusApplied, "m2"), nil, t2, t2.Add(time.Second), next, "@every 15m"); err != nil {
		t.Fatal(err)
	}
	st = statusBytesAsMarshalled(t, dir)
	if st.Domains[0].Findings[0].Message != "m2" {
		t.Fatalf("a changed finding was not recorded: %+v", st.Domains[0].Findings)
	}

	// Another run writes the file (a one-shot run of b.example): the next
	// cycle reads it and keeps b.
	other := &Plan{Zones: []ZonePlan{{Domain: "b.example", Zone: "b.example", Provider: "p", Status: StatusInSync}}}
	st.Domains = append(st.Domains, domainStates(other, ModeOnce, t2)...)
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, StateFile), append(data, '\n'), 0o640); err != nil {
		t.Fatal(err)
	}
	t3 := t2.Add(15 * time.Minute)
	if err := RecordRun(dir, ModeDaemon, plan(StatusInSync, "m2"), nil, t3, t3.Add(time.Second), next, "@every 15m"); err != nil {
		t.Fatal(err)
	}
	st = statusBytesAsMarshalled(t, dir)
	if len(st.Domains) != 3 || st.Domains[1].Domain != "b.example" || st.Domains[1].Mode != ModeOnce {
		t.Fatalf("the other run's domain was not kept: %+v", st.Domains)
	}
}

// A daemon's quiet cycle hands RecordRun the very lists of the last plan
// (the memo shares them): the domains' states are taken as recorded, their
// run moved on, and the file is still exactly its state marshalled; a
// plan with new lists is derived again.
func TestRecordRunSamePlanLists(t *testing.T) {
	dir := t.TempDir()
	p := &Plan{
		Zones: []ZonePlan{
			{Domain: "a.example", Zone: "a.example", Provider: "p", Status: StatusInSync},
			{Domain: "b.example", Zone: "b.example", Provider: "p", Status: StatusDrift, Changes: []Change{{}}},
		},
		Findings: []Finding{{Domain: "a.example", Severity: SevWarning, Kind: "spf", Message: "m"}},
		Watched:  []string{"b.example"},
	}
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for i := range 3 {
		at := t0.Add(time.Duration(i) * time.Minute)
		if err := RecordRun(dir, ModeDaemon, p, nil, at, at, time.Time{}, ""); err != nil {
			t.Fatal(err)
		}
		st := statusBytesAsMarshalled(t, dir)
		if len(st.Domains) != 2 || !st.Domains[0].Run.Equal(at) || !st.Domains[1].Run.Equal(at) ||
			st.Domains[1].Status != DomainDrift || !st.Domains[1].Watched || len(st.Domains[0].Findings) != 1 {
			t.Fatalf("cycle %d: %+v %+v", i, st.Domains[0], st.Domains[1])
		}
	}
	q := *p
	q.Zones = slices.Clone(p.Zones)
	q.Zones[1].Status, q.Zones[1].Changes = StatusInSync, nil
	at := t0.Add(time.Hour)
	if err := RecordRun(dir, ModeDaemon, &q, nil, at, at, time.Time{}, ""); err != nil {
		t.Fatal(err)
	}
	if st := statusBytesAsMarshalled(t, dir); st.Domains[1].Status != DomainInSync || st.Domains[1].Pending != 0 {
		t.Fatalf("a plan with new lists was not derived again: %+v", st.Domains[1])
	}
}
