package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/sync"
	"github.com/maildns/maildns/sync/daemon"
)

// recordRun records a one-shot run's outcome in state_dir for `maildns
// status`. A dry run records it only in a state_dir that exists (made by a
// sync or by systemd), and says nothing when it cannot write there (run by
// another user): recording is not what it was asked for.
func recordRun(cfg *policy.Config, mode string, plan *sync.Plan, runErr error, start time.Time, stderr io.Writer) {
	if mode == sync.ModeDryRun {
		if st, err := os.Stat(cfg.StateDir); err != nil || !st.IsDir() {
			return
		}
	}
	err := sync.RecordRun(cfg.StateDir, mode, plan, runErr, start, time.Now(), time.Time{}, "")
	if err != nil && mode != sync.ModeDryRun {
		fmt.Fprintf(stderr, "maildns: recording the run's outcome in %s: %v\n", cfg.StateDir, err)
	}
}

// recordDaemonRun records a daemon run and the schedule's next run.
func recordDaemonRun(cfg *policy.Config, r daemon.Result, log interface{ Warn(string, ...any) }) {
	var next time.Time
	if sched, err := daemon.ParseSchedule(cfg.Schedule); err == nil {
		next = sched.Next(time.Now())
	}
	spec := cfg.Schedule
	if strings.TrimSpace(spec) == "" {
		spec = daemon.DefaultSchedule
	}
	if err := sync.RecordRun(cfg.StateDir, sync.ModeDaemon, r.Plan, r.Err, r.Start, r.Start.Add(r.Duration), next, spec); err != nil {
		log.Warn("recording the run's outcome failed", "state_dir", cfg.StateDir, "error", err.Error())
	}
}

const statusLong = `Per domain, as the last run that covered it left it: in sync, drift, refused,
watched or error; pending ISP actions; open findings; the last run and the next.
Exit 0 all well, 2 attention needed, 1 no state to read.`

// newStatusCmd is "maildns status".
func newStatusCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Each domain's state as the last run left it, the last run and the next",
		Long:  statusLong,
		Args:  ownArgs,
	}
	fs := cmd.Flags()
	config := fs.String("config", "", "the config `FILE` (default $MAILDNS_CONFIG, then "+DefaultConfig+")")
	output := fs.String("output", "text", "`FORMAT`: text, json or markdown")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		c.code = runStatus(*config, *output, args, c.stdout, c.stderr)
		return nil
	}
	_ = cmd.MarkFlagFilename("config", "yaml", "yml")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"text", "json", "markdown"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// StatusReport is the JSON of `maildns status --output json`.
type StatusReport struct {
	Version   int                 `json:"version"`
	StateFile string              `json:"state_file"`
	Attention bool                `json:"attention"`
	LastRun   *sync.RunRecord     `json:"last_run"`
	NextRun   *time.Time          `json:"next_run"`
	Schedule  string              `json:"schedule,omitempty"`
	Summary   map[string]int      `json:"summary"`
	Domains   []*sync.DomainState `json:"domains"`
	// ISPActions are the findings that say what to ask the ISP.
	ISPActions []sync.Finding `json:"isp_actions"`
}

// runStatus is "maildns status".
func runStatus(config, output string, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "maildns status: unexpected argument %q\n", args[0])
		return exitFailed
	}
	if output != "text" && output != "json" && output != "markdown" {
		fmt.Fprintf(stderr, "maildns status: --output %q: want text, json or markdown\n", output)
		return exitFailed
	}
	if config == "" {
		config = os.Getenv("MAILDNS_CONFIG")
	}
	if config == "" {
		config = DefaultConfig
	}
	cfg, err := policy.LoadSettings(config)
	if err != nil {
		printErrors(stderr, config, err)
		return exitFailed
	}
	st, err := sync.ReadState(cfg.StateDir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(stderr, "maildns status: no run has recorded its outcome in %s yet\n", cfg.StateDir)
		} else {
			fmt.Fprintf(stderr, "maildns status: %v\n", err)
		}
		return exitFailed
	}
	rep := &StatusReport{Version: 1, StateFile: cfg.StateDir + "/" + sync.StateFile, LastRun: st.LastRun,
		NextRun: st.NextRun, Schedule: st.Schedule, Domains: st.Domains, ISPActions: []sync.Finding{},
		Summary: map[string]int{sync.DomainInSync: 0, sync.DomainDrift: 0, sync.DomainRefused: 0,
			sync.DomainWatched: 0, sync.DomainError: 0, "findings": 0, "isp_actions": 0}}
	if rep.Domains == nil {
		rep.Domains = []*sync.DomainState{}
	}
	rep.Attention = st.LastRun == nil || st.LastRun.Result != "ok"
	for _, d := range rep.Domains {
		rep.Summary[d.Status]++
		rep.Summary["findings"] += len(d.Findings)
		rep.Attention = rep.Attention || d.Attention()
		for _, f := range d.Findings {
			if f.ISPRequest != "" {
				rep.ISPActions = append(rep.ISPActions, f)
			}
		}
	}
	rep.Summary["isp_actions"] = len(rep.ISPActions)
	if output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "maildns status: %v\n", err)
			return exitFailed
		}
	} else if output == "markdown" {
		writeStatusMarkdown(stdout, rep)
	} else {
		writeStatusText(stdout, rep)
	}
	if rep.Attention {
		return exitDrift
	}
	return exitOK
}

func writeStatusText(w io.Writer, rep *StatusReport) {
	if r := rep.LastRun; r != nil {
		fmt.Fprintf(w, "last run:  %s (%s, %.1f s): %s, %d %s written, %d %s\n",
			r.Start.Local().Format("2006-01-02 15:04:05 MST"), r.Mode, r.End.Sub(r.Start).Seconds(), r.Result,
			r.Changes, plural1(r.Changes, "change", "changes"), r.Findings, plural1(r.Findings, "finding", "findings"))
		if r.Error != "" {
			fmt.Fprintf(w, "           error: %s\n", firstLine(r.Error))
		}
	}
	if rep.NextRun != nil {
		fmt.Fprintf(w, "next run:  %s (daemon, %s)\n", rep.NextRun.Local().Format("2006-01-02 15:04:05 MST"), rep.Schedule)
	} else {
		fmt.Fprintln(w, "next run:  unknown (no daemon run recorded)")
	}
	fmt.Fprintln(w)
	wDom := len("DOMAIN")
	for _, d := range rep.Domains {
		wDom = max(wDom, len(d.Domain))
	}
	fmt.Fprintf(w, "%-*s  %-8s  %7s  %8s  %s\n", wDom, "DOMAIN", "STATUS", "PENDING", "FINDINGS", "LAST RUN")
	for _, d := range rep.Domains {
		status := strings.ReplaceAll(d.Status, "_", " ")
		if d.Watched && d.Status == sync.DomainInSync {
			status = "in sync (watched)"
		}
		fmt.Fprintf(w, "%-*s  %-8s  %7d  %8d  %s (%s)\n", wDom, d.Domain, status, d.Pending, len(d.Findings),
			d.Run.Local().Format("2006-01-02 15:04:05"), d.Mode)
		for _, z := range d.Zones {
			if z.Error != "" {
				fmt.Fprintf(w, "%-*s    zone %s at %s: %s\n", wDom, "", z.Zone, z.Provider, firstLine(z.Error))
			}
		}
	}
	if len(rep.ISPActions) > 0 {
		fmt.Fprintln(w, "\nask the ISP:")
		for _, f := range rep.ISPActions {
			fmt.Fprintf(w, "  %s  %s\n", f.Domain, f.ISPRequest)
		}
	}
	var open []sync.Finding
	for _, d := range rep.Domains {
		for _, f := range d.Findings {
			if f.ISPRequest == "" {
				open = append(open, f)
			}
		}
	}
	if len(open) > 0 {
		fmt.Fprintln(w, "\nopen findings:")
		for _, f := range open {
			fmt.Fprintf(w, "  %-7s  %-6s  %s  %s: %s\n", f.Severity, f.Kind, f.Domain, f.Subject, f.Message)
		}
	}
	s := rep.Summary
	fmt.Fprintf(w, "\n%d %s: %d in sync, %d drift, %d refused, %d watched, %d error · %d ISP %s · %s\n",
		len(rep.Domains), plural1(len(rep.Domains), "domain", "domains"), s[sync.DomainInSync], s[sync.DomainDrift],
		s[sync.DomainRefused], s[sync.DomainWatched], s[sync.DomainError], s["isp_actions"],
		plural1(s["isp_actions"], "action", "actions"), map[bool]string{true: "attention needed", false: "all well"}[rep.Attention])
}

// writeStatusMarkdown writes the report as Markdown tables, for a pull
// request or an issue: the summary, the domains, their findings.
func writeStatusMarkdown(w io.Writer, rep *StatusReport) {
	md := sync.MarkdownCell
	s := rep.Summary
	fmt.Fprintf(w, "## maildns status\n\n%d %s: %d in sync, %d drift, %d refused, %d watched, %d error · %d ISP %s · %s\n",
		len(rep.Domains), plural1(len(rep.Domains), "domain", "domains"), s[sync.DomainInSync], s[sync.DomainDrift],
		s[sync.DomainRefused], s[sync.DomainWatched], s[sync.DomainError], s["isp_actions"],
		plural1(s["isp_actions"], "action", "actions"), map[bool]string{true: "attention needed", false: "all well"}[rep.Attention])
	if r := rep.LastRun; r != nil {
		fmt.Fprintf(w, "\nlast run: %s (%s): %s, %d %s written, %d %s\n",
			r.Start.UTC().Format(time.RFC3339), md(r.Mode), md(r.Result),
			r.Changes, plural1(r.Changes, "change", "changes"), r.Findings, plural1(r.Findings, "finding", "findings"))
	}
	if rep.NextRun != nil {
		fmt.Fprintf(w, "\nnext run: %s (daemon, %s)\n", rep.NextRun.UTC().Format(time.RFC3339), md(rep.Schedule))
	}
	fmt.Fprint(w, "\n| Domain | Status | Pending | Findings | Last run | Errors |\n| --- | --- | --- | --- | --- | --- |\n")
	var findings []sync.Finding
	for _, d := range rep.Domains {
		status := strings.ReplaceAll(d.Status, "_", " ")
		if d.Watched && d.Status == sync.DomainInSync {
			status = "in sync (watched)"
		}
		var errs []string
		for _, z := range d.Zones {
			if z.Error != "" {
				errs = append(errs, "zone "+z.Zone+" at "+z.Provider+": "+z.Error)
			}
		}
		fmt.Fprintf(w, "| %s | %s | %d | %d | %s (%s) | %s |\n", md(d.Domain), md(status), d.Pending, len(d.Findings),
			d.Run.UTC().Format(time.RFC3339), md(d.Mode), md(strings.Join(errs, "\n")))
		findings = append(findings, d.Findings...)
	}
	if len(findings) > 0 {
		fmt.Fprint(w, "\n### Findings\n\n| Severity | Kind | Domain | Subject | Message | ISP request |\n| --- | --- | --- | --- | --- | --- |\n")
		for _, f := range findings {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", md(f.Severity), md(f.Kind), md(f.Domain), md(f.Subject), md(f.Message), md(f.ISPRequest))
		}
	}
}

func plural1(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
