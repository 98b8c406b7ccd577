package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/maildns/maildns/sync"
)

// DefaultSchedule is the schedule when the config names none.
const DefaultSchedule = "@every 15m"

// DefaultGrace bounds how long a run in flight at shutdown may go on.
const DefaultGrace = 30 * time.Second

// ParseSchedule parses a robfig/cron/v3 spec: five fields
// ("*/15 * * * *") or a descriptor ("@hourly", "@every 15m"). An empty spec
// is DefaultSchedule.
func ParseSchedule(spec string) (cron.Schedule, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		spec = DefaultSchedule
	}
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", spec, err)
	}
	if Period(s, time.Now()) <= 0 {
		return nil, fmt.Errorf("schedule %q never fires", spec)
	}
	return s, nil
}

// Period is the time between the two runs of s that follow now:
// next(next(now)) - next(now). It is 0 for a schedule that never fires.
func Period(s cron.Schedule, now time.Time) time.Duration {
	n1 := s.Next(now)
	if n1.IsZero() {
		return 0
	}
	n2 := s.Next(n1)
	if n2.IsZero() {
		return 0
	}
	return n2.Sub(n1)
}

// Runner runs one sync. The daemon's runner is an Engine's Run in "daemon" mode.
type Runner func(ctx context.Context) (*sync.Plan, error)

// Result is what one scheduled run did.
type Result struct {
	Plan     *sync.Plan // may be nil when Err is not
	Err      error
	Start    time.Time
	Duration time.Duration
	// Period is the schedule's period when the run finished (see Period).
	Period time.Duration
}

// Scheduler runs a Runner at start and then on a cron schedule, never two
// runs at once: a tick that comes while a run is in flight is skipped and
// logged ("sync skipped"). When the context of Loop is done it schedules
// nothing more and lets a run in flight go on for at most Grace, with a
// context that is not cancelled before then.
//
// The exported fields may be set before Loop, and afterwards only from a
// function passed to Between (which runs on the loop, between runs).
type Scheduler struct {
	Schedule cron.Schedule
	Run      Runner
	Logger   *slog.Logger
	// Jitter is the largest random delay before each scheduled run (not the
	// run at start).
	Jitter time.Duration
	// Grace bounds a run in flight at shutdown; 0 is DefaultGrace.
	Grace time.Duration
	// OnResult, if set, is called on the loop after every run.
	OnResult func(Result)
	// OnSkip, if set, is called on the loop for every tick skipped because
	// a run was still in flight.
	OnSkip func()
	// OnHeartbeat, if set, is called on the loop every Heartbeat (the
	// systemd watchdog), also while a run is in flight.
	Heartbeat   time.Duration
	OnHeartbeat func()

	ctl     chan func()
	stopped chan struct{}
}

// NewScheduler returns a Scheduler for run on schedule.
func NewScheduler(schedule cron.Schedule, run Runner, logger *slog.Logger) *Scheduler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{
		Schedule: schedule,
		Run:      run,
		Logger:   logger,
		ctl:      make(chan func()),
		stopped:  make(chan struct{}),
	}
}

// Between runs fn on the loop when no run is in flight (at once when idle,
// else as soon as the run in flight ends), so that fn may swap the
// scheduler's fields atomically between runs. It does not wait for fn. It
// reports false when the loop has stopped and fn will never run.
func (s *Scheduler) Between(fn func()) bool {
	select {
	case s.ctl <- fn:
		return true
	case <-s.stopped:
		return false
	}
}

// Loop runs until ctx is done and the run in flight, if any, has ended or
// been cancelled after Grace. It runs once at once, then on the schedule.
func (s *Scheduler) Loop(ctx context.Context) error {
	defer close(s.stopped)
	grace := s.Grace
	if grace <= 0 {
		grace = DefaultGrace
	}

	var (
		done      = make(chan Result, 1)
		running   bool
		runStart  time.Time
		cancelRun context.CancelFunc = func() {}
		pending   []func()
	)
	start := func(delay time.Duration) {
		running = true
		runStart = time.Now()
		runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		cancelRun = cancel
		run := s.Run
		go func() {
			if delay > 0 {
				t := time.NewTimer(delay)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					done <- Result{Err: context.Cause(ctx)}
					return
				}
			}
			t0 := time.Now()
			plan, err := run(runCtx)
			done <- Result{Plan: plan, Err: err, Start: t0, Duration: time.Since(t0)}
		}()
	}
	finish := func(r Result) {
		running = false
		cancelRun()
		if r.Start.IsZero() { // cancelled during its jitter delay: not run
			return
		}
		r.Period = Period(s.Schedule, time.Now())
		if s.OnResult != nil {
			s.OnResult(r)
		}
	}

	var heartbeat <-chan time.Time
	if s.Heartbeat > 0 && s.OnHeartbeat != nil {
		t := time.NewTicker(s.Heartbeat)
		defer t.Stop()
		heartbeat = t.C
		s.OnHeartbeat()
	}

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	arm := func() {
		now := time.Now()
		next := s.Schedule.Next(now)
		if next.IsZero() {
			timer.Stop()
			return
		}
		timer.Reset(next.Sub(now))
	}

	start(0)
	arm()
	for {
		select {
		case <-ctx.Done():
			timer.Stop()
			if !running {
				return nil
			}
			s.Logger.Info("waiting for the sync in flight", "grace", grace.String())
			graceTimer := time.NewTimer(grace)
			defer graceTimer.Stop()
			for {
				select {
				case r := <-done:
					finish(r)
					return nil
				case <-heartbeat:
					s.OnHeartbeat()
				case <-graceTimer.C:
					s.Logger.Warn("sync cancelled at shutdown", "grace", grace.String())
					cancelRun()
					// The runner was asked to stop; wait a little for its result.
					select {
					case r := <-done:
						finish(r)
					case <-time.After(5 * time.Second):
					}
					return nil
				}
			}

		case <-timer.C:
			if running {
				s.Logger.Warn("sync skipped", "reason", "previous sync still running",
					"running_for", time.Since(runStart).Round(time.Millisecond).String())
				if s.OnSkip != nil {
					s.OnSkip()
				}
			} else {
				start(s.jitter())
			}
			arm()

		case r := <-done:
			finish(r)
			if len(pending) > 0 {
				for _, fn := range pending {
					fn()
				}
				pending = nil
				arm()
			}

		case fn := <-s.ctl:
			if running {
				pending = append(pending, fn)
				continue
			}
			fn()
			arm()

		case <-heartbeat:
			s.OnHeartbeat()
		}
	}
}

func (s *Scheduler) jitter() time.Duration {
	if s.Jitter <= 0 {
		return 0
	}
	return rand.N(s.Jitter)
}
