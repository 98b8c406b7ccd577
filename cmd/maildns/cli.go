package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The command line (spf13/cobra). The root command is the daemon and the
// one-shot modes of SPEC §1 (--dry-run, --once, --validate, --version), as
// flags; commands that take arguments are subcommands. Help goes to stdout;
// a usage error is one line on stderr plus a pointer to --help, exit 1.

// longHelp is the root command's description in --help and maildns(1).
const longHelp = `maildns keeps a domain's mail DNS records (A/AAAA of the mail hosts, MX, SPF,
DKIM, DMARC, PTR) true to a written policy, at zone files, RFC 2136 servers,
Cloudflare, Route53 and deSEC. It runs as a service, or once as an audit.

Modes:
  maildns [--config FILE]               run as a service: sync now, then on schedule
  maildns [--config FILE] --dry-run     audit: exit 0 in sync, 2 drift or findings, 1 failed
  maildns [--config FILE] --once        sync once: exit 0 converged, 1 a zone failed or was refused
  maildns [--config FILE] --validate    check config and policies, touch no provider
  maildns [--config FILE] --dry-run --save-plan PLAN   audit, and save the plan
  maildns apply PLAN [--max-age 24h]    apply exactly a saved plan
  maildns restore JOURNAL_FILE [--dry-run]
  maildns restore --run ID|--last [--domain D] [--dry-run]
  maildns journal list                  the journal's runs: id, time, zones, changes, outcome
  maildns status                        each domain's state as the last run left it
  maildns import --provider NAME --zone ZONE --out DIR
  maildns dkim keygen --selector S --out DIR
  maildns --version

The config is --config, else $MAILDNS_CONFIG, else ` + DefaultConfig + `.
On a terminal the one-shot modes log only errors (the plan on stdout is the
report); --log-level says otherwise. Reference: docs/ in the source tree.`

// usageError is a mistake on the command line: printed as one line plus a
// pointer to --help.
type usageError struct {
	err error
	cmd string // the command whose --help to point at
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// cli is one parsed command line and what to do with it.
type cli struct {
	f              *flags
	stdout, stderr io.Writer
	code           int
	// exec runs the mode the flags ask for and returns the exit status;
	// parseFlags puts a function there that only records the flags.
	exec func(ctx context.Context, f *flags) int
}

// newRootCmd builds the command tree; the commands write to c's stdout and
// stderr and leave their exit status in c.code.
func newRootCmd(c *cli) *cobra.Command {
	f := c.f
	root := &cobra.Command{
		Use:               "maildns",
		Short:             "Keep a domain's mail DNS records true to a written policy",
		Long:              longHelp,
		SilenceErrors:     true,
		SilenceUsage:      true,
		DisableAutoGenTag: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.finish(cmd); err != nil {
				return &usageError{err, cmd.CommandPath()}
			}
			c.code = c.exec(cmd.Context(), f)
			return nil
		},
	}
	root.SetOut(c.stdout)
	root.SetErr(c.stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &usageError{err, cmd.CommandPath()}
	})

	pf := root.PersistentFlags()
	pf.StringVar(&f.config, "config", "", "the config `FILE` (default $MAILDNS_CONFIG, then "+DefaultConfig+")")
	pf.StringVar(&f.output, "output", "text", "the plan's `FORMAT`: text, json or markdown")
	pf.StringVar(&f.logLevel, "log-level", "", "`LEVEL`: debug, info, warn or error (default: the config's log.level; a one-shot run on a terminal logs errors only)")
	pf.Var(&f.domains, "domain", "only this policy's domain (repeatable)")
	pf.BoolVar(&f.force, "force", false, "let this run exceed the safety limits (max_changes)")
	pf.BoolVar(&f.allowWeakening, "allow-weakening", false, "allow changes that weaken mail authentication")
	pf.BoolVar(&f.offline, "offline", false, "no live DNS lookups; checks that need them are reported as skipped")

	fl := root.Flags()
	fl.BoolVar(&f.dryRun, "dry-run", false, "audit once: read, plan and print, write nothing")
	fl.BoolVar(&f.once, "once", false, "sync once: plan, apply, verify and print")
	fl.StringVar(&f.savePlan, "save-plan", "", "with --dry-run: save the plan to `FILE` for maildns apply")
	fl.BoolVar(&f.validate, "validate", false, "check config and policies, touch no provider")
	fl.BoolVar(&f.version, "version", false, "print version, commit and Go version")
	root.Flags().SortFlags = false
	pf.SortFlags = false

	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"text", "json", "markdown"}, cobra.ShellCompDirectiveNoFileComp))
	_ = root.RegisterFlagCompletionFunc("log-level", cobra.FixedCompletions([]string{"debug", "info", "warn", "error"}, cobra.ShellCompDirectiveNoFileComp))
	_ = root.MarkPersistentFlagFilename("config", "yaml", "yml")

	// One constructor per command, each in its command's file, taking c
	// (the shared flags in c.f, c.exec to run, c.code for the exit status).
	// New commands (journal list, ...) join this list; restore's own
	// options (--run, --last) go in newRestoreCmd.
	// import, status and dkim declare every flag they take (ownFlags).
	own := []*cobra.Command{newImportCmd(c), newStatusCmd(c), newDKIMCmd(c)}
	for _, cmd := range own {
		ownFlags(cmd, pf)
	}
	root.AddCommand(
		newRestoreCmd(c),
		newApplyCmd(c),
		newJournalCmd(c),
		newDocsCmd(),
	)
	root.AddCommand(own...)
	return root
}

// finish completes the flags after parsing: the config default, the checks
// between flags. cmd is the command that was run.
func (f *flags) finish(cmd *cobra.Command) error {
	f.set = map[string]bool{}
	cmd.Flags().Visit(func(fl *pflag.Flag) { f.set[fl.Name] = true })
	if f.config == "" {
		f.config = os.Getenv("MAILDNS_CONFIG")
	}
	if f.config == "" {
		f.config = DefaultConfig
	}
	if f.output != "text" && f.output != "json" && f.output != "markdown" {
		return fmt.Errorf("--output %q: want text, json or markdown", f.output)
	}
	switch strings.ToLower(f.logLevel) {
	case "", "debug", "info", "warn", "warning", "error":
	default:
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", f.logLevel)
	}
	if cmd.HasParent() {
		return nil // a subcommand checks its own
	}
	modes := 0
	for _, m := range []bool{f.dryRun, f.once, f.validate, f.version} {
		if m {
			modes++
		}
	}
	if modes > 1 {
		return errors.New("--dry-run, --once, --validate and --version exclude each other")
	}
	if f.set["save-plan"] && (!f.dryRun || f.savePlan == "") {
		return errors.New("--save-plan FILE goes with --dry-run")
	}
	if !f.dryRun && !f.once && !f.version {
		for _, name := range []string{"domain", "force", "allow-weakening", "offline", "output"} {
			if f.set[name] && (!f.validate || name != "domain") {
				return fmt.Errorf("--%s goes with --dry-run or --once", name)
			}
		}
	}
	return nil
}

// run is maildns's main: it parses args, runs the mode they ask for and
// returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return execute(ctx, args, stdout, stderr, dispatch)
}

// execute parses args with the command tree and runs exec for the mode they
// ask for (or help, or a usage error).
func execute(ctx context.Context, args []string, stdout, stderr io.Writer, exec func(context.Context, *flags) int) int {
	c := &cli{f: &flags{stdout: stdout, stderr: stderr}, stdout: stdout, stderr: stderr, exec: exec}
	root := newRootCmd(c)
	root.SetArgs(singleDashFlags(root, args))
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(stderr, "maildns: %v\n", oneLine(err.Error()))
		// Commands return only usage errors (a run's failure is its exit
		// status): unknown commands, flags and arguments.
		path := "maildns"
		var ue *usageError
		if errors.As(err, &ue) {
			path = ue.cmd
		}
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", path)
		return exitFailed
	}
	return c.code
}

// oneLine keeps an error to one line (cobra's "did you mean" lists follow
// on the next lines: they are folded in).
func oneLine(s string) string {
	if i := strings.Index(s, "\n\nDid you mean this?\n"); i >= 0 {
		alts := strings.Fields(s[i+len("\n\nDid you mean this?\n"):])
		s = s[:i] + " (did you mean " + strings.Join(alts, " or ") + "?)"
	}
	lines := strings.Split(strings.TrimSpace(s), "\n")
	var out []string
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, " ")
}

// singleDashFlags accepts the long flags written with one dash (-dry-run),
// as maildns took them before: pflag would read them as shorthand letters.
func singleDashFlags(root *cobra.Command, args []string) []string {
	long := map[string]bool{}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(fl *pflag.Flag) { long[fl.Name] = true })
		c.PersistentFlags().VisitAll(func(fl *pflag.Flag) { long[fl.Name] = true })
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "-"), "=")
		if len(a) > 2 && a[0] == '-' && a[1] != '-' && len(name) > 1 && long[name] {
			a = "-" + a
		}
		out = append(out, a)
	}
	return out
}

// dispatch runs the mode the flags ask for.
func dispatch(ctx context.Context, f *flags) int {
	stdout, stderr := f.stdout, f.stderr
	if !f.version && (len(f.args) > 0 || f.validate || f.dryRun || f.once) {
		tuneBatch()
	}
	switch {
	case f.version:
		fmt.Fprintln(stdout, versionString())
		return exitOK
	case len(f.args) > 0 && f.args[0] == "journal":
		return journalList(f.config, f.output, stdout, stderr)
	case len(f.args) == 2 && f.args[0] == "apply":
		return applyCommand(ctx, f, f.args[1], stdout, stderr)
	case len(f.args) > 0 && f.args[0] == "restore":
		req := restoreRequest{
			Config: f.config, ConfigGiven: f.set["config"] || os.Getenv("MAILDNS_CONFIG") != "",
			Run: f.runID, Last: f.last, Domains: f.domains,
			DryRun: f.dryRun, Force: f.force, AllowWeakening: f.allowWeakening, Output: f.output,
		}
		if len(f.args) == 2 {
			req.File = f.args[1]
		}
		return restoreCommand(ctx, req, stdout, stderr)
	case f.validate:
		return validate(f, stdout, stderr)
	case f.dryRun, f.once:
		return oneShot(ctx, f, stdout, stderr)
	default:
		return runDaemon(ctx, f.config, f.logLevel, stderr)
	}
}

// newJournalCmd is `maildns journal list`: the journal's runs.
func newJournalCmd(c *cli) *cobra.Command {
	journal := &cobra.Command{
		Use:   "journal",
		Short: "Read the journal of changes in state_dir",
		Args: func(cmd *cobra.Command, args []string) error {
			return &usageError{errors.New("usage: maildns journal list"), cmd.CommandPath()}
		},
		RunE: func(*cobra.Command, []string) error { return nil },
	}
	journal.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "The journal's runs: id, time, zones, changes, outcome",
		Long: `The journal's runs, newest first: id (for maildns restore --run), time,
zones, changes and outcome. Exit status 0.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 0 {
				return &usageError{errors.New("usage: maildns journal list"), cmd.CommandPath()}
			}
			for _, name := range []string{"domain", "force", "allow-weakening", "offline"} {
				if cmd.Flags().Changed(name) {
					return &usageError{fmt.Errorf("journal list takes --config and --output only, not --%s", name), cmd.CommandPath()}
				}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := c.f.finish(cmd); err != nil {
				return &usageError{err, cmd.CommandPath()}
			}
			c.f.args = []string{"journal", "list"}
			c.code = c.exec(cmd.Context(), c.f)
			return nil
		},
	})
	return journal
}
