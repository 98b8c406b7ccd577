package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/maildns/maildns/sync"
)

// every is a schedule faster than cron allows, for tests.
type every time.Duration

func (e every) Next(t time.Time) time.Time { return t.Add(time.Duration(e)) }

// logBuffer collects JSON log lines safely from several goroutines.
type logBuffer struct {
	mu  gosync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// records returns the decoded log records with message msg.
func (b *logBuffer) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for line := range strings.SplitSeq(b.buf.String(), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

func newTestLogger() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// runLoop runs s.Loop in a goroutine and returns a function that cancels it
// and waits (bounded) for it to return.
func runLoop(t *testing.T, s *Scheduler) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Loop(ctx) }()
	return func() {
		t.Helper()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Loop: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Loop did not return within 5s of cancel")
		}
	}
}

func TestParseSchedule(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		spec    string
		period  time.Duration
		wantErr string
	}{
		{spec: "", period: 15 * time.Minute},
		{spec: "@every 15m", period: 15 * time.Minute},
		{spec: "@every 1s", period: time.Second},
		{spec: "@hourly", period: time.Hour},
		{spec: "@daily", period: 24 * time.Hour},
		{spec: "*/5 * * * *", period: 5 * time.Minute},
		{spec: "30 4 * * *", period: 24 * time.Hour},
		{spec: "0 9-17 * * 1-5", period: time.Hour},
		{spec: "bogus", wantErr: `schedule "bogus"`},
		{spec: "* * *", wantErr: "expected exactly 5 fields"},
		{spec: "0 0 30 2 *", wantErr: "never fires"},
		{spec: "* * * * * *", wantErr: "expected exactly 5 fields"},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			s, err := ParseSchedule(tc.spec)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseSchedule(%q) = %v, want error containing %q", tc.spec, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSchedule(%q): %v", tc.spec, err)
			}
			if got := Period(s, now); got != tc.period {
				t.Errorf("Period(%q) = %v, want %v", tc.spec, got, tc.period)
			}
		})
	}
}

// TestSchedulerNeverOverlaps runs a runner that takes much longer than the
// period: runs never overlap and the ticks in between are logged as skipped.
func TestSchedulerNeverOverlaps(t *testing.T) {
	log, logs := newTestLogger()
	var inFlight, maxInFlight, runs atomic.Int32
	run := func(ctx context.Context) (*sync.Plan, error) {
		n := inFlight.Add(1)
		for {
			m := maxInFlight.Load()
			if n <= m || maxInFlight.CompareAndSwap(m, n) {
				break
			}
		}
		defer inFlight.Add(-1)
		runs.Add(1)
		time.Sleep(60 * time.Millisecond)
		return &sync.Plan{}, nil
	}
	s := NewScheduler(every(10*time.Millisecond), run, log)
	var results, skips atomic.Int32
	s.OnResult = func(Result) { results.Add(1) }
	s.OnSkip = func() { skips.Add(1) }
	stop := runLoop(t, s)
	waitFor(t, "3 runs", 5*time.Second, func() bool { return runs.Load() >= 3 })
	stop()

	if got := maxInFlight.Load(); got != 1 {
		t.Errorf("max concurrent runs = %d, want 1", got)
	}
	if got, want := results.Load(), runs.Load(); got != want {
		t.Errorf("OnResult called %d times for %d runs", got, want)
	}
	skipped := logs.records(t, "sync skipped")
	if len(skipped) == 0 {
		t.Fatal("no \"sync skipped\" log line")
	}
	if skipped[0]["level"] != "WARN" || skipped[0]["reason"] != "previous sync still running" {
		t.Errorf("sync skipped line = %v, want level WARN and a reason", skipped[0])
	}
	if got := skips.Load(); int(got) != len(skipped) {
		t.Errorf("OnSkip called %d times for %d \"sync skipped\" lines", got, len(skipped))
	}
}

// TestSchedulerRunsAtStart runs once at start, before the first tick.
func TestSchedulerRunsAtStart(t *testing.T) {
	ran := make(chan struct{}, 10)
	s := NewScheduler(every(time.Hour), func(context.Context) (*sync.Plan, error) {
		ran <- struct{}{}
		return &sync.Plan{}, nil
	}, nil)
	stop := runLoop(t, s)
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("no run at start")
	}
	stop()
	if len(ran) != 0 {
		t.Errorf("%d more runs, want none before the first tick", len(ran))
	}
}

// TestSchedulerShutdownLetsRunFinish cancels the loop while a run is in
// flight: the run's context stays alive and its result is observed.
func TestSchedulerShutdownLetsRunFinish(t *testing.T) {
	started := make(chan struct{})
	var runCtxErr atomic.Value
	s := NewScheduler(every(time.Hour), func(ctx context.Context) (*sync.Plan, error) {
		close(started)
		time.Sleep(100 * time.Millisecond)
		runCtxErr.Store(errString(ctx.Err()))
		return &sync.Plan{Mode: "daemon"}, nil
	}, nil)
	var got []Result
	s.OnResult = func(r Result) { got = append(got, r) }
	stop := runLoop(t, s)
	<-started
	stop()
	if len(got) != 1 || got[0].Err != nil || got[0].Plan == nil || got[0].Duration < 100*time.Millisecond {
		t.Fatalf("results = %+v, want the one finished run", got)
	}
	if e := runCtxErr.Load(); e != "" {
		t.Errorf("run's context was cancelled at shutdown: %v", e)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestSchedulerShutdownGrace cancels a run that outlasts the grace.
func TestSchedulerShutdownGrace(t *testing.T) {
	log, logs := newTestLogger()
	started := make(chan struct{})
	s := NewScheduler(every(time.Hour), func(ctx context.Context) (*sync.Plan, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	}, log)
	s.Grace = 50 * time.Millisecond
	var got []Result
	s.OnResult = func(r Result) { got = append(got, r) }
	stop := runLoop(t, s)
	<-started
	t0 := time.Now()
	stop()
	if d := time.Since(t0); d < 50*time.Millisecond || d > 3*time.Second {
		t.Errorf("stop took %v, want about the 50ms grace", d)
	}
	if len(got) != 1 || !errors.Is(got[0].Err, context.Canceled) {
		t.Errorf("results = %+v, want one cancelled run", got)
	}
	if len(logs.records(t, "sync cancelled at shutdown")) != 1 {
		t.Error("no \"sync cancelled at shutdown\" log line")
	}
}

// TestSchedulerBetween runs a swap only when no run is in flight.
func TestSchedulerBetween(t *testing.T) {
	var mu gosync.Mutex
	var events []string
	event := func(e string) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, e)
	}
	release := make(chan struct{})
	started := make(chan struct{}, 10)
	s := NewScheduler(every(time.Hour), func(context.Context) (*sync.Plan, error) {
		event("run 1 start")
		started <- struct{}{}
		<-release
		event("run 1 end")
		return &sync.Plan{}, nil
	}, nil)
	swapped := make(chan struct{})
	stop := runLoop(t, s)
	<-started
	if !s.Between(func() {
		event("swap")
		s.Schedule = every(10 * time.Millisecond)
		s.Run = func(context.Context) (*sync.Plan, error) {
			event("run 2")
			started <- struct{}{}
			return &sync.Plan{}, nil
		}
		close(swapped)
	}) {
		t.Fatal("Between reported a stopped loop")
	}
	select {
	case <-swapped:
		t.Fatal("swap ran while a run was in flight")
	case <-time.After(30 * time.Millisecond):
	}
	close(release)
	<-swapped
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("the swapped runner and schedule never ran")
	}
	stop()
	mu.Lock()
	defer mu.Unlock()
	want := []string{"run 1 start", "run 1 end", "swap", "run 2"}
	if len(events) < len(want) || strings.Join(events[:4], ",") != strings.Join(want, ",") {
		t.Errorf("events = %q, want to start with %q", events, want)
	}
	if s.Between(func() {}) {
		t.Error("Between after the loop stopped reported true")
	}
}

// TestSchedulerJitterCancelled stops during a jitter delay without running.
func TestSchedulerJitterCancelled(t *testing.T) {
	var runs atomic.Int32
	s := NewScheduler(every(10*time.Millisecond), func(context.Context) (*sync.Plan, error) {
		runs.Add(1)
		return &sync.Plan{}, nil
	}, nil)
	s.Jitter = time.Hour
	var results atomic.Int32
	s.OnResult = func(Result) { results.Add(1) }
	stop := runLoop(t, s)
	waitFor(t, "the run at start", 5*time.Second, func() bool { return results.Load() == 1 })
	time.Sleep(50 * time.Millisecond) // a few ticks: one run waits out its jitter
	t0 := time.Now()
	stop()
	if d := time.Since(t0); d > time.Second {
		t.Errorf("stop during a jitter delay took %v", d)
	}
	if runs.Load() != 1 || results.Load() != 1 {
		t.Errorf("runs = %d, results = %d, want only the run at start", runs.Load(), results.Load())
	}
}

func TestSchedulerHeartbeat(t *testing.T) {
	var beats atomic.Int32
	s := NewScheduler(every(time.Hour), func(context.Context) (*sync.Plan, error) { return &sync.Plan{}, nil }, nil)
	s.Heartbeat = 10 * time.Millisecond
	s.OnHeartbeat = func() { beats.Add(1) }
	stop := runLoop(t, s)
	waitFor(t, "3 heartbeats", 5*time.Second, func() bool { return beats.Load() >= 3 })
	stop()
}
