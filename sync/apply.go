package sync

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/providers"
)

// writeOps are the provider calls that carry out one RRset change, by exact
// record so that no foreign value at the same name and type is ever touched.
// When the provider can replace records in one step (providers.CanReplace)
// and the ops both remove and add values, they are one ReplaceRecords call
// (removes: Delete and Replace; adds: Append and ReplaceWith), so that the
// zone never holds the old and the new values together (two SPF or DMARC
// records) nor neither. Otherwise they run in this order: Append adds values
// that are new, Delete removes values no longer wanted, then Replace is
// deleted and ReplaceWith appended (the same data with a new TTL: deleting
// after appending would remove the new record on backends that delete by
// data).
type writeOps struct {
	Append      []libdns.RR
	Delete      []libdns.RR
	Replace     []libdns.RR
	ReplaceWith []libdns.RR
}

func (o writeOps) empty() bool {
	return len(o.Append)+len(o.Delete)+len(o.Replace)+len(o.ReplaceWith) == 0
}

// add appends the writes of other to o's, after o's own.
func (o *writeOps) add(other writeOps) {
	o.Append = append(o.Append, other.Append...)
	o.Delete = append(o.Delete, other.Delete...)
	o.Replace = append(o.Replace, other.Replace...)
	o.ReplaceWith = append(o.ReplaceWith, other.ReplaceWith...)
}

// shareOps returns the writes of each change of p's plan (in the order of
// its changes) and their union: a saved plan's as saved.
func shareOps(p *domainZone) (perChange []writeOps, ops writeOps) {
	if p.savedOps != nil {
		for _, o := range p.savedOps {
			ops.add(o)
		}
		return p.savedOps, ops
	}
	for i := range p.diffs {
		if p.diffs[i].Change == nil {
			continue
		}
		o := opsFor(&p.diffs[i])
		perChange = append(perChange, o)
		ops.add(o)
	}
	return perChange, ops
}

// opsFor computes the writes for one RRset difference. Values to add are the
// desired values not live (all of them when the TTL changes); values to
// remove are the owned live values not desired (all of them when the TTL
// changes). Records are relative-named with canonical data; removals are the
// records exactly as read.
func opsFor(d *rrsetDiff) writeOps {
	var ops writeOps
	if d.Change == nil {
		return ops
	}
	set := &d.Set
	want := map[string]bool{}
	if !set.Absent {
		for _, v := range set.Values {
			want[v] = true
		}
	}
	ttlChange := false
	for _, rr := range d.OwnedLive {
		if rr.TTL.Truncate(1e9) != set.TTL.Truncate(1e9) {
			ttlChange = true
		}
	}
	if set.Absent {
		ttlChange = false
	}
	liveData := map[string]bool{}
	seen := map[string]bool{}
	for _, rr := range d.OwnedLive {
		liveData[rr.Data] = true
		del := libdns.RR{Name: rr.Name, Type: rr.Type, TTL: rr.TTL, Data: rr.Data}
		switch {
		case !want[rr.Data]:
			ops.Delete = append(ops.Delete, del)
		case ttlChange || seen[rr.Data]:
			// The same value with the wrong TTL, or a duplicate.
			ops.Replace = append(ops.Replace, del)
		}
		seen[rr.Data] = true
	}
	if set.Absent {
		return ops
	}
	replaced := map[string]bool{}
	for _, rr := range ops.Replace {
		replaced[rr.Data] = true
	}
	for _, v := range set.Values {
		rec := libdns.RR{Name: set.Name, Type: set.Type, TTL: set.TTL, Data: v}
		switch {
		case replaced[v]:
			ops.ReplaceWith = append(ops.ReplaceWith, rec)
		case !liveData[v]:
			ops.Append = append(ops.Append, rec)
		}
	}
	return ops
}

// replacer returns p as a providers.Replacer when ops go to it as one
// ReplaceRecords call: p can replace records in one step (but not
// conditionally: see conditional) and ops both remove and add values.
func (o writeOps) replacer(p providers.Provider) (providers.Replacer, bool) {
	if p == nil || len(o.Delete)+len(o.Replace) == 0 || len(o.Append)+len(o.ReplaceWith) == 0 || !providers.CanReplace(p) || providers.CanReplaceIf(p) {
		return nil, false
	}
	r, ok := p.(providers.Replacer)
	return r, ok
}

// conditional returns p as a providers.ConditionalReplacer when it can make
// a write conditional on what the zone holds: then every write, a create
// or a delete alone included, is one ReplaceRecordsIf call.
func conditional(p providers.Provider) (providers.ConditionalReplacer, bool) {
	if p == nil || !providers.CanReplaceIf(p) {
		return nil, false
	}
	r, ok := p.(providers.ConditionalReplacer)
	return r, ok
}

// oneCall reports whether ops go to p in one call (ReplaceRecordsIf or
// ReplaceRecords) rather than one per kind of write.
func (o writeOps) oneCall(p providers.Provider) bool {
	if _, ok := conditional(p); ok {
		return true
	}
	_, ok := o.replacer(p)
	return ok
}

// applyOps runs ops against z's provider and returns the number of
// provider calls it made. When the provider can, the write is conditional:
// every RRset it touches must still hold what z.live holds there, foreign
// values included, or nothing is written and the error wraps
// providers.ErrChanged.
func applyOps(ctx context.Context, z *zoneState, ops writeOps) (int, error) {
	p, zoneFQDN := z.provider, z.fqdn
	remove := make([]libdns.Record, 0, len(ops.Delete)+len(ops.Replace))
	for _, rr := range slices.Concat(ops.Delete, ops.Replace) {
		remove = append(remove, rr)
	}
	add := make([]libdns.Record, 0, len(ops.Append)+len(ops.ReplaceWith))
	for _, rr := range addressFirst(slices.Concat(ops.Append, ops.ReplaceWith)) {
		add = append(add, rr)
	}
	if c, ok := conditional(p); ok {
		if _, err := c.ReplaceRecordsIf(ctx, zoneFQDN, expectFor(z, ops), remove, add); err != nil {
			return 1, fmt.Errorf("replacing %s: %w", describe(slices.Concat(ops.Delete, ops.Replace, ops.Append, ops.ReplaceWith)), err)
		}
		return 1, nil
	}
	if r, ok := ops.replacer(p); ok {
		if _, err := r.ReplaceRecords(ctx, zoneFQDN, remove, add); err != nil {
			return 1, fmt.Errorf("replacing %s: %w", describe(slices.Concat(ops.Delete, ops.Replace, ops.Append, ops.ReplaceWith)), err)
		}
		return 1, nil
	}
	calls := 0
	steps := []struct {
		verb string
		recs []libdns.RR
		del  bool
	}{
		{"adding", ops.Append, false},
		{"deleting", ops.Delete, true},
		{"deleting (to change its TTL)", ops.Replace, true},
		{"adding (with its new TTL)", ops.ReplaceWith, false},
	}
	for _, s := range steps {
		if len(s.recs) == 0 {
			continue
		}
		recs := make([]libdns.Record, len(s.recs))
		for i, rr := range addressFirst(s.recs) {
			recs[i] = rr
		}
		var err error
		calls++
		if s.del {
			_, err = p.DeleteRecords(ctx, zoneFQDN, recs)
		} else {
			_, err = p.AppendRecords(ctx, zoneFQDN, recs)
		}
		if err != nil {
			return calls, fmt.Errorf("%s %s: %w", s.verb, describe(s.recs), err)
		}
	}
	return calls, nil
}

// describe names records for an error message: "@ TXT" or "mail A (2 records)".
func describe(recs []libdns.RR) string {
	var keys []string
	n := map[string]int{}
	for _, rr := range recs {
		k := rr.Name + " " + rr.Type
		if n[k] == 0 {
			keys = append(keys, k)
		}
		n[k]++
	}
	slices.Sort(keys)
	for i, k := range keys {
		if n[k] > 1 {
			keys[i] = fmt.Sprintf("%s (%d records)", k, n[k])
		}
	}
	if len(keys) > describeMax {
		// One call carries the writes of a whole zone: name the first.
		return fmt.Sprintf("%s and %d more RRsets", strings.Join(keys[:describeMax], ", "), len(keys)-describeMax)
	}
	return strings.Join(keys, ", ")
}

// describeMax is the number of RRsets an error message names.
const describeMax = 8

// addressFirst returns recs with the A and AAAA records first (a stable
// sort of a copy): within one call, a mail host's address is added before an
// MX that names it, which BIND checks record by record in an UPDATE.
func addressFirst(recs []libdns.RR) []libdns.RR {
	isAddr := func(rr libdns.RR) bool { return rr.Type == "A" || rr.Type == "AAAA" }
	if !slices.ContainsFunc(recs, isAddr) {
		return recs
	}
	out := slices.Clone(recs)
	slices.SortStableFunc(out, func(a, b libdns.RR) int {
		switch x, y := isAddr(a), isAddr(b); {
		case x && !y:
			return -1
		case y && !x:
			return 1
		}
		return 0
	})
	return out
}

// writeOrder returns the shares of a zone in the order they are written: a
// share whose changes add an A or AAAA record first (a stable sort), so that
// a mail host's address is there before another domain's MX names it (BIND
// refuses an MX to an in-zone name without an address).
func writeOrder(parts []*domainZone) []*domainZone {
	out := slices.Clone(parts)
	addsAddress := func(p *domainZone) bool {
		for _, c := range p.plan.Changes {
			if (c.Type == "A" || c.Type == "AAAA") && c.Action != ActionDelete {
				return true
			}
		}
		return false
	}
	slices.SortStableFunc(out, func(a, b *domainZone) int {
		switch x, y := addsAddress(a), addsAddress(b); {
		case x && !y:
			return -1
		case y && !x:
			return 1
		}
		return 0
	})
	return out
}
