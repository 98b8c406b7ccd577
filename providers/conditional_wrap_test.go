package providers

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
)

// memConditional is a memReplacer that checks what it expects under its
// lock before replacing, as a backend's ReplaceRecordsIf does.
type memConditional struct {
	*memReplacer
}

func (m *memConditional) ReplaceRecordsIf(ctx context.Context, zone string, expect []RRsetState, remove, add []libdns.Record) ([]libdns.Record, error) {
	n, err := m.hit(ctx, "replaceif")
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	live := make([]libdns.Record, len(m.recs))
	for i, r := range m.recs {
		live[i] = r
	}
	if err := CheckExpect(zone, expect, live); err != nil {
		return nil, err
	}
	same := func(a, b libdns.RR) bool { return a.Name == b.Name && a.Type == b.Type && a.Data == b.Data }
	for _, r := range remove {
		m.recs = slices.DeleteFunc(m.recs, func(h libdns.RR) bool { return same(h, r.RR()) })
	}
	for _, r := range add {
		m.recs = slices.DeleteFunc(m.recs, func(h libdns.RR) bool { return same(h, r.RR()) })
		m.recs = append(m.recs, r.RR())
	}
	if m.failAft != nil {
		if err := m.failAft("replaceif", n); err != nil {
			return nil, err
		}
	}
	return add, nil
}

func newMemConditional(rrs ...libdns.RR) *memConditional {
	return &memConditional{memReplacer: &memReplacer{memProvider: &memProvider{recs: rrs}}}
}

var spfExpect = []RRsetState{{Name: "@", Type: "TXT", Values: []string{"foreign", "v=spf1 -all"}}}

func TestCanReplaceIfThroughWrap(t *testing.T) {
	if !CanReplaceIf(Wrap(newMemConditional(), WrapOptions{Type: "test", Counts: &Counts{}})) {
		t.Error("a wrapped ConditionalReplacer: CanReplaceIf false")
	}
	counts := &Counts{}
	w := Wrap(&memReplacer{memProvider: &memProvider{}}, WrapOptions{Name: "p", Type: "test", Counts: counts})
	if CanReplaceIf(w) {
		t.Error("a wrapped plain Replacer: CanReplaceIf true")
	}
	_, err := w.(ConditionalReplacer).ReplaceRecordsIf(context.Background(), zone, spfExpect, nil, recs(txt("x", 300)))
	if !errors.Is(err, ErrCannotReplaceIf) || !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("err = %v, want ErrCannotReplaceIf", err)
	}
	if got := counts.Get("p", OpReplaceRecords, ResultError); got != 1 {
		t.Errorf("errors counted %d, want 1", got)
	}
}

// A write must state every RRset it touches: one that does not is refused
// before anything is sent.
func TestReplaceIfRefusesUnstatedRRset(t *testing.T) {
	m := newMemConditional(txt("v=spf1 -all", 300))
	w := Wrap(m, WrapOptions{Type: "test", Counts: &Counts{}}).(*Wrapped)
	mx := libdns.RR{Name: "@", Type: "MX", TTL: time.Hour, Data: "10 mail.example.com."}
	_, err := w.ReplaceRecordsIf(context.Background(), zone, spfExpect, nil, recs(mx))
	if err == nil || m.count("replaceif") != 0 {
		t.Fatalf("err %v, %d calls; want an error and no call", err, m.count("replaceif"))
	}
}

func TestReplaceIfRetry(t *testing.T) {
	old, neu, other := txt("v=spf1 -all", 300), txt("v=spf1 mx -all", 300), txt("v=spf1 a -all", 300)
	foreign := txt("foreign", 300)
	tests := []struct {
		name      string
		err       error
		landed    bool      // the first call's write landed
		meddle    libdns.RR // another writer's value put in place of old after the failed call
		wantCalls int
		wantGets  int
		wantErr   error // nil: success
		retries   int64 // retries counted
		wantZone  []libdns.RR
	}{
		{name: "ambiguous, landed", retries: 1, err: Transient(errors.New("HTTP 502"), 0, false), landed: true,
			wantCalls: 1, wantGets: 1, wantZone: []libdns.RR{foreign, neu}},
		{name: "ambiguous, not landed, zone as read", retries: 1, err: Transient(errors.New("HTTP 502"), 0, false),
			wantCalls: 2, wantGets: 1, wantZone: []libdns.RR{foreign, neu}},
		{name: "ambiguous, not landed, another writer since", retries: 1, err: Transient(errors.New("HTTP 502"), 0, false), meddle: other,
			wantCalls: 1, wantGets: 1, wantErr: ErrChanged, wantZone: []libdns.RR{foreign, other}},
		{name: "ambiguous, landed, overwritten since", retries: 1, err: Transient(errors.New("HTTP 502"), 0, false), landed: true, meddle: other,
			wantCalls: 1, wantGets: 1, wantErr: ErrChanged, wantZone: []libdns.RR{foreign, other}},
		{name: "not applied", retries: 1, err: Transient(errors.New("HTTP 429"), 0, true),
			wantCalls: 2, wantGets: 0, wantZone: []libdns.RR{foreign, neu}},
		{name: "changed is never retried", err: &ChangedError{Zone: zone, Name: "@", Type: "TXT"},
			wantCalls: 1, wantGets: 0, wantErr: ErrChanged, wantZone: []libdns.RR{foreign, old}},
		{name: "changed, even marked transient", err: Transient(&ChangedError{Zone: zone, Name: "@", Type: "TXT"}, 0, false),
			wantCalls: 1, wantGets: 0, wantErr: ErrChanged, wantZone: []libdns.RR{foreign, old}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMemConditional(foreign, old)
			fail := func(op string, n int) error {
				if op != "replaceif" || n != 1 {
					return nil
				}
				if tt.meddle.Type != "" {
					// Another writer swaps whatever SPF is there for its own.
					m.recs = []libdns.RR{foreign, tt.meddle}
				}
				return tt.err
			}
			if tt.landed {
				m.failAft = fail
			} else {
				m.fail = fail
			}
			counts := &Counts{}
			w := Wrap(m, WrapOptions{Name: "p", Type: "test", RetryBaseDelay: time.Millisecond, Counts: counts}).(*Wrapped)
			_, err := w.ReplaceRecordsIf(context.Background(), zone, spfExpect, recs(old), recs(neu))
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("ReplaceRecordsIf: %v", err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if n := m.count("replaceif"); n != tt.wantCalls {
				t.Errorf("calls = %d, want %d", n, tt.wantCalls)
			}
			if n := m.count("get"); n != tt.wantGets {
				t.Errorf("re-reads = %d, want %d", n, tt.wantGets)
			}
			if diff := cmp.Diff(tt.wantZone, m.recs); diff != "" {
				t.Errorf("zone (-want +got):\n%s", diff)
			}
			if got := counts.Get("p", OpReplaceRecords, ResultRetry); got != tt.retries {
				t.Errorf("%d retries counted, want %d", got, tt.retries)
			}
			if tt.wantErr != nil {
				var ce *CallError
				if !errors.As(err, &ce) || ce.Provider != "p" || ce.Zone != zone {
					t.Errorf("err %v does not name provider and zone", err)
				}
			} else if got := counts.Get("p", OpReplaceRecords, ResultOK); got != 1 {
				t.Errorf("ok counted %d, want 1", got)
			}
		})
	}
}

// The state a replacement leaves: expected values without those removed,
// with those added; a value both removed and added (a new TTL) stays.
func TestEndStates(t *testing.T) {
	expect := []RRsetState{
		{Name: "@", Type: "TXT", Values: []string{"foreign", "v=spf1 -all"}},
		{Name: "mail", Type: "A", Values: []string{"192.0.2.1"}},
		{Name: "_dmarc", Type: "TXT"},
	}
	got := endStates(zone, expect,
		recs(txt("v=spf1 -all", 300), libdns.RR{Name: "mail", Type: "A", Data: "192.0.2.1"}),
		recs(txt("v=spf1 mx -all", 300), libdns.RR{Name: "mail", Type: "A", TTL: time.Hour, Data: "192.0.2.1"},
			libdns.RR{Name: "_dmarc.example.com.", Type: "TXT", Data: "v=DMARC1; p=none"}))
	want := []RRsetState{
		{Name: "@", Type: "TXT", Values: []string{"foreign", "v=spf1 mx -all"}},
		{Name: "mail", Type: "A", Values: []string{"192.0.2.1"}},
		{Name: "_dmarc", Type: "TXT", Values: []string{"v=DMARC1; p=none"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("end states (-want +got):\n%s", diff)
	}
}

// A backend without a version token is read in full: ZoneVersion says so.
func TestZoneVersionWithoutVersioner(t *testing.T) {
	w := Wrap(newMemConditional(), WrapOptions{Type: "test", Counts: &Counts{}})
	if tok, ok, err := ZoneVersion(context.Background(), w, "example.com."); ok || err != nil || tok != "" {
		t.Errorf("ZoneVersion of a backend without one: %q %v %v", tok, ok, err)
	}
}
