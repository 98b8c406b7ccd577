package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/providers"
	"github.com/maildns/maildns/sync"
)

// DefaultConfig is the config file when neither --config nor MAILDNS_CONFIG is given.
const DefaultConfig = "/etc/maildns/maildns.yaml"

// Exit statuses.
const (
	exitOK     = 0
	exitFailed = 1 // invalid config, a failed or refused zone, bad usage
	exitDrift  = 2 // --dry-run found drift or an error/action finding
)

type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

type flags struct {
	config         string
	dryRun         bool
	once           bool
	validate       bool
	version        bool
	output         string
	domains        stringList
	force          bool
	allowWeakening bool
	offline        bool
	runID          string // restore --run
	last           bool   // restore --last
	set            map[string]bool
	args           []string // positional: restore [FILE], journal list
}

// parseFlags parses args; flags may follow positional arguments
// ("restore FILE --dry-run").
func parseFlags(args []string, stderr io.Writer) (*flags, error) {
	f := &flags{set: map[string]bool{}}
	fs := flag.NewFlagSet("maildns", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.config, "config", "", "config file (default $MAILDNS_CONFIG, then "+DefaultConfig+")")
	fs.BoolVar(&f.dryRun, "dry-run", false, "audit once: read, plan and print, write nothing")
	fs.BoolVar(&f.once, "once", false, "sync once: plan, apply, verify and print")
	fs.BoolVar(&f.validate, "validate", false, "check config and policies, touch no provider")
	fs.BoolVar(&f.version, "version", false, "print version, commit and Go version")
	fs.StringVar(&f.output, "output", "text", "plan output: text or json")
	fs.Var(&f.domains, "domain", "only this policy's domain (repeatable)")
	fs.BoolVar(&f.force, "force", false, "let this run exceed the safety limits (max_changes)")
	fs.BoolVar(&f.allowWeakening, "allow-weakening", false, "allow changes that weaken mail authentication")
	fs.BoolVar(&f.offline, "offline", false, "no live DNS lookups; checks that need them are skipped")
	fs.StringVar(&f.runID, "run", "", "restore: put back every zone this run (an id from maildns journal list) changed")
	fs.BoolVar(&f.last, "last", false, "restore: put back every zone the last run that changed one changed")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage:
  maildns [--config FILE]                 run as a service (sync now, then on schedule)
  maildns [--config FILE] --dry-run       audit: exit 0 in sync, 2 drift or findings, 1 failed
  maildns [--config FILE] --once          sync once: exit 0 converged, 1 a zone failed or was refused
  maildns [--config FILE] --validate      check config and policies
  maildns restore JOURNAL_FILE [--dry-run]
  maildns restore --run ID|--last [--domain D] [--dry-run]
  maildns journal list                    the journal's runs: id, time, zones, changes, outcome
  maildns --version

Flags:
`)
		fs.PrintDefaults()
	}
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		// After "--" everything is positional.
		if len(rest) > fs.NArg() && rest[len(rest)-fs.NArg()-1] == "--" {
			f.args = append(f.args, fs.Args()...)
			break
		}
		f.args = append(f.args, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	if f.config == "" {
		f.config = os.Getenv("MAILDNS_CONFIG")
	}
	if f.config == "" {
		f.config = DefaultConfig
	}
	modes := 0
	for _, m := range []bool{f.dryRun && len(f.args) == 0, f.once, f.validate, f.version} {
		if m {
			modes++
		}
	}
	if modes > 1 {
		return nil, errors.New("--dry-run, --once, --validate and --version exclude each other")
	}
	if f.output != "text" && f.output != "json" {
		return nil, fmt.Errorf("--output %q: want text or json", f.output)
	}
	if len(f.args) > 0 {
		if err := checkCommand(f); err != nil {
			return nil, err
		}
	} else if f.set["run"] || f.last {
		return nil, errors.New("--run and --last go with restore")
	}
	if !f.dryRun && !f.once && len(f.args) == 0 {
		for _, name := range []string{"domain", "force", "allow-weakening", "offline", "output"} {
			if f.set[name] && (!f.validate || name != "domain") && !f.version {
				return nil, fmt.Errorf("--%s goes with --dry-run or --once", name)
			}
		}
	}
	return f, nil
}

// checkCommand checks the positional command of f: restore FILE, restore
// --run ID | --last, journal list.
func checkCommand(f *flags) error {
	switch f.args[0] {
	case "restore":
		byRun := f.set["run"] || f.last
		switch {
		case f.set["run"] && f.last:
			return errors.New("restore: --run and --last exclude each other")
		case byRun && len(f.args) != 1, !byRun && len(f.args) != 2:
			return errors.New("usage: maildns restore JOURNAL_FILE | --run ID | --last [--domain D] [--dry-run]")
		case f.set["run"] && f.runID == "":
			return errors.New("restore: --run needs a run id (maildns journal list shows them)")
		case len(f.domains) > 0 && !byRun:
			return errors.New("restore: --domain goes with --run or --last")
		}
		if f.once || f.validate || f.version {
			return errors.New("restore takes --dry-run only, not --once, --validate or --version")
		}
	case "journal":
		if len(f.args) != 2 || f.args[1] != "list" {
			return errors.New("usage: maildns journal list")
		}
		for _, name := range []string{"dry-run", "once", "validate", "domain", "force", "allow-weakening", "offline", "run", "last"} {
			if f.set[name] {
				return fmt.Errorf("journal list takes --config and --output only, not --%s", name)
			}
		}
	default:
		return fmt.Errorf("unknown command %q (the commands are restore and journal list)", f.args[0])
	}
	return nil
}

// run is maildns's main: it parses args, runs the mode they ask for and
// returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if code, ok := subcommand(args, stdout, stderr); ok {
		return code
	}
	f, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "maildns: %v\n", err)
		return exitFailed
	}
	if f.version {
		fmt.Fprintln(stdout, versionString())
		return exitOK
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch {
	case len(f.args) > 0 && f.args[0] == "journal":
		return journalList(f.config, f.output, stdout, stderr)
	case len(f.args) > 0:
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
		return runDaemon(ctx, f.config, stderr)
	}
}

// load loads and checks the config and builds its providers (no network).
// It prints every problem, each with its file:line, and returns nil then.
func load(f *flags, stderr io.Writer) (*policy.Config, *sync.Engine) {
	cfg, err := policy.LoadConfig(f.config)
	if err != nil {
		printErrors(stderr, f.config, err)
		return nil, nil
	}
	// LoadConfig has compiled every policy and reported what cannot
	// compile: no second compile here (the engine compiles for its run).
	var errs []error
	if _, err := sync.SelectDomains(cfg, f.domains); err != nil {
		errs = append(errs, err)
	}
	logger := newLogger(stderr, cfg.Log)
	provs, err := sync.BuildProvidersWith(cfg, providers.WrapOptions{Logger: logger}) // retries logged
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		printErrors(stderr, f.config, err)
		return nil, nil
	}
	return cfg, &sync.Engine{Config: cfg, Providers: provs, Logger: logger, Version: versionString()}
}

// printErrors prints each error of err on its own line, then a summary.
func printErrors(w io.Writer, file string, err error) {
	list := flatten(err)
	for _, e := range list {
		fmt.Fprintln(w, e)
	}
	fmt.Fprintf(w, "maildns: %s: %d %s, nothing was changed\n", file, len(list), map[bool]string{true: "problem", false: "problems"}[len(list) == 1])
}

// flatten lists the errors errors.Join put together.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

func validate(f *flags, stdout, stderr io.Writer) int {
	cfg, _ := load(f, stderr)
	if cfg == nil {
		return exitFailed
	}
	names := make([]string, 0, len(cfg.Domains))
	for _, d := range cfg.Domains {
		names = append(names, d.Domain)
	}
	fmt.Fprintf(stdout, "%s is valid: %d %s (%s), %d %s\n", f.config,
		len(names), map[bool]string{true: "policy", false: "policies"}[len(names) == 1], strings.Join(names, ", "),
		len(cfg.Providers), map[bool]string{true: "provider", false: "providers"}[len(cfg.Providers) == 1])
	return exitOK
}

func oneShot(ctx context.Context, f *flags, stdout, stderr io.Writer) int {
	_, e := load(f, stderr)
	if e == nil {
		return exitFailed
	}
	mode := sync.ModeDryRun
	if f.once {
		mode = sync.ModeOnce
	}
	start := time.Now()
	plan, runErr := e.Run(ctx, sync.Options{
		Mode:           mode,
		Domains:        f.domains,
		Force:          f.force,
		AllowWeakening: f.allowWeakening,
		Offline:        f.offline,
	})
	recordRun(e.Config, mode, plan, runErr, start, stderr)
	return report(stdout, stderr, f.output, mode, plan, runErr)
}

// report prints a one-shot run's plan (text or JSON) and its errors, and
// returns the run's exit status.
func report(stdout, stderr io.Writer, output, mode string, plan *sync.Plan, runErr error) int {
	var werr error
	if output == "json" {
		werr = sync.WriteJSON(stdout, plan)
	} else {
		werr = sync.WriteText(stdout, plan, isTerminal(stdout) && os.Getenv("NO_COLOR") == "")
	}
	if werr != nil {
		fmt.Fprintf(stderr, "maildns: writing the plan: %v\n", werr)
		return exitFailed
	}
	if runErr != nil {
		for _, e := range flatten(runErr) {
			fmt.Fprintf(stderr, "maildns: %v\n", e)
		}
	}
	return exitStatus(mode, plan, runErr)
}

// exitStatus is the exit status of a one-shot run (SPEC §1).
func exitStatus(mode string, plan *sync.Plan, runErr error) int {
	failed := runErr != nil
	drift := false
	// A watched domain (enforce: false) counts as in --dry-run in every
	// mode: its drift and its error/action findings make the run exit 2.
	watchedDrift := false
	watched := map[string]bool{}
	for _, d := range plan.Watched {
		watched[d] = true
	}
	for _, z := range plan.Zones {
		switch z.Status {
		case sync.StatusError:
			failed = true
		case sync.StatusRefused, sync.StatusPartial:
			if mode == sync.ModeOnce {
				failed = true
			}
			drift = true
		case sync.StatusDrift:
			drift = true
		case sync.StatusWatched:
			drift, watchedDrift = true, true
		}
	}
	for _, fd := range plan.Findings {
		if fd.Severity == sync.SevError || fd.Severity == sync.SevAction {
			drift = true
			watchedDrift = watchedDrift || watched[fd.Domain]
		}
	}
	switch {
	case failed:
		return exitFailed
	case (mode == sync.ModeDryRun && drift) || watchedDrift:
		return exitDrift
	default:
		return exitOK
	}
}
