package policy

import (
	"cmp"
	"time"

	"go.yaml.in/yaml/v3"
)

// dkimDateKeys are the dates of a staged DKIM rotation.
var dkimDateKeys = []string{"active_from", "retire_at", "remove_at"}

// dkimDateLayouts are the forms a rotation date may take: RFC 3339, or a
// day (midnight UTC).
var dkimDateLayouts = []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02"}

// dkimDate reads one rotation date of k.
func (l *domainLoader) dkimDate(f entry, k *DKIM) bool {
	n := f.node
	if n.Kind != yaml.ScalarNode {
		l.errorf(l.at(f), "%s must be a date, not %s", f.key, kindName(n))
		return false
	}
	var t time.Time
	var err error
	for _, layout := range dkimDateLayouts {
		if t, err = time.ParseInLocation(layout, n.Value, time.UTC); err == nil {
			break
		}
	}
	if err != nil {
		l.errorf(l.at(f), "%s: %q is not a date (want 2026-12-01 or 2026-12-01T10:00:00Z)", f.key, n.Value)
		return false
	}
	if k.Dates == nil {
		k.Dates = &DKIMDates{}
	}
	switch f.key {
	case "active_from":
		k.Dates.ActiveFrom = t
	case "retire_at":
		k.Dates.RetireAt = t
	case "remove_at":
		k.Dates.RemoveAt = t
	}
	return true
}

// dkimDates checks that k's dates come in the order of the states they
// lead to, and that a date is one the selector's state can still reach.
func (l *domainLoader) dkimDates(k *DKIM) bool {
	ok := true
	dt := k.dates()
	order := []struct {
		name string
		t    time.Time
	}{{"active_from", dt.ActiveFrom}, {"retire_at", dt.RetireAt}, {"remove_at", dt.RemoveAt}}
	var prev string
	var prevT time.Time
	for _, o := range order {
		if o.t.IsZero() {
			continue
		}
		if prev != "" && !o.t.After(prevT) {
			l.errorf(l.d.At(k.Line), "dkim %s: %s (%s) must come after %s (%s)", k.Selector, o.name, o.t.Format(time.RFC3339), prev, prevT.Format(time.RFC3339))
			ok = false
		}
		prev, prevT = o.name, o.t
	}
	if !dt.ActiveFrom.IsZero() && k.State != "next" {
		l.errorf(l.d.At(k.Line), "dkim %s: active_from goes with state: next", k.Selector)
		ok = false
	}
	if !dt.RetireAt.IsZero() && (k.State == "retired" || k.State == "absent") {
		l.errorf(l.d.At(k.Line), "dkim %s: retire_at goes with state next or active", k.Selector)
		ok = false
	}
	if !dt.RemoveAt.IsZero() && k.State == "absent" {
		l.errorf(l.d.At(k.Line), "dkim %s: remove_at goes with a state other than absent", k.Selector)
		ok = false
	}
	return ok
}

// DKIMStateAt is the state of selector k at now: its state (next, active,
// retired or absent; "" reads active), moved on by each of its dates that
// has come: active_from makes next active, retire_at makes it retired,
// remove_at absent.
func DKIMStateAt(k DKIM, now time.Time) string {
	s := k.State
	if s == "" {
		s = "active"
	}
	dt := k.dates()
	if s == "next" && !dt.ActiveFrom.IsZero() && !now.Before(dt.ActiveFrom) {
		s = "active"
	}
	if (s == "next" || s == "active") && !dt.RetireAt.IsZero() && !now.Before(dt.RetireAt) {
		s = "retired"
	}
	if s != "absent" && !dt.RemoveAt.IsZero() && !now.Before(dt.RemoveAt) {
		s = "absent"
	}
	return s
}

// WithDKIMStates returns a copy of d whose selectors have the states given
// (by selector; "active" is written ""), for compiling and checking the
// domain as a rotation has left it. d itself is not changed.
func WithDKIMStates(d *Domain, states map[string]string) *Domain {
	same := true
	for _, k := range d.DKIM {
		if s, ok := states[k.Selector]; ok && s != cmp.Or(k.State, "active") {
			same = false
		}
	}
	if same {
		// Nothing to change: d itself, which keeps the load's compiled
		// RRsets (Config.Compile).
		return d
	}
	c := *d
	c.DKIM = make([]DKIM, len(d.DKIM))
	for i, k := range d.DKIM {
		if s, ok := states[k.Selector]; ok {
			if s == "active" {
				s = ""
			}
			k.State = s
		}
		c.DKIM[i] = k
	}
	return &c
}
