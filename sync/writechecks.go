package sync

import (
	"fmt"
	"slices"
	"strings"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/providers"
)

// writeChecks finds, for one share of a zone just planned, what must not be
// written whatever the backend (and so is found in every mode, offline
// too, from the zone's records alone):
//   - a zone the backend refuses to write (providers.GuardWrite, e.g. a
//     zone file holding DNSSEC signatures): a finding of the refusal's kind;
//     the plan keeps its changes, and in the apply modes the share is
//     refused and nothing is written to the zone;
//   - data at a name that holds a CNAME, or a CNAME beside data: a "cname"
//     finding; in the apply modes that RRset's change is held back (taken
//     out of the plan) and the rest proceeds.
func writeChecks(z *zoneState, p *domainZone, apply bool, idx liveIndex) {
	if p.shareApply != nil {
		p.checks = nil
	}
	if p.plan.Status != StatusDrift || len(p.plan.Changes) == 0 {
		return // nothing to write to the zone (at most a file)
	}
	if r := z.cond.refusal; r != nil {
		msg := r.Message
		if !apply {
			msg = "a sync would write nothing to this zone: " + msg
		}
		m := p.more()
		m.checks = append(m.checks, Finding{Severity: SevError, Kind: r.Kind, Domain: p.domain.Domain, Subject: z.key.zone, Message: msg})
		if apply {
			p.plan.Status = StatusRefused
		}
		return
	}
	for i := range p.diffs {
		d := &p.diffs[i]
		if d.Change == nil || d.Change.Action == ActionDelete {
			continue
		}
		why := cnameConflict(idx, z.live, d.Set.Name, d.Set.Type)
		if why == "" {
			continue
		}
		name, typ := d.Change.Name, d.Change.Type
		verb := "is not written"
		if !apply {
			verb = "would not be written"
		}
		m := p.more()
		m.checks = append(m.checks, Finding{Severity: SevError, Kind: "cname", Domain: p.domain.Domain, Subject: name + " " + typ,
			Message: fmt.Sprintf("%s in zone %s %s: a name with a CNAME holds no other data (the server would not load the zone, or resolvers would see only the CNAME), so %s %s %s; remove the conflicting record or change the policy",
				providers.AbsoluteName(name, z.fqdn), z.key.zone, why, name, typ, verb)})
		if !apply {
			continue
		}
		p.plan.Changes = slices.DeleteFunc(p.plan.Changes, func(c Change) bool { return c.Name == name && c.Type == typ })
		d.Change = nil
		if len(p.plan.Changes) == 0 && len(p.plan.Files) == 0 {
			p.plan.Status = StatusRefused
		}
	}
}

// cnameConflict says why writing typ at name would put other data beside a
// CNAME ("" when it would not). idx is live's index, nil for a small zone
// (planZone scanned it): then live is scanned, not indexed for one name.
func cnameConflict(idx liveIndex, live []libdns.RR, name, typ string) string {
	name = strings.ToLower(name)
	if typ != "CNAME" {
		if idx == nil {
			for _, rr := range live {
				if upperIs(rr.Type, "CNAME") && lowerIs(rr.Name, name) {
					return fmt.Sprintf("holds a CNAME to %s", rr.Data)
				}
			}
			return ""
		}
		if c := idx[nameType{name, "CNAME"}]; len(c) > 0 {
			return fmt.Sprintf("holds a CNAME to %s", c[0].Data)
		}
		return ""
	}
	for _, rr := range live {
		switch strings.ToUpper(rr.Type) {
		case "CNAME", "RRSIG", "NSEC", "NSEC3":
			// DNSSEC's own records may sit beside a CNAME (RFC 4035 §2).
			continue
		}
		if strings.EqualFold(rr.Name, name) {
			return fmt.Sprintf("holds %s records, which a CNAME cannot sit beside", rr.Type)
		}
	}
	return ""
}
