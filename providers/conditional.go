package providers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/libdns/libdns"
)

// ErrChanged is wrapped by the error of a conditional write that found the
// zone no longer holding what the write expected: nothing was written. The
// engine then reads the zone again and plans once more.
var ErrChanged = errors.New("the zone changed since it was read")

// ChangedError names the first RRset that no longer held what a conditional
// write expected. It wraps ErrChanged.
type ChangedError struct {
	Zone string
	Name string // relative to the zone, "@" for the apex
	Type string
	Want []string // canonical values expected, sorted
	Have []string // canonical values found, sorted
}

func (e *ChangedError) Error() string {
	show := func(v []string) string {
		if len(v) == 0 {
			return "none"
		}
		return strings.Join(quoteAll(v), ", ")
	}
	return fmt.Sprintf("%s: %s %s holds %s, expected %s", ErrChanged, e.Name, e.Type, show(e.Have), show(e.Want))
}

func (e *ChangedError) Unwrap() error { return ErrChanged }

func quoteAll(v []string) []string {
	out := make([]string, len(v))
	for i, s := range v {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// RRsetState is what a conditional write expects to find at one name and
// type: exactly Values, foreign values included, compared as sets of
// canonical data (see Normalize) whatever their TTL, order, the case of
// their names or the strings a TXT is split into. No values: no record of
// that type at that name.
type RRsetState struct {
	Name   string // relative to the zone, "@" for the apex (canonical)
	Type   string
	Values []string // canonical data
}

// ConditionalReplacer is implemented by backends that can make a
// replacement conditional on what the zone holds.
//
// ReplaceRecordsIf does what ReplaceRecords does (see Replacer), but only
// when every RRset of expect holds exactly its values at the moment of the
// write; otherwise it writes nothing and returns an error wrapping a
// *ChangedError (errors.Is(err, ErrChanged)). Every RRset that remove or add
// touches is in expect.
//
// A record of remove is deleted in the form the provider holds it (a TXT
// split into whatever strings the server stores, names and targets in
// whatever case it stores them, the provider's record ID), never in a form
// re-rendered from its canonical data: servers compare RDATA string by
// string and some compare names case-sensitively.
//
// Where the check and the write are one atomic step (RFC 2136
// prerequisites, a zone file checked under its lock, a Route53 change batch
// whose deletes must match) the backend says so; where the API offers no
// such step it checks just before writing and documents the window left.
type ConditionalReplacer interface {
	ReplaceRecordsIf(ctx context.Context, zone string, expect []RRsetState, remove, add []libdns.Record) ([]libdns.Record, error)
}

// canReplaceIfer is implemented by wrappers, which can write conditionally
// when the provider they wrap can.
type canReplaceIfer interface {
	CanReplaceIf() bool
}

// CanReplaceIf reports whether p implements ReplaceRecordsIf (see
// ConditionalReplacer), looking through wrappers.
func CanReplaceIf(p Provider) bool {
	if w, ok := p.(canReplaceIfer); ok {
		return w.CanReplaceIf()
	}
	_, ok := p.(ConditionalReplacer)
	return ok
}

// CheckExpect compares expect with live (records as the provider returned
// them, in any form Normalize accepts) and returns a *ChangedError for the
// first RRset that differs, nil when every one holds exactly its values.
func CheckExpect(zone string, expect []RRsetState, live []libdns.Record) error {
	if len(expect) == 0 {
		return nil
	}
	type key struct{ name, typ string }
	want := make(map[key]bool, len(expect))
	for _, e := range expect {
		want[key{RelativeName(e.Name, zone), strings.ToUpper(e.Type)}] = true
	}
	have := map[key][]string{}
	for _, rec := range live {
		rr, err := Normalize(rec, zone)
		if err != nil {
			continue // a record maildns cannot read is never one it expects
		}
		k := key{rr.Name, rr.Type}
		if want[k] {
			have[k] = append(have[k], rr.Data)
		}
	}
	for _, e := range expect {
		k := key{RelativeName(e.Name, zone), strings.ToUpper(e.Type)}
		w := sortedSet(e.Values)
		h := sortedSet(have[k])
		if !slices.Equal(w, h) {
			return &ChangedError{Zone: zone, Name: k.name, Type: k.typ, Want: w, Have: h}
		}
	}
	return nil
}

// sortedSet returns the distinct values of v, sorted.
func sortedSet(v []string) []string {
	out := slices.Clone(v)
	slices.Sort(out)
	return slices.Compact(out)
}
