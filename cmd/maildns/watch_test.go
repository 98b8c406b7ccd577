package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/maildns/maildns/sync"
)

// logLines returns the JSON log lines of out whose msg is msg.
func logLines(t *testing.T, out, msg string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for l := range strings.SplitSeq(out, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == msg {
			lines = append(lines, m)
		}
	}
	return lines
}

// journalEntries counts the journal entries in the example copy's state_dir.
func journalEntries(t *testing.T, cfg string) int {
	t.Helper()
	list, err := sync.ListJournal(filepath.Join(filepath.Dir(cfg), "state"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return len(list)
}

// With enforce: false in maildns.yaml the example (9 changes to make) is
// planned, logged and reported by --once exactly as by --dry-run, and no
// file changes.
func TestWatchConfigOnce(t *testing.T) {
	cfg := e2eExample(t)
	e2eAppend(t, cfg, "enforce: false\n")
	dir := filepath.Dir(cfg)
	files := e2eSnapshot(t, dir)

	dryCode, dryOut, dryErr := e2eRun(t, "--config", cfg, "--dry-run", "--output", "json")
	if dryCode != 2 {
		t.Fatalf("--dry-run exit %d, want 2\n%s%s", dryCode, dryOut, dryErr)
	}
	var dry sync.Plan
	if err := json.Unmarshal([]byte(dryOut), &dry); err != nil {
		t.Fatal(err)
	}
	changes, nFiles := 0, 0 // RRset changes (one drift line each) and files
	for _, z := range dry.Zones {
		changes += len(z.Changes)
		nFiles += len(z.Files)
	}
	if changes == 0 {
		t.Fatal("the example has no drift to watch")
	}

	for run := 1; run <= 2; run++ {
		code, out, errOut := e2eRun(t, "--config", cfg, "--once", "--output", "json")
		if code != dryCode {
			t.Fatalf("--once #%d exit %d, want %d as --dry-run\n%s%s", run, code, dryCode, out, errOut)
		}
		if diff := cmp.Diff(files, e2eSnapshot(t, dir)); diff != "" {
			t.Fatalf("--once #%d changed a watched zone (-before +after):\n%s", run, diff)
		}
		if www, _ := filepath.Glob(filepath.Join(dir, "www", "*")); len(www) != 0 {
			t.Fatalf("--once #%d wrote the watched domain's MTA-STS policy: %v", run, www)
		}
		var plan sync.Plan
		if err := json.Unmarshal([]byte(out), &plan); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"example.com", "example.net"}, plan.Watched); diff != "" {
			t.Errorf("watched (-want +got):\n%s", diff)
		}
		if plan.Summary.Watched != 2 {
			t.Errorf("summary.watched = %d, want 2", plan.Summary.Watched)
		}
		n, nf := 0, 0
		for _, z := range plan.Zones {
			n += len(z.Changes)
			nf += len(z.Files)
			if len(z.Changes)+len(z.Files) > 0 && z.Status != sync.StatusWatched {
				t.Errorf("zone %s of %s: status %q, want watched", z.Zone, z.Domain, z.Status)
			}
		}
		if n != changes || nf != nFiles {
			t.Errorf("--once #%d plans %d changes and %d files, --dry-run %d and %d", run, n, nf, changes, nFiles)
		}
		drift := logLines(t, errOut, "drift")
		if len(drift) != changes {
			t.Errorf("--once #%d logged %d drift lines, want %d", run, len(drift), changes)
		}
		for _, d := range drift {
			if d["action"] != "would_correct" {
				t.Errorf("drift line action %v, want would_correct: %v", d["action"], d)
			}
		}
		fin := logLines(t, errOut, "sync finished")
		if len(fin) != 1 || fin[0]["watched"] != float64(2) || fin[0]["changes"] != float64(0) {
			// changes counts what was written: nothing.
			t.Errorf("sync finished lines: %v", fin)
		}
	}
	if n := journalEntries(t, cfg); n != 0 {
		t.Errorf("%d journal entries written for watched domains", n)
	}
	code, out, _ := e2eRun(t, "--config", cfg, "--once")
	if code != 2 || !strings.Contains(out, "watched") {
		t.Errorf("text --once: exit %d\n%s", code, out)
	}
}

// enforce: false in one policy watches that domain only: the other is
// corrected, and --once exits 2 for the watched drift.
func TestWatchOnePolicy(t *testing.T) {
	cfg := e2eExample(t)
	dir := filepath.Dir(cfg)
	e2eAppend(t, filepath.Join(dir, "policies", "example.com.yaml"), "\nenforce: false\n")
	com := filepath.Join(dir, "zones", "example.com.zone")
	before, err := os.ReadFile(com)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := e2eRun(t, "--config", cfg, "--once", "--output", "json")
	if code != 2 {
		t.Fatalf("--once exit %d, want 2\n%s%s", code, out, errOut)
	}
	var plan sync.Plan
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, z := range plan.Zones {
		status[z.Domain+" "+z.Zone] = z.Status
	}
	if status["example.com example.com"] != sync.StatusWatched || status["example.net example.net"] != sync.StatusApplied {
		t.Errorf("statuses %v", status)
	}
	if after, _ := os.ReadFile(com); string(after) != string(before) {
		t.Errorf("the watched zone changed:\n%s", after)
	}
	// The enforced domain is now in sync; the watched one still drifts.
	code, out, _ = e2eRun(t, "--config", cfg, "--dry-run", "--domain", "example.net")
	if code != 0 {
		t.Errorf("--dry-run of the enforced domain after --once: exit %d\n%s", code, out)
	}
	code, _, _ = e2eRun(t, "--config", cfg, "--once", "--domain", "example.com")
	if code != 2 {
		t.Errorf("--once of the watched domain again: exit %d, want 2", code)
	}
	// Enforcing it then corrects it.
	e2eReplace(t, filepath.Join(dir, "policies", "example.com.yaml"), "enforce: false", "enforce: true")
	if code, out, errOut := e2eRun(t, "--config", cfg, "--once"); code != 0 {
		t.Errorf("--once once enforced: exit %d\n%s%s", code, out, errOut)
	}
	if after, _ := os.ReadFile(com); string(after) == string(before) {
		t.Error("the zone was not corrected once enforced")
	}
}

// The daemon with enforce: false: three runs, each logging the drift as
// would_correct, the zone files byte-identical, the metric set.
func TestWatchDaemon(t *testing.T) {
	dir := t.TempDir()
	bin := buildMaildns(t, dir)
	cfgDir := filepath.Join(dir, "example")
	config := exampleCopy(t, cfgDir)
	e2eAppend(t, config, "enforce: false\n")
	files := e2eSnapshot(t, cfgDir)
	sockDir, err := os.MkdirTemp("", "sdn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	p := startDaemon(t, bin, config, filepath.Join(sockDir, "notify"))

	const wait = 20 * time.Second
	_, listening := p.waitLog("metrics listening", 0, wait, msgIs("metrics listening"))
	addr, _ := listening["addr"].(string)
	from, perRun := 0, []int{}
	for run := 1; run <= 3; run++ {
		i, fin := p.waitLog("a sync", from, wait, msgIs("sync finished"))
		if fin["watched"] != float64(2) || fin["errors"] != float64(0) {
			t.Errorf("run %d: sync finished %v", run, fin)
		}
		p.mu.Lock()
		n := 0
		for _, l := range p.lines[from:i] {
			if l["msg"] == "drift" {
				n++
				if l["action"] != "would_correct" {
					t.Errorf("run %d: drift action %v", run, l["action"])
				}
			}
		}
		p.mu.Unlock()
		perRun = append(perRun, n)
		if diff := cmp.Diff(files, e2eSnapshot(t, cfgDir)); diff != "" {
			t.Fatalf("run %d changed a watched zone (-before +after):\n%s", run, diff)
		}
		from = i + 1
	}
	if perRun[0] == 0 || perRun[1] != perRun[0] || perRun[2] != perRun[0] {
		t.Errorf("drift lines per run %v, want the same non-zero count each run", perRun)
	}
	if got := metric(t, addr, "maildns_watched_domains"); got != 2 {
		t.Errorf("maildns_watched_domains = %v, want 2", got)
	}
	if got := metric(t, addr, `maildns_drift_rrsets{domain="example.com"}`); got == 0 {
		t.Error("maildns_drift_rrsets of the watched example.com is 0")
	}
	if n := journalEntries(t, config); n != 0 {
		t.Errorf("%d journal entries written for watched domains", n)
	}
	// status says so, with the daemon's next run.
	code, rep := statusJSON(t, config)
	if code != 2 || rep.Summary["watched"] != 2 || rep.NextRun == nil || rep.Schedule != "@every 1s" || rep.LastRun.Mode != "daemon" {
		t.Errorf("status of the watching daemon: exit %d, %+v", code, rep)
	}
}

func TestExitStatusWatched(t *testing.T) {
	watched := sync.ZonePlan{Domain: "a.example", Status: sync.StatusWatched, Changes: []sync.Change{{Action: sync.ActionCreate}}}
	inSync := sync.ZonePlan{Domain: "a.example", Status: sync.StatusInSync}
	failed := sync.ZonePlan{Domain: "b.example", Status: sync.StatusError}
	action := sync.Finding{Domain: "a.example", Severity: sync.SevAction}
	other := sync.Finding{Domain: "b.example", Severity: sync.SevAction}
	for _, c := range []struct {
		name string
		plan sync.Plan
		want map[string]int // by mode
	}{
		{"watched drift", sync.Plan{Zones: []sync.ZonePlan{watched}, Watched: []string{"a.example"}},
			map[string]int{sync.ModeDryRun: 2, sync.ModeOnce: 2}},
		{"watched in sync", sync.Plan{Zones: []sync.ZonePlan{inSync}, Watched: []string{"a.example"}},
			map[string]int{sync.ModeDryRun: 0, sync.ModeOnce: 0}},
		{"watched drift and a failed zone", sync.Plan{Zones: []sync.ZonePlan{watched, failed}, Watched: []string{"a.example"}},
			map[string]int{sync.ModeDryRun: 1, sync.ModeOnce: 1}},
		{"an action finding of a watched domain", sync.Plan{Zones: []sync.ZonePlan{inSync}, Findings: []sync.Finding{action}, Watched: []string{"a.example"}},
			map[string]int{sync.ModeDryRun: 2, sync.ModeOnce: 2}},
		{"an action finding of an enforced domain", sync.Plan{Zones: []sync.ZonePlan{inSync}, Findings: []sync.Finding{other}, Watched: []string{"a.example"}},
			map[string]int{sync.ModeDryRun: 2, sync.ModeOnce: 0}},
	} {
		for mode, want := range c.want {
			if got := exitStatus(mode, &c.plan, nil); got != want {
				t.Errorf("%s, %s: exit %d, want %d", c.name, mode, got, want)
			}
		}
	}
}
