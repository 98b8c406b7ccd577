package sync

import (
	"context"
	"errors"
	"log/slog"

	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/providers"
)

// Options are one run's switches.
type Options struct {
	Mode           string   // "dry-run" (plan only) | "once" | "daemon" (plan and apply)
	Domains        []string // only these policies; empty: all
	Force          bool     // let this run exceed max_changes
	AllowWeakening bool
	Offline        bool // no live DNS lookups
}

// Engine runs syncs for one loaded config.
type Engine struct {
	Config    *policy.Config
	Providers map[string]providers.Provider // by provider name in the config
	Resolver  Resolver                      // nil: built from Config.Resolvers
	Logger    *slog.Logger
}

// Run reads every zone the selected policies touch (one read per provider
// zone), plans, runs the checks, and in the apply modes applies and verifies.
// The returned plan is complete even when err is not nil; err reports that
// the run could not be completed for some zone.
func (e *Engine) Run(ctx context.Context, opts Options) (*Plan, error) {
	return nil, errors.New("not implemented")
}

// BuildProviders builds every provider of cfg (no network), wrapped with the
// shared retry, rate-limit and counting wrappers. Errors name file:line.
func BuildProviders(cfg *policy.Config) (map[string]providers.Provider, error) {
	return nil, errors.New("not implemented")
}
