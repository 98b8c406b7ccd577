package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/providers"
)

// maxReplans bounds how many times a zone that changed between maildns's
// read and its write is read and planned again in one run.
const maxReplans = 3

// zoneCond is what a zone's read tells the write path beyond its records.
type zoneCond struct {
	// forms maps a record of live to the data providers.CheckExpect sees
	// for it, where that differs from live's (a TXT a backend returned as
	// plain text with a backslash), or to skip for a record CheckExpect
	// cannot read (it ignores those, so a write must not expect them).
	forms map[libdns.RR]expectForm
	// refusal is the backend's reason not to write the zone at all
	// (providers.GuardWrite), nil when it may be written.
	refusal *providers.Refusal
}

type expectForm struct {
	data string
	skip bool
}

// readLive reads z's records (z.live, z.err) and what its write needs to
// know of them (z.cond).
func readLive(ctx context.Context, z *zoneState) {
	var cond zoneCond
	live, raw, err := readZoneRaw(ctx, z, &cond)
	z.live, z.err, z.cond, z.cached = live, err, cond, false
	z.liveIdx = nil // of the records before: planZone indexes these
	if err != nil {
		return
	}
	z.cond.refusal = providers.GuardWrite(z.provider, z.fqdn, raw)
}

func (c *zoneCond) setForm(rr libdns.RR, f expectForm) {
	if c.forms == nil {
		c.forms = map[libdns.RR]expectForm{}
	}
	c.forms[rr] = f
}

// expectData returns the data a conditional write states for rr, a record
// of the zone as read: as providers.CheckExpect will see the provider's
// record; false for one it cannot read (and ignores).
func (c *zoneCond) expectData(rr libdns.RR) (string, bool) {
	f, ok := c.forms[rr]
	switch {
	case !ok:
		return rr.Data, true
	case f.skip:
		return "", false
	}
	return f.data, true
}

// expectFor returns what a conditional write of ops expects: every RRset
// ops touch, with every value z.live holds there (foreign ones included);
// none for an RRset that is to be created.
func expectFor(z *zoneState, ops writeOps) []providers.RRsetState {
	idx := z.liveIndexed() // a large zone's, built once by planZone
	if idx == nil {
		idx = indexLive(z.live)
	}
	var out []providers.RRsetState
	seen := map[nameType]bool{}
	for _, rr := range slices.Concat(ops.Delete, ops.Replace, ops.Append, ops.ReplaceWith) {
		k := nameType{strings.ToLower(rr.Name), strings.ToUpper(rr.Type)}
		if seen[k] {
			continue
		}
		seen[k] = true
		st := providers.RRsetState{Name: k.name, Type: k.typ}
		for _, have := range idx[k] {
			if data, ok := z.cond.expectData(have); ok {
				st.Values = append(st.Values, data)
			}
		}
		out = append(out, st)
	}
	return out
}

// applyConverging applies z (applyZone); when the write finds the zone
// changed since it was read (another writer: nothing was written), it reads
// the zone again and plans once more (safety rules and SPF hold included),
// at most maxReplans times, and then fails the zone naming what changed.
// The caller holds the zone's lock, if any.
func (e *Engine) applyConverging(ctx context.Context, z *zoneState, opts Options, hold func(context.Context, *zoneState, *domainZone)) {
	for replans := 0; ; replans++ {
		applyZone(ctx, z)
		changed := zoneChanged(z)
		if changed == nil {
			return
		}
		if replans == maxReplans {
			for _, p := range z.parts {
				if errors.Is(p.err, providers.ErrChanged) {
					p.err = fmt.Errorf("the zone changed between maildns's read and its write %d times in a row (read and planned again each time); last: %w", replans+1, p.err)
					p.plan.Error = p.err.Error()
				}
			}
			return
		}
		if e.Logger != nil {
			e.Logger.Log(ctx, slog.LevelInfo, "zone changed since read, planning again",
				"zone", z.key.zone, "provider", z.key.provider, "err", changed.Error())
		}
		for _, p := range z.parts {
			p.err, p.wrote = nil, false
		}
		readLive(ctx, z)
		planZone(z, true)
		safetyZone(e.Config, opts, true, z)
		if z.err != nil {
			return
		}
		if hold != nil {
			for _, p := range z.parts {
				hold(ctx, z, p)
			}
		}
		if !slices.ContainsFunc(z.parts, func(p *domainZone) bool { return p.plan.Status == StatusDrift }) {
			return
		}
	}
}

// zoneChanged returns the error of a share of z whose write found the zone
// changed since it was read, or nil.
func zoneChanged(z *zoneState) error {
	for _, p := range z.parts {
		if p.wrote && errors.Is(p.err, providers.ErrChanged) {
			return p.err
		}
	}
	return nil
}

// discard removes the entry o of p, opened for a write that wrote nothing,
// from its file; endAll writes the file once for all its discards (or
// removes it with its last entry).
func (j *journaler) discard(p *domainZone, o *openEntry) {
	o.file.drop(o.entry)
	j.markDirty(o.file)
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.entries[p] == o {
		delete(j.entries, p)
	}
}

// inZone names z's zone and provider in err, unless the provider's wrapper
// already did (a *providers.CallError in its chain): an error says each
// once.
func inZone(z *zoneState, err error) error {
	var ce *providers.CallError
	if errors.As(err, &ce) {
		return err
	}
	return fmt.Errorf("zone %s at %s: %w", z.key.zone, z.key.provider, err)
}

// shareError is the error of p's share of z, naming the domain, the zone
// and the provider once each (a domain that is its zone, once).
func shareError(z *zoneState, p *domainZone) error {
	err := inZone(z, p.err)
	if p.domain.Domain == z.key.zone {
		return err
	}
	return fmt.Errorf("domain %s: %w", p.domain.Domain, err)
}

// wroteNothing reports whether every RRset p's changes touch reads back as
// it was read: a write that failed left no trace to verify.
func wroteNothing(z *zoneState, p *domainZone) bool {
	after := z.afterIndex()
	same := func(a, b []libdns.RR) bool {
		if len(a) != len(b) {
			return false
		}
		key := func(rr libdns.RR) string { return rr.Data + "\x00" + rr.TTL.String() }
		x, y := make([]string, len(a)), make([]string, len(b))
		for i := range a {
			x[i], y[i] = key(a[i]), key(b[i])
		}
		slices.Sort(x)
		slices.Sort(y)
		return slices.Equal(x, y)
	}
	for _, d := range p.diffs {
		if d.Change == nil {
			continue
		}
		if !same(slices.Concat(d.OwnedLive, d.Foreign), after[nameType{d.Set.Name, d.Set.Type}]) {
			return false
		}
	}
	return true
}
