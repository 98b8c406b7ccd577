package journal

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestJournalRetention(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	var names []string
	for i := range 8 {
		ts := now.Add(-time.Duration(i) * 24 * time.Hour)
		n := ts.Format(TimeFormat) + "-example.com-example.com-0000000" + fmt.Sprint(i) + ".json"
		names = append(names, n)
		if err := os.WriteFile(filepath.Join(dir, n), []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, other := range []string{"lock-mem-example.com.lock", "notes.json"} {
		if err := os.WriteFile(filepath.Join(dir, other), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Keep the newest 5, none older than 3.5 days: 4 remain.
	if err := Prune(dir, 5, 84*time.Hour, now, names[0]); err != nil {
		t.Fatal(err)
	}
	left, _ := os.ReadDir(dir)
	var got []string
	for _, de := range left {
		got = append(got, de.Name())
	}
	want := append(slices.Clone(names[:4]), "lock-mem-example.com.lock", "notes.json")
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("left (-want +got):\n%s", diff)
	}
	// By count alone.
	_ = Prune(dir, 2, 0, now, "")
	if paths, _ := List(dir); len(paths) != 2 {
		t.Errorf("%d entries left, want 2", len(paths))
	}
}

func TestReadJournalErrors(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{
		"garbage.json":   "not json",
		"version.json":   `{"version": 2, "zone": "example.com", "provider": "p"}`,
		"nozone.json":    `{"version": 1}`,
		"unknown.json":   `{"version": 1, "zone": "example.com", "provider": "p", "extra": 1}`,
		"truncated.json": `{"version": 1, "zone": "exa`,
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Read(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: err %v, want one naming the file", name, err)
		}
	}
	if _, err := Read(filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing: %v", err)
	}
}
