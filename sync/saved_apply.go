package sync

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
	"golang.org/x/sync/errgroup"
)

// ApplyOptions are the switches of `maildns apply`.
type ApplyOptions struct {
	MaxAge  time.Duration // a plan older is refused; 0: DefaultMaxAge
	Offline bool          // no live DNS lookups in the checks after writing
	RunID   string        // "": a new one
	// Now is the clock the plan's age is judged by; nil: time.Now.
	Now func() time.Time
}

// DefaultMaxAge is the age over which a saved plan is refused.
const DefaultMaxAge = 24 * time.Hour

// ErrPlanStale is wrapped by the error of a saved plan refused whole: too
// old, or made from files that changed since.
var ErrPlanStale = errors.New("the saved plan is refused, nothing was written")

// ApplySaved applies exactly the changes of a saved plan, as --once
// applies its own (journal, run id, read back, verify, checks), but never
// plans again: the whole plan is refused when it is older than MaxAge or
// the config, a policy or a file they name changed since; each zone is
// written, under its lock, only if every RRset the plan touches there
// still holds what the plan read (else the zone is refused naming the
// change, and nothing is written to it); the other zones apply.
func (e *Engine) ApplySaved(ctx context.Context, sp *SavedPlan, opts ApplyOptions) (*Plan, error) {
	now := time.Now()
	if opts.Now != nil {
		now = opts.Now()
	}
	refused := &Plan{Version: 1, Mode: ModeOnce, Zones: []ZonePlan{}, Findings: []Finding{}, Compliance: []Requirement{}}
	maxAge := opts.MaxAge
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	if age := now.Sub(sp.CreatedAt); age > maxAge {
		return refused, fmt.Errorf("%w: it was made %s ago (at %s), more than --max-age %s",
			ErrPlanStale, age.Round(time.Second), sp.CreatedAt.Format(time.RFC3339), maxAge)
	}
	if e.Config == nil {
		return refused, errors.New("no config")
	}
	if stale := StaleSources(sp, e.Config); len(stale) > 0 {
		return refused, fmt.Errorf("%w: %s", ErrPlanStale, strings.Join(stale, "; "))
	}
	run := Options{Mode: ModeOnce, Domains: sp.Options.Domains, Force: sp.Options.Force,
		AllowWeakening: sp.Options.AllowWeakening, Offline: opts.Offline, RunID: opts.RunID, at: sp.CreatedAt}
	rs, err := e.newRun(run)
	if err != nil {
		return refused, err
	}
	rs.compile(ctx, e)
	if recordsHash(rs.runs) != sp.Records {
		return refused, fmt.Errorf("%w: the policies compile to other records than when the plan was made", ErrPlanStale)
	}
	if err := rs.loadSaved(sp); err != nil {
		return refused, fmt.Errorf("%w: %v", ErrPlanStale, err)
	}
	rs.readUnwritten(ctx)
	rs.writeZone = func(ctx context.Context, z *zoneState) { e.applySavedZone(ctx, z) }
	return e.Apply(ctx, &Planned{Plan: rs.emptyPlan(), st: rs})
}

// loadSaved gives each domain's share of each zone the plan sp saved for
// it, and checks that every saved change writes only what the policies
// say (a plan edited to write anything else is refused).
func (rs *runState) loadSaved(sp *SavedPlan) error {
	saved := map[[3]string]*SavedZone{}
	for i := range sp.Zones {
		sz := &sp.Zones[i]
		saved[[3]string{sz.Domain, sz.Zone, sz.Provider}] = sz
	}
	for _, z := range rs.order {
		for _, p := range z.parts {
			k := [3]string{p.domain.Domain, z.key.zone, z.key.provider}
			sz := saved[k]
			if sz == nil {
				return fmt.Errorf("the plan has no share of zone %s at %s for %s", z.key.zone, z.key.provider, p.domain.Domain)
			}
			delete(saved, k)
			if err := loadShare(z, p, sz); err != nil {
				return err
			}
		}
	}
	for _, sz := range saved {
		if sz.Status != StatusError {
			return fmt.Errorf("the plan has a share of zone %s at %s for %s that the policies do not make", sz.Zone, sz.Provider, sz.Domain)
		}
	}
	return nil
}

// loadShare sets p's plan to the saved sz, the writes of each change (its
// remove and add records) and the desired RRset it verifies against.
func loadShare(z *zoneState, p *domainZone, sz *SavedZone) error {
	p.plan = sz.ZonePlan
	p.plan.Changes = []Change{}
	p.diffs, p.savedOps = nil, nil
	want := map[nameType]policy.RRset{}
	for _, s := range mergeDesired(p.sets) {
		want[nameType{s.Name, s.Type}] = s
	}
	for _, sc := range sz.Changes {
		k := nameType{strings.ToLower(sc.Name), strings.ToUpper(sc.Type)}
		set, ok := want[k]
		if !ok || !savedMatches(&set, &sc) {
			return fmt.Errorf("the change of %s %s in zone %s (%s) is not what the policies say", sc.Name, sc.Type, z.key.zone, p.domain.Domain)
		}
		set.TTL = time.Duration(sc.TTL) * time.Second // the TTL the plan chose (shared with foreign values)
		c := sc.Change
		p.plan.Changes = append(p.plan.Changes, c)
		p.diffs = append(p.diffs, rrsetDiff{Set: set, Change: &c})
		var ops writeOps
		adds := map[string]bool{}
		for _, r := range sc.Add {
			adds[r.Data] = true
		}
		removes := map[string]bool{}
		for _, r := range sc.Remove {
			rr := libdns.RR{Name: set.Name, Type: set.Type, TTL: time.Duration(r.TTL) * time.Second, Data: r.Data}
			removes[r.Data] = true
			if adds[r.Data] {
				ops.Replace = append(ops.Replace, rr)
			} else {
				ops.Delete = append(ops.Delete, rr)
			}
		}
		for _, r := range sc.Add {
			rr := libdns.RR{Name: set.Name, Type: set.Type, TTL: time.Duration(r.TTL) * time.Second, Data: r.Data}
			if removes[r.Data] {
				ops.ReplaceWith = append(ops.ReplaceWith, rr)
			} else {
				ops.Append = append(ops.Append, rr)
			}
		}
		p.savedOps = append(p.savedOps, ops)
		p.expect = append(p.expect, savedExpect{key: k, name: sc.Name, values: sc.Expect})
	}
	for _, f := range sz.Files {
		// Only the MTA-STS policy file of the domain's policy, with the
		// policy's text: a plan never names a path or text of its own.
		if filepath.Clean(f.Path) != filepath.Clean(policy.MTASTSPolicyFile(p.domain)) || (f.Action != ActionDelete && f.After != policy.MTASTSPolicyText(p.domain)) {
			return fmt.Errorf("the file %s planned for %s is not the MTA-STS policy file its policy says", f.Path, p.domain.Domain)
		}
	}
	p.safety = sz.Findings
	p.held, p.verify, p.checks = nil, nil, nil
	p.spf = spfPublish
	if len(sz.Held) > 0 {
		p.spf, p.holds = spfHeld, map[string]bool{}
		for _, el := range sz.Held {
			p.holds[el] = true
		}
	}
	if p.plan.Status == StatusError {
		p.err = errors.New(p.plan.Error)
	}
	return nil
}

// savedMatches reports whether a saved change writes only what set (the
// policy's RRset) says: its new values, its ownership, records that set
// owns removed and its values added.
func savedMatches(set *policy.RRset, sc *SavedChange) bool {
	prefix := set.OwnedPrefix()
	after := slices.Clone(sc.After)
	slices.Sort(after)
	if set.Absent != sc.Absent || prefix != sc.OwnPrefix || set.Element.String() != sc.Element || (!set.Absent && !slices.Equal(after, set.Values)) {
		return false
	}
	for _, r := range sc.Remove {
		if !set.Owns(r.Data) {
			return false
		}
	}
	for _, r := range sc.Add {
		if set.Absent || !slices.Contains(set.Values, r.Data) {
			return false
		}
	}
	return true
}

// savedExpect is an RRset a saved change expects to find.
type savedExpect struct {
	key    nameType
	name   string
	values []string // sorted
}

// readUnwritten reads, without locks, the zones the plan writes nothing
// to: the checks after writing look at every zone of the run.
func (rs *runState) readUnwritten(ctx context.Context) {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(rs.limit)
	for _, z := range rs.order {
		if slices.ContainsFunc(z.parts, func(p *domainZone) bool { return p.plan.Status == StatusDrift }) {
			continue // read under its lock
		}
		g.Go(func() error {
			readLive(gctx, z)
			return nil
		})
	}
	_ = g.Wait()
	for _, z := range rs.order {
		if z.err != nil {
			rs.log.Error("reading zone failed", "zone", z.key.zone, "provider", z.key.provider, "err", z.err)
			for _, p := range z.parts {
				p.err = z.err
				p.plan.Status, p.plan.Error = StatusError, z.err.Error()
			}
		}
	}
}

// applySavedZone writes the saved changes of z: under its lock it reads
// the zone, refuses it when an RRset the plan touches changed since the
// plan read it (or the backend will not write it now), and otherwise
// writes exactly the saved records (conditional on the zone still holding
// them, as a sync's write), reads back and verifies.
func (e *Engine) applySavedZone(ctx context.Context, z *zoneState) {
	if !e.lockForWrite(ctx, z, ModeOnce) {
		return
	}
	defer releaseZones([]*zoneState{z})
	ctx = context.WithoutCancel(ctx) // a zone once locked is finished
	if z.unlock != nil {
		z.journal.runPrune = true // pruned once, after the run's writes
	}
	readLive(ctx, z)
	if z.err != nil {
		for _, p := range z.parts {
			p.err = z.err
			p.plan.Status, p.plan.Error = StatusError, z.err.Error()
		}
		return
	}
	if why := savedChanged(z); why != "" {
		refuseZone(z, why)
		return
	}
	idx := indexLive(z.live)
	for _, p := range z.parts {
		for i := range p.diffs {
			d := &p.diffs[i]
			d.OwnedLive, d.Foreign = nil, nil
			for _, rr := range idx[nameType{d.Set.Name, d.Set.Type}] {
				if d.Set.Owns(rr.Data) {
					d.OwnedLive = append(d.OwnedLive, rr)
				} else {
					d.Foreign = append(d.Foreign, rr)
				}
			}
		}
	}
	applyZone(ctx, z)
	if changed := zoneChanged(z); changed != nil {
		// Changed between the read under the lock and the write (a
		// writer that takes no lock): nothing was written.
		refuseZone(z, changed.Error())
		return
	}
	for _, p := range z.parts {
		p.verify = verifyFindings(z, p)
	}
	z.journal.finish(z.parts)
}

// savedChanged says how z, read under its lock, differs from what the
// plan read at the RRsets its changes touch ("" when it does not).
func savedChanged(z *zoneState) string {
	if r := z.cond.refusal; r != nil {
		return r.Message
	}
	idx := indexLive(z.live)
	var why []string
	for _, p := range z.parts {
		if p.plan.Status != StatusDrift {
			continue
		}
		for _, x := range p.expect {
			var now []string
			for _, rr := range idx[x.key] {
				if data, ok := z.cond.expectData(rr); ok {
					now = append(now, data)
				}
			}
			slices.Sort(now)
			now = slices.Compact(now)
			planned := slices.Compact(slices.Clone(x.values))
			if !slices.Equal(now, planned) {
				why = append(why, describeChanged(z.key.zone, x.name, x.key.typ, planned, now))
			}
		}
	}
	return strings.Join(why, "; ")
}

// refuseZone refuses every share of z that was to be written: nothing was
// written to it; why names what changed.
func refuseZone(z *zoneState, why string) {
	for _, p := range z.parts {
		if p.plan.Status != StatusDrift && !p.wrote {
			continue
		}
		p.err = fmt.Errorf("refused, nothing was written: %s", why)
		p.plan.Status, p.plan.Error = StatusRefused, p.err.Error()
		p.safety = append(p.safety, Finding{Severity: SevError, Kind: "safety", Domain: p.domain.Domain, Subject: z.key.zone,
			Message: fmt.Sprintf("the saved plan was not applied to zone %s at %s: %s; make a new plan", z.key.zone, z.key.provider, why)})
	}
}
