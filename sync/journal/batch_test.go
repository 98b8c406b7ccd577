package journal

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func sampleEntry(run, domain string, now time.Time) *Entry {
	return &Entry{Version: 1, Time: now, Run: run, Domain: domain, Zone: "z.example", Provider: "local",
		Before: []RRset{{Name: domain, Type: "TXT", Records: []Record{{Data: `v=spf1 -all "quoted"` + "\n", TTL: 3600}}}}}
}

// TestCreateFile: a zone's entries written together are one file named by
// the run and the zone, read back whole and in order; a second write of the
// same run gets a second name; AppendOutcome records the results after the
// entries, which it leaves as written, and leaves no temporary file.
func TestCreateFile(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 12, 1, 4, 0, 0, 0, time.UTC)
	run := "20261201T040000Z-0badcafe"
	entries := []*Entry{sampleEntry(run, "a.z.example", now), sampleEntry(run, "b.z.example", now), sampleEntry(run, "c.z.example", now)}
	// A file of an earlier write of the same run keeps its name.
	first, err := CreateFile(dir, run, entries[:2])
	if err != nil {
		t.Fatal(err)
	}
	path, err := CreateFile(dir, run, entries)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, run+"-z.example.json"); first != want {
		t.Errorf("first file %s, want %s", first, want)
	}
	if path == first || filepath.Base(path) != run+"-z.example-2.json" {
		t.Errorf("second file %s (first %s), want a second name", path, first)
	}
	got, err := ReadAll(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(entries, got); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}
	if _, err := Read(path); err == nil || !strings.Contains(err.Error(), "3 entries") {
		t.Errorf("Read of a file of 3 entries: %v, want an error saying so", err)
	}
	written, _ := os.ReadFile(path)
	for _, e := range entries {
		e.Result = &Result{Time: now, Status: "applied", Changes: []ChangeResult{{Action: "update", Name: e.Domain, Type: "TXT", Result: ChangeDone}}}
	}
	if err := AppendOutcome(path, entries, nil); err != nil {
		t.Fatal(err)
	}
	if got, err = ReadAll(path); err != nil || len(got) != 3 || got[2].Result == nil || got[2].Result.Status != "applied" {
		t.Errorf("after the results: %v, %v", got, err)
	}
	if data, _ := os.ReadFile(path); !strings.HasPrefix(string(data), string(written)) {
		t.Errorf("the entries were rewritten by the results:\n%s", data)
	}
	ents, _ := os.ReadDir(dir)
	for _, de := range ents {
		if strings.HasPrefix(de.Name(), ".tmp-journal-") {
			t.Errorf("temporary file %s left", de.Name())
		}
	}
	if len(ents) != 2 {
		t.Errorf("%d files in the journal, want 2", len(ents))
	}
	if runs, err := ListRuns(dir); err != nil || len(runs) != 1 || runs[0].Domains != 3 || runs[0].Changes != 3 || len(runs[0].Entries) != 2 || runs[0].Outcome != RunInterrupted {
		t.Errorf("runs %+v, %v: want one run of 3 domains, 3 changes done, 2 files, interrupted (the first file has no result)", runs, err)
	}
}

// TestOneEntryFileAsBefore: a file of one entry is the indented object
// every journal file was before files held a zone's entries, and such a
// file, written by an earlier maildns, reads as it did.
func TestOneEntryFileAsBefore(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 12, 1, 4, 0, 0, 0, time.UTC)
	run := "20261201T040000Z-0badcafe"
	e := sampleEntry(run, "a.z.example", now)
	path, err := Create(dir, run, e)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(data), "{\n  \"version\": 1,\n  \"time\": ") || filepath.Base(path) != run+"-a.z.example-z.example.json" {
		t.Errorf("%s:\n%s\nwant the indented form under the domain's name", path, data)
	}
	old, err := Read(filepath.Join("testdata", "20261126T101500Z-7c1e2a9f-example.com-example.com.json"))
	if err != nil {
		t.Fatal(err)
	}
	if old.Domain != "example.com" || len(old.Before) != 2 || old.Result == nil || old.Result.Changes[0].Result != ChangeDone {
		t.Errorf("an earlier maildns's entry read as %+v", old)
	}
}

// TestReadAllRefusesAnyBadEntry: one bad entry among good ones, or a file
// cut short, is an error naming the file: restore never works from part of
// a file.
func TestReadAllRefusesAnyBadEntry(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 12, 1, 4, 0, 0, 0, time.UTC)
	good, err := encodeEntries([]*Entry{sampleEntry("r", "a.z.example", now), sampleEntry("r", "b.z.example", now)})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(good), "\n")
	for name, data := range map[string]string{
		"cut.json":      string(good[:len(good)-20]),
		"bad.json":      lines[0] + `{"version": 1, "zone": "z.example"}` + "\n",
		"unknown.json":  lines[0] + `{"version": 1, "zone": "z.example", "provider": "p", "extra": 1}` + "\n",
		"empty.json":    "",
		"trailing.json": string(good) + "x",
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		if got, err := ReadAll(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: %d entries, err %v, want an error naming the file", name, len(got), err)
		}
	}
}

// TestOutcomeLines: the last whole outcome line gives the entries their
// results and drops; an append cut short or zeroed by a crash is ignored
// (the outcome before it stands, or none, or a whole one after it); a line
// that is JSON but not an outcome of the file's entries is an error naming
// the file.
func TestOutcomeLines(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 12, 1, 4, 0, 0, 0, time.UTC)
	run := "20261201T040000Z-0badcafe"
	for _, n := range []int{1, 3} { // the indented form and the lines
		var entries []*Entry
		for i := range n {
			entries = append(entries, sampleEntry(run, fmt.Sprintf("d%d.z.example", i), now))
		}
		path, err := CreateFile(filepath.Join(dir, strconv.Itoa(n)), run, entries)
		if err != nil {
			t.Fatal(err)
		}
		entries[0].Result = &Result{Time: now, Status: "error", Error: "boom", Changes: []ChangeResult{}}
		if err := AppendOutcome(path, entries, nil); err != nil {
			t.Fatal(err)
		}
		first, _ := os.ReadFile(path)
		entries[0].Result = &Result{Time: now, Status: "applied", Changes: []ChangeResult{}}
		dropped := make([]bool, n)
		dropped[n-1] = n > 1 // the last of several wrote nothing
		if err := AppendOutcome(path, entries, dropped); err != nil {
			t.Fatal(err)
		}
		whole, _ := os.ReadFile(path)
		got, err := ReadAll(path)
		if err != nil || len(got) != n-btoi(n > 1) || got[0].Result == nil || got[0].Result.Status != "applied" {
			t.Fatalf("%d entries: read %d, %v; want %d, the first applied", n, len(got), err, n-btoi(n > 1))
		}
		if n > 1 && (got[1].Result != nil || got[1].Domain != "d1.z.example") {
			t.Errorf("%d entries: the second read as %+v, want no result yet", n, got[1])
		}
		for name, tail := range map[string]string{
			"cut":    string(whole[len(first) : len(whole)-7]),
			"zeroed": strings.Repeat("\x00", len(whole)-len(first)),
			"start":  "\n{\"resu",
		} {
			if err := os.WriteFile(path, []byte(string(first)+tail), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := ReadAll(path)
			if err != nil || len(got) != n || got[0].Result == nil || got[0].Result.Status != "error" {
				t.Errorf("%d entries, last append %s: %d entries, %v; want all %d, the first failed as the whole line said", n, name, len(got), err, n)
			}
		}
		written := string(first[:bytes.Index(first, []byte(outcomeStart))])
		cut := string(first[len(written) : len(first)-9])
		for name, data := range map[string]string{
			"zeros after the entries": written + "\n\x00\x00",
			"a cut line, a whole one": written + cut + string(whole[len(first):]),
		} {
			if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := ReadAll(path)
			want := n
			if strings.Contains(name, "whole") {
				want = n - btoi(n > 1)
			}
			if err != nil || len(got) != want || (got[0].Result != nil) != strings.Contains(name, "whole") {
				t.Errorf("%d entries, %s: %d, %v; want %d entries, results as the whole line says", n, name, len(got), err, want)
			}
		}
		for name, data := range map[string]string{
			"too few results": written + "\n{\"results\":[]}\n",
			"not an outcome":  string(whole) + "{\"version\":1}\n",
			"a bad drop":      written + "\n{\"results\":[null],\"dropped\":[0]}\n",
		} {
			if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
			if got, err := ReadAll(path); err == nil || !strings.Contains(err.Error(), path) {
				t.Errorf("%d entries, %s: %d entries, err %v; want an error naming the file", n, name, len(got), err)
			}
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
