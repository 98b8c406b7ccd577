package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/maildns/maildns/sync"
)

// newApplyCmd is `maildns apply PLAN [--max-age D]`.
func newApplyCmd(c *cli) *cobra.Command {
	f := c.f
	cmd := &cobra.Command{
		Use:   "apply PLAN",
		Short: "Apply exactly a plan saved by --dry-run --save-plan",
		Long: `Apply exactly the changes of a plan saved by maildns --dry-run --save-plan PLAN,
as --once would (journal, read back, verify), and nothing else. The whole plan is
refused, nothing written, when it is older than --max-age or the config, a policy
or a key or certificate file it names changed since. Each zone is written, under
its lock, only if every record set the plan changes there still holds what the
plan read; a zone changed since is refused (nothing written to it) with the
change named, and the other zones apply. The config is --config, else
$MAILDNS_CONFIG, else the one the plan was made with. Exit statuses are those of
--once.`,
		Example: "  maildns --dry-run --save-plan plan.json && maildns apply plan.json",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return &usageError{errors.New("usage: maildns apply PLAN [--max-age DURATION]"), cmd.CommandPath()}
			}
			// The plan says which domains, and what --force and
			// --allow-weakening allowed, when it was made.
			for _, name := range []string{"domain", "force", "allow-weakening"} {
				if cmd.Flags().Changed(name) {
					return &usageError{fmt.Errorf("apply does not take --%s: the plan was made with it or without it", name), cmd.CommandPath()}
				}
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
			f.args = append([]string{"apply"}, args...)
			c.code = c.exec(cmd.Context(), f)
			return nil
		},
	}
	cmd.Flags().DurationVar(&f.maxAge, "max-age", sync.DefaultMaxAge, "refuse a plan older than this `DURATION`")
	return cmd
}

// applyCommand runs `maildns apply PLAN`: it reads the saved plan, loads
// the config (the one named, else the plan's) and applies the plan.
func applyCommand(ctx context.Context, f *flags, path string, stdout, stderr io.Writer) int {
	sp, err := sync.ReadSavedPlan(path)
	if err != nil {
		fmt.Fprintf(errorStream(stderr), "maildns: apply: %v\n", err)
		return exitFailed
	}
	cfgPath := f.config
	if !f.set["config"] && os.Getenv("MAILDNS_CONFIG") == "" {
		cfgPath = sp.Config
	}
	g := *f
	g.config = cfgPath
	cfg, e := load(&g, stderr)
	if e == nil {
		return exitFailed
	}
	start := time.Now()
	plan, runErr := e.ApplySaved(ctx, sp, sync.ApplyOptions{MaxAge: f.maxAge, Offline: f.offline})
	if errors.Is(runErr, sync.ErrPlanStale) {
		runErr = fmt.Errorf("apply %s: %w", path, runErr)
	} else {
		recordRun(cfg, sync.ModeOnce, plan, runErr, start, stderr)
	}
	return report(stdout, stderr, f.output, sync.ModeOnce, plan, runErr)
}

// savePlan saves the plan pl of a dry run to path for `maildns apply`; an
// audit that failed saves nothing.
func savePlan(e *sync.Engine, pl *sync.Planned, runErr error, path string, stderr io.Writer) error {
	if runErr != nil {
		return errors.New("the audit failed, no plan was saved")
	}
	sp, err := e.SavedPlan(pl)
	if err != nil {
		return err
	}
	if err := sync.WriteSavedPlan(path, sp); err != nil {
		return err
	}
	fmt.Fprintf(errorStream(stderr), "maildns: plan saved to %s (run %s); apply it with: maildns apply %s\n", path, sp.RunID, path)
	return nil
}
