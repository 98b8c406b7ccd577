package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	gosync "sync"
	"syscall"

	"github.com/maildns/maildns/policy"
)

// newLogger returns the logger the config asks for, writing to w: level
// debug|info|warn|error, format text|json|auto (auto: JSON unless w is a
// terminal). When w is the journal's stream (JOURNAL_STREAM), each line
// starts with its syslog priority, <N> as in sd-daemon(3), so that journald
// files WARN at 4 (warning) and ERROR at 3 (err) instead of 6 for all.
func newLogger(w io.Writer, lc policy.LogConfig) *slog.Logger {
	level := parseLevel(lc.Level)
	opts := &slog.HandlerOptions{Level: level}
	newHandler := func(w io.Writer) slog.Handler {
		switch strings.ToLower(lc.Format) {
		case "text":
			return slog.NewTextHandler(w, opts)
		case "json":
			return slog.NewJSONHandler(w, opts)
		default:
			if isTerminal(w) {
				return slog.NewTextHandler(w, opts)
			}
			return slog.NewJSONHandler(w, opts)
		}
	}
	if isJournalStream(w) {
		return slog.New(newJournalHandler(w, newHandler))
	}
	return slog.New(newHandler(w))
}

func parseLevel(s string) slog.Level {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

// withLevel is lc with the level --log-level gives, when it gives one.
func withLevel(lc policy.LogConfig, level string) policy.LogConfig {
	if level != "" {
		lc.Level = level
	}
	return lc
}

// oneShotLog is the log config of a one-shot run (--dry-run, --once,
// --validate, restore): on a terminal the plan on stdout is the report and
// the log shows only errors, unless --log-level asks for more.
func oneShotLog(lc policy.LogConfig, level string, stderr io.Writer) policy.LogConfig {
	if level == "" && isTerminal(stderr) {
		level = "error"
	}
	return withLevel(lc, level)
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// colour reports whether text for people written to w may be coloured: a
// terminal that is not TERM=dumb, and NO_COLOR unset (no-color.org).
func colour(w io.Writer) bool {
	return isTerminal(w) && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
}

// isJournalStream reports whether w is the stream systemd connected to the
// journal: JOURNAL_STREAM holds its device and inode ("DEV:INODE"), compared
// as sd-daemon does, so that a stderr redirected elsewhere by a child of the
// service is not mistaken for it.
func isJournalStream(w io.Writer) bool {
	js := os.Getenv("JOURNAL_STREAM")
	if js == "" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return false
	}
	return js == fmt.Sprintf("%d:%d", st.Dev, st.Ino)
}

// journalPriority is the syslog priority of a slog level (sd-daemon(3)).
func journalPriority(l slog.Level) int {
	switch {
	case l >= slog.LevelError:
		return 3 // err
	case l >= slog.LevelWarn:
		return 4 // warning
	case l >= slog.LevelInfo:
		return 6 // info
	default:
		return 7 // debug
	}
}

// journalHandler writes each record as the inner handler formats it, with
// the <N> priority prefix in front, in one write.
type journalHandler struct {
	inner slog.Handler
	out   *journalOut
}

// journalOut is the buffer the inner handlers format into and the stream
// the lines go to; it is shared by the handlers WithAttrs/WithGroup derive.
type journalOut struct {
	mu  gosync.Mutex
	buf bytes.Buffer
	w   io.Writer
}

func newJournalHandler(w io.Writer, newHandler func(io.Writer) slog.Handler) *journalHandler {
	out := &journalOut{w: w}
	return &journalHandler{inner: newHandler(&out.buf), out: out}
}

func (h *journalHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *journalHandler) Handle(ctx context.Context, r slog.Record) error {
	h.out.mu.Lock()
	defer h.out.mu.Unlock()
	h.out.buf.Reset()
	fmt.Fprintf(&h.out.buf, "<%d>", journalPriority(r.Level))
	if err := h.inner.Handle(ctx, r); err != nil {
		return err
	}
	_, err := h.out.w.Write(h.out.buf.Bytes())
	return err
}

func (h *journalHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &journalHandler{inner: h.inner.WithAttrs(as), out: h.out}
}

func (h *journalHandler) WithGroup(name string) slog.Handler {
	return &journalHandler{inner: h.inner.WithGroup(name), out: h.out}
}

// errorStream is w for maildns's own error lines (a file's problems, a
// failed zone): on the journal's stream each line gets priority 3, as an
// ERROR record does; elsewhere w itself.
func errorStream(w io.Writer) io.Writer {
	if !isJournalStream(w) {
		return w
	}
	return &prefixWriter{w: w, prefix: []byte("<3>"), bol: true}
}

// prefixWriter puts prefix at the start of every line written through it.
type prefixWriter struct {
	w      io.Writer
	prefix []byte
	bol    bool // at the beginning of a line
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	var out []byte
	for _, c := range b {
		if p.bol {
			out = append(out, p.prefix...)
		}
		out = append(out, c)
		p.bol = c == '\n'
	}
	if _, err := p.w.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}
