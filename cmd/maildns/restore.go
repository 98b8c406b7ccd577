package main

import (
	"context"
	"fmt"
	"io"

	"github.com/maildns/maildns/sync"
)

// restore runs `maildns restore JOURNAL_FILE [--dry-run]`: it puts back the
// state a journal entry recorded before its changes (or, with --dry-run,
// prints what it would change). Exit statuses are those of --once and
// --dry-run.
func restore(ctx context.Context, f *flags, stdout, stderr io.Writer) int {
	path := f.args[1]
	// The entry first: a bad file is reported before any provider is built.
	if _, err := sync.ReadJournal(path); err != nil {
		fmt.Fprintf(stderr, "maildns: restore: %v\n", err)
		return exitFailed
	}
	_, e := load(f, stderr)
	if e == nil {
		return exitFailed
	}
	mode := sync.ModeOnce
	if f.dryRun {
		mode = sync.ModeDryRun
	}
	plan, runErr := e.Restore(ctx, path, sync.Options{
		Mode:           mode,
		Force:          f.force,
		AllowWeakening: f.allowWeakening,
		Offline:        true,
	})
	return report(stdout, stderr, f.output, mode, plan, runErr)
}
