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

// handler returns a handler that keeps each record for next.
func (l *heldLog) handler(next slog.Handler) slog.Handler { return heldHandler{l, next} }

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
