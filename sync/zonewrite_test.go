package sync

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/providers"
)

// sharedZone is example.com shared by n domains m<i>.example.com, each with
// an MX, an SPF at its name and its mail host's address; every third domain
// drifts (a soft SPF, no address: one update and one create). It returns the
// live zone and the policies.
func sharedZone(n int) ([]libdns.RR, map[string][]policy.RRset, []string) {
	live := comZone()
	desired := map[string][]policy.RRset{}
	var drifting []string
	for i := range n {
		label := fmt.Sprintf("m%d", i)
		d := label + ".example.com"
		mx := "10 mail." + d + "."
		addr := fmt.Sprintf("192.0.2.%d", i+1)
		spf := tOwned(d, "example.com", label, "TXT", tHour, "v=spf1 mx -all")
		spf.Own, spf.Element = policy.OwnPrefix, policy.ElemSPF
		desired[d] = []policy.RRset{
			tOwned(d, "example.com", label, "MX", tHour, mx),
			spf,
			tOwned(d, "example.com", "mail."+label, "A", tHour, addr),
		}
		live = append(live, tRR(label, "MX", tHour, mx), tRR(label, "TXT", tHour, "not ours "+label))
		if i%3 == 0 {
			drifting = append(drifting, d)
			live = append(live, tRR(label, "TXT", tHour, "v=spf1 mx ~all"))
			continue
		}
		live = append(live, tRR(label, "TXT", tHour, "v=spf1 mx -all"), tRR("mail."+label, "A", tHour, addr))
	}
	slices.Sort(drifting)
	return live, desired, drifting
}

// recordingReplacer passes every call to the fake and keeps the records
// each write added, in order.
type recordingReplacer struct {
	replacingProvider
	mu    stdsync.Mutex
	added [][]libdns.Record
	// beforeWrite, when set, runs before each write call.
	beforeWrite func()
}

func (r *recordingReplacer) AppendRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	if r.beforeWrite != nil {
		r.beforeWrite()
	}
	r.mu.Lock()
	r.added = append(r.added, recs)
	r.mu.Unlock()
	return r.replacingProvider.AppendRecords(ctx, zone, recs)
}

func (r *recordingReplacer) ReplaceRecords(ctx context.Context, zone string, remove, add []libdns.Record) ([]libdns.Record, error) {
	if r.beforeWrite != nil {
		r.beforeWrite()
	}
	r.mu.Lock()
	r.added = append(r.added, add)
	r.mu.Unlock()
	return r.replacingProvider.ReplaceRecords(ctx, zone, remove, add)
}

type replacingProvider interface {
	providers.Provider
	providers.Replacer
}

// Many domains sharing one zone: every drifting share is written by one
// write call for the whole zone (one ReplaceRecords where the provider can
// replace, else one append and one delete), after one journal entry per
// share, all in one journal file that is whole on disk before the first
// write call; the zone is read once, again under its lock, and once back.
func TestSharedZoneOneWrite(t *testing.T) {
	for _, replace := range []bool{true, false} {
		t.Run(map[bool]string{true: "replace", false: "append and delete"}[replace], func(t *testing.T) {
			live, desired, drifting := sharedZone(90) // over manyShares: planned and verified side by side
			e, st, _ := testEngine(t, map[string][]libdns.RR{"example.com.": live}, desired)
			if replace {
				e, st = replacingEngine(t, map[string][]libdns.RR{"example.com.": live}, desired)
			}
			e.Config.StateDir = t.TempDir()
			e.Config.Safety.MaxChanges = 100 // 60 changes in one zone
			// At the first write call, the journal on disk.
			var atWrite []*JournalEntry
			atWriteFiles := -1
			snapshot := func() {
				if atWriteFiles >= 0 {
					return
				}
				paths, _ := ListJournal(e.Config.StateDir)
				atWriteFiles = len(paths)
				atWrite = journalEntries(t, e.Config.StateDir)
			}
			rec := &recordingReplacer{beforeWrite: snapshot}
			if replace {
				rec.replacingProvider = e.Providers["mem"].(replacingProvider)
				e.Providers["mem"] = rec
			} else {
				e.Providers["mem"] = &hookProvider{Provider: e.Providers["mem"], beforeWrite: snapshot}
			}
			plan, err := e.Run(context.Background(), Options{Mode: ModeOnce})
			if err != nil {
				t.Fatal(err)
			}
			applied := 0
			for _, z := range plan.Zones {
				want := StatusInSync
				if slices.Contains(drifting, z.Domain) {
					want = StatusApplied
					applied++
				}
				if z.Status != want {
					t.Errorf("%s: %s (%s), want %s", z.Domain, z.Status, z.Error, want)
				}
			}
			if applied != len(drifting) || applied < 2 {
				t.Fatalf("%d shares applied, want %d", applied, len(drifting))
			}
			if replace {
				if st.replaces != 1 || st.appends+st.deletes+st.sets != 0 {
					t.Errorf("calls: %d replace, %d append, %d delete, %d set; want one replace", st.replaces, st.appends, st.deletes, st.sets)
				}
			} else if st.appends != 1 || st.deletes != 1 || st.replaces+st.sets != 0 {
				t.Errorf("calls: %d append, %d delete, %d replace, %d set; want one append and one delete", st.appends, st.deletes, st.replaces, st.sets)
			}
			if got := st.gets["example.com."]; got != 2 {
				t.Errorf("%d reads of the zone, want 2 (the run's and the read-back: no other maildns held the lock in between)", got)
			}
			// Within the one call, the addresses come first.
			if replace {
				if len(rec.added) != 1 {
					t.Fatalf("%d write calls recorded", len(rec.added))
				}
				var types []string
				for _, r := range rec.added[0] {
					types = append(types, r.RR().Type)
				}
				firstOther := slices.IndexFunc(types, func(t string) bool { return t != "A" })
				if firstOther < 0 || slices.Contains(types[firstOther:], "A") {
					t.Errorf("the call added %v: an address after another record", types)
				}
			}
			// One journal entry per drifting share, in one file, every
			// change done; the same entries, without results, were on
			// disk before the first write.
			if paths, _ := ListJournal(e.Config.StateDir); len(paths) != 1 || atWriteFiles != 1 {
				t.Errorf("%d journal files, %d at the first write; want one", len(paths), atWriteFiles)
			}
			var before []string
			for _, ent := range atWrite {
				before = append(before, ent.Domain)
				if ent.Result != nil || len(ent.Before) == 0 {
					t.Errorf("%s at the first write: result %+v, %d RRsets before", ent.Domain, ent.Result, len(ent.Before))
				}
			}
			slices.Sort(before)
			if diff := cmp.Diff(drifting, before); diff != "" {
				t.Errorf("journal entries at the first write (-want +got):\n%s", diff)
			}
			ents := journalEntries(t, e.Config.StateDir)
			var domains []string
			for _, ent := range ents {
				domains = append(domains, ent.Domain)
				if ent.Result == nil || ent.Result.Status != StatusApplied || len(ent.Result.Changes) != 2 {
					t.Errorf("%s: result %+v", ent.Domain, ent.Result)
					continue
				}
				for _, c := range ent.Result.Changes {
					if c.Result != ChangeDone {
						t.Errorf("%s: %s %s %s", ent.Domain, c.Name, c.Type, c.Result)
					}
				}
			}
			slices.Sort(domains)
			if diff := cmp.Diff(drifting, domains); diff != "" {
				t.Errorf("journal entries by domain (-want +got):\n%s", diff)
			}
			for _, rr := range live {
				if !strings.HasPrefix(rr.Data, "v=spf1 mx ~all") && !slices.Contains(st.records("example.com."), rr) {
					t.Errorf("%v lost", rr)
				}
			}
			plan, err = e.Run(context.Background(), Options{Mode: ModeDryRun})
			if err != nil || plan.Summary.Create+plan.Summary.Update+plan.Summary.Delete != 0 {
				t.Errorf("after applying: %v, %+v", err, plan.Summary)
			}
		})
	}
}

// The one write of a shared zone fails: every change it carried is failed
// in each share's journal entry, every drifting share is an error, and the
// next run converges.
func TestSharedZoneFailedWrite(t *testing.T) {
	live, desired, drifting := sharedZone(12)
	e, st := replacingEngine(t, map[string][]libdns.RR{"example.com.": live}, desired)
	st.failReplace = errors.New("HTTP 500: try again later")
	plan, err := e.Run(context.Background(), Options{Mode: ModeOnce})
	if err == nil {
		t.Fatal("no error")
	}
	for _, z := range plan.Zones {
		switch {
		case slices.Contains(drifting, z.Domain):
			if z.Status != StatusError || !strings.Contains(z.Error, "HTTP 500") {
				t.Errorf("%s: %s %q, want an error", z.Domain, z.Status, z.Error)
			}
		case z.Status != StatusInSync:
			t.Errorf("%s: %s, want in_sync", z.Domain, z.Status)
		}
	}
	if st.replaces != 1 {
		t.Errorf("%d replace calls, want 1", st.replaces)
	}
	ents := journalEntries(t, e.Config.StateDir)
	if len(ents) != len(drifting) {
		t.Fatalf("%d journal entries, want %d", len(ents), len(drifting))
	}
	for _, ent := range ents {
		if ent.Result == nil || ent.Result.Status != StatusError || !strings.Contains(ent.Result.Error, "HTTP 500") {
			t.Errorf("%s: result %+v", ent.Domain, ent.Result)
			continue
		}
		if len(ent.Result.Changes) != 2 {
			t.Errorf("%s: %d change results", ent.Domain, len(ent.Result.Changes))
		}
		for _, c := range ent.Result.Changes {
			if c.Result != ChangeFailed {
				t.Errorf("%s: %s %s %s, want failed", ent.Domain, c.Name, c.Type, c.Result)
			}
		}
	}
	st.failReplace = nil
	plan, err = e.Run(context.Background(), Options{Mode: ModeOnce})
	if err != nil || plan.Summary.Errors != 0 {
		t.Fatalf("second run: %v %+v", err, plan.Summary)
	}
	if st.replaces != 2 {
		t.Errorf("%d replace calls after two runs, want 2", st.replaces)
	}
	plan, err = e.Run(context.Background(), Options{Mode: ModeDryRun})
	if err != nil || plan.Summary.Create+plan.Summary.Update+plan.Summary.Delete != 0 {
		t.Errorf("third run: %v %+v", err, plan.Summary)
	}
}

// openFDs counts the open file descriptors of the process.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Errorf("counting file descriptors: %v", err)
		return 0
	}
	return len(ents)
}

// An apply of many drifting zones holds at most Concurrency zone locks (and
// their files) at once, and only the zones it writes are locked; a run
// without drift and a dry run lock nothing and read each zone once.
func TestApplyLocksAtMostConcurrency(t *testing.T) {
	const nZones, concurrency = 40, 3
	zones := map[string][]libdns.RR{}
	desired := map[string][]policy.RRset{}
	drifting := 0
	for i := range nZones {
		d := fmt.Sprintf("d%02d.example", i)
		want := tOwned(d, d, "_dmarc", "TXT", tHour, "v=DMARC1; p=reject")
		zones[d+"."] = []libdns.RR{tRR("@", "NS", tHour, "ns1.example.")}
		if i%4 == 3 {
			zones[d+"."] = append(zones[d+"."], tRR("_dmarc", "TXT", tHour, "v=DMARC1; p=reject"))
		} else {
			drifting++
		}
		desired[d] = []policy.RRset{want}
	}
	e, st, _ := testEngine(t, zones, desired)
	e.Config.StateDir = t.TempDir()
	e.Concurrency = concurrency

	var mu stdsync.Mutex
	held, maxHeld, locks, maxFDs := 0, 0, 0, 0
	saved := lockZone
	t.Cleanup(func() { lockZone = saved })
	lockZone = func(ctx context.Context, dir, provider, zone string, wait time.Duration) (func(), error) {
		unlock, err := saved(ctx, dir, provider, zone, wait)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		held++
		locks++
		maxHeld = max(maxHeld, held)
		maxFDs = max(maxFDs, openFDs(t))
		mu.Unlock()
		time.Sleep(time.Millisecond) // let the zones overlap
		return func() {
			mu.Lock()
			held--
			mu.Unlock()
			unlock()
		}, nil
	}

	// Warm up what the run opens once (the state directory, the journal),
	// then count the descriptors around an apply of the drifting zones.
	if _, err := e.Run(context.Background(), Options{Mode: ModeDryRun}); err != nil {
		t.Fatal(err)
	}
	fdsBefore := openFDs(t)
	plan, err := e.Run(context.Background(), Options{Mode: ModeOnce})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Summary.Create != drifting {
		t.Fatalf("%d creates, want %d", plan.Summary.Create, drifting)
	}
	if locks != drifting {
		t.Errorf("%d zones locked, want the %d drifting ones", locks, drifting)
	}
	if maxHeld > concurrency || maxHeld == 0 {
		t.Errorf("at most %d locks held at once, want 1 to %d", maxHeld, concurrency)
	}
	// A descriptor per lock held, and a few per zone being read or
	// written: far from one per zone.
	if extra := maxFDs - fdsBefore; extra > 3*concurrency {
		t.Errorf("%d more descriptors open during the apply (%d zones, concurrency %d)", extra, nZones, concurrency)
	}
	if after := openFDs(t); after > fdsBefore {
		t.Errorf("%d descriptors open after the run, %d before", after, fdsBefore)
	}
	t.Logf("%d zones (%d drifting), concurrency %d: %d locks, at most %d held and %d more descriptors open at once",
		nZones, drifting, concurrency, locks, maxHeld, maxFDs-fdsBefore)

	// Converged: nothing locked, each zone read once.
	locks = 0
	clear(st.gets)
	plan, err = e.Run(context.Background(), Options{Mode: ModeOnce})
	if err != nil || plan.Summary.Create+plan.Summary.Update+plan.Summary.Delete != 0 {
		t.Fatalf("second run: %v %+v", err, plan.Summary)
	}
	if locks != 0 {
		t.Errorf("a run without drift locked %d zones", locks)
	}
	for z, n := range st.gets {
		if n != 1 {
			t.Errorf("zone %s read %d times in a run without drift", z, n)
		}
	}
	if len(st.gets) != nZones {
		t.Errorf("%d zones read, want %d", len(st.gets), nZones)
	}
}

// A zone changed by someone else between the run's read (without the lock)
// and the read under the lock is planned and written from the second read.
func TestReplanUnderLock(t *testing.T) {
	// The run reads a soft SPF, a missing DMARC record and a good MX.
	first := comZone(
		tRR("mail", "A", tHour, "203.0.113.25"),
		tRR("@", "MX", tHour, "10 mail.example.com."),
		tRR("@", "TXT", tHour, "v=spf1 mx ~all"),
	)
	tests := []struct {
		name string
		// between changes the zone after the run's read, before the lock.
		between     func(st *fakeStore)
		wantChanges []string
		wantStatus  string
	}{
		{
			name: "other drift",
			between: func(st *fakeStore) {
				// Another maildns corrected the SPF; someone changed the MX
				// and added a foreign value.
				st.zones["example.com."] = slices.DeleteFunc(st.zones["example.com."], func(rr libdns.RR) bool {
					return rr.Data == "v=spf1 mx ~all" || rr.Type == "MX"
				})
				st.zones["example.com."] = append(st.zones["example.com."],
					tRR("@", "TXT", tHour, "v=spf1 ip4:203.0.113.25 -all"),
					tRR("@", "MX", tHour, "20 other.example.net."),
					tRR("@", "TXT", tHour, "added-meanwhile=1"))
			},
			wantChanges: []string{"update @ MX", "create _dmarc TXT"},
			wantStatus:  StatusApplied,
		},
		{
			name: "converged meanwhile",
			between: func(st *fakeStore) {
				st.zones["example.com."] = slices.DeleteFunc(st.zones["example.com."], func(rr libdns.RR) bool { return rr.Data == "v=spf1 mx ~all" })
				st.zones["example.com."] = append(st.zones["example.com."],
					tRR("@", "TXT", tHour, "v=spf1 ip4:203.0.113.25 -all"),
					tRR("_dmarc", "TXT", tHour, "v=DMARC1; p=reject"))
			},
			wantStatus: StatusInSync,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, st, _ := testEngine(t, map[string][]libdns.RR{"example.com.": first}, map[string][]policy.RRset{"example.com": comPolicy()})
			e.Config.StateDir = t.TempDir()
			saved := lockZone
			t.Cleanup(func() { lockZone = saved })
			lockZone = func(ctx context.Context, dir, provider, zone string, wait time.Duration) (func(), error) {
				// Another maildns takes the lock, changes the zone, lets go.
				other, err := saved(ctx, dir, provider, zone, wait)
				if err != nil {
					return nil, err
				}
				st.mu.Lock()
				tc.between(st)
				st.mu.Unlock()
				other()
				return saved(ctx, dir, provider, zone, wait)
			}
			plan, err := e.Run(context.Background(), Options{Mode: ModeOnce})
			if err != nil {
				t.Fatal(err)
			}
			zp := plan.Zones[0]
			if zp.Status != tc.wantStatus {
				t.Errorf("status %s (%s), want %s", zp.Status, zp.Error, tc.wantStatus)
			}
			var got []string
			for _, c := range zp.Changes {
				got = append(got, c.Action+" "+c.Name+" "+c.Type)
			}
			if diff := cmp.Diff(tc.wantChanges, got); diff != "" {
				t.Errorf("changes, planned from the read under the lock (-want +got):\n%s", diff)
			}
			ents := journalEntries(t, e.Config.StateDir)
			if tc.wantStatus == StatusInSync {
				if len(ents) != 0 || st.appends+st.deletes+st.replaces+st.sets != 0 {
					t.Errorf("wrote to a zone converged meanwhile: %d entries, %d appends, %d deletes", len(ents), st.appends, st.deletes)
				}
				return
			}
			// The journal records the RRsets as read under the lock.
			if len(ents) != 1 {
				t.Fatalf("%d journal entries", len(ents))
			}
			var mx []JournalRecord
			for _, set := range ents[0].Before {
				if set.Name == "@" && set.Type == "MX" {
					mx = set.Records
				}
			}
			if diff := cmp.Diff([]JournalRecord{{Data: "20 other.example.net.", TTL: 3600}}, mx); diff != "" {
				t.Errorf("journal's MX before (-want +got):\n%s", diff)
			}
			after := st.records("example.com.")
			for _, want := range []libdns.RR{
				tRR("@", "TXT", tHour, "added-meanwhile=1"),
				tRR("@", "TXT", tHour, "v=spf1 ip4:203.0.113.25 -all"),
				tRR("@", "MX", tHour, "10 mail.example.com."),
				tRR("_dmarc", "TXT", tHour, "v=DMARC1; p=reject"),
			} {
				if !slices.Contains(after, want) {
					t.Errorf("%v missing after the run", want)
				}
			}
			if slices.ContainsFunc(after, func(rr libdns.RR) bool {
				return rr.Type == "TXT" && rr.Name == "@" && strings.HasPrefix(rr.Data, "v=spf1") && rr.Data != "v=spf1 ip4:203.0.113.25 -all"
			}) {
				t.Errorf("a second SPF record: %v", after)
			}
		})
	}
}

// A zone shared by many domains changes between maildns's read and its
// write: the conditional write writes nothing, and the journal file
// opened for it loses every entry and goes (an entry would restore a
// state the zone no longer had); the write planned again has its own
// file, whole, with every drifting share's outcome.
func TestSharedZoneChangedBeforeWrite(t *testing.T) {
	const zone = "example.com."
	live, desired, drifting := sharedZone(90)
	e, st := conditionalEngine(t, map[string][]libdns.RR{zone: live}, desired)
	e.Config.Safety.MaxChanges = 100
	var firstFile []string
	ip := &interposer{Provider: e.Providers["mem"]}
	ip.before = func(n int) {
		if n != 1 {
			return
		}
		firstFile, _ = ListJournal(e.Config.StateDir)
		st.mu.Lock()
		defer st.mu.Unlock()
		// A foreign value beside a drifting share's SPF.
		st.zones[zone] = append(st.zones[zone], tRR("m0", "TXT", tHour, "verify=meanwhile"))
	}
	e.Providers["mem"] = ip
	plan, err := e.Run(context.Background(), Options{Mode: ModeOnce, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	if st.changed != 1 || ip.n != 2 {
		t.Fatalf("%d writes found the zone changed, %d write calls; want 1 and 2", st.changed, ip.n)
	}
	for _, z := range plan.Zones {
		if slices.Contains(drifting, z.Domain) && z.Status != StatusApplied {
			t.Errorf("%s: %s %s", z.Domain, z.Status, z.Error)
		}
	}
	paths, _ := ListJournal(e.Config.StateDir)
	// The second file may take the first one's name, freed when it went.
	if len(firstFile) != 1 || len(paths) != 1 {
		t.Fatalf("journal files: %v at the first write, %v after; want one each", firstFile, paths)
	}
	ents := journalEntries(t, e.Config.StateDir)
	var domains []string
	for _, ent := range ents {
		domains = append(domains, ent.Domain)
		if ent.Result == nil || ent.Result.Status != StatusApplied {
			t.Errorf("%s: result %+v", ent.Domain, ent.Result)
		}
	}
	slices.Sort(domains)
	if diff := cmp.Diff(drifting, domains); diff != "" {
		t.Errorf("journal entries (-want +got):\n%s", diff)
	}
	if !slices.Contains(st.records(zone), tRR("m0", "TXT", tHour, "verify=meanwhile")) {
		t.Error("the other writer's value is gone")
	}
}
