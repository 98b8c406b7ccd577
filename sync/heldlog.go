package sync

import (
	"context"
	"log/slog"
	stdsync "sync"
)

// heldLog keeps the records a domain's checks log until the run logs them
// (runState.logRun), so that a check's lines (a PTR that needs the ISP)
// come after the run's drift lines whichever step ran the checks.
type heldLog struct {
	mu   stdsync.Mutex
	recs []heldRecord
}

type heldRecord struct {
	h slog.Handler
	r slog.Record
}

// replay logs the kept records, in order; a nil l has none.
func (l *heldLog) replay(ctx context.Context) {
	if l == nil {
		return
	}
	l.mu.Lock()
	recs := l.recs
	l.recs = nil
	l.mu.Unlock()
	for _, hr := range recs {
		_ = hr.h.Handle(ctx, hr.r)
	}
}

type heldHandler struct {
	l    *heldLog
	next slog.Handler
}

func (h heldHandler) Enabled(ctx context.Context, lvl slog.Level) bool {
	return h.next.Enabled(ctx, lvl)
}

func (h heldHandler) Handle(_ context.Context, r slog.Record) error {
	h.l.mu.Lock()
	h.l.recs = append(h.l.recs, heldRecord{h.next, r.Clone()})
	h.l.mu.Unlock()
	return nil
}

func (h heldHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return heldHandler{h.l, h.next.WithAttrs(attrs)}
}

func (h heldHandler) WithGroup(name string) slog.Handler {
	return heldHandler{h.l, h.next.WithGroup(name)}
}

// domainHandler is the handler of one domain's checks: next with the
// domain attribute, bound on the first record or With (binding clones the
// run's handler, and the checks of most domains log nothing). When hold is
// not nil the records are kept, in a heldLog made on the first and set in
// *hold, for the run's log instead of handled.
type domainHandler struct {
	next   slog.Handler
	domain string
	hold   **heldLog
	once   stdsync.Once
	bound  slog.Handler
	held   *heldLog
}

// domainLogger returns a logger for one domain's checks: every record
// carries domain (as log.With("domain", domain) would), kept in a heldLog
// set in *hold when hold is not nil.
func domainLogger(next slog.Handler, domain string, hold **heldLog) *slog.Logger {
	return slog.New(&domainHandler{next: next, domain: domain, hold: hold})
}

func (h *domainHandler) handler() slog.Handler {
	h.once.Do(func() {
		h.bound = h.next.WithAttrs([]slog.Attr{slog.String("domain", h.domain)})
		if h.hold != nil {
			h.held = &heldLog{}
			*h.hold = h.held
		}
	})
	return h.bound
}

func (h *domainHandler) Enabled(ctx context.Context, lvl slog.Level) bool {
	return h.next.Enabled(ctx, lvl)
}

func (h *domainHandler) Handle(ctx context.Context, r slog.Record) error {
	b := h.handler()
	if h.held != nil {
		return heldHandler{h.held, b}.Handle(ctx, r)
	}
	return b.Handle(ctx, r)
}

func (h *domainHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	b := h.handler()
	if h.held != nil {
		return heldHandler{h.held, b.WithAttrs(attrs)}
	}
	return b.WithAttrs(attrs)
}

func (h *domainHandler) WithGroup(name string) slog.Handler {
	b := h.handler()
	if h.held != nil {
		return heldHandler{h.held, b.WithGroup(name)}
	}
	return b.WithGroup(name)
}

// checkScratch is the env and logger of one domain's checks, reused for
// the next domain once the domain is judged (its checks returned, its
// scorecard made): at 100,000 domains an env and a logger each were
// 30 MB made after the plan. A nil *checkScratch makes new ones.
type checkScratch struct {
	env  CheckEnv
	h    domainHandler
	log  *slog.Logger  // of &h
	card []Requirement // the domain's scorecard, until kept (scoring.judge)
}

// cleanEnv returns s's env, emptied.
func (s *checkScratch) cleanEnv() *CheckEnv {
	if s == nil {
		return &CheckEnv{}
	}
	s.env.Clear()
	return &s.env
}

// logger is domainLogger, in s.
func (s *checkScratch) logger(next slog.Handler, domain string, hold **heldLog) *slog.Logger {
	if s == nil {
		return domainLogger(next, domain, hold)
	}
	s.h = domainHandler{next: next, domain: domain, hold: hold}
	if s.log == nil {
		s.log = slog.New(&s.h)
	}
	return s.log
}
