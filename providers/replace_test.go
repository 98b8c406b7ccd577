package providers

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
)

// memReplacer is a memProvider that replaces records in one step; the
// records it was asked to remove and add, call by call, are kept.
type memReplacer struct {
	*memProvider
	removes, adds [][]libdns.RR
}

func (m *memReplacer) ReplaceRecords(ctx context.Context, zone string, remove, add []libdns.Record) ([]libdns.Record, error) {
	n, err := m.hit(ctx, "replace")
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	var rem, ad []libdns.RR
	for _, r := range remove {
		rr := r.RR()
		rem = append(rem, rr)
		m.recs = slices.DeleteFunc(m.recs, func(h libdns.RR) bool {
			return h.Name == rr.Name && h.Type == rr.Type && h.Data == rr.Data
		})
	}
	for _, r := range add {
		rr := r.RR()
		ad = append(ad, rr)
		if !slices.ContainsFunc(m.recs, func(h libdns.RR) bool {
			return h.Name == rr.Name && h.Type == rr.Type && h.Data == rr.Data
		}) {
			m.recs = append(m.recs, rr)
		}
	}
	m.removes, m.adds = append(m.removes, rem), append(m.adds, ad)
	m.mu.Unlock()
	if m.failAft != nil {
		if err := m.failAft("replace", n); err != nil {
			return nil, err
		}
	}
	return add, nil
}

func txt(data string, ttl int) libdns.RR {
	return libdns.RR{Name: "@", Type: "TXT", TTL: time.Duration(ttl) * time.Second, Data: data}
}

func recs(rrs ...libdns.RR) []libdns.Record {
	out := make([]libdns.Record, len(rrs))
	for i, r := range rrs {
		out[i] = r
	}
	return out
}

func TestCanReplace(t *testing.T) {
	plain := &memProvider{}
	repl := &memReplacer{memProvider: &memProvider{}}
	for _, tt := range []struct {
		name string
		p    Provider
		want bool
	}{
		{"plain", plain, false},
		{"replacer", repl, true},
		{"wrapped plain", Wrap(plain, WrapOptions{Counts: &Counts{}}), false},
		{"wrapped replacer", Wrap(repl, WrapOptions{Counts: &Counts{}}), true},
		{"wrapped twice", Wrap(Wrap(repl, WrapOptions{Counts: &Counts{}}), WrapOptions{Counts: &Counts{}}), true},
	} {
		if got := CanReplace(tt.p); got != tt.want {
			t.Errorf("%s: CanReplace = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestWrappedReplaceWithoutReplacer(t *testing.T) {
	m := &memProvider{recs: []libdns.RR{txt("v=spf1 -all", 300)}}
	counts := &Counts{}
	w := Wrap(m, WrapOptions{Name: "p", Counts: counts}).(*Wrapped)
	_, err := w.ReplaceRecords(context.Background(), zone, recs(txt("v=spf1 -all", 300)), recs(txt("v=spf1 mx -all", 300)))
	if !errors.Is(err, ErrCannotReplace) || !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("err = %v, want ErrCannotReplace", err)
	}
	if n := m.count("append") + m.count("delete") + m.count("set"); n != 0 {
		t.Errorf("%d write calls to a provider that cannot replace", n)
	}
	if got := counts.Get("p", OpReplaceRecords, ResultError); got != 1 {
		t.Errorf("replace_records errors counted %d, want 1", got)
	}
}

func TestReplaceRefusesWildcards(t *testing.T) {
	for _, tt := range []struct {
		name   string
		remove libdns.RR
	}{
		{"empty data", libdns.RR{Name: "@", Type: "TXT"}},
		{"empty type", libdns.RR{Name: "@", Data: "v=spf1 -all"}},
		{"empty name", libdns.RR{Type: "TXT", Data: "v=spf1 -all"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := &memReplacer{memProvider: &memProvider{recs: []libdns.RR{txt("v=spf1 -all", 300), txt("foreign", 300)}}}
			w := Wrap(m, WrapOptions{Counts: &Counts{}}).(*Wrapped)
			_, err := w.ReplaceRecords(context.Background(), zone, recs(tt.remove), recs(txt("v=spf1 mx -all", 300)))
			if err == nil || !strings.Contains(err.Error(), "exact records only") {
				t.Fatalf("err = %v, want a refusal", err)
			}
			if m.count("replace") != 0 || len(m.recs) != 2 {
				t.Errorf("the backend was called (%d) or the zone changed: %v", m.count("replace"), m.recs)
			}
		})
	}
}

func TestWrappedReplaceCountsAndPasses(t *testing.T) {
	m := &memReplacer{memProvider: &memProvider{recs: []libdns.RR{txt("v=spf1 -all", 300), txt("foreign", 300)}}}
	counts := &Counts{}
	w := Wrap(m, WrapOptions{Name: "p", Counts: counts}).(*Wrapped)
	got, err := w.ReplaceRecords(context.Background(), zone, recs(txt("v=spf1 -all", 300)), recs(txt("v=spf1 mx -all", 300)))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].RR().Data != "v=spf1 mx -all" {
		t.Errorf("returned %v", got)
	}
	if n := counts.Get("p", OpReplaceRecords, ResultOK); n != 1 {
		t.Errorf("replace_records ok counted %d, want 1", n)
	}
	want := []libdns.RR{txt("foreign", 300), txt("v=spf1 mx -all", 300)}
	if diff := cmp.Diff(want, m.recs); diff != "" {
		t.Errorf("zone (-want +got):\n%s", diff)
	}
}

// A failure after the replacement landed is retried after reading the zone
// again, sending only what is not done; a failure that certainly changed
// nothing is retried as it was.
func TestReplaceRetry(t *testing.T) {
	tests := []struct {
		name        string
		err         error
		landed      bool // the first call's write landed
		remove, add []libdns.RR
		wantGets    int
		wantCalls   int
		// the second call's records, if any
		wantRemove, wantAdd []libdns.RR
	}{
		{
			name: "ambiguous, landed", err: Transient(errors.New("HTTP 502"), 0, false), landed: true,
			remove: []libdns.RR{txt("v=spf1 -all", 300)}, add: []libdns.RR{txt("v=spf1 mx -all", 300)},
			wantGets: 1, wantCalls: 1,
		},
		{
			name: "ambiguous, TTL-only landed", err: Transient(errors.New("HTTP 502"), 0, false), landed: true,
			remove: []libdns.RR{txt("v=spf1 -all", 300)}, add: []libdns.RR{txt("v=spf1 -all", 600)},
			wantGets: 1, wantCalls: 1,
		},
		{
			name: "ambiguous, not landed", err: Transient(errors.New("HTTP 502"), 0, false),
			remove: []libdns.RR{txt("v=spf1 -all", 300)}, add: []libdns.RR{txt("v=spf1 mx -all", 300)},
			wantGets: 1, wantCalls: 2,
			wantRemove: []libdns.RR{txt("v=spf1 -all", 300)}, wantAdd: []libdns.RR{txt("v=spf1 mx -all", 300)},
		},
		{
			name: "ambiguous, TTL-only not landed", err: Transient(errors.New("HTTP 502"), 0, false),
			remove: []libdns.RR{txt("v=spf1 -all", 300)}, add: []libdns.RR{txt("v=spf1 -all", 600)},
			wantGets: 1, wantCalls: 2,
			wantRemove: []libdns.RR{txt("v=spf1 -all", 300)}, wantAdd: []libdns.RR{txt("v=spf1 -all", 600)},
		},
		{
			name: "not applied", err: Transient(errors.New("HTTP 429"), 0, true),
			remove: []libdns.RR{txt("v=spf1 -all", 300)}, add: []libdns.RR{txt("v=spf1 mx -all", 300)},
			wantGets: 0, wantCalls: 2,
			wantRemove: []libdns.RR{txt("v=spf1 -all", 300)}, wantAdd: []libdns.RR{txt("v=spf1 mx -all", 300)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &memReplacer{memProvider: &memProvider{recs: []libdns.RR{txt("v=spf1 -all", 300), txt("foreign", 300)}}}
			fail := func(op string, n int) error {
				if op == "replace" && n == 1 {
					return tt.err
				}
				return nil
			}
			if tt.landed {
				m.failAft = fail
			} else {
				m.fail = fail
			}
			w := Wrap(m, WrapOptions{Type: "test", RetryBaseDelay: time.Millisecond, Counts: &Counts{}}).(*Wrapped)
			if _, err := w.ReplaceRecords(context.Background(), zone, recs(tt.remove...), recs(tt.add...)); err != nil {
				t.Fatalf("ReplaceRecords: %v", err)
			}
			if n := m.count("get"); n != tt.wantGets {
				t.Errorf("re-reads = %d, want %d", n, tt.wantGets)
			}
			if n := m.count("replace"); n != tt.wantCalls {
				t.Errorf("replace calls = %d, want %d", n, tt.wantCalls)
			}
			if tt.wantCalls == 2 {
				last := len(m.removes) - 1
				if diff := cmp.Diff(tt.wantRemove, m.removes[last]); diff != "" {
					t.Errorf("retried removes (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tt.wantAdd, m.adds[last]); diff != "" {
					t.Errorf("retried adds (-want +got):\n%s", diff)
				}
			}
			want := append([]libdns.RR{txt("foreign", 300)}, tt.add...)
			if diff := cmp.Diff(want, m.recs); diff != "" {
				t.Errorf("zone (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReplacePending(t *testing.T) {
	live := recs(txt("foreign", 300), txt("v=spf1 mx -all", 300), txt("v=DMARC1; p=none", 300), txt("same", 600))
	remove := recs(txt("v=spf1 -all", 300), txt("v=DMARC1; p=none", 300), txt("same", 300), txt("old ttl", 300))
	add := recs(txt("v=spf1 mx -all", 300), txt("v=DMARC1; p=reject", 300), txt("same", 600), txt("old ttl", 900))
	live = append(live, txt("old ttl", 300))
	gotRemove, gotAdd := replacePending(remove, add, live, zone)
	wantRemove := recs(txt("v=DMARC1; p=none", 300), txt("old ttl", 300))
	wantAdd := recs(txt("v=DMARC1; p=reject", 300), txt("old ttl", 900))
	if diff := cmp.Diff(wantRemove, gotRemove); diff != "" {
		t.Errorf("pending removes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantAdd, gotAdd); diff != "" {
		t.Errorf("pending adds (-want +got):\n%s", diff)
	}
}
