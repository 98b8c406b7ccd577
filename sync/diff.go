package sync

import (
	"slices"
	"strings"
	stdsync "sync"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/providers"
)

// rrsetDiff is the comparison of one desired RRset with the live records at
// its (name, type). It carries what apply needs on top of the Change.
type rrsetDiff struct {
	Set       policy.RRset // values canonical, sorted, unique
	OwnedLive []libdns.RR  // live records at (name, type) that maildns owns
	Foreign   []libdns.RR  // live records at (name, type) it does not own
	Change    *Change      // nil when in sync
}

// Diff compares the RRsets a policy wants in one zone with the live records
// of that zone (canonical form, names relative to the zone) and returns the
// RRset changes, sorted by name and type. Only owned values are compared:
// with OwnPrefix only live values starting with the prefix count, every other
// value at that name and type is foreign and never appears in a change (and
// when the foreign values share one TTL, the owned values take it: see
// sharedTTL).
func Diff(desired []policy.RRset, live []libdns.RR) []Change {
	var out []Change
	for _, d := range diffRRsets(desired, live) {
		if d.Change != nil {
			out = append(out, *d.Change)
		}
	}
	return out
}

type nameType struct{ name, typ string }

// liveIndex is a zone's live records by (lower-case name, upper-case type).
// The engine builds it once per zone and run: every domain with records in
// a zone shares it (indexing the whole zone per domain would make a zone of
// many domains cost their number squared).
type liveIndex map[nameType][]libdns.RR

// indexLive groups live records by name and type, in their order. A run of
// records at one name and type (a zone lists a name's records together)
// is a piece of live itself, capped so that a later record at the same
// name and type copies it rather than write into live: a zone of a million
// records costs a map entry per run, and a copy only for the names and
// types found again further on.
func indexLive(live []libdns.RR) liveIndex {
	byKey := make(liveIndex, len(live))
	for i := 0; i < len(live); {
		k := nameType{strings.ToLower(live[i].Name), strings.ToUpper(live[i].Type)}
		j := i + 1
		for j < len(live) && lowerIs(live[j].Name, k.name) && upperIs(live[j].Type, k.typ) {
			j++
		}
		if have, ok := byKey[k]; ok {
			byKey[k] = append(have, live[i:j]...)
		} else {
			byKey[k] = live[i:j:j]
		}
		i = j
	}
	return byKey
}

// diffRRsets compares each desired RRset (merged by name and type) with the
// live records; the result is sorted by name and type.
func diffRRsets(desired []policy.RRset, live []libdns.RR) []rrsetDiff {
	return diffLive(desired, live, nil)
}

// diffIndexed is diffRRsets against a zone's index of live records.
func diffIndexed(desired []policy.RRset, byKey liveIndex) []rrsetDiff {
	return diffLive(desired, nil, byKey)
}

// smallZone is the size up to which a zone is diffed by a scan of its
// records rather than an index of them: a map and a slice per name and type
// cost more than a few passes over a handful of records.
const smallZone = indexedZone

// diffLive is diffRRsets against the records at each name and type: by
// byKey when not nil, else by a scan of live (as indexLive would group
// them: the lower-case name and upper-case type, in live's order). Every
// RRset's live records share one array.
func diffLive(desired []policy.RRset, live []libdns.RR, byKey liveIndex) []rrsetDiff {
	return diffLiveIn(nil, desired, live, byKey)
}

// diffLiveIn is diffLive into scratch's arrays (nil: new ones).
func diffLiveIn(scratch *diffScratch, desired []policy.RRset, live []libdns.RR, byKey liveIndex) []rrsetDiff {
	out := mergeSets(desired, scratch)
	at := func(set *policy.RRset) []libdns.RR { return byKey[nameType{set.Name, set.Type}] }
	n := len(live) // at most every record matches one (merged) set
	if byKey != nil {
		n = 0
		for i := range out {
			n += len(at(&out[i].Set))
		}
	}
	var buf []libdns.RR
	if n > 0 {
		buf = scratch.recsFor(n)
	}
	// A scanned zone's records whose name and type are already lower and
	// upper case (nearly all) compare as they are.
	var plain [smallZone]bool
	scanPlain := byKey == nil && len(live) <= smallZone
	if scanPlain {
		for j := range live {
			plain[j] = caseIs(live[j].Name, false) && caseIs(live[j].Type, true)
		}
	}
	at2 := func(j int, rr *libdns.RR, set *policy.RRset) bool {
		switch {
		case byKey != nil:
			return true
		case scanPlain && plain[j]:
			return rr.Type == set.Type && rr.Name == set.Name
		}
		return upperIs(rr.Type, set.Type) && lowerIs(rr.Name, set.Name)
	}
	for i := range out {
		d := &out[i]
		set := &d.Set
		recs := live
		if byKey != nil {
			recs = at(set)
		}
		start, foreign := len(buf), 0
		for j := range recs {
			if rr := &recs[j]; at2(j, rr, set) {
				if set.Owns(rr.Data) {
					buf = append(buf, *rr)
				} else {
					foreign++
				}
			}
		}
		if len(buf) > start {
			d.OwnedLive = buf[start:len(buf):len(buf)]
		}
		if foreign > 0 {
			start = len(buf)
			for j := range recs {
				if rr := &recs[j]; at2(j, rr, set) && !set.Owns(rr.Data) {
					buf = append(buf, *rr)
				}
			}
			d.Foreign = buf[start:len(buf):len(buf)]
		}
		if t, ok := sharedTTL(&d.Set, d.Foreign); ok {
			d.Set.TTL = t
		}
		d.Change = compareSet(&d.Set, d.OwnedLive)
	}
	return out
}

// diffScratch holds the arrays of a share's diffs in a dry run, which lets
// the diffs go as soon as the share's plan is made: the next share of the
// zone reuses them rather than allocate its own (nil: new arrays each).
type diffScratch struct {
	diffs []rrsetDiff
	recs  []libdns.RR
	vals  []string
}

var diffScratches = stdsync.Pool{New: func() any { return new(diffScratch) }}

func (s *diffScratch) diffsFor(n int) []rrsetDiff {
	if s == nil {
		return make([]rrsetDiff, 0, n)
	}
	if cap(s.diffs) < n {
		s.diffs = make([]rrsetDiff, 0, n)
	}
	return s.diffs[:0]
}

func (s *diffScratch) recsFor(n int) []libdns.RR {
	if s == nil {
		return make([]libdns.RR, 0, n)
	}
	if cap(s.recs) < n {
		s.recs = make([]libdns.RR, 0, n)
	}
	return s.recs[:0]
}

func (s *diffScratch) valsFor(n int) []string {
	if s == nil {
		return make([]string, 0, n)
	}
	if cap(s.vals) < n {
		s.vals = make([]string, 0, n)
	}
	return s.vals[:0]
}

// release clears s (what it points to may go) and returns it to the pool.
func (s *diffScratch) release() {
	clear(s.diffs[:cap(s.diffs)])
	clear(s.recs[:cap(s.recs)])
	clear(s.vals[:cap(s.vals)])
	diffScratches.Put(s)
}

// caseIs reports whether s is ASCII without lower-case letters (upper) or
// without upper-case ones (!upper): what strings.ToUpper or ToLower leaves
// as it is.
func caseIs(s string, upper bool) bool {
	lo, hi := byte('A'), byte('Z')
	if upper {
		lo, hi = 'a', 'z'
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x80 || (lo <= c && c <= hi) {
			return false
		}
	}
	return true
}

// lowerIs reports whether strings.ToLower(s) == want, without making the
// lower-case copy for a name that already is.
func lowerIs(s, want string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x80 || ('A' <= c && c <= 'Z') {
			return strings.ToLower(s) == want
		}
	}
	return s == want
}

// upperIs reports whether strings.ToUpper(s) == want, as lowerIs.
func upperIs(s, want string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x80 || ('a' <= c && c <= 'z') {
			return strings.ToUpper(s) == want
		}
	}
	return s == want
}

// sharedTTL returns the TTL an owned value must have in an RRset shared
// with foreign values: theirs, when they agree. In DNS an RRset has one TTL
// (BIND and Route 53 apply a new value's TTL to the whole set), so a
// policy TTL different from the foreign values' would change them, or never
// converge; maildns adopts the set's TTL instead.
func sharedTTL(set *policy.RRset, foreign []libdns.RR) (time.Duration, bool) {
	if set.Own != policy.OwnPrefix || len(foreign) == 0 {
		return 0, false
	}
	t := foreign[0].TTL.Truncate(time.Second)
	for _, rr := range foreign[1:] {
		if rr.TTL.Truncate(time.Second) != t {
			return 0, false
		}
	}
	return t, true
}

// mergeDesired canonicalises the desired RRsets and merges those that share
// a name and type (the first one's TTL and ownership win), sorted by name, type.
func mergeDesired(desired []policy.RRset) []policy.RRset {
	merged := mergeSets(desired, nil)
	sets := make([]policy.RRset, len(merged))
	for i := range merged {
		sets[i] = merged[i].Set
	}
	return sets
}

// mergeSets is mergeDesired into the diffs of the sets (nothing compared
// yet): diffLive fills them in place rather than copy every set.
func mergeSets(desired []policy.RRset, scratch *diffScratch) []rrsetDiff {
	sets := scratch.diffsFor(len(desired))
	// A policy has a handful of sets: a scan finds a name and type as soon
	// as a map would; a map only for many (PTRs of large networks).
	var idx map[nameType]int
	if len(desired) > 16 {
		idx = make(map[nameType]int, len(desired))
	}
	find := func(k nameType) (int, bool) {
		if idx != nil {
			i, ok := idx[k]
			return i, ok
		}
		for i := range sets {
			if sets[i].Set.Name == k.name && sets[i].Set.Type == k.typ {
				return i, true
			}
		}
		return 0, false
	}
	// Every set's values in one array (a set merged into grows its own).
	n := 0
	for i := range desired {
		n += len(desired[i].Values)
	}
	all := scratch.valsFor(n)
	for _, rs := range desired {
		rs.Name = providers.RelativeName(rs.Name, rs.Zone)
		rs.Type = strings.ToUpper(rs.Type)
		vals := all[len(all) : len(all) : len(all)+len(rs.Values)]
		for _, v := range rs.Values {
			// TXT from a policy is already the text itself: a backslash in
			// it is a character, not an escape to undo.
			if rs.Type != "TXT" && rs.Type != "SPF" {
				if c, err := providers.CanonicalData(rs.Type, v, rs.Zone); err == nil {
					v = c
				}
			}
			vals = append(vals, v)
		}
		all = all[:len(all)+len(vals)]
		k := nameType{rs.Name, rs.Type}
		if i, ok := find(k); ok {
			sets[i].Set.Values = append(sets[i].Set.Values, vals...)
			sets[i].Set.Absent = sets[i].Set.Absent && rs.Absent
			continue
		}
		rs.Values = vals
		if idx != nil {
			idx[k] = len(sets)
		}
		sets = append(sets, rrsetDiff{Set: rs})
	}
	for i := range sets {
		set := &sets[i].Set
		slices.Sort(set.Values)
		set.Values = slices.Compact(set.Values)
		if !set.Absent {
			continue
		}
		// An absent set that another set of the same name and type
		// wants present is not absent.
		if len(set.Values) > 0 {
			set.Absent = false
		}
	}
	slices.SortFunc(sets, func(a, b rrsetDiff) int {
		if c := strings.Compare(a.Set.Name, b.Set.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Set.Type, b.Set.Type)
	})
	return sets
}

// compareSet returns the change that makes the owned live records match set,
// or nil when they do.
func compareSet(set *policy.RRset, owned []libdns.RR) *Change {
	want := set.Values
	wantTTL := seconds(set.TTL)
	if inSync(owned, want, wantTTL) && !set.Absent {
		return nil
	}
	have := liveValues(owned)
	switch {
	case set.Absent:
		if len(have) == 0 {
			return nil
		}
		return &Change{Action: ActionDelete, Name: set.Name, Type: set.Type, TTL: liveTTL(owned), Before: have}
	case len(want) == 0:
		// Nothing wanted and nothing said: leave the live records alone.
		return nil
	case len(have) == 0:
		return &Change{Action: ActionCreate, Name: set.Name, Type: set.Type, TTL: wantTTL, After: slices.Clone(want)}
	}
	ttlDiffers := false
	for _, rr := range owned {
		if seconds(rr.TTL) != wantTTL {
			ttlDiffers = true
		}
	}
	if !ttlDiffers && slices.Equal(have, want) && len(owned) == len(have) {
		return nil
	}
	c := &Change{Action: ActionUpdate, Name: set.Name, Type: set.Type, TTL: wantTTL, Before: have, After: slices.Clone(want)}
	if lt := liveTTL(owned); ttlDiffers && lt != wantTTL {
		c.BeforeTTL = lt
	}
	return c
}

// inSync reports, without a copy, the usual in-sync set: its owned
// records hold the wanted values in their order (sorted, unique), one each,
// each with the wanted TTL.
func inSync(owned []libdns.RR, want []string, wantTTL int) bool {
	if len(owned) != len(want) || len(want) == 0 {
		return false
	}
	for i, rr := range owned {
		if rr.Data != want[i] || seconds(rr.TTL) != wantTTL {
			return false
		}
	}
	return true
}

// liveValues returns the sorted, unique data of recs.
func liveValues(recs []libdns.RR) []string {
	out := make([]string, 0, len(recs))
	for _, rr := range recs {
		out = append(out, rr.Data)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// liveTTL is the TTL of an RRset as read: the smallest of its records'.
func liveTTL(recs []libdns.RR) int {
	t := -1
	for _, rr := range recs {
		if s := seconds(rr.TTL); t < 0 || s < t {
			t = s
		}
	}
	return max(t, 0)
}

func seconds(d time.Duration) int { return int(d / time.Second) }
