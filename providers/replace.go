package providers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/libdns/libdns"
)

// OpReplaceRecords is the operation Wrap counts for ReplaceRecords.
const OpReplaceRecords = "replace_records"

// Replacer is implemented by backends that can swap some values of a zone
// for others in one step, so that a resolver never sees the zone between
// the old and the new values: an update of an SPF record never shows two
// "v=spf1" values (an SPF permerror) nor none, a DMARC update never shows
// two DMARC records (no policy applies).
//
// ReplaceRecords removes exactly the records in remove and adds those in
// add, in zone (fully qualified, with a trailing dot):
//   - a record of remove is matched by name, type and data in canonical
//     form (see Normalize), whatever its TTL; it is never a wildcard: an
//     empty name, type or data is an error, and nothing is written. A
//     record of remove that is not in the zone is ignored;
//   - a record of add is written with its TTL; one already in the zone with
//     the same name, type and data (and not removed) is left as it is;
//   - removes are applied before adds: the same value in both (a TTL-only
//     change) ends up in the zone with the TTL of add;
//   - every other value, foreign ones at the same name and type included,
//     is left untouched, with its TTL (except where DNS has one TTL per
//     RRset and add gives another: then the RRset takes add's TTL, as an
//     append would).
//
// The step is atomic where the backend can make it so; each backend
// documents what it does. It returns the records added.
type Replacer interface {
	ReplaceRecords(ctx context.Context, zone string, remove, add []libdns.Record) ([]libdns.Record, error)
}

// canReplacer is implemented by wrappers, which can replace records exactly
// when the provider they wrap can.
type canReplacer interface {
	CanReplace() bool
}

// CanReplace reports whether p implements ReplaceRecords (see Replacer),
// looking through wrappers: a wrapper of a provider that does not
// implement it cannot either.
func CanReplace(p Provider) bool {
	if w, ok := p.(canReplacer); ok {
		return w.CanReplace()
	}
	_, ok := p.(Replacer)
	return ok
}

// ErrCannotReplace is returned by a wrapper's ReplaceRecords when the
// provider it wraps does not implement it (see CanReplace).
var ErrCannotReplace = fmt.Errorf("the provider cannot replace records in one step: %w", errors.ErrUnsupported)

// CheckReplace checks the records of a ReplaceRecords call: every record of
// remove names its name, type and data (never a wildcard), and every record
// of add its name and type.
func CheckReplace(remove, add []libdns.Record) error {
	for _, rec := range remove {
		r := rec.RR()
		if strings.TrimSpace(r.Name) == "" || strings.TrimSpace(r.Type) == "" || strings.TrimSpace(r.Data) == "" {
			return fmt.Errorf("replacing: a record to remove without name, type or data (%q %q %q): ReplaceRecords removes exact records only", r.Name, r.Type, r.Data)
		}
	}
	for _, rec := range add {
		r := rec.RR()
		if strings.TrimSpace(r.Name) == "" || strings.TrimSpace(r.Type) == "" {
			return fmt.Errorf("replacing: a record to add without name or type (%q %q)", r.Name, r.Type)
		}
	}
	return nil
}

// CanReplace reports whether the wrapped provider implements ReplaceRecords.
func (w *Wrapped) CanReplace() bool { return CanReplace(w.inner) }

// ReplaceRecords implements Replacer when the wrapped provider does (see
// CanReplace); otherwise it fails with ErrCannotReplace and writes nothing.
// It is retried as AppendRecords is: after a failure that may have landed,
// the zone is read again and only what is not done yet is sent again (a
// removed value still there, an added value missing; a value both removed
// and added counts as done when it is there with the TTL of add).
func (w *Wrapped) ReplaceRecords(ctx context.Context, zone string, remove, add []libdns.Record) ([]libdns.Record, error) {
	r, ok := w.inner.(Replacer)
	if !ok || !w.CanReplace() {
		w.count(OpReplaceRecords, ResultError)
		return nil, w.callError(OpReplaceRecords, zone, ErrCannotReplace)
	}
	if err := CheckReplace(remove, add); err != nil {
		w.count(OpReplaceRecords, ResultError)
		return nil, w.o.Redactor.Error(w.callError(OpReplaceRecords, zone, err))
	}
	pendRemove, pendAdd := remove, add
	err := w.do(ctx, OpReplaceRecords, zone, func(ctx context.Context, prev error) error {
		if prev != nil && !notApplied(prev) {
			live, err := w.inner.GetRecords(ctx, zone)
			if err != nil {
				return fmt.Errorf("reading the zone again before retrying: %w", err)
			}
			pendRemove, pendAdd = replacePending(pendRemove, pendAdd, live, zone)
			if len(pendRemove)+len(pendAdd) == 0 {
				return nil
			}
		}
		_, err := r.ReplaceRecords(ctx, zone, pendRemove, pendAdd)
		return err
	})
	if err != nil {
		return nil, err
	}
	return add, nil
}

// replacePending returns what of a replacement is not done in live: the
// records of remove still there and the records of add missing. A value in
// both remove and add (a new TTL) is done when live has it with add's TTL.
func replacePending(remove, add, live []libdns.Record, zone string) (pendRemove, pendAdd []libdns.Record) {
	type key struct{ name, typ, data string }
	keyOf := func(r libdns.Record) (key, time.Duration, bool) {
		rr, err := Normalize(r, zone)
		if err != nil {
			return key{}, 0, false
		}
		return key{rr.Name, rr.Type, rr.Data}, rr.TTL, true
	}
	have := map[key][]time.Duration{}
	for _, r := range live {
		if k, ttl, ok := keyOf(r); ok {
			have[k] = append(have[k], ttl)
		}
	}
	addTTL := map[key]time.Duration{}
	for _, r := range add {
		if k, ttl, ok := keyOf(r); ok {
			addTTL[k] = ttl
		}
	}
	removed := map[key]bool{}
	// done: a value both removed and added is there with the new TTL only.
	done := func(k key) bool {
		ttls := have[k]
		if len(ttls) == 0 {
			return false
		}
		for _, t := range ttls {
			if t != addTTL[k] {
				return false
			}
		}
		return true
	}
	for _, r := range remove {
		k, _, ok := keyOf(r)
		if !ok {
			pendRemove = append(pendRemove, r)
			continue
		}
		if _, both := addTTL[k]; both {
			removed[k] = true
			if !done(k) {
				pendRemove = append(pendRemove, r)
			}
			continue
		}
		if len(have[k]) > 0 {
			pendRemove = append(pendRemove, r)
		}
	}
	for _, r := range add {
		k, _, ok := keyOf(r)
		switch {
		case !ok:
			pendAdd = append(pendAdd, r)
		case removed[k]:
			if !done(k) {
				pendAdd = append(pendAdd, r)
			}
		case len(have[k]) == 0:
			pendAdd = append(pendAdd, r)
		}
	}
	return pendRemove, pendAdd
}
