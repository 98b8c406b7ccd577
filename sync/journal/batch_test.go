package journal

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCreateAll: a zone's entries written together are each a whole entry
// under its own name (the same domain twice gets a second name, as Create
// gives it), no temporary file is left, and WriteAll records results in them.
func TestCreateAll(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 12, 1, 4, 0, 0, 0, time.UTC)
	run := "20261201T040000Z-0badcafe"
	mk := func(domain string) *Entry {
		return &Entry{Version: 1, Time: now, Run: run, Domain: domain, Zone: "z.example", Provider: "local",
			Before: []RRset{{Name: domain, Type: "TXT", Records: []Record{{Data: "v=spf1 -all", TTL: 3600}}}}}
	}
	entries := []*Entry{mk("a.z.example"), mk("b.z.example"), mk("a.z.example")}
	// An entry of an earlier write of the same run keeps its name.
	first, err := Create(dir, run, mk("b.z.example"))
	if err != nil {
		t.Fatal(err)
	}
	paths, err := CreateAll(dir, run, entries)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{first: true}
	for i, p := range paths {
		if seen[p] {
			t.Fatalf("entry %d written to %s, which another entry has", i, p)
		}
		seen[p] = true
		e, err := Read(p)
		if err != nil {
			t.Fatal(err)
		}
		if e.Domain != entries[i].Domain || e.Result != nil {
			t.Errorf("%s: domain %q result %v, want %q and none", p, e.Domain, e.Result, entries[i].Domain)
		}
	}
	for _, e := range entries {
		e.Result = &Result{Time: now, Status: "applied", Changes: []ChangeResult{{Action: "update", Name: e.Domain, Type: "TXT", Result: ChangeDone}}}
	}
	if err := WriteAll(paths, entries); err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		e, err := Read(p)
		if err != nil {
			t.Fatal(err)
		}
		if e.Result == nil || e.Result.Status != "applied" {
			t.Errorf("%s: result %v, want applied", p, e.Result)
		}
	}
	ents, _ := os.ReadDir(dir)
	for _, de := range ents {
		if strings.HasPrefix(de.Name(), ".tmp-journal-") {
			t.Errorf("temporary file %s left", de.Name())
		}
	}
	if len(ents) != 4 {
		t.Errorf("%d files in the journal, want 4", len(ents))
	}
}

// TestCreateAllFails: when one entry cannot be written, none is left.
func TestCreateAllFails(t *testing.T) {
	dir := t.TempDir()
	e := &Entry{Version: 1, Domain: "a.z.example", Zone: "z.example", Provider: "local"}
	good := filepath.Join(dir, "20261201T040000Z-a.json")
	bad := filepath.Join(dir, "missing", "20261201T040000Z-b.json")
	if err := WriteAll([]string{good, bad}, []*Entry{e, e}); err == nil {
		t.Fatal("no error writing into a missing directory")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 0 {
		t.Errorf("%d files left after a failed write, want none: %v", len(ents), ents)
	}
}
