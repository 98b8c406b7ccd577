package main

import (
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/maildns/maildns/policy"
)

// newLogger returns the logger the config asks for, writing to w: level
// debug|info|warn|error, format text|json|auto (auto: JSON unless w is a
// terminal).
func newLogger(w io.Writer, lc policy.LogConfig) *slog.Logger {
	var level slog.Level
	switch strings.ToLower(lc.Level) {
	case "debug":
		level = slog.LevelDebug
	case "warn", "warning":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(lc.Format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts))
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts))
	default:
		if isTerminal(w) {
			return slog.New(slog.NewTextHandler(w, opts))
		}
		return slog.New(slog.NewJSONHandler(w, opts))
	}
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
