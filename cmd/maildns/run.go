package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
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
func (l *stringList) Type() string   { return "NAME" }
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
	logLevel       string
	savePlan       string        // --dry-run --save-plan FILE
	maxAge         time.Duration // apply --max-age
	args           []string      // the command and its arguments: restore [FILE], journal list

	stdout, stderr io.Writer
}

// load loads and checks the config and builds its providers (no network).
// It prints every problem, each with its file:line, and returns nil then.
func load(f *flags, stderr io.Writer) (*policy.Config, *sync.Engine) {
	cfg := loadConfig(f.config, stderr)
	if cfg == nil {
		return nil, nil
	}
	// LoadConfig has compiled every policy and reported what cannot
	// compile: no second compile here (the engine compiles for its run).
	var errs []error
	if _, err := sync.SelectDomains(cfg, f.domains); err != nil {
		errs = append(errs, err)
	}
	logger := newLogger(stderr, oneShotLog(cfg.Log, f.logLevel, stderr))
	provs, err := sync.BuildProvidersWith(cfg, providers.WrapOptions{Logger: logger}) // retries logged
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		printErrors(stderr, f.config, err)
		return nil, nil
	}
	return cfg, &sync.Engine{Config: cfg, Providers: provs, Logger: logger, Version: versionString(), Compile: cfg.Compile}
}

// loadConfig loads the config and its policies, printing every problem (and
// how to name the config when there is none at path); nil when invalid.
func loadConfig(path string, stderr io.Writer) *policy.Config {
	cfg, err := policy.LoadConfig(path)
	if err != nil {
		printErrors(stderr, path, err)
		if _, serr := os.Stat(path); errors.Is(serr, fs.ErrNotExist) {
			fmt.Fprintf(errorStream(stderr), "maildns: no config at %s: name one with --config FILE or MAILDNS_CONFIG (see maildns --help)\n", path)
		}
		return nil
	}
	if len(cfg.Domains) == 0 {
		// A config that manages nothing is a mistake (a policies glob that
		// matches no file), not a valid idle daemon.
		where := "policies"
		if len(cfg.Policies) > 0 {
			where = fmt.Sprintf("policies %q", cfg.Policies)
		}
		printErrors(stderr, path, fmt.Errorf("%s: no policies: %s matches no policy file", path, where))
		return nil
	}
	return cfg
}

// printErrors prints each error of err on its own line, then a summary.
func printErrors(w io.Writer, file string, err error) {
	w = errorStream(w)
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
	// --domain narrows the list as it narrows a run (load checked the names).
	selected, _ := sync.SelectDomains(cfg, f.domains)
	names := make([]string, 0, len(selected))
	for _, d := range selected {
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
	opts := sync.Options{
		Mode:           mode,
		Domains:        f.domains,
		Force:          f.force,
		AllowWeakening: f.allowWeakening,
		Offline:        f.offline,
	}
	if f.savePlan != "" {
		// Planned as a sync would (refusals, held records), for apply.
		opts.ForApply = true
		pl, runErr := e.Plan(ctx, opts)
		plan := e.Report(ctx, pl)
		recordRun(e.Config, mode, plan, runErr, start, stderr)
		code := report(stdout, stderr, f.output, mode, plan, runErr)
		if err := savePlan(e, pl, runErr, f.savePlan, stderr); err != nil {
			fmt.Fprintf(errorStream(stderr), "maildns: --save-plan %s: %v\n", f.savePlan, err)
			return exitFailed
		}
		return code
	}
	plan, runErr := e.Run(ctx, opts)
	// The outcome is recorded in state_dir while the plan is printed
	// (neither changes the plan); a failure to record it is said last.
	var recordErr bytes.Buffer
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		recordRun(e.Config, mode, plan, runErr, start, &recordErr)
	}()
	code := report(stdout, stderr, f.output, mode, plan, runErr)
	<-recorded
	_, _ = recordErr.WriteTo(stderr)
	return code
}

// report prints a one-shot run's plan (text, JSON or Markdown) and its errors, and
// returns the run's exit status.
func report(stdout, stderr io.Writer, output, mode string, plan *sync.Plan, runErr error) int {
	var werr error
	switch output {
	case "json":
		werr = sync.WriteJSON(stdout, plan)
	case "markdown":
		werr = sync.WriteMarkdown(stdout, plan)
	default:
		werr = sync.WriteText(stdout, plan, colour(stdout))
	}
	if werr != nil {
		fmt.Fprintf(errorStream(stderr), "maildns: writing the plan: %v\n", werr)
		return exitFailed
	}
	if runErr != nil {
		for _, e := range flatten(runErr) {
			fmt.Fprintf(errorStream(stderr), "maildns: %v\n", e)
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
