package sync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/providers"
	"github.com/maildns/maildns/providers/faulty"
)

// conditionalEngine is testEngine over a fake store whose provider writes
// conditionally (providers.ConditionalReplacer), wrapped as maildns wraps
// every provider, with a journal.
func conditionalEngine(t *testing.T, zones map[string][]libdns.RR, desired map[string][]policy.RRset) (*Engine, *fakeStore) {
	t.Helper()
	e, st, _ := testEngine(t, zones, desired)
	st.conditional = true
	provs, err := BuildProviders(e.Config)
	if err != nil {
		t.Fatal(err)
	}
	e.Providers = provs
	e.Config.StateDir = t.TempDir()
	return e, st
}

// interposer is a provider between the engine and its own: before each
// write call (n from 1) it runs before, after it after; it records what
// each conditional write expected.
type interposer struct {
	providers.Provider
	mu      stdsync.Mutex
	n       int
	before  func(n int)
	after   func(n int)
	expects [][]providers.RRsetState
}

func (i *interposer) Unwrap() providers.Provider { return i.Provider }
func (i *interposer) CanReplaceIf() bool         { return providers.CanReplaceIf(i.Provider) }
func (i *interposer) CanReplace() bool           { return providers.CanReplace(i.Provider) }

// write runs one write call between before and after.
func (i *interposer) write(call func() ([]libdns.Record, error)) ([]libdns.Record, error) {
	i.mu.Lock()
	i.n++
	n := i.n
	i.mu.Unlock()
	if i.before != nil {
		i.before(n)
	}
	out, err := call()
	if i.after != nil {
		i.after(n)
	}
	return out, err
}

func (i *interposer) ReplaceRecordsIf(ctx context.Context, zone string, expect []providers.RRsetState, remove, add []libdns.Record) ([]libdns.Record, error) {
	i.mu.Lock()
	i.expects = append(i.expects, expect)
	i.mu.Unlock()
	return i.write(func() ([]libdns.Record, error) {
		return i.Provider.(providers.ConditionalReplacer).ReplaceRecordsIf(ctx, zone, expect, remove, add)
	})
}

func (i *interposer) ReplaceRecords(ctx context.Context, zone string, remove, add []libdns.Record) ([]libdns.Record, error) {
	return i.write(func() ([]libdns.Record, error) {
		return i.Provider.(providers.Replacer).ReplaceRecords(ctx, zone, remove, add)
	})
}

func (i *interposer) AppendRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	return i.write(func() ([]libdns.Record, error) { return i.Provider.AppendRecords(ctx, zone, recs) })
}

func (i *interposer) DeleteRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	return i.write(func() ([]libdns.Record, error) { return i.Provider.DeleteRecords(ctx, zone, recs) })
}

// countPrefix counts the TXT records at name in recs that start with prefix.
func countPrefix(recs []libdns.RR, name, prefix string) int {
	n := 0
	for _, rr := range recs {
		if rr.Type == "TXT" && strings.EqualFold(rr.Name, name) && strings.HasPrefix(rr.Data, prefix) {
			n++
		}
	}
	return n
}

// Another writer changes the zone between maildns's read and its write:
// the write, conditional on what was read, writes nothing; maildns reads
// the zone again, plans once more and converges; the other writer's
// foreign value survives and the zone never holds two SPF or two DMARC
// records.
func TestWriteBetweenReadAndWrite(t *testing.T) {
	const zone = "example.com."
	first := comZone(
		tRR("mail", "A", tHour, "203.0.113.25"),
		tRR("@", "MX", tHour, "10 mail.example.com."),
		tRR("@", "TXT", tHour, "v=spf1 mx ~all"),
	)
	ourSPF, ourDMARC := "v=spf1 ip4:203.0.113.25 -all", "v=DMARC1; p=reject"
	tests := []struct {
		name string
		// meddle is the other writer's change before write call n; false:
		// it does not write then.
		meddle     func(st *fakeStore, n int) bool
		wantCalls  int
		wantStatus string
		wantErr    string   // in the run's error; "": none
		wantKept   []string // other writers' values that must survive
	}{
		{
			name: "another host sets its SPF and a foreign TXT",
			meddle: func(st *fakeStore, n int) bool {
				if n > 1 {
					return false
				}
				st.zones[zone] = slices.DeleteFunc(st.zones[zone], func(rr libdns.RR) bool { return rr.Data == "v=spf1 mx ~all" })
				st.zones[zone] = append(st.zones[zone], tRR("@", "TXT", tHour, "v=spf1 a -all"), tRR("@", "TXT", tHour, "verify=meanwhile"))
				return true
			},
			wantCalls: 2, wantStatus: StatusApplied, wantKept: []string{"verify=meanwhile"},
		},
		{
			name: "another host creates the DMARC record",
			meddle: func(st *fakeStore, n int) bool {
				if n > 1 {
					return false
				}
				st.zones[zone] = append(st.zones[zone], tRR("_dmarc", "TXT", tHour, "v=DMARC1; p=none"))
				return true
			},
			wantCalls: 2, wantStatus: StatusApplied,
		},
		{
			name: "a foreign value appears beside the SPF",
			meddle: func(st *fakeStore, n int) bool {
				if n > 1 {
					return false
				}
				st.zones[zone] = append(st.zones[zone], tRR("@", "TXT", tHour, "apple-domain-verification=x"))
				return true
			},
			wantCalls: 2, wantStatus: StatusApplied, wantKept: []string{"apple-domain-verification=x"},
		},
		{
			name: "another writer before every write",
			meddle: func(st *fakeStore, n int) bool {
				st.zones[zone] = slices.DeleteFunc(st.zones[zone], func(rr libdns.RR) bool {
					return rr.Type == "TXT" && rr.Name == "@" && strings.HasPrefix(rr.Data, "v=spf1")
				})
				st.zones[zone] = append(st.zones[zone], tRR("@", "TXT", tHour, fmt.Sprintf("v=spf1 ip4:192.0.2.%d -all", n)))
				return true
			},
			wantCalls: 1 + maxReplans, wantStatus: StatusError,
			wantErr:  `changed between maildns's read and its write 4 times`,
			wantKept: []string{"v=spf1 ip4:192.0.2.4 -all"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, st := conditionalEngine(t, map[string][]libdns.RR{zone: first}, map[string][]policy.RRset{"example.com": comPolicy()})
			var problems []string
			check := func(when string) {
				recs := st.records(zone)
				if n := countPrefix(recs, "@", "v=spf1"); n != 1 {
					problems = append(problems, fmt.Sprintf("%s: %d SPF records", when, n))
				}
				if n := countPrefix(recs, "_dmarc", "v=DMARC1"); n > 1 {
					problems = append(problems, fmt.Sprintf("%s: %d DMARC records", when, n))
				}
			}
			ip := &interposer{Provider: e.Providers["mem"]}
			ip.before = func(n int) {
				st.mu.Lock()
				tc.meddle(st, n)
				st.mu.Unlock()
				check(fmt.Sprintf("before write %d", n))
			}
			ip.after = func(n int) { check(fmt.Sprintf("after write %d", n)) }
			e.Providers["mem"] = ip

			plan, err := e.Run(context.Background(), Options{Mode: ModeOnce, Offline: true})
			for _, p := range problems {
				t.Error(p)
			}
			zp := plan.Zones[0]
			if zp.Status != tc.wantStatus {
				t.Errorf("status %s (%s), want %s", zp.Status, zp.Error, tc.wantStatus)
			}
			if ip.n != tc.wantCalls || st.replaceIfs != tc.wantCalls || st.changed != tc.wantCalls-1+boolInt(tc.wantErr != "") {
				t.Errorf("%d write calls, %d reached the store, %d found it changed; want %d calls", ip.n, st.replaceIfs, st.changed, tc.wantCalls)
			}
			if st.appends+st.deletes+st.sets+st.replaces != 0 {
				t.Errorf("unconditional writes: %d appends, %d deletes, %d sets, %d replaces", st.appends, st.deletes, st.sets, st.replaces)
			}
			// One journal entry per write that landed: none for a write
			// that found the zone changed (restoring it would undo the
			// other writer).
			ents := journalEntries(t, e.Config.StateDir)
			if wantEnts := 1 - boolInt(tc.wantErr != ""); len(ents) != wantEnts {
				t.Errorf("%d journal entries, want %d", len(ents), wantEnts)
			}
			for _, ent := range ents {
				if ent.Result == nil || ent.Result.Status != StatusApplied {
					t.Errorf("journal entry %+v", ent.Result)
				}
			}
			after := st.records(zone)
			for _, v := range tc.wantKept {
				if !slices.ContainsFunc(after, func(rr libdns.RR) bool { return rr.Data == v }) {
					t.Errorf("the other writer's %q is gone: %v", v, after)
				}
			}
			for _, f := range comForeign {
				if !slices.Contains(after, f) {
					t.Errorf("foreign record %v lost", f)
				}
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "@ TXT holds") {
					t.Fatalf("err = %v, want %q naming what changed", err, tc.wantErr)
				}
				if strings.Count(err.Error(), `provider "mem"`) != 1 {
					t.Errorf("err names the provider other than once: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{ourSPF, ourDMARC} {
				if !slices.ContainsFunc(after, func(rr libdns.RR) bool { return rr.Data == want }) {
					t.Errorf("%q not written: %v", want, after)
				}
			}
			// A fresh read finds the zone in sync.
			plan, err = e.Run(context.Background(), Options{Mode: ModeDryRun, Offline: true})
			if err != nil || plan.Zones[0].Status != StatusInSync {
				t.Errorf("after the run: %s %+v %v", plan.Zones[0].Status, plan.Zones[0].Changes, err)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Every write states each RRset it touches as read, foreign values
// included; a create expects the RRset empty (two runs that both create a
// DMARC record would otherwise leave two).
func TestWriteExpectsWhatWasRead(t *testing.T) {
	const zone = "example.com."
	live := comZone(tRR("@", "TXT", tHour, "v=spf1 mx ~all"), tRR("mail", "A", tHour, "203.0.113.25"), tRR("@", "MX", tHour, "10 mail.example.com."))
	e, _ := conditionalEngine(t, map[string][]libdns.RR{zone: live}, map[string][]policy.RRset{"example.com": comPolicy()})
	ip := &interposer{Provider: e.Providers["mem"]}
	e.Providers["mem"] = ip
	if _, err := e.Run(context.Background(), Options{Mode: ModeOnce, Offline: true}); err != nil {
		t.Fatal(err)
	}
	if len(ip.expects) != 1 {
		t.Fatalf("%d write calls, want 1", len(ip.expects))
	}
	want := []providers.RRsetState{
		{Name: "@", Type: "TXT", Values: []string{"google-site-verification=abc", "MS=ms123", "some other text", "v=spf1 mx ~all"}},
		{Name: "_dmarc", Type: "TXT"},
	}
	got := ip.expects[0]
	for i := range got {
		slices.Sort(got[i].Values)
	}
	slices.SortFunc(got, func(a, b providers.RRsetState) int { return strings.Compare(a.Name, b.Name) })
	for i := range want {
		slices.Sort(want[i].Values)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("expected (-want +got):\n%s", diff)
	}
}

// A create alone (no value removed) is conditional too: with a provider
// that can, it is a ReplaceRecordsIf expecting the RRset empty, never an
// append.
func TestCreateIsConditional(t *testing.T) {
	const zone = "example.com."
	live := comZone(tRR("@", "TXT", tHour, "v=spf1 ip4:203.0.113.25 -all"), tRR("mail", "A", tHour, "203.0.113.25"), tRR("@", "MX", tHour, "10 mail.example.com."))
	e, st := conditionalEngine(t, map[string][]libdns.RR{zone: live}, map[string][]policy.RRset{"example.com": comPolicy()})
	ip := &interposer{Provider: e.Providers["mem"]}
	ip.before = func(n int) {
		// Another run created its DMARC record after our read.
		st.mu.Lock()
		defer st.mu.Unlock()
		if n == 1 {
			st.zones[zone] = append(st.zones[zone], tRR("_dmarc", "TXT", tHour, "v=DMARC1; p=none"))
		}
	}
	e.Providers["mem"] = ip
	plan, err := e.Run(context.Background(), Options{Mode: ModeOnce, Offline: true})
	if err != nil || plan.Zones[0].Status != StatusApplied {
		t.Fatalf("status %s, err %v", plan.Zones[0].Status, err)
	}
	if st.appends != 0 || st.replaceIfs != 2 {
		t.Errorf("%d appends, %d conditional writes; want 0 and 2", st.appends, st.replaceIfs)
	}
	if got := plan.Zones[0].Changes; len(got) != 1 || got[0].Action != ActionUpdate || !slices.Equal(got[0].Before, []string{"v=DMARC1; p=none"}) {
		t.Errorf("changes, planned again: %+v", got)
	}
	if n := countPrefix(st.records(zone), "_dmarc", "v=DMARC1"); n != 1 {
		t.Errorf("%d DMARC records", n)
	}
}

// A write the provider refuses is one error, naming the provider and the
// zone once, and no "verify" finding per RRset follows: nothing was
// written.
func TestRefusedWriteIsOneError(t *testing.T) {
	for _, kind := range []string{"replacer", "conditional"} {
		t.Run(kind, func(t *testing.T) {
			const zone = "example.com."
			e, st, _ := testEngine(t, map[string][]libdns.RR{zone: comZone(tRR("@", "TXT", tHour, "v=spf1 mx ~all"))}, map[string][]policy.RRset{"example.com": comPolicy()})
			st.replacer, st.conditional = true, kind == "conditional"
			st.failReplace = errors.New("update refused: REFUSED")
			provs, err := BuildProviders(e.Config)
			if err != nil {
				t.Fatal(err)
			}
			e.Providers = provs
			plan, err := e.Run(context.Background(), Options{Mode: ModeOnce, Offline: true})
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, s := range []string{`provider "mem"`, "zone", "REFUSED"} {
				if n := strings.Count(msg, s); n != 1 {
					t.Errorf("error says %q %d times: %s", s, n, msg)
				}
			}
			zp := plan.Zones[0]
			if zp.Status != StatusError || strings.Count(zp.Error, "REFUSED") != 1 || strings.Count(zp.Error, "zone") != 1 {
				t.Errorf("zone %s: %s", zp.Status, zp.Error)
			}
			for _, f := range plan.Findings {
				if f.Kind == "verify" {
					t.Errorf("a verify finding after a write that wrote nothing: %+v", f)
				}
			}
		})
	}
}

// A restore writes conditionally too: a DMARC record changed between the
// restore's read and its write is not joined by a second one; the restore
// fails saying what changed, and nothing is written.
func TestRestoreIsConditional(t *testing.T) {
	const zone = "example.com."
	e, st := conditionalEngine(t, map[string][]libdns.RR{zone: driftedCom()}, map[string][]policy.RRset{"example.com": comPolicy()})
	if _, err := e.Run(context.Background(), Options{Mode: ModeOnce, Offline: true}); err != nil {
		t.Fatal(err)
	}
	paths, _ := ListJournal(e.Config.StateDir)
	if len(paths) != 1 {
		t.Fatalf("%d entries", len(paths))
	}
	ip := &interposer{Provider: e.Providers["mem"]}
	ip.before = func(int) {
		st.mu.Lock()
		defer st.mu.Unlock()
		st.zones[zone] = slices.DeleteFunc(st.zones[zone], func(rr libdns.RR) bool { return rr.Name == "_dmarc" })
		st.zones[zone] = append(st.zones[zone], tRR("_dmarc", "TXT", tHour, "v=DMARC1; p=quarantine"))
	}
	e.Providers["mem"] = ip
	before := st.replaceIfs
	plan, err := e.Restore(context.Background(), paths[0], Options{Mode: ModeOnce, AllowWeakening: true})
	if !errors.Is(err, providers.ErrChanged) || plan.Zones[0].Status != StatusError {
		t.Fatalf("restore over a change: %s, %v", plan.Zones[0].Status, err)
	}
	if st.replaceIfs != before+1 || st.changed != 1 {
		t.Errorf("%d writes, %d found the zone changed", st.replaceIfs-before, st.changed)
	}
	if n := countPrefix(st.records(zone), "_dmarc", "v=DMARC1"); n != 1 {
		t.Errorf("%d DMARC records after the restore", n)
	}
}

// The engine, the wrapper and a fault on the conditional write: an answer
// lost after the write landed is found landed on the wrapper's re-read (one
// write, applied); a write that never reached the provider, with another
// writer's change meanwhile, is reported changed by the wrapper and the
// engine plans again and converges.
func TestConditionalWriteUnderFaults(t *testing.T) {
	const zone = "example.com."
	live := comZone(tRR("mail", "A", tHour, "203.0.113.25"), tRR("@", "MX", tHour, "10 mail.example.com."), tRR("@", "TXT", tHour, "v=spf1 mx ~all"))
	for _, tc := range []struct {
		fault   faulty.Fault
		meddle  bool
		writes  int // conditional writes that reached the store
		changed int // of which the store found the zone changed
	}{
		{fault: faulty.FailAfter, writes: 1},
		{fault: faulty.FailBefore, meddle: true, writes: 2, changed: 1},
		// The wrapper's own re-read finds the change: one write, after
		// the engine planned again.
		{fault: faulty.Timeout, meddle: true, writes: 1, changed: 0},
	} {
		t.Run(tc.fault.String(), func(t *testing.T) {
			e, st, _ := testEngine(t, map[string][]libdns.RR{zone: live}, map[string][]policy.RRset{"example.com": comPolicy()})
			st.conditional = true
			e.Config.StateDir = t.TempDir()
			inner, err := providers.New("fake", &providers.Settings{Name: "mem", Values: map[string]string{"store": t.Name()}})
			if err != nil {
				t.Fatal(err)
			}
			faulted := false
			fp := faulty.New(inner, faulty.Options{Transient: true, Hang: time.Second, Script: func(n int, op string) faulty.Fault {
				if op != faulty.OpReplace || faulted {
					return faulty.None
				}
				faulted = true
				if tc.meddle {
					st.mu.Lock()
					st.zones[zone] = append(st.zones[zone], tRR("_dmarc", "TXT", tHour, "v=DMARC1; p=none"))
					st.mu.Unlock()
				}
				return tc.fault
			}})
			e.Providers["mem"] = providers.Wrap(fp, providers.WrapOptions{Name: "mem", Type: "fake", Counts: &providers.Counts{},
				Timeout: 50 * time.Millisecond, RetryBaseDelay: time.Millisecond})
			plan, err := e.Run(context.Background(), Options{Mode: ModeOnce, Offline: true})
			if err != nil || plan.Zones[0].Status != StatusApplied {
				t.Fatalf("status %s, err %v", plan.Zones[0].Status, err)
			}
			if fp.Total() != 1 || st.replaceIfs != tc.writes || st.changed != tc.changed {
				t.Errorf("%d faults, %d writes, %d changed; want 1, %d, %d", fp.Total(), st.replaceIfs, st.changed, tc.writes, tc.changed)
			}
			after := st.records(zone)
			if countPrefix(after, "@", "v=spf1") != 1 || countPrefix(after, "_dmarc", "v=DMARC1") != 1 ||
				!slices.Contains(after, tRR("_dmarc", "TXT", tHour, "v=DMARC1; p=reject")) {
				t.Errorf("zone after the run: %v", after)
			}
			plan, err = e.Run(context.Background(), Options{Mode: ModeDryRun, Offline: true})
			if err != nil || plan.Zones[0].Status != StatusInSync {
				t.Errorf("after the run: %s %v", plan.Zones[0].Status, err)
			}
		})
	}
}

// What a write expects is stated as the provider's check will read the
// records it holds: a foreign TXT given as plain text with a backslash,
// and an owned record maildns cannot parse, do not make the write look
// stale (which would fail it as changed on every run).
func TestExpectInProviderForm(t *testing.T) {
	const zone = "example.com."
	live := comZone(tRR("@", "TXT", tHour, `path=C:\mail`), tRR("@", "TXT", tHour, "v=spf1 mx ~all"),
		tRR("mail", "A", tHour, "not-an-address"), tRR("@", "MX", tHour, "10 mail.example.com."))
	e, st := conditionalEngine(t, map[string][]libdns.RR{zone: live}, map[string][]policy.RRset{"example.com": comPolicy()})
	plan, err := e.Run(context.Background(), Options{Mode: ModeOnce, Offline: true})
	if err != nil || plan.Zones[0].Status != StatusApplied {
		t.Fatalf("status %s, err %v", plan.Zones[0].Status, err)
	}
	if st.replaceIfs != 1 || st.changed != 0 {
		t.Errorf("%d writes, %d found the zone changed; want 1, 0", st.replaceIfs, st.changed)
	}
	after := st.records(zone)
	if !slices.Contains(after, tRR("@", "TXT", tHour, `path=C:\mail`)) || slices.Contains(after, tRR("mail", "A", tHour, "not-an-address")) {
		t.Errorf("after the run: %v", after)
	}
}
