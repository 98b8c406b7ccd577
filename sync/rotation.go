package sync

import (
	"cmp"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	gosync "sync"
	"time"

	"github.com/maildns/maildns/internal/atomicfile"
	"github.com/maildns/maildns/policy"
)

// RotationFile is the file in state_dir where the DKIM states the runs
// published are kept, so that each step of a rotation is taken, logged and
// timed once.
const RotationFile = "dkim-rotation.json"

// rotationRecord is one selector as the runs last published it.
type rotationRecord struct {
	State     string    `json:"state"`              // next | active | retired | absent
	Published time.Time `json:"published,omitzero"` // when its key was first published (next or active)
}

// rotation is one run's view of the DKIM rotations of its domains.
type rotation struct {
	dir     string
	now     time.Time
	records map[string]*rotationRecord // "domain selector"
	// domains are the run's domains with the states planRotation gave
	// their selectors (an active one's State is "").
	domains  []*policy.Domain
	findings map[string][]Finding // by domain
}

func rotationKey(domain, selector string) string { return domain + " " + selector }

// planRotation decides each selector's state at now: its policy state moved
// on by its dates (policy.DKIMStateAt), except for a step the safety rules
// refuse: a signing (active) selector is not retired or removed while no
// other selector of the domain is active, nor before the newest other
// active selector's key has been published for its TTL (resolvers may
// still hold the answer without it). A refused step keeps the selector
// active and says why in a dkim finding. It returns the domains with those
// states (copies where a state moved; the config's are not changed).
func planRotation(stateDir string, now time.Time, domains []*policy.Domain) ([]*policy.Domain, *rotation) {
	rot := &rotation{dir: stateDir, now: now, records: map[string]*rotationRecord{}, findings: map[string][]Finding{}}
	if stateDir != "" {
		rot.records = loadRotation(filepath.Join(stateDir, RotationFile))
	}
	out := make([]*policy.Domain, len(domains))
	rot.domains = out
	for i, d := range domains {
		out[i] = d
		if len(d.DKIM) == 0 || rot.unmoved(d, now) {
			continue
		}
		want := map[string]string{}
		for _, k := range d.DKIM {
			want[k.Selector] = policy.DKIMStateAt(k, now)
		}
		for _, k := range d.DKIM {
			s := want[k.Selector]
			rec := rot.records[rotationKey(d.Domain, k.Selector)]
			if rec == nil || rec.State != "active" || s == "active" || s == "next" {
				continue
			}
			// An active selector is to stop signing.
			var newest *policy.DKIM
			var newestAt time.Time
			for j := range d.DKIM {
				o := &d.DKIM[j]
				if o.Selector == k.Selector || want[o.Selector] != "active" {
					continue
				}
				at := now // not yet published by a run: published now at best
				if r := rot.records[rotationKey(d.Domain, o.Selector)]; r != nil && !r.Published.IsZero() {
					at = r.Published
				}
				if newest == nil || at.After(newestAt) {
					newest, newestAt = o, at
				}
			}
			var why string
			switch {
			case newest == nil:
				why = fmt.Sprintf("no other selector of %s would be active: mail would go unsigned", d.Domain)
			default:
				ttl := cmp.Or(newest.TTL, d.TTL, policy.DefaultTTL)
				if ready := newestAt.Add(ttl); now.Before(ready) {
					why = fmt.Sprintf("the key of %s was published at %s, less than its TTL (%d s) ago; not before %s",
						newest.Selector, newestAt.UTC().Format(time.RFC3339), int(ttl.Seconds()), ready.UTC().Format(time.RFC3339))
				}
			}
			if why != "" {
				want[k.Selector] = "active"
				rot.findings[d.Domain] = append(rot.findings[d.Domain], Finding{
					Severity: SevAction, Kind: "dkim", Domain: d.Domain, Subject: k.Selector + "._domainkey",
					Message: fmt.Sprintf("dkim rotation of %s from active to %s refused: %s; it stays active", k.Selector, s, why),
				})
			}
		}
		if !sameDKIMStates(d, want) {
			out[i] = policy.WithDKIMStates(d, want)
		}
	}
	return out, rot
}

// unmoved reports whether every selector of d keeps its policy state at
// now and none of them is to stop signing by the records (so no step is
// refused): then the run's domain is d, decided without a map of states
// (the usual case, for each of thousands of domains).
func (rot *rotation) unmoved(d *policy.Domain, now time.Time) bool {
	for i, k := range d.DKIM {
		s := policy.DKIMStateAt(k, now)
		if s != cmp.Or(k.State, "active") {
			return false
		}
		for _, o := range d.DKIM[:i] {
			if o.Selector == k.Selector {
				return false // the last of the same name decides: the map's way
			}
		}
		if s == "active" || s == "next" || len(rot.records) == 0 {
			continue
		}
		if rec := rot.records[rotationKey(d.Domain, k.Selector)]; rec != nil && rec.State == "active" {
			return false
		}
	}
	return true
}

// sameDKIMStates reports whether d's selectors already have the states
// given: then d itself is the domain of the run, not a copy, so that what
// is kept by policy between a daemon's runs (compiled RRsets) stays found.
func sameDKIMStates(d *policy.Domain, states map[string]string) bool {
	for _, k := range d.DKIM {
		s, ok := states[k.Selector]
		if !ok {
			continue
		}
		if s == "active" {
			s = ""
		}
		if s != k.State {
			return false
		}
	}
	return true
}

// commit records, after an apply run, the states of the domains whose zones
// now hold them (every zone share of the domain in sync or applied), logs
// each step ("dkim rotation", domain selector from to) once, and writes the
// records to state_dir.
func (rot *rotation) commit(plan *Plan, log *slog.Logger) error {
	// Each selector's state as planned, by domain.
	states := map[string]map[string]string{}
	for _, d := range rot.domains {
		if len(d.DKIM) == 0 {
			continue
		}
		m := make(map[string]string, len(d.DKIM))
		for _, k := range d.DKIM {
			m[k.Selector] = cmp.Or(k.State, "active")
		}
		states[d.Domain] = m
	}
	if len(states) == 0 {
		return nil
	}
	ok := map[string]bool{}
	for _, z := range plan.Zones {
		good := z.Status == StatusInSync || z.Status == StatusApplied
		if prev, seen := ok[z.Domain]; !seen || prev {
			ok[z.Domain] = good
		}
	}
	changed := false
	path := filepath.Join(rot.dir, RotationFile)
	defer func() {
		if changed {
			// The records in memory are no longer the file's, until
			// written (below): the next run reads the file.
			rotationCache.forget(path)
		}
	}()
	domains := make([]string, 0, len(states))
	for d := range states {
		domains = append(domains, d)
	}
	slices.Sort(domains)
	for _, d := range domains {
		if !ok[d] {
			continue
		}
		sels := make([]string, 0, len(states[d]))
		for s := range states[d] {
			sels = append(sels, s)
		}
		slices.Sort(sels)
		for _, sel := range sels {
			s := states[d][sel]
			key := rotationKey(d, sel)
			rec := rot.records[key]
			if rec == nil {
				rec = &rotationRecord{}
				rot.records[key] = rec
			}
			if rec.State == s {
				continue
			}
			if rec.State != "" {
				log.Info("dkim rotation", "domain", d, "selector", sel, "from", rec.State, "to", s)
			}
			if (s == "next" || s == "active") && rec.State != "next" && rec.State != "active" {
				rec.Published = rot.now.UTC()
			}
			rec.State = s
			changed = true
		}
	}
	if !changed || rot.dir == "" {
		return nil
	}
	if err := os.MkdirAll(rot.dir, 0o750); err != nil {
		return err
	}
	data, err := json.MarshalIndent(rot.records, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(path, append(data, '\n'), 0o640, ""); err != nil {
		return err
	}
	changed = false
	rotationCache.keep(path, rot.records)
	return nil
}

// rotationCache keeps the records of a rotation file as last read or
// written, with the file's identity taken before that read (or after that
// write): a daemon's runs take them from here while the file is unchanged
// rather than parsing it every cycle (10,000 domains: 10,000 records).
// Runs only read the records, but for commit, which forgets them before it
// changes any.
var rotationCache rotationFiles

type rotationFiles struct {
	gosync.Mutex
	path    string
	id      fileID
	records map[string]*rotationRecord
}

// loadRotation returns the records of path (empty when it is missing or
// damaged: a damaged file starts afresh).
func loadRotation(path string) map[string]*rotationRecord {
	id, ok := statID(path)
	c := &rotationCache
	c.Lock()
	if ok && c.records != nil && c.path == path && c.id == id {
		defer c.Unlock()
		return c.records
	}
	c.Unlock()
	records := map[string]*rotationRecord{}
	data, err := os.ReadFile(path)
	if err != nil {
		return records
	}
	if err := json.Unmarshal(data, &records); err != nil {
		return map[string]*rotationRecord{}
	}
	if ok {
		c.set(path, id, records)
	}
	return records
}

// keep remembers records as just written to path.
func (c *rotationFiles) keep(path string, records map[string]*rotationRecord) {
	if id, ok := statID(path); ok {
		c.set(path, id, records)
	} else {
		c.forget(path)
	}
}

func (c *rotationFiles) set(path string, id fileID, records map[string]*rotationRecord) {
	c.Lock()
	defer c.Unlock()
	c.path, c.id, c.records = path, id, records
}

func (c *rotationFiles) forget(path string) {
	c.Lock()
	defer c.Unlock()
	if c.path == path {
		c.records = nil
	}
}

// domainFindings are the refusals of one domain's rotation.
func (rot *rotation) domainFindings(domain string) []Finding { return rot.findings[domain] }
