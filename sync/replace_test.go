package sync

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
)

// replacingEngine is testEngine over a fake store that implements
// providers.Replacer, with a journal.
func replacingEngine(t *testing.T, zones map[string][]libdns.RR, desired map[string][]policy.RRset) (*Engine, *fakeStore) {
	t.Helper()
	e, st, _ := testEngine(t, zones, desired)
	st.replacer = true
	provs, err := BuildProviders(e.Config)
	if err != nil {
		t.Fatal(err)
	}
	e.Providers = provs
	e.Config.StateDir = t.TempDir()
	return e, st
}

// An update (new values, a new TTL) goes to a provider that can replace in
// one ReplaceRecords call for the domain's share of the zone; foreign values
// stay, the run converges, and the journal says every change was made.
func TestRunReplacesInOneCall(t *testing.T) {
	live := comZone(
		tRR("@", "TXT", tHour, "v=spf1 mx ~all"),                // SPF: new value
		tRR("_dmarc", "TXT", tHour, "v=DMARC1; p=none"),         // DMARC: new value
		tRR("mail", "A", 300*time.Second, "203.0.113.25"),       // TTL only
		tRR("@", "MX", 300*time.Second, "10 mail.example.com."), // TTL only
	)
	e, st := replacingEngine(t, map[string][]libdns.RR{"example.com.": live}, map[string][]policy.RRset{"example.com": comPolicy()})
	plan, err := e.Run(context.Background(), Options{Mode: ModeOnce})
	if err != nil || plan.Zones[0].Status != StatusApplied {
		t.Fatalf("status %s, err %v (%s)", plan.Zones[0].Status, err, plan.Zones[0].Error)
	}
	if st.replaces != 1 || st.appends+st.deletes+st.sets != 0 {
		t.Errorf("calls: %d replace, %d append, %d delete, %d set; want one replace", st.replaces, st.appends, st.deletes, st.sets)
	}
	after := st.records("example.com.")
	for _, f := range comForeign {
		if n := slices.Index(after, f); n < 0 {
			t.Errorf("foreign record %v lost", f)
		}
	}
	for _, want := range []libdns.RR{
		tRR("@", "TXT", tHour, "v=spf1 ip4:203.0.113.25 -all"),
		tRR("mail", "A", tHour, "203.0.113.25"),
		tRR("@", "MX", tHour, "10 mail.example.com."),
		tRR("_dmarc", "TXT", tHour, "v=DMARC1; p=reject"),
	} {
		if !slices.Contains(after, want) {
			t.Errorf("record %v missing after applying", want)
		}
	}
	if len(after) != len(comForeign)+4 {
		t.Errorf("%d records after applying, want %d: %v", len(after), len(comForeign)+4, after)
	}
	ents := journalEntries(t, e.Config.StateDir)
	if len(ents) != 1 || ents[0].Result == nil || ents[0].Result.Status != StatusApplied {
		t.Fatalf("journal entries %+v", ents)
	}
	for _, c := range ents[0].Result.Changes {
		if c.Result != ChangeDone {
			t.Errorf("change %s %s: %s, want done", c.Name, c.Type, c.Result)
		}
	}
	plan, err = e.Run(context.Background(), Options{Mode: ModeDryRun})
	if err != nil || plan.Zones[0].Status != StatusInSync {
		t.Fatalf("after applying: %s %+v %v", plan.Zones[0].Status, plan.Zones[0].Changes, err)
	}
}

// Only creates, or only deletes: the usual calls (nothing to replace).
func TestRunCreatesWithoutReplace(t *testing.T) {
	e, st := replacingEngine(t, map[string][]libdns.RR{"example.com.": comZone()}, map[string][]policy.RRset{"example.com": comPolicy()})
	if _, err := e.Run(context.Background(), Options{Mode: ModeOnce}); err != nil {
		t.Fatal(err)
	}
	if st.appends != 1 || st.replaces+st.deletes+st.sets != 0 {
		t.Errorf("calls: %d append, %d replace, %d delete, %d set; want one append", st.appends, st.replaces, st.deletes, st.sets)
	}
}

// A failed replacement: every change it carried is recorded as failed (it
// may be partly made on a backend whose step is per record), the zone is an
// error, and the next run converges.
func TestReplaceFailureJournal(t *testing.T) {
	live := comZone(
		tRR("@", "TXT", tHour, "v=spf1 mx ~all"),
		tRR("mail", "A", 300*time.Second, "203.0.113.25"),
	)
	e, st := replacingEngine(t, map[string][]libdns.RR{"example.com.": live}, map[string][]policy.RRset{"example.com": comPolicy()})
	st.failReplace = errors.New("HTTP 400: refused")
	plan, err := e.Run(context.Background(), Options{Mode: ModeOnce})
	if err == nil || plan.Zones[0].Status != StatusError || !strings.Contains(plan.Zones[0].Error, "replacing") {
		t.Fatalf("status %s error %q", plan.Zones[0].Status, plan.Zones[0].Error)
	}
	ents := journalEntries(t, e.Config.StateDir)
	if len(ents) != 1 || ents[0].Result == nil || ents[0].Result.Status != StatusError {
		t.Fatalf("entries %+v", ents)
	}
	got := map[string]string{}
	for _, c := range ents[0].Result.Changes {
		got[c.Name+" "+c.Type] = c.Result
	}
	want := map[string]string{"@ MX": ChangeFailed, "_dmarc TXT": ChangeFailed, "@ TXT": ChangeFailed, "mail A": ChangeFailed}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("per change (-want +got):\n%s", diff)
	}
	st.failReplace = nil
	if plan, err := e.Run(context.Background(), Options{Mode: ModeOnce}); err != nil || plan.Zones[0].Status != StatusApplied {
		t.Fatalf("second run: %s %v", plan.Zones[0].Status, err)
	}
	if plan, err := e.Run(context.Background(), Options{Mode: ModeDryRun}); err != nil || plan.Zones[0].Status != StatusInSync {
		t.Fatalf("third run: %s %v", plan.Zones[0].Status, err)
	}
}

// The shares of a zone that add an address are written first; the others
// keep their order.
func TestWriteOrder(t *testing.T) {
	share := func(name string, changes ...Change) *domainZone {
		return &domainZone{domain: &policy.Domain{Domain: name}, plan: ZonePlan{Changes: changes}}
	}
	parts := []*domainZone{
		share("a.example.com", Change{Action: ActionCreate, Name: "a", Type: "MX"}),
		share("b.example.com", Change{Action: ActionDelete, Name: "old", Type: "A"}),
		share("example.com", Change{Action: ActionCreate, Name: "mail", Type: "A"}),
		share("c.example.com", Change{Action: ActionUpdate, Name: "mx", Type: "AAAA"}, Change{Action: ActionUpdate, Name: "c", Type: "MX"}),
		share("d.example.com"),
	}
	var got []string
	for _, p := range writeOrder(parts) {
		got = append(got, p.domain.Domain)
	}
	want := []string{"example.com", "c.example.com", "a.example.com", "b.example.com", "d.example.com"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("write order (-want +got):\n%s", diff)
	}
	if parts[0].domain.Domain != "a.example.com" {
		t.Error("writeOrder sorted the zone's own slice")
	}
}
