package faulty

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
	"github.com/maildns/maildns/providers"
)

// condMem is a backend whose ReplaceRecordsIf checks what it expects and
// replaces under one lock; meddle, when set, runs once just after a write
// (another writer).
type condMem struct {
	mu     sync.Mutex
	recs   []libdns.RR
	writes int
	meddle func(recs []libdns.RR) []libdns.RR
}

func (m *condMem) GetRecords(ctx context.Context, zone string) ([]libdns.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]libdns.Record, len(m.recs))
	for i, r := range m.recs {
		out[i] = r
	}
	return out, nil
}

func (m *condMem) AppendRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	return nil, errors.ErrUnsupported
}

func (m *condMem) SetRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	return nil, errors.ErrUnsupported
}

func (m *condMem) DeleteRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	return nil, errors.ErrUnsupported
}

func (m *condMem) ReplaceRecordsIf(ctx context.Context, zone string, expect []providers.RRsetState, remove, add []libdns.Record) ([]libdns.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	live := make([]libdns.Record, len(m.recs))
	for i, r := range m.recs {
		live[i] = r
	}
	if err := providers.CheckExpect(zone, expect, live); err != nil {
		return nil, err
	}
	m.writes++
	same := func(a, b libdns.RR) bool { return a.Name == b.Name && a.Type == b.Type && a.Data == b.Data }
	for _, r := range slices.Concat(remove, add) {
		m.recs = slices.DeleteFunc(m.recs, func(h libdns.RR) bool { return same(h, r.RR()) })
	}
	for _, r := range add {
		m.recs = append(m.recs, r.RR())
	}
	if m.meddle != nil {
		m.recs, m.meddle = m.meddle(m.recs), nil
	}
	return add, nil
}

func spf(v string) libdns.RR { return libdns.RR{Name: "@", Type: "TXT", TTL: time.Hour, Data: v} }

// Each fault on a conditional write, through the wrapper: a lost answer
// is found landed on the re-read (one write), a write that never reached
// the backend is sent again, and a zone another writer changed meanwhile is
// reported changed with the other write kept.
func TestConditionalFaultsThroughWrap(t *testing.T) {
	const zone = "example.com."
	old, neu, other, foreign := spf("v=spf1 -all"), spf("v=spf1 mx -all"), spf("v=spf1 a -all"), spf("google-site-verification=x")
	expect := []providers.RRsetState{{Name: "@", Type: "TXT", Values: []string{foreign.Data, old.Data}}}
	for _, tc := range []struct {
		fault   Fault
		meddle  bool
		writes  int
		changed bool
		want    []libdns.RR
	}{
		{fault: None, writes: 1, want: []libdns.RR{foreign, neu}},
		{fault: FailAfter, writes: 1, want: []libdns.RR{foreign, neu}},
		{fault: FailBefore, writes: 1, want: []libdns.RR{foreign, neu}},
		{fault: Timeout, writes: 1, want: []libdns.RR{foreign, neu}},
		{fault: FailBefore, meddle: true, writes: 0, changed: true, want: []libdns.RR{foreign, other}},
		{fault: FailAfter, meddle: true, writes: 1, changed: true, want: []libdns.RR{foreign, other}},
	} {
		name := tc.fault.String()
		if tc.meddle {
			name += ", another writer"
		}
		t.Run(name, func(t *testing.T) {
			m := &condMem{recs: []libdns.RR{foreign, old}}
			f := New(m, Options{Hang: 5 * time.Millisecond, Transient: true, Script: func(n int, op string) Fault {
				if op == OpReplace && n == 1 {
					return tc.fault
				}
				return None
			}})
			if !providers.CanReplaceIf(f) || providers.CanReplaceIf(New(&mem{}, Options{})) {
				t.Fatal("CanReplaceIf does not look through the fault injector")
			}
			counts := &providers.Counts{}
			w := providers.Wrap(f, providers.WrapOptions{Name: "p", Type: "test", Timeout: 50 * time.Millisecond,
				RetryBaseDelay: time.Millisecond, Counts: counts})
			if tc.meddle {
				// The other writer lands right after our first attempt.
				overwrite := func([]libdns.RR) []libdns.RR { return []libdns.RR{foreign, other} }
				if tc.fault == FailAfter {
					m.meddle = overwrite // just after our write landed
				} else {
					m.recs = overwrite(m.recs) // before our first attempt
				}
			}
			_, err := w.(providers.ConditionalReplacer).ReplaceRecordsIf(context.Background(), zone, expect, []libdns.Record{old}, []libdns.Record{neu})
			if tc.changed != errors.Is(err, providers.ErrChanged) || (!tc.changed && err != nil) {
				t.Fatalf("err = %v, want changed %v", err, tc.changed)
			}
			if m.writes != tc.writes {
				t.Errorf("%d writes reached the backend, want %d", m.writes, tc.writes)
			}
			if diff := cmp.Diff(tc.want, m.recs); diff != "" {
				t.Errorf("zone (-want +got):\n%s", diff)
			}
		})
	}
}
