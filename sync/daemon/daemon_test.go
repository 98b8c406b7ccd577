package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	gosync "sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/maildns/maildns/policy"

	"github.com/maildns/maildns/sync"
)

// notes records sd_notify states.
type notes struct {
	mu     gosync.Mutex
	states []string
}

func (n *notes) notify(s string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.states = append(n.states, s)
}

func (n *notes) all() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.states...)
}

// index is the position of the first state containing want after from, or -1.
func (n *notes) index(want string, from int) int {
	for i, s := range n.all() {
		if i >= from && strings.Contains(s, want) {
			return i
		}
	}
	return -1
}

func TestDaemonReloadAndStop(t *testing.T) {
	log, logs := newTestLogger()
	// The config on disk: a generation number, or a broken file.
	var onDisk atomic.Value
	onDisk.Store("1")
	load := func(path string) (*policy.Config, error) {
		v := onDisk.Load().(string)
		if v == "broken" {
			return nil, errors.Join(
				policy.Errorf(policy.Pos{File: "policies/example.com.yaml", Line: 7}, "unknown key %q", "mx_hosts"),
				policy.Errorf(policy.Pos{File: "maildns.yaml", Line: 3}, "bad schedule"))
		}
		return &policy.Config{File: path, Schedule: "@every 1s", Domains: []*policy.Domain{{Domain: "gen" + v + ".example"}}}, nil
	}
	var mu gosync.Mutex
	ranWith := map[string]int{}
	build := func(cfg *policy.Config, _ *slog.Logger) (Runner, error) {
		gen := cfg.Domains[0].Domain
		return func(context.Context) (*sync.Plan, error) {
			mu.Lock()
			ranWith[gen]++
			mu.Unlock()
			return &sync.Plan{Zones: []sync.ZonePlan{{Domain: gen}}, Summary: sync.Summary{Update: 1, Findings: 2}}, nil
		}, nil
	}
	ran := func(gen string) int {
		mu.Lock()
		defer mu.Unlock()
		return ranWith[gen]
	}

	n := &notes{}
	reload := make(chan os.Signal, 1)
	var observed atomic.Int32
	reloaded := make(chan string, 10)
	d := &Daemon{
		Path: "maildns.yaml", Load: load, Build: build, Logger: log,
		Reload: reload, Notify: n.notify, Watchdog: 40 * time.Millisecond,
		Observe: func(Result) { observed.Add(1) },
		Reloaded: func(cfg *policy.Config, period time.Duration) {
			reloaded <- fmt.Sprintf("%s %v", cfg.Domains[0].Domain, period)
		},
		Monotonic: func() int64 { return 4242 },
	}
	cfg, err := load("maildns.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, cfg) }()

	waitFor(t, "READY=1", 5*time.Second, func() bool { return n.index("READY=1", 0) == 0 })
	waitFor(t, "first run", 5*time.Second, func() bool { return ran("gen1.example") >= 1 })
	waitFor(t, "run STATUS", 5*time.Second, func() bool {
		return n.index("STATUS=last sync ", 0) >= 0
	})
	if i := n.index("STATUS=last sync ", 0); !strings.HasSuffix(n.all()[i], ": 1 zone, 1 change, 2 findings") {
		t.Errorf("status = %q", n.all()[i])
	}
	waitFor(t, "WATCHDOG=1", 5*time.Second, func() bool { return n.index("WATCHDOG=1", 0) >= 0 })

	// A broken config is refused; the running one goes on.
	onDisk.Store("broken")
	mark := len(n.all())
	reload <- syscall.SIGHUP
	waitFor(t, "reload failed", 5*time.Second, func() bool { return len(logs.records(t, "reload failed")) == 1 })
	failed := logs.records(t, "reload failed")[0]
	if failed["level"] != "ERROR" || !strings.Contains(fmt.Sprint(failed["error"]), "policies/example.com.yaml:7: unknown key") ||
		failed["errors"] != float64(2) {
		t.Errorf("reload failed line = %v", failed)
	}
	r := n.index("RELOADING=1\nMONOTONIC_USEC=4242", mark)
	if r < 0 || n.index("READY=1", r) < 0 {
		t.Errorf("states after a failed reload = %q, want RELOADING=1 then READY=1", n.all()[mark:])
	}
	before := ran("gen1.example")
	waitFor(t, "a run on the old config", 5*time.Second, func() bool { return ran("gen1.example") > before })

	// A valid config swaps in.
	onDisk.Store("2")
	mark = len(n.all())
	reload <- syscall.SIGHUP
	waitFor(t, "config reloaded", 5*time.Second, func() bool { return len(logs.records(t, "config reloaded")) == 1 })
	waitFor(t, "a run on the new config", 5*time.Second, func() bool { return ran("gen2.example") >= 1 })
	select {
	case got := <-reloaded:
		if got != "gen2.example 1s" {
			t.Errorf("Reloaded saw %q, want the new config and its period", got)
		}
	default:
		t.Error("Reloaded not called")
	}
	if len(reloaded) != 0 {
		t.Error("Reloaded called more than once (or for the broken config)")
	}
	if r := n.index("RELOADING=1", mark); r < 0 || n.index("READY=1", r) < 0 {
		t.Errorf("states after a reload = %q, want RELOADING=1 then READY=1", n.all()[mark:])
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5s of cancel")
	}
	if n.index("STOPPING=1", 0) < 0 {
		t.Errorf("no STOPPING=1 in %q", n.all())
	}
	if observed.Load() < 3 {
		t.Errorf("observed %d runs, want at least 3", observed.Load())
	}
	for _, msg := range []string{"daemon started", "daemon stopped"} {
		if len(logs.records(t, msg)) != 1 {
			t.Errorf("want one %q line", msg)
		}
	}
}

func TestDaemonStartErrors(t *testing.T) {
	d := &Daemon{Path: "maildns.yaml", Build: func(*policy.Config, *slog.Logger) (Runner, error) {
		return nil, errors.New("maildns.yaml:9: provider cf: setting \"api_token\": required")
	}}
	err := d.Run(context.Background(), &policy.Config{Schedule: "@every 1s"})
	if err == nil || !strings.Contains(err.Error(), "maildns.yaml:9:") {
		t.Errorf("Run with a failing build = %v", err)
	}
	err = d.Run(context.Background(), &policy.Config{Schedule: "every day"})
	if err == nil || !strings.Contains(err.Error(), `maildns.yaml: schedule "every day"`) {
		t.Errorf("Run with a bad schedule = %v", err)
	}
}

func TestStatusLine(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 1, 0, time.UTC)
	three := []sync.ZonePlan{{}, {}, {}}
	for _, tc := range []struct {
		r    Result
		want string
	}{
		{Result{Start: at, Plan: &sync.Plan{Zones: three, Summary: sync.Summary{Findings: 1}}},
			"last sync 12:00:01: 3 zones, 0 changes, 1 finding"},
		{Result{Start: at, Plan: &sync.Plan{Zones: three[:1], Summary: sync.Summary{Create: 1, Delete: 2, Findings: 0}}},
			"last sync 12:00:01: 1 zone, 3 changes, 0 findings"},
		{Result{Start: at, Err: errors.New("zone x: boom"), Plan: &sync.Plan{Zones: three[:2], Summary: sync.Summary{Errors: 1}}},
			"last sync 12:00:01 failed: 2 zones, 0 changes, 0 findings, 1 error"},
		{Result{Start: at, Err: errors.New("read zone: timeout\nmore")},
			"last sync 12:00:01 failed: read zone: timeout"},
	} {
		if got := StatusLine(tc.r); got != tc.want {
			t.Errorf("StatusLine = %q, want %q", got, tc.want)
		}
	}
}
