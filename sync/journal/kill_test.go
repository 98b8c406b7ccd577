package journal

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// killChild is the environment variable that makes the test binary the
// writer TestOutcomeSurvivesKill kills: it appends outcomes to the file
// named there, alternately with and without results, until it is killed.
const killChild = "MAILDNS_TEST_JOURNAL_WRITER"

func killSets() [2][]*Entry {
	now := time.Date(2026, 12, 1, 4, 0, 0, 0, time.UTC)
	var sets [2][]*Entry
	for k := range 2 {
		for i := range 100 {
			e := sampleEntry("20261201T040000Z-0badcafe", fmt.Sprintf("m%d.z.example", i), now)
			if k == 1 {
				e.Result = &Result{Time: now, Status: "applied", Changes: []ChangeResult{}}
			}
			sets[k] = append(sets[k], e)
		}
	}
	return sets
}

func TestMain(m *testing.M) {
	if path := os.Getenv(killChild); path != "" {
		Fsync = false // a kill loses no written page: only the steps' order counts
		sets := killSets()
		for i := 0; ; i++ {
			if err := AppendOutcome(path, sets[i%2], nil); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(3)
			}
		}
	}
	os.Exit(m.Run())
}

// TestOutcomeSurvivesKill: a journal file getting its outcomes appended is,
// whenever its writer dies, whole: every entry as written, with the
// results of one whole outcome (all or none here), never a part. The
// writer is killed at varied points of its appends.
func TestOutcomeSurvivesKill(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "20261201T040000Z-0badcafe-z.example.json")
	sets := killSets()
	if err := WriteEntries(path, sets[0]); err != nil {
		t.Fatal(err)
	}
	for round := range 12 {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), killChild+"="+path)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(20+round*7) * time.Millisecond)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		got, err := ReadAll(path)
		if err != nil {
			t.Fatalf("round %d: after the kill: %v", round, err)
		}
		with := 0
		for _, e := range got {
			if e.Result != nil {
				with++
			}
		}
		if len(got) != len(sets[0]) || (with != 0 && with != len(got)) {
			t.Fatalf("round %d: %d entries, %d with a result; want %d, all or none with one", round, len(got), with, len(sets[0]))
		}
	}
	if info, err := os.Stat(path); err == nil {
		t.Logf("%d bytes after the appends", info.Size())
	}
}
