package sync

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/maildns/maildns/sync/check"
)

// spfState is where a share stands with the SPF hold.
type spfState uint8

const (
	spfUnchecked spfState = iota // no SPF change checked yet
	spfPublish                   // the desired SPF record may be published
	spfHeld                      // the desired SPF record is held back
)

// holdSPF enforces SPEC §6 before anything is written: a record whose own
// check has an error finding on the desired record is not published, the
// record in place stays. That covers an SPF record that would exceed 10 DNS
// lookups or 2 void lookups against the live include tree or passes every
// address (+all or its equivalent), an MX to a host that does not exist or
// has no address, an invalid DKIM or DMARC record. The element's changes
// are taken out of the plan of the domain's share of its own zone, and the
// share is partial (or refused, when nothing else is written) once the rest
// is applied. The desired records are checked once a run (resolver nil: no
// lookups); a share planned again (under the zone's lock) loses its held
// changes again. The findings that explain a hold are kept in p.held.
func holdSPF(ctx context.Context, log *slog.Logger, resolver Resolver, z *zoneState, p *domainZone) {
	r := p.run
	if r == nil || !p.main || r.err != nil || z.err != nil || p.plan.Status != StatusDrift {
		return
	}
	if p.spf == spfUnchecked {
		p.spf = spfPublish
		elems := map[string]bool{}
		for i := range p.diffs {
			if d := &p.diffs[i]; d.Change != nil && !d.Set.Absent {
				elems[d.Set.Element.String()] = true
			}
		}
		env := &CheckEnv{Resolver: resolver, Live: resolver != nil, Zone: z.live, Index: z.liveIndexed().forChecks(), Desired: r.sets, Logger: domainLogger(log.Handler(), r.d.Domain, nil)}
		for _, hc := range heldChecks {
			if !elems[hc.element] {
				continue
			}
			var why []string
			for _, f := range hc.check(ctx, env, r.d) {
				if f.Severity == SevError && f.Domain == r.d.Domain && hc.desired(f) {
					why = append(why, f.Message)
				}
			}
			if len(why) == 0 {
				continue
			}
			p.spf = spfHeld
			if p.holds == nil {
				p.holds = map[string]bool{}
			}
			p.holds[hc.element] = true
			p.held = append(p.held, Finding{
				Severity: SevError, Kind: hc.kind, Domain: r.d.Domain, Subject: "safety",
				Message: fmt.Sprintf("the new %s record was not published because it is broken (%s); the record in place stays", hc.name, strings.Join(why, "; ")),
			})
		}
	}
	if p.spf != spfHeld {
		return
	}
	for i := range p.diffs {
		d := &p.diffs[i]
		if d.Change == nil || !p.holds[d.Set.Element.String()] || d.Set.Absent {
			continue
		}
		name, typ := d.Change.Name, d.Change.Type
		p.plan.Changes = slices.DeleteFunc(p.plan.Changes, func(c Change) bool { return c.Name == name && c.Type == typ })
		d.Change = nil
	}
	if len(p.plan.Changes) == 0 {
		p.plan.Status = StatusRefused
	}
}

// heldChecks are the checks whose error on a desired record holds that
// record back: desired tells a finding about the desired record from one
// about the live record.
var heldChecks = []struct {
	element, kind, name string
	check               Check
	desired             func(Finding) bool
}{
	{"spf", KindSPF, "SPF", check.CheckSPF, func(f Finding) bool { return f.Subject == SubjectDesired }},
	{"mx", KindMX, "MX", check.CheckMX, func(f Finding) bool {
		return strings.Contains(f.Message, "the desired ") || strings.Contains(f.Message, "desired and live")
	}},
	{"dmarc", KindDMARC, "DMARC", check.CheckDMARC, func(f Finding) bool { return f.Subject == SubjectDesired }},
	{"dkim", KindDKIM, "DKIM", check.CheckDKIM, func(f Finding) bool { return strings.Contains(f.Message, "the policy compiles") }},
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
