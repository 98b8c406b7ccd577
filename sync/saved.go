package sync

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/maildns/maildns/internal/atomicfile"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/sync/plan"
)

// The saved plan's types live in package plan.
type (
	SavedPlan    = plan.SavedPlan
	SavedZone    = plan.SavedZone
	SavedChange  = plan.SavedChange
	SavedRecord  = plan.SavedRecord
	SavedSource  = plan.SavedSource
	SavedOptions = plan.SavedOptions
)

// WriteSavedPlan writes sp to path, atomically and readable by its owner
// only (mode 0600).
func WriteSavedPlan(path string, sp *SavedPlan) error {
	data, err := plan.MarshalSaved(sp)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(path, data, 0o600, ""); err != nil {
		return fmt.Errorf("saving the plan: %w", err)
	}
	return nil
}

// ReadSavedPlan reads a saved plan (plan.ReadSavedPlan).
func ReadSavedPlan(path string) (*SavedPlan, error) { return plan.ReadSavedPlan(path) }

// SavedPlan returns pl, a plan made with Options.ForApply, as a plan to
// save.
func (e *Engine) SavedPlan(pl *Planned) (*SavedPlan, error) {
	rs := pl.st
	if rs == nil || !rs.refuse {
		return nil, errors.New("only a plan made to be applied (--save-plan) can be saved")
	}
	sources, err := planSources(e.Config)
	if err != nil {
		return nil, err
	}
	conf, _ := filepath.Abs(e.Config.File)
	sp := &SavedPlan{
		Plan: *pl.Plan, Maildns: cmp.Or(e.Version, buildVersion()), CreatedAt: rs.now.UTC(), Config: conf,
		Sources: sources, Records: recordsHash(rs.runs),
		Options: SavedOptions{Domains: rs.opts.Domains, Force: rs.opts.Force, AllowWeakening: rs.opts.AllowWeakening, Offline: rs.opts.Offline},
	}
	sp.Plan.Zones = nil
	// A saved plan is JSON that keeps its scorecard as lines.
	sp.Plan.Compliance, sp.Plan.Cards = pl.Plan.Scorecard(), nil
	shares := map[[3]string]SavedZone{}
	for _, z := range rs.order {
		for _, p := range z.parts {
			shares[[3]string{p.domain.Domain, z.key.zone, z.key.provider}] = savedShare(z, p)
		}
	}
	for _, zp := range pl.Zones {
		sz, ok := shares[[3]string{zp.Domain, zp.Zone, zp.Provider}]
		if !ok {
			sz = SavedZone{ZonePlan: zp, Changes: []SavedChange{}} // a policy that did not compile
		}
		sz.ZonePlan.Changes = nil
		sp.Zones = append(sp.Zones, sz)
	}
	return sp, nil
}

// savedShare is p's share of z as a saved plan keeps it.
func savedShare(z *zoneState, p *domainZone) SavedZone {
	sz := SavedZone{ZonePlan: p.plan, Changes: []SavedChange{}}
	idx := indexLive(z.live)
	for i := range p.diffs {
		d := &p.diffs[i]
		if d.Change == nil {
			continue
		}
		sc := SavedChange{Change: *d.Change, Expect: []string{}, Element: d.Set.Element.String(), Absent: d.Set.Absent}
		if d.Set.Own == policy.OwnPrefix {
			sc.OwnPrefix = d.Set.OwnedPrefix()
		}
		for _, rr := range idx[nameType{d.Set.Name, d.Set.Type}] {
			if data, ok := z.cond.expectData(rr); ok {
				sc.Expect = append(sc.Expect, data)
			}
		}
		slices.Sort(sc.Expect)
		ops := opsFor(d)
		for _, rr := range slices.Concat(ops.Delete, ops.Replace) {
			sc.Remove = append(sc.Remove, SavedRecord{Data: rr.Data, TTL: seconds(rr.TTL)})
		}
		for _, rr := range slices.Concat(ops.Append, ops.ReplaceWith) {
			sc.Add = append(sc.Add, SavedRecord{Data: rr.Data, TTL: seconds(rr.TTL)})
		}
		sz.Changes = append(sz.Changes, sc)
	}
	for el := range p.holds {
		sz.Held = append(sz.Held, el)
	}
	slices.Sort(sz.Held)
	sz.Findings = slices.Concat(p.safety, p.held, p.checks)
	return sz
}

// planSources lists the files a plan of cfg comes from, with their hashes.
func planSources(cfg *policy.Config) ([]SavedSource, error) {
	var out []SavedSource
	seen := map[string]bool{}
	add := func(path, what string) error {
		if path == "" {
			return nil
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return err
		}
		if seen[abs] {
			return nil
		}
		seen[abs] = true
		data, err := os.ReadFile(abs)
		if err != nil {
			return fmt.Errorf("hashing the %s %s: %w", what, abs, err)
		}
		sum := sha256.Sum256(data)
		out = append(out, SavedSource{Path: abs, What: what, SHA256: hex.EncodeToString(sum[:])})
		return nil
	}
	errs := []error{add(cfg.File, "config")}
	for _, d := range cfg.Domains {
		errs = append(errs, add(d.Pos.File, "policy"))
		for _, k := range d.DKIM {
			errs = append(errs, add(k.KeyFile, "dkim key"))
		}
		for _, h := range d.MailHosts {
			if h.TLSA != nil {
				errs = append(errs, add(h.TLSA.CertFile, "tlsa certificate"), add(h.TLSA.NextCertFile, "tlsa certificate"))
			}
		}
	}
	return out, errors.Join(errs...)
}

// StaleSources compares the files a saved plan came from with cfg's: one
// line per file changed, gone or new since the plan; none when all hold.
func StaleSources(sp *SavedPlan, cfg *policy.Config) []string {
	now, err := planSources(cfg)
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	conf, _ := filepath.Abs(cfg.File)
	if conf != sp.Config {
		out = append(out, fmt.Sprintf("the plan was made with the config %s, not %s", sp.Config, conf))
	}
	have := map[string]SavedSource{}
	for _, s := range now {
		have[s.Path] = s
	}
	for _, s := range sp.Sources {
		h, ok := have[s.Path]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("the %s %s is no longer part of the config", s.What, s.Path))
		case h.SHA256 != s.SHA256:
			out = append(out, fmt.Sprintf("the %s %s changed since the plan", s.What, s.Path))
		}
		delete(have, s.Path)
	}
	for _, s := range now {
		if _, ok := have[s.Path]; ok {
			out = append(out, fmt.Sprintf("the %s %s is new since the plan", s.What, s.Path))
		}
	}
	return out
}

// recordsHash is the SHA-256 of the records runs compiled to.
func recordsHash(runs []*domainRun) string {
	h := sha256.New()
	for _, r := range runs {
		fmt.Fprintf(h, "domain %q\n", r.d.Domain)
		if r.err != nil {
			fmt.Fprintf(h, "error %q\n", r.err.Error())
		}
		for _, s := range r.sets {
			fmt.Fprintf(h, "%q %q %q %q %d %d %q %v %q\n", s.Provider, s.Zone, s.Name, s.Type, seconds(s.TTL), s.Own, s.OwnedPrefix(), s.Absent, s.Values)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// describeChanged says how an RRset a saved plan touches changed since.
func describeChanged(zone, name, typ string, planned, now []string) string {
	show := func(v []string) string {
		if len(v) == 0 {
			return "nothing"
		}
		q := make([]string, len(v))
		for i, s := range v {
			q[i] = fmt.Sprintf("%q", s)
		}
		return strings.Join(q, ", ")
	}
	return fmt.Sprintf("%s %s in zone %s changed since the plan: planned from %s, now %s", name, typ, zone, show(planned), show(now))
}
