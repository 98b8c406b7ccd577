package sync

import (
	"context"
	"log/slog"
	"slices"
)

// holdBadSPF enforces SPEC §6 before anything is written: an SPF record that
// would exceed 10 DNS lookups or 2 void lookups against the live include tree
// (or is otherwise broken: an spf error on the desired record) is not
// published; the record in place stays. The SPF change is taken out of the
// domain's plan, and the zone is marked refused once the rest is applied.
// It returns the findings that explain each hold.
func holdBadSPF(ctx context.Context, log *slog.Logger, resolver Resolver, runs []*domainRun, zones map[zoneKey]*zoneState) (held []*domainZone, out []Finding) {
	for _, r := range runs {
		z := zones[r.main]
		if r.err != nil || z == nil || z.err != nil {
			continue
		}
		for _, p := range z.parts {
			if p.domain != r.d || p.plan.Status != StatusDrift {
				continue
			}
			for i := range p.diffs {
				d := &p.diffs[i]
				if d.Change == nil || d.Set.Element != "spf" || d.Set.Absent {
					continue
				}
				env := &CheckEnv{Resolver: resolver, Live: resolver != nil, Zone: z.live, Desired: r.sets, Logger: log.With("domain", r.d.Domain)}
				if !SPFBlocked(CheckSPF(ctx, env, r.d), r.d.Domain) {
					continue
				}
				name, typ := d.Change.Name, d.Change.Type
				p.plan.Changes = slices.DeleteFunc(p.plan.Changes, func(c Change) bool { return c.Name == name && c.Type == typ })
				d.Change = nil
				held = append(held, p)
				out = append(out, Finding{
					Severity: SevError, Kind: KindSPF, Domain: r.d.Domain, Subject: "safety",
					Message: "the new SPF record was not published because it is broken (see the spf finding on the desired record); the record in place stays",
				})
				if len(p.plan.Changes) == 0 {
					p.plan.Status = StatusRefused
				}
			}
		}
	}
	return held, out
}
