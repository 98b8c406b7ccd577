package sync

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/providers"
	"github.com/maildns/maildns/providers/faulty"
)

// driftedCom is example.com with four drifted RRsets: the MX and DMARC
// missing, the SPF soft, the mail host's TTL wrong.
func driftedCom() []libdns.RR {
	return comZone(
		tRR("@", "TXT", tHour, "v=spf1 mx ~all"),
		tRR("mail", "A", 300*time.Second, "203.0.113.25"),
	)
}

func journalEntries(t *testing.T, dir string) []*JournalEntry {
	t.Helper()
	paths, err := ListJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []*JournalEntry
	for _, p := range paths {
		es, err := ReadJournalFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, es...)
	}
	return out
}

func TestJournalBeforeWrites(t *testing.T) {
	e, st, _ := testEngine(t, map[string][]libdns.RR{"example.com.": driftedCom()}, map[string][]policy.RRset{"example.com": comPolicy()})
	e.Config.StateDir = t.TempDir()
	e.Version = "1.2.3"
	plan, err := e.Run(context.Background(), Options{Mode: ModeOnce})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Zones[0].Status != StatusApplied {
		t.Fatalf("status %s", plan.Zones[0].Status)
	}
	ents := journalEntries(t, e.Config.StateDir)
	if len(ents) != 1 {
		t.Fatalf("%d journal entries, want 1", len(ents))
	}
	j := ents[0]
	if j.Domain != "example.com" || j.Zone != "example.com" || j.Provider != "mem" || j.Mode != ModeOnce || j.Maildns != "1.2.3" || time.Since(j.Time) > time.Minute {
		t.Errorf("entry header %+v", j)
	}
	if diff := cmp.Diff(plan.Zones[0].Changes, j.Changes); diff != "" {
		t.Errorf("changes (-plan +journal):\n%s", diff)
	}
	// Every touched RRset as it was, foreign values and their TTLs included.
	want := []JournalRRset{
		{Name: "@", Type: "MX", Records: []JournalRecord{}},
		{Name: "@", Type: "TXT", Records: []JournalRecord{{Data: "MS=ms123", TTL: 3600}, {Data: "google-site-verification=abc", TTL: 3600}, {Data: "some other text", TTL: 300}, {Data: "v=spf1 mx ~all", TTL: 3600}}},
		{Name: "_dmarc", Type: "TXT", Records: []JournalRecord{}},
		{Name: "mail", Type: "A", Records: []JournalRecord{{Data: "203.0.113.25", TTL: 300}}},
	}
	if diff := cmp.Diff(want, j.Before); diff != "" {
		t.Errorf("before (-want +got):\n%s", diff)
	}
	if j.Result == nil || j.Result.Status != StatusApplied || j.Result.Error != "" {
		t.Fatalf("result %+v", j.Result)
	}
	for _, c := range j.Result.Changes {
		if c.Result != ChangeDone {
			t.Errorf("change %+v not done", c)
		}
	}
	// The entry was on disk before the first write: a store whose first
	// write looks for it.
	e.Config.StateDir = t.TempDir()
	seen := -1
	e.Providers["mem"] = &hookProvider{Provider: e.Providers["mem"], beforeWrite: func() {
		if seen < 0 {
			paths, _ := ListJournal(e.Config.StateDir)
			seen = len(paths)
		}
	}}
	st.mu.Lock()
	st.zones["example.com."] = driftedCom()
	st.mu.Unlock()
	if _, err := e.Run(context.Background(), Options{Mode: ModeOnce}); err != nil {
		t.Fatal(err)
	}
	if seen != 1 {
		t.Errorf("%d journal entries on disk at the first write, want 1", seen)
	}
	// A dry run writes no journal.
	e.Config.StateDir = t.TempDir()
	if _, err := e.Run(context.Background(), Options{Mode: ModeDryRun}); err != nil {
		t.Fatal(err)
	}
	if ents := journalEntries(t, e.Config.StateDir); len(ents) != 0 {
		t.Errorf("dry run wrote %d journal entries", len(ents))
	}
}

// A journal that cannot be written stops the zone's writes.
func TestJournalUnwritableWritesNothing(t *testing.T) {
	e, st, _ := testEngine(t, map[string][]libdns.RR{"example.com.": driftedCom()}, map[string][]policy.RRset{"example.com": comPolicy()})
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	e.Config.StateDir = file
	plan, err := e.Run(context.Background(), Options{Mode: ModeOnce})
	if err == nil || plan.Zones[0].Status != StatusError {
		t.Fatalf("status %s, err %v", plan.Zones[0].Status, err)
	}
	if st.appends+st.deletes+st.sets != 0 {
		t.Errorf("wrote without a journal: %d appends, %d deletes", st.appends, st.deletes)
	}
}

type hookProvider struct {
	providers.Provider
	beforeWrite func()
}

func (h *hookProvider) AppendRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	h.beforeWrite()
	return h.Provider.AppendRecords(ctx, zone, recs)
}

func (h *hookProvider) DeleteRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	h.beforeWrite()
	return h.Provider.DeleteRecords(ctx, zone, recs)
}

// A provider error halfway leaves an entry that says what was done; the
// next run converges.
func TestPartialFailure(t *testing.T) {
	e, st, _ := testEngine(t, map[string][]libdns.RR{"example.com.": driftedCom()}, map[string][]policy.RRset{"example.com": comPolicy()})
	e.Config.StateDir = t.TempDir()
	// Call 1 reads (no other maildns held the lock since: no second read),
	// 2 appends, 3 deletes the old SPF: it fails.
	fp := faulty.New(e.Providers["mem"], faulty.Options{Script: func(n int, op string) faulty.Fault {
		if n == 3 {
			return faulty.FailBefore
		}
		return faulty.None
	}})
	e.Providers["mem"] = fp
	plan, err := e.Run(context.Background(), Options{Mode: ModeOnce})
	if err == nil || plan.Zones[0].Status != StatusError || !strings.Contains(plan.Zones[0].Error, "injected fault") {
		t.Fatalf("status %s error %q", plan.Zones[0].Status, plan.Zones[0].Error)
	}
	ents := journalEntries(t, e.Config.StateDir)
	if len(ents) != 1 || ents[0].Result == nil {
		t.Fatalf("entries %+v", ents)
	}
	r := ents[0].Result
	if r.Status != StatusError || !strings.Contains(r.Error, "deleting @ TXT") {
		t.Errorf("result %s %q", r.Status, r.Error)
	}
	got := map[string]string{}
	for _, c := range r.Changes {
		got[c.Name+" "+c.Type] = c.Result
	}
	want := map[string]string{
		"@ MX":       ChangeDone,
		"_dmarc TXT": ChangeDone,
		"@ TXT":      ChangeFailed,       // the new SPF added, the old not deleted
		"mail A":     ChangeNotAttempted, // its TTL change came after
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("per change (-want +got):\n%s", diff)
	}
	// The next run converges.
	plan, err = e.Run(context.Background(), Options{Mode: ModeOnce})
	if err != nil || plan.Zones[0].Status != StatusApplied {
		t.Fatalf("second run: %s %v", plan.Zones[0].Status, err)
	}
	plan, err = e.Run(context.Background(), Options{Mode: ModeDryRun})
	if err != nil || plan.Zones[0].Status != StatusInSync {
		t.Fatalf("third run: %s %+v %v", plan.Zones[0].Status, plan.Zones[0].Changes, err)
	}
	for _, rr := range comForeign {
		if !slices.Contains(st.records("example.com."), rr) {
			t.Errorf("foreign %v lost", rr)
		}
	}
}

func TestLockedZoneIsReportedOthersGoOn(t *testing.T) {
	zones := map[string][]libdns.RR{"example.com.": driftedCom(), "example.net.": nil}
	netPolicy := []policy.RRset{tOwned("example.net", "example.net", "_dmarc", "TXT", tHour, "v=DMARC1; p=reject")}
	e, st, _ := testEngine(t, zones, map[string][]policy.RRset{"example.com": comPolicy(), "example.net": netPolicy})
	e.Config.StateDir = t.TempDir()
	e.LockWait = 50 * time.Millisecond
	unlock, err := LockZone(context.Background(), e.Config.StateDir, "mem", "example.com", 0)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	plan, err := e.Run(context.Background(), Options{Mode: ModeOnce})
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("waited %v", d)
	}
	if !errors.Is(err, ErrZoneLocked) {
		t.Errorf("err %v, want ErrZoneLocked", err)
	}
	status := map[string]ZonePlan{}
	for _, z := range plan.Zones {
		status[z.Zone] = z
	}
	want := fmt.Sprintf("zone locked by another maildns (pid %d)", os.Getpid())
	if z := status["example.com"]; z.Status != StatusError || !strings.Contains(z.Error, want) {
		t.Errorf("example.com: %s %q, want error with %q", z.Status, z.Error, want)
	}
	if z := status["example.net"]; z.Status != StatusApplied {
		t.Errorf("example.net: %s %q", z.Status, z.Error)
	}
	if recs := st.records("example.com."); !slices.Equal(recs, driftedCom()) {
		t.Errorf("the locked zone was written")
	}
	// A dry run reads a locked zone.
	plan, _ = e.Run(context.Background(), Options{Mode: ModeDryRun})
	for _, z := range plan.Zones {
		if z.Status == StatusError {
			t.Errorf("dry run: %s %s", z.Zone, z.Error)
		}
	}
	unlock()
	plan, err = e.Run(context.Background(), Options{Mode: ModeOnce})
	if err != nil {
		t.Fatalf("after unlock: %v %+v", err, plan.Zones)
	}
	// A cancelled wait says so.
	unlock, _ = LockZone(context.Background(), e.Config.StateDir, "mem", "example.com", 0)
	defer unlock()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := LockZone(ctx, e.Config.StateDir, "mem", "example.com", time.Hour); !errors.Is(err, context.Canceled) || !errors.Is(err, ErrZoneLocked) {
		t.Errorf("cancelled wait: %v", err)
	}
}

// TestZoneLockHelper is not a test: run by TestZoneLockAcrossProcesses as
// another maildns process, it holds a zone's lock until its stdin closes.
func TestZoneLockHelper(t *testing.T) {
	dir := os.Getenv("MAILDNS_LOCK_HELPER_DIR")
	if dir == "" {
		return
	}
	unlock, err := LockZone(context.Background(), dir, "mem", "example.com", time.Second)
	if err != nil {
		fmt.Println("lock failed:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin)
	unlock()
	os.Exit(0)
}

// startLockHelper starts TestZoneLockHelper as another process holding
// example.com's lock in dir, and returns once it holds it: the lock is
// released when stdin is closed (or the process killed, as it is at the
// end of the test).
func startLockHelper(t *testing.T, dir string) (*exec.Cmd, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestZoneLockHelper$")
	cmd.Env = append(os.Environ(), "MAILDNS_LOCK_HELPER_DIR="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "locked\n" {
		t.Fatalf("helper: %q %v", line, err)
	}
	return cmd, stdin
}

// A holder killed while it holds a zone's lock (SIGKILL: no release runs)
// leaves the zone free at once, and no file behind but the generations;
// another zone is never held up by a held one.
func TestZoneLockFreedWhenHolderKilled(t *testing.T) {
	dir := t.TempDir()
	cmd, _ := startLockHelper(t, dir)
	other, err := LockZone(context.Background(), dir, "mem", "example.net", 50*time.Millisecond)
	if err != nil {
		t.Fatalf("another zone while example.com is held: %v", err)
	}
	other()
	if _, err := LockZone(context.Background(), dir, "mem", "example.com", 50*time.Millisecond); !errors.Is(err, ErrZoneLocked) {
		t.Fatalf("example.com while held: %v, want ErrZoneLocked", err)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	unlock, err := LockZone(context.Background(), dir, "mem", "example.com", 50*time.Millisecond)
	if err != nil {
		t.Fatalf("after the holder was killed: %v", err)
	}
	unlock()
	names, _ := os.ReadDir(dir)
	if len(names) != 1 || names[0].Name() != "zone-generations" {
		t.Errorf("state_dir holds %v, want only zone-generations", names)
	}
}

// A --once beside a daemon: the zone another process holds is reported with
// that process's pid, and is free again once it exits.
func TestZoneLockAcrossProcesses(t *testing.T) {
	e, st, _ := testEngine(t, map[string][]libdns.RR{"example.com.": driftedCom()}, map[string][]policy.RRset{"example.com": comPolicy()})
	e.Config.StateDir = t.TempDir()
	e.LockWait = 100 * time.Millisecond
	cmd, stdin := startLockHelper(t, e.Config.StateDir)
	plan, err := e.Run(context.Background(), Options{Mode: ModeOnce})
	want := fmt.Sprintf("zone locked by another maildns (pid %d)", cmd.Process.Pid)
	if !errors.Is(err, ErrZoneLocked) || plan.Zones[0].Status != StatusError || !strings.Contains(plan.Zones[0].Error, want) {
		t.Errorf("status %s error %q, want %q", plan.Zones[0].Status, plan.Zones[0].Error, want)
	}
	if st.appends+st.deletes != 0 {
		t.Errorf("wrote a zone another process holds")
	}
	_ = stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	plan, err = e.Run(context.Background(), Options{Mode: ModeOnce})
	if err != nil || plan.Zones[0].Status != StatusApplied {
		t.Errorf("after the other process: %s %v", plan.Zones[0].Status, err)
	}
}
