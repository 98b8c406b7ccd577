package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/providers"

	"github.com/maildns/maildns/sync"
)

// Daemon is maildns as a service: a sync at start and then on the config's
// schedule, a reload of config and policies on request (SIGHUP) that keeps
// the running config when the new one is invalid, and a clean stop that lets
// a run in flight finish within a bounded grace.
//
// It reports its state to the service manager through Notify, in the
// sd_notify(3) protocol (READY=1, RELOADING=1, STOPPING=1, WATCHDOG=1,
// STATUS=...).
type Daemon struct {
	// Path is maildns.yaml, read again on every reload.
	Path string
	// Load loads and validates a config (policy.LoadConfig).
	Load func(path string) (*policy.Config, error)
	// Build turns a loaded config into the runner of its syncs; nil is
	// EngineRunner.
	Build func(cfg *policy.Config, logger *slog.Logger) (Runner, error)
	// Version is recorded in the journal entries of the default runner.
	Version string
	// Logger is the daemon's logger; NewLogger, if set, builds the logger of
	// a reloaded config (log level and format may change on reload).
	Logger    *slog.Logger
	NewLogger func(cfg *policy.Config) *slog.Logger
	// Reload delivers reload requests (SIGHUP).
	Reload <-chan os.Signal
	// Notify sends one sd_notify state; nil sends nothing.
	Notify func(state string)
	// Watchdog is the service manager's watchdog timeout: WATCHDOG=1 is
	// sent every half of it. 0: no watchdog.
	Watchdog time.Duration
	// Observe, if set, sees every run's result (metrics).
	Observe func(Result)
	// Skipped, if set, is told of every tick skipped because a run was
	// still in flight.
	Skipped func()
	// Reloaded, if set, sees every config swapped in by a reload, between
	// runs; period is its schedule's.
	Reloaded func(cfg *policy.Config, period time.Duration)
	// Grace bounds a run in flight at shutdown; 0 is DefaultGrace.
	Grace time.Duration
	// Monotonic returns CLOCK_MONOTONIC in microseconds, sent with
	// RELOADING=1 as MONOTONIC_USEC; nil sends none.
	Monotonic func() int64

	logger atomic.Pointer[slog.Logger] // the running config's
}

// EngineRunner builds cfg's providers and returns a runner of an Engine in
// "daemon" mode.
func EngineRunner(cfg *policy.Config, logger *slog.Logger) (Runner, error) {
	return engineRunner(cfg, logger, "")
}

// engineRunner is EngineRunner recording version in journal entries.
func engineRunner(cfg *policy.Config, logger *slog.Logger, version string) (Runner, error) {
	provs, err := sync.BuildProvidersWith(cfg, providers.WrapOptions{Logger: logger})
	if err != nil {
		return nil, err
	}
	e := &sync.Engine{Config: cfg, Providers: provs, Logger: logger, Version: version}
	// The load compiled every policy already (cfg.Compile): the cache adds
	// only the copies a DKIM rotation makes.
	cc := newCompileCache(cfg.Compile)
	e.Compile = cc.Compile
	e.ZoneCache = &sync.ZoneCache{FullReadEvery: cfg.FullReadEvery}
	e.Memo = &sync.Memo{LiveEvery: cfg.FullReadEvery}
	opts := sync.Options{Mode: "daemon", Offline: !cfg.LiveChecks, NoScorecard: true}
	var last heapStats // at the start of the last cycle
	var kept uint64    // the live heap after the last collection between cycles
	return func(ctx context.Context) (*sync.Plan, error) {
		defer cc.sweep()
		now := readHeap()
		if collectFirst(now, last, kept) {
			runtime.GC()
			now = readHeap()
			kept = now.live
		}
		last = now
		plan, err := e.Run(ctx, opts)
		if e.Memo.Heavy() {
			// A cycle that planned most domains (the first, a full read)
			// grew the heap far beyond what the quiet cycles after it
			// need: give it back now rather than over minutes.
			debug.FreeOSMemory()
			kept = readHeap().live
		}
		return plan, err
	}, nil
}

// collectFirst reports whether a cycle should collect before it starts,
// when the heap holds only what the daemon keeps between cycles: when,
// allocating as much as the last cycle did (last: the heap at its start),
// it could start a collection in its midst (the runtime starts one once
// the heap has grown 70 to 95% of the way from the last live heap to the
// goal). A collection in the midst of a cycle finds the cycle's own
// garbage-to-be still in use and sets the next goal that much higher: at
// 10,000 domains the heap then grew to 190 MB between collections where
// 110 MB do. The goal is taken from kept, the live heap after the last
// collection between cycles, when that is smaller than the last
// collection's: one in the midst of a cycle (or of a scrape of the
// metrics) would let the heap grow by as much again before this one.
func collectFirst(now, last heapStats, kept uint64) bool {
	if last.allocated == 0 || now.goal <= now.live || now.live == 0 {
		return false
	}
	base := now.live
	if kept > 0 && kept < base {
		base = kept
	}
	// The goal as the runtime would set it from base (GOGC).
	room := float64(now.goal-now.live) * float64(base) / float64(now.live)
	next := now.inUse + (now.allocated - last.allocated)
	return float64(next) > float64(base)+room*7/10
}

// heapStats is what the runner reads of the heap around a cycle.
type heapStats struct {
	inUse     uint64 // bytes of live and not yet collected objects
	allocated uint64 // bytes allocated since the start
	live      uint64 // bytes found live by the last collection
	goal      uint64 // the heap size at which the next collection ends
}

var heapSamples = []string{"/memory/classes/heap/objects:bytes", "/gc/heap/allocs:bytes", "/gc/heap/live:bytes", "/gc/heap/goal:bytes"}

func readHeap() heapStats {
	s := make([]metrics.Sample, len(heapSamples))
	for i, name := range heapSamples {
		s[i].Name = name
	}
	metrics.Read(s)
	return heapStats{inUse: s[0].Value.Uint64(), allocated: s[1].Value.Uint64(), live: s[2].Value.Uint64(), goal: s[3].Value.Uint64()}
}

// Run runs the daemon on cfg, already loaded from d.Path, until ctx is done.
// It returns an error only when cfg cannot be started (its schedule or its
// providers); a clean stop returns nil.
func (d *Daemon) Run(ctx context.Context, cfg *policy.Config) error {
	log := d.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d.logger.Store(log)
	sched, err := ParseSchedule(cfg.Schedule)
	if err != nil {
		return fmt.Errorf("%s: %w", d.Path, err)
	}
	run, err := d.build(cfg, log)
	if err != nil {
		return err
	}

	s := NewScheduler(sched, run, log)
	s.Jitter = cfg.ScheduleJitter
	s.Grace = d.Grace
	s.OnResult = func(r Result) {
		if d.Observe != nil {
			d.Observe(r)
		}
		d.notify("STATUS=" + StatusLine(r))
	}
	s.OnSkip = d.Skipped
	if d.Watchdog > 0 {
		s.Heartbeat = d.Watchdog / 2
		s.OnHeartbeat = func() { d.notify("WATCHDOG=1") }
	}

	log.Info("daemon started", "config", d.Path, "schedule", scheduleSpec(cfg),
		"domains", len(cfg.Domains), "pid", os.Getpid())
	d.notify("READY=1\nSTATUS=first sync running")

	var wg gosync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				d.notify("STOPPING=1\nSTATUS=stopping")
				return
			case <-d.Reload:
				d.reload(s)
			}
		}
	})

	err = s.Loop(ctx)
	wg.Wait()
	log = s.Logger // the logger of the config that ran last
	log.Info("daemon stopped", "config", d.Path)
	return err
}

// reload loads d.Path again and, when it is valid, swaps it in between runs.
func (d *Daemon) reload(s *Scheduler) {
	state := "RELOADING=1"
	if d.Monotonic != nil {
		state += fmt.Sprintf("\nMONOTONIC_USEC=%d", d.Monotonic())
	}
	d.notify(state)

	log := d.logger.Load()
	fail := func(err error) {
		log.Error("reload failed", "config", d.Path, "errors", countErrors(err), "error", err.Error())
		d.notify("READY=1\nSTATUS=reload failed, running the previous config: " + firstLine(err))
	}
	cfg, err := d.Load(d.Path)
	if err != nil {
		fail(err)
		return
	}
	sched, err := ParseSchedule(cfg.Schedule)
	if err != nil {
		fail(fmt.Errorf("%s: %w", d.Path, err))
		return
	}
	newLog := log
	if d.NewLogger != nil {
		newLog = d.NewLogger(cfg)
	}
	run, err := d.build(cfg, newLog)
	if err != nil {
		fail(err)
		return
	}
	s.Between(func() {
		s.Schedule = sched
		s.Jitter = cfg.ScheduleJitter
		s.Run = run
		s.Logger = newLog
		d.logger.Store(newLog)
		newLog.Info("config reloaded", "config", d.Path, "schedule", scheduleSpec(cfg),
			"domains", len(cfg.Domains))
		if d.Reloaded != nil {
			d.Reloaded(cfg, Period(sched, time.Now()))
		}
		d.notify("READY=1\nSTATUS=config reloaded")
	})
}

func (d *Daemon) build(cfg *policy.Config, log *slog.Logger) (Runner, error) {
	if d.Build != nil {
		return d.Build(cfg, log)
	}
	return engineRunner(cfg, log, d.Version)
}

func (d *Daemon) notify(state string) {
	if d.Notify != nil {
		d.Notify(state)
	}
}

// StatusLine is the one-line summary of a run for the service manager:
// "last sync 12:00:01: 3 zones, 0 changes, 1 finding".
func StatusLine(r Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "last sync %s", r.Start.Format(time.TimeOnly))
	if r.Err != nil {
		b.WriteString(" failed")
	}
	b.WriteString(": ")
	if r.Plan == nil {
		b.WriteString(firstLine(r.Err))
		return b.String()
	}
	sum := r.Plan.Summary
	fmt.Fprintf(&b, "%s, %s, %s", plural(len(r.Plan.Zones), "zone"),
		plural(sum.Create+sum.Update+sum.Delete, "change"), plural(sum.Findings, "finding"))
	if sum.Errors > 0 {
		fmt.Fprintf(&b, ", %s", plural(sum.Errors, "error"))
	}
	return b.String()
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func firstLine(err error) string {
	if err == nil {
		return ""
	}
	line, _, _ := strings.Cut(err.Error(), "\n")
	return line
}

// countErrors counts the errors joined in err (errors.Join, nested).
func countErrors(err error) int {
	if err == nil {
		return 0
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		n := 0
		for _, e := range j.Unwrap() {
			n += countErrors(e)
		}
		return n
	}
	return 1
}

func scheduleSpec(cfg *policy.Config) string {
	if strings.TrimSpace(cfg.Schedule) == "" {
		return DefaultSchedule
	}
	return cfg.Schedule
}
