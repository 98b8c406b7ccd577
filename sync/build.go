package sync

import (
	"errors"
	"fmt"
	"slices"

	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/providers"
)

// BuildProviders builds every provider of cfg (no network), wrapped with the
// shared retry, rate-limit and counting wrappers. Errors name file:line.
func BuildProviders(cfg *policy.Config) (map[string]providers.Provider, error) {
	return BuildProvidersWith(cfg, providers.WrapOptions{})
}

// BuildProvidersWith is BuildProviders with base wrapper options (Counts,
// Observer, ...); each provider's own settings rate_limit, timeout and
// retry_max_time override them.
func BuildProvidersWith(cfg *policy.Config, base providers.WrapOptions) (map[string]providers.Provider, error) {
	names := make([]string, 0, len(cfg.Providers))
	for n := range cfg.Providers {
		names = append(names, n)
	}
	slices.Sort(names)
	out := make(map[string]providers.Provider, len(names))
	var errs []error
	for _, name := range names {
		pc := cfg.Providers[name]
		o := base
		o.Name = name
		p, err := providers.NewWrapped(pc.Type, &providers.Settings{
			Name:    name,
			BaseDir: cfg.Dir,
			Values:  pc.Settings,
			Lists:   pc.Lists,
			Secret:  pc.Secret,
		}, o)
		if err != nil {
			errs = append(errs, providerError(pc, name, err))
			continue
		}
		out[name] = p
	}
	return out, errors.Join(errs...)
}

// providerError places a provider's build error at the line it comes from:
// the setting's line for a *providers.SettingError, else the provider's.
func providerError(pc *policy.ProviderConfig, name string, err error) error {
	var se *providers.SettingError
	if errors.As(err, &se) {
		pos, ok := pc.KeyPos[se.Key]
		if !ok {
			pos = pc.Pos
		}
		return &policy.Error{Pos: pos, Msg: fmt.Sprintf("provider %s: setting %s: %v", name, se.Key, se.Err)}
	}
	pos := pc.Pos
	if !providers.Known(pc.Type) {
		// An unknown type is a problem of the `type:` line.
		if p, ok := pc.KeyPos["type"]; ok {
			pos = p
		}
	}
	return &policy.Error{Pos: pos, Msg: fmt.Sprintf("provider %s: %v", name, err)}
}
