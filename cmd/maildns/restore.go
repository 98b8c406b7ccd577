package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/maildns/maildns/sync"
)

// newRestoreCmd is `maildns restore JOURNAL_FILE | --run ID | --last
// [--domain D] [--dry-run]`.
func newRestoreCmd(c *cli) *cobra.Command {
	f := c.f
	cmd := &cobra.Command{
		Use:   "restore [JOURNAL_FILE]",
		Short: "Put back the state a journal file, or a whole run, recorded before its changes",
		Long: `Put back the "before" state the journal (in state_dir) recorded: one file
(JOURNAL_FILE: the entries of one zone in one write, one per domain), or every
zone a run changed (--run ID from maildns journal list, or --last), optionally
only some domains (--domain). With --dry-run, print what would change. Exit
statuses are those of --once and --dry-run.`,
		Example: "  maildns restore --last --dry-run\n  maildns restore --run 20261201T120000Z-1a2b --domain example.com",
		Args: func(cmd *cobra.Command, args []string) error {
			byRun := cmd.Flags().Changed("run") || f.last
			var err error
			switch {
			case cmd.Flags().Changed("run") && f.last:
				err = errors.New("restore: --run and --last exclude each other")
			case byRun && len(args) != 0, !byRun && len(args) != 1:
				err = errors.New("usage: maildns restore JOURNAL_FILE | --run ID | --last [--domain D] [--dry-run]")
			case cmd.Flags().Changed("run") && f.runID == "":
				err = errors.New("restore: --run needs a run id (maildns journal list shows them)")
			case len(f.domains) > 0 && !byRun:
				err = errors.New("restore: --domain goes with --run or --last")
			}
			if err != nil {
				return &usageError{err, cmd.CommandPath()}
			}
			return nil
		},
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return []string{"json"}, cobra.ShellCompDirectiveFilterFileExt
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.finish(cmd); err != nil {
				return &usageError{err, cmd.CommandPath()}
			}
			f.args = append([]string{"restore"}, args...)
			c.code = c.exec(cmd.Context(), f)
			return nil
		},
	}
	cmd.Flags().BoolVar(&f.dryRun, "dry-run", false, "print what would change, write nothing")
	cmd.Flags().StringVar(&f.runID, "run", "", "put back every zone this run (an `ID` from maildns journal list) changed")
	cmd.Flags().BoolVar(&f.last, "last", false, "put back every zone the last run that changed one changed")
	return cmd
}

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
	var entries []*sync.JournalEntry
	var entry *sync.JournalEntry
	if req.File != "" {
		// The file first: a bad file is reported before any provider is built.
		var err error
		if entries, err = sync.ReadJournalFile(req.File); err != nil {
			fmt.Fprintf(errorStream(stderr), "maildns: restore: %v\n", err)
			return exitFailed
		}
		entry = entries[0]
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
		plan, runErr = e.RestoreEntries(ctx, sync.FileEntries(req.File, entries), opts)
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
