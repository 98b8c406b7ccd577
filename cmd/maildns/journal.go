package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/sync"
)

// journalList runs `maildns journal list`: the runs of the journal in the
// config's state_dir, oldest first: id, time, mode, zones, changes written,
// outcome. output is text, json or markdown.
func journalList(cfgPath, output string, stdout, stderr io.Writer) int {
	cfg, err := policy.LoadConfig(cfgPath)
	if err != nil {
		printErrors(stderr, cfgPath, err)
		return exitFailed
	}
	runs, err := sync.ListRuns(cfg.StateDir)
	if err != nil {
		if len(runs) == 0 {
			fmt.Fprintf(stderr, "maildns: journal list: %v\n", err)
			return exitFailed
		}
		// Some entries could not be read: list the rest, name them.
		for _, e := range flatten(err) {
			fmt.Fprintf(stderr, "maildns: journal list: %v\n", e)
		}
	}
	if output == "json" {
		if runs == nil {
			runs = []sync.RunInfo{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"journal": cfg.StateDir, "runs": runs}); err != nil {
			return exitFailed
		}
		return exitOK
	}
	if output == "markdown" {
		md := sync.MarkdownCell
		fmt.Fprintf(stdout, "## maildns journal %s\n\n| Run | Time | Mode | Zones | Changes | Outcome |\n| --- | --- | --- | --- | --- | --- |\n", md(cfg.StateDir))
		for _, r := range runs {
			changes := strconv.Itoa(r.Changes)
			if r.Planned != r.Changes {
				changes += "/" + strconv.Itoa(r.Planned)
			}
			fmt.Fprintf(stdout, "| %s | %s | %s | %d | %s | %s |\n", md(r.ID), r.Time.UTC().Format(time.RFC3339), md(r.Mode), r.Zones, changes, md(r.Outcome))
		}
		return exitOK
	}
	if len(runs) == 0 {
		fmt.Fprintf(stdout, "journal %s: no runs\n", cfg.StateDir)
		return exitOK
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tTIME\tMODE\tZONES\tCHANGES\tOUTCOME")
	for _, r := range runs {
		changes := strconv.Itoa(r.Changes)
		if r.Planned != r.Changes {
			changes += "/" + strconv.Itoa(r.Planned)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", r.ID, r.Time.UTC().Format(time.RFC3339), r.Mode, r.Zones, changes, r.Outcome)
	}
	if err := tw.Flush(); err != nil {
		return exitFailed
	}
	fmt.Fprintf(stdout, "%d %s in %s; restore one with: maildns restore --run ID (or --last)\n",
		len(runs), map[bool]string{true: "run", false: "runs"}[len(runs) == 1], cfg.StateDir)
	return exitOK
}
