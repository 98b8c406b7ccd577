package sync

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
)

// TestPlanThenApply runs the two steps apart: Plan reads and decides and
// writes nothing; Apply writes what Plan decided without reading the zone
// again before the write (no state directory: no lock to wait on), then
// reads it back.
func TestPlanThenApply(t *testing.T) {
	live := comZone(tRR("@", "TXT", tHour, "v=spf1 mx ~all"), tRR("mail", "A", tHour, "203.0.113.25"))
	e, st, logs := testEngine(t, map[string][]libdns.RR{"example.com.": live}, map[string][]policy.RRset{"example.com": comPolicy()})
	st.conditional = true
	e.Providers, _ = BuildProviders(e.Config)
	pl, err := e.Plan(context.Background(), Options{Mode: ModeOnce})
	if err != nil {
		t.Fatal(err)
	}
	if st.gets["example.com."] != 1 || st.replaceIfs != 0 || logs.Len() != 0 {
		t.Fatalf("Plan: %d reads, %d writes, logged %q", st.gets["example.com."], st.replaceIfs, logs.String())
	}
	if z := pl.Zones[0]; z.Status != StatusDrift || len(z.Changes) != 3 {
		t.Fatalf("planned zone: %+v", z)
	}
	plan, err := e.Apply(context.Background(), pl)
	if err != nil {
		t.Fatal(err)
	}
	if z := plan.Zones[0]; z.Status != StatusApplied {
		t.Errorf("applied zone: %+v", z)
	}
	// One write, one read back: Apply reads nothing before writing.
	if st.replaceIfs != 1 || st.gets["example.com."] != 2 {
		t.Errorf("Apply: %d writes, %d reads in all", st.replaceIfs, st.gets["example.com."])
	}
	if !strings.Contains(logs.String(), `"msg":"sync finished"`) || !strings.Contains(logs.String(), `"action":"corrected"`) {
		t.Errorf("Apply logs:\n%s", logs)
	}
	if !slices.Contains(st.records("example.com."), tRR("_dmarc", "TXT", tHour, "v=DMARC1; p=reject")) {
		t.Errorf("zone after Apply: %v", st.records("example.com."))
	}
	// A dry run's plan is a report, not a plan to apply.
	dry, _ := e.Plan(context.Background(), Options{Mode: ModeDryRun})
	if _, err := e.Apply(context.Background(), dry); err == nil {
		t.Error("Apply of a dry run's plan: no error")
	}
}

// savedTestEngine is testEngine with a config file on disk (a saved plan
// hashes it).
func savedTestEngine(t *testing.T, live []libdns.RR) (*Engine, *fakeStore) {
	t.Helper()
	e, st, _ := testEngine(t, map[string][]libdns.RR{"example.com.": live}, map[string][]policy.RRset{"example.com": comPolicy()})
	st.conditional = true
	e.Providers, _ = BuildProviders(e.Config)
	e.Config.File = filepath.Join(e.Config.Dir, "maildns.yaml")
	if err := os.WriteFile(e.Config.File, []byte("providers: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.Config.StateDir = filepath.Join(e.Config.Dir, "state")
	return e, st
}

// savePlanned makes a plan for apply and returns it as read back from its
// file.
func savePlanned(t *testing.T, e *Engine) *SavedPlan {
	t.Helper()
	pl, err := e.Plan(context.Background(), Options{Mode: ModeDryRun, ForApply: true})
	if err != nil {
		t.Fatal(err)
	}
	sp, err := e.SavedPlan(pl)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := WriteSavedPlan(path, sp); err != nil {
		t.Fatal(err)
	}
	back, err := ReadSavedPlan(path)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

func TestApplySaved(t *testing.T) {
	live := comZone(tRR("@", "TXT", tHour, "v=spf1 mx ~all"), tRR("mail", "A", tHour, "203.0.113.25"))
	e, st := savedTestEngine(t, live)
	sp := savePlanned(t, e)
	if st.replaceIfs != 0 {
		t.Fatal("saving a plan wrote")
	}
	at := func(d time.Duration) func() time.Time { return func() time.Time { return sp.CreatedAt.Add(d) } }

	// Older than the default 24 hours: refused whole.
	_, err := e.ApplySaved(context.Background(), sp, ApplyOptions{Now: at(25 * time.Hour)})
	if !errors.Is(err, ErrPlanStale) || st.replaceIfs != 0 {
		t.Fatalf("a 25-hour-old plan: err %v, %d writes", err, st.replaceIfs)
	}
	// A change outside the RRsets the plan touches does not stop it.
	st.mu.Lock()
	st.zones["example.com."] = append(st.zones["example.com."], tRR("www", "AAAA", tHour, "2001:db8::80"))
	st.mu.Unlock()
	plan, err := e.ApplySaved(context.Background(), sp, ApplyOptions{Now: at(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if z := plan.Zones[0]; z.Status != StatusApplied || plan.Mode != ModeOnce || plan.Journal == "" {
		t.Fatalf("applied: %+v (mode %s, journal %q)", z, plan.Mode, plan.Journal)
	}
	recs := st.records("example.com.")
	for _, want := range []libdns.RR{tRR("@", "TXT", tHour, "v=spf1 ip4:203.0.113.25 -all"), tRR("@", "TXT", tHour, "google-site-verification=abc"), tRR("www", "AAAA", tHour, "2001:db8::80")} {
		if !slices.Contains(recs, want) {
			t.Errorf("after apply, no %v in %v", want, recs)
		}
	}
	if slices.Contains(recs, tRR("@", "TXT", tHour, "v=spf1 mx ~all")) {
		t.Errorf("the old SPF is still there: %v", recs)
	}
}

func TestApplySavedZoneChanged(t *testing.T) {
	live := comZone(tRR("@", "TXT", tHour, "v=spf1 mx ~all"), tRR("mail", "A", tHour, "203.0.113.25"))
	e, st := savedTestEngine(t, live)
	sp := savePlanned(t, e)
	// A foreign value added by hand beside the SPF the plan replaces.
	st.mu.Lock()
	st.zones["example.com."] = append(st.zones["example.com."], tRR("@", "TXT", tHour, "hand=1"))
	st.mu.Unlock()
	before := st.records("example.com.")
	plan, err := e.ApplySaved(context.Background(), sp, ApplyOptions{})
	if err == nil || !strings.Contains(err.Error(), `@ TXT in zone example.com changed since the plan`) || !strings.Contains(err.Error(), `"hand=1"`) {
		t.Fatalf("err %v", err)
	}
	if z := plan.Zones[0]; z.Status != StatusRefused {
		t.Errorf("zone: %+v", z)
	}
	if st.replaceIfs != 0 || !slices.Equal(before, st.records("example.com.")) {
		t.Errorf("a refused zone was written (%d writes)", st.replaceIfs)
	}
	if entries, _ := ListJournal(e.Config.StateDir); len(entries) != 0 {
		t.Errorf("a refused zone was journaled: %v", entries)
	}
}

// TestApplySavedWritesOnlyWhatPoliciesSay: a plan that writes something
// the policies do not say (its checksum made anew) is refused whole.
func TestApplySavedWritesOnlyWhatPoliciesSay(t *testing.T) {
	live := comZone(tRR("@", "TXT", tHour, "v=spf1 mx ~all"), tRR("mail", "A", tHour, "203.0.113.25"))
	e, st := savedTestEngine(t, live)
	for _, tamper := range []func(c *SavedChange){
		func(c *SavedChange) { c.Add[0].Data = "v=spf1 +all" },
		func(c *SavedChange) {
			c.Remove = append(c.Remove, SavedRecord{Data: "google-site-verification=abc", TTL: 3600})
		},
	} {
		sp := savePlanned(t, e)
		for i := range sp.Zones[0].Changes {
			if c := &sp.Zones[0].Changes[i]; c.Type == "TXT" && c.Name == "@" {
				tamper(c)
			}
		}
		_, err := e.ApplySaved(context.Background(), sp, ApplyOptions{})
		if !errors.Is(err, ErrPlanStale) || !strings.Contains(err.Error(), "is not what the policies say") || st.replaceIfs != 0 {
			t.Errorf("tampered plan: err %v, %d writes", err, st.replaceIfs)
		}
	}
}

// TestSavedPlanKeepsSafetyDecisions: a plan saved for apply is planned as
// a sync would, so a zone over max_changes is refused in it (an error
// finding, not a dry run's warning), and apply writes nothing there.
func TestSavedPlanKeepsSafetyDecisions(t *testing.T) {
	live := comZone(tRR("@", "TXT", tHour, "v=spf1 mx ~all"))
	e, st := savedTestEngine(t, live)
	e.Config.Safety.MaxChanges = 1
	dry, _ := e.Plan(context.Background(), Options{Mode: ModeDryRun})
	if z := dry.Zones[0]; z.Status != StatusDrift || dry.Findings[0].Severity != SevWarning {
		t.Fatalf("dry run: %+v %+v", z, dry.Findings)
	}
	sp := savePlanned(t, e)
	if z := sp.Zones[0]; z.Status != StatusRefused || len(z.Findings) != 1 || z.Findings[0].Severity != SevError {
		t.Fatalf("saved: %+v", z)
	}
	plan, err := e.ApplySaved(context.Background(), sp, ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if z := plan.Zones[0]; z.Status != StatusRefused || st.replaceIfs != 0 {
		t.Errorf("applied: %+v, %d writes", z, st.replaceIfs)
	}
	if !slices.ContainsFunc(plan.Findings, func(f Finding) bool { return f.Kind == "safety" && f.Severity == SevError }) {
		t.Errorf("apply's findings lack the refusal: %+v", plan.Findings)
	}
}

// TestApplySavedFilesOnlyThePolicys: a saved plan whose file change names
// another path than the domain's MTA-STS policy file is refused whole.
func TestApplySavedFilesOnlyThePolicys(t *testing.T) {
	e, st := savedTestEngine(t, comZone(tRR("@", "TXT", tHour, "v=spf1 mx ~all")))
	sp := savePlanned(t, e)
	sp.Zones[0].Files = append(sp.Zones[0].Files, FileChange{Action: ActionCreate, Path: filepath.Join(t.TempDir(), "x"), What: "MTA-STS policy", After: "x"})
	_, err := e.ApplySaved(context.Background(), sp, ApplyOptions{})
	if !errors.Is(err, ErrPlanStale) || !strings.Contains(err.Error(), "is not the MTA-STS policy file") || st.replaceIfs != 0 {
		t.Errorf("err %v, %d writes", err, st.replaceIfs)
	}
}
