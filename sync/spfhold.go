package sync

import (
	"context"
	"log/slog"
	"slices"
)

// spfState is where a share stands with the SPF hold.
type spfState int

const (
	spfUnchecked spfState = iota // no SPF change checked yet
	spfPublish                   // the desired SPF record may be published
	spfHeld                      // the desired SPF record is held back
)

// holdSPF enforces SPEC §6 before anything is written: an SPF record that
// would exceed 10 DNS lookups or 2 void lookups against the live include tree
// (or is otherwise broken: an spf error on the desired record) is not
// published; the record in place stays. The SPF change is taken out of the
// plan of the domain's share of its own zone, and the share is marked
// refused once the rest is applied. The desired record is checked once a
// run; a share planned again (under the zone's lock) loses its held change
// again. The finding that explains a hold is kept in p.held.
func holdSPF(ctx context.Context, log *slog.Logger, resolver Resolver, z *zoneState, p *domainZone) {
	r := p.run
	if r == nil || !p.main || r.err != nil || z.err != nil || p.plan.Status != StatusDrift {
		return
	}
	for i := range p.diffs {
		d := &p.diffs[i]
		if d.Change == nil || d.Set.Element != "spf" || d.Set.Absent {
			continue
		}
		if p.spf == spfUnchecked {
			p.spf = spfPublish
			env := &CheckEnv{Resolver: resolver, Live: resolver != nil, Zone: z.live, Desired: r.sets, Logger: log.With("domain", r.d.Domain)}
			if SPFBlocked(CheckSPF(ctx, env, r.d), r.d.Domain) {
				p.spf = spfHeld
				p.held = append(p.held, Finding{
					Severity: SevError, Kind: KindSPF, Domain: r.d.Domain, Subject: "safety",
					Message: "the new SPF record was not published because it is broken (see the spf finding on the desired record); the record in place stays",
				})
			}
		}
		if p.spf != spfHeld {
			continue
		}
		name, typ := d.Change.Name, d.Change.Type
		p.plan.Changes = slices.DeleteFunc(p.plan.Changes, func(c Change) bool { return c.Name == name && c.Type == typ })
		d.Change = nil
		if len(p.plan.Changes) == 0 {
			p.plan.Status = StatusRefused
		}
	}
}

// settleHeld gives a share with a held change its status once the zone is
// applied: partial when the rest of its changes were written, refused when
// nothing was.
func settleHeld(p *domainZone) {
	if p.spf != spfHeld || p.plan.Status == StatusError {
		return
	}
	if p.wrote && p.plan.Status == StatusApplied && len(p.plan.Changes) > 0 {
		p.plan.Status = StatusPartial
		return
	}
	p.plan.Status = StatusRefused
}

// written counts the changes a run wrote: those of applied and partial
// zones (a partial zone's plan lists only what was written).
func written(plan *Plan) int {
	if plan.Mode == ModeDryRun {
		return 0
	}
	n := 0
	for _, z := range plan.Zones {
		if z.Status == StatusApplied || z.Status == StatusPartial {
			n += len(z.Changes)
		}
	}
	return n
}
