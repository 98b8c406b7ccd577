package sync

import (
	"fmt"

	"github.com/maildns/maildns/policy"
)

// DefaultMaxChanges is the per-zone change limit when the config sets none.
const DefaultMaxChanges = 10

// maxChanges is the per-zone change limit of cfg.
func maxChanges(cfg *policy.Config) int {
	if cfg == nil || cfg.Safety.MaxChanges <= 0 {
		return DefaultMaxChanges
	}
	return cfg.Safety.MaxChanges
}

// safetyCheck decides whether zp may be applied. It returns nil when it may,
// or the finding that says why not. In dry-run the finding is a warning
// (the plan would be refused by --once); in the apply modes it is an error
// and the caller refuses the zone.
func safetyCheck(cfg *policy.Config, opts Options, apply bool, zp *ZonePlan) *Finding {
	limit := maxChanges(cfg)
	if opts.Force || len(zp.Changes) <= limit {
		return nil
	}
	f := &Finding{
		Kind:    "safety",
		Domain:  zp.Domain,
		Subject: zp.Zone,
	}
	if apply {
		f.Severity = SevError
		f.Message = fmt.Sprintf("refused %d changes in zone %s at %s: more than max_changes (%d); review the plan and run with --force to apply it",
			len(zp.Changes), zp.Zone, zp.Provider, limit)
	} else {
		f.Severity = SevWarning
		f.Message = fmt.Sprintf("%d changes in zone %s at %s exceed max_changes (%d): a sync would refuse them without --force",
			len(zp.Changes), zp.Zone, zp.Provider, limit)
	}
	return f
}
