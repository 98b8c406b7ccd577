package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/maildns/maildns/sync"
)

// restoreRequest is what `maildns restore` was asked: one journal entry
// (File), or every entry of a run (Run, or Last for the newest run that
// changed a zone), optionally only some domains.
type restoreRequest struct {
	Config         string // the config file; "" or ConfigDefault: see restoreConfig
	ConfigGiven    bool   // --config or $MAILDNS_CONFIG named it
	File           string
	Run            string
	Last           bool
	Domains        []string
	DryRun         bool
	Force          bool
	AllowWeakening bool
	Output         string
}

// restoreCommand runs `maildns restore JOURNAL_FILE | --run ID | --last
// [--domain D] [--dry-run]`: it puts back the state the entries recorded
// before their changes, every zone of a run in one command (or, with
// --dry-run, prints what it would change). Exit statuses are those of
// --once and --dry-run.
func restoreCommand(ctx context.Context, req restoreRequest, stdout, stderr io.Writer) int {
	var entry *sync.JournalEntry
	if req.File != "" {
		// The entry first: a bad file is reported before any provider is built.
		var err error
		if entry, err = sync.ReadJournal(req.File); err != nil {
			fmt.Fprintf(stderr, "maildns: restore: %v\n", err)
			return exitFailed
		}
	}
	cfgPath := restoreConfig(req, entry)
	_, e := load(&flags{config: cfgPath, domains: stringList(req.Domains)}, stderr)
	if e == nil {
		return exitFailed
	}
	mode := sync.ModeOnce
	if req.DryRun {
		mode = sync.ModeDryRun
	}
	opts := sync.Options{
		Mode:           mode,
		Domains:        req.Domains,
		Force:          req.Force,
		AllowWeakening: req.AllowWeakening,
		Offline:        true,
	}
	var plan *sync.Plan
	var runErr error
	switch {
	case req.File != "":
		plan, runErr = e.RestoreEntries(ctx, []sync.RestoreEntry{{Path: req.File, Entry: entry}}, opts)
	case req.Last:
		plan, runErr = e.RestoreRun(ctx, "last", opts)
	default:
		plan, runErr = e.RestoreRun(ctx, req.Run, opts)
	}
	return report(stdout, stderr, req.Output, mode, plan, runErr)
}

// restoreConfig is the config a restore loads: the one named (--config,
// $MAILDNS_CONFIG), else the one the entry's run used when it is still
// there, else the default.
func restoreConfig(req restoreRequest, entry *sync.JournalEntry) string {
	if req.ConfigGiven && req.Config != "" {
		return req.Config
	}
	if entry != nil && entry.Config != "" {
		if _, err := os.Stat(entry.Config); err == nil {
			return entry.Config
		}
	}
	if req.Config != "" {
		return req.Config
	}
	return DefaultConfig
}
