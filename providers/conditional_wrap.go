package providers

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/libdns/libdns"
)

// ErrCannotReplaceIf is returned by a wrapper's ReplaceRecordsIf when the
// provider it wraps does not implement it (see CanReplaceIf).
var ErrCannotReplaceIf = fmt.Errorf("the provider cannot make a replacement conditional on what the zone holds: %w", errors.ErrUnsupported)

// CanReplaceIf reports whether the wrapped provider implements
// ReplaceRecordsIf.
func (w *Wrapped) CanReplaceIf() bool { return CanReplaceIf(w.inner) }

var _ ConditionalReplacer = (*Wrapped)(nil)

// ReplaceRecordsIf implements ConditionalReplacer when the wrapped provider
// does (see CanReplaceIf); otherwise it fails with ErrCannotReplaceIf and
// writes nothing. It is counted as OpReplaceRecords, rate limited and
// retried as ReplaceRecords is, except that after a failure that may have
// landed the zone is read again and:
//   - when every RRset of expect holds what the replacement leaves there
//     (and every added value has its TTL), it succeeded;
//   - when every RRset still holds exactly what expect says, it is sent
//     again, whole;
//   - otherwise someone else wrote: it fails with a *ChangedError.
//
// A failure that wraps ErrChanged is never retried: the caller reads the
// zone and plans again.
func (w *Wrapped) ReplaceRecordsIf(ctx context.Context, zone string, expect []RRsetState, remove, add []libdns.Record) ([]libdns.Record, error) {
	r, ok := w.inner.(ConditionalReplacer)
	if !ok || !w.CanReplaceIf() {
		w.count(OpReplaceRecords, ResultError)
		return nil, w.o.Redactor.Error(w.callError(OpReplaceRecords, zone, ErrCannotReplaceIf))
	}
	if err := CheckReplace(remove, add); err != nil {
		w.count(OpReplaceRecords, ResultError)
		return nil, w.o.Redactor.Error(w.callError(OpReplaceRecords, zone, err))
	}
	if err := checkExpectCovers(zone, expect, remove, add); err != nil {
		w.count(OpReplaceRecords, ResultError)
		return nil, w.o.Redactor.Error(w.callError(OpReplaceRecords, zone, err))
	}
	end := endStates(zone, expect, remove, add)
	err := w.do(ctx, OpReplaceRecords, zone, func(ctx context.Context, prev error) error {
		if prev != nil && !notApplied(prev) {
			live, err := w.inner.GetRecords(ctx, zone)
			if err != nil {
				return fmt.Errorf("reading the zone again before retrying: %w", err)
			}
			if CheckExpect(zone, end, live) == nil {
				if pr, pa := replacePending(remove, add, live, zone); len(pr)+len(pa) == 0 {
					return nil // the lost attempt landed
				}
			}
			if err := CheckExpect(zone, expect, live); err != nil {
				return err // another writer: ours did not land, or was overwritten
			}
		}
		_, err := r.ReplaceRecordsIf(ctx, zone, expect, remove, add)
		return err
	})
	if err != nil {
		return nil, err
	}
	return add, nil
}

// checkExpectCovers checks that every RRset remove or add touches is in
// expect (the contract of ReplaceRecordsIf): a write that touched an RRset
// it states nothing about would not be conditional there.
func checkExpectCovers(zone string, expect []RRsetState, remove, add []libdns.Record) error {
	have := map[[2]string]bool{}
	for _, e := range expect {
		have[[2]string{RelativeName(e.Name, zone), strings.ToUpper(e.Type)}] = true
	}
	for _, rec := range append(append([]libdns.Record(nil), remove...), add...) {
		rr := rec.RR()
		k := [2]string{RelativeName(rr.Name, zone), strings.ToUpper(strings.TrimSpace(rr.Type))}
		if !have[k] {
			return fmt.Errorf("replacing conditionally: %s %s is written but not in what the write expects", k[0], k[1])
		}
	}
	return nil
}

// endStates returns what each RRset of expect holds once remove and add are
// applied: its values without those removed, with those added.
func endStates(zone string, expect []RRsetState, remove, add []libdns.Record) []RRsetState {
	type key struct{ name, typ string }
	values := func(recs []libdns.Record) map[key]map[string]bool {
		out := map[key]map[string]bool{}
		for _, rec := range recs {
			rr, err := Normalize(rec, zone)
			if err != nil {
				continue
			}
			k := key{rr.Name, rr.Type}
			if out[k] == nil {
				out[k] = map[string]bool{}
			}
			out[k][rr.Data] = true
		}
		return out
	}
	removed, added := values(remove), values(add)
	out := make([]RRsetState, 0, len(expect))
	for _, e := range expect {
		k := key{RelativeName(e.Name, zone), strings.ToUpper(e.Type)}
		var vals []string
		for _, v := range e.Values {
			if !removed[k][v] || added[k][v] {
				vals = append(vals, v)
			}
		}
		for v := range added[k] {
			vals = append(vals, v)
		}
		out = append(out, RRsetState{Name: e.Name, Type: e.Type, Values: sortedSet(vals)})
	}
	return out
}
