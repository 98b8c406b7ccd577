package sync

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
)

// Two domains share a zone; one is watched (enforce: false). A sync under
// the zone's lock (a state directory: the zone is planned again there)
// writes the enforced domain's changes only.
func TestRunWatchedShareOfAZone(t *testing.T) {
	live := comZone(tRR("@", "TXT", tHour, "v=spf1 mx ~all"), tRR("mail", "A", tHour, "203.0.113.25"))
	sub := []policy.RRset{
		tOwned("sub.example.com", "example.com", "mx.sub", "A", tHour, "203.0.113.26"),
		tOwned("sub.example.com", "example.com", "_dmarc.sub", "TXT", tHour, "v=DMARC1; p=none"),
	}
	e, st, logs := testEngine(t, map[string][]libdns.RR{"example.com.": live},
		map[string][]policy.RRset{"example.com": comPolicy(), "sub.example.com": sub})
	e.Config.StateDir = t.TempDir()
	no := false
	for _, d := range e.Config.Domains {
		if d.Domain == "sub.example.com" {
			d.Enforce = &no
		}
	}
	for run := 1; run <= 2; run++ {
		logs.Reset()
		plan, err := e.Run(context.Background(), Options{Mode: ModeOnce})
		if err != nil {
			t.Fatalf("run %d: %v\n%s", run, err, logs)
		}
		status := map[string]string{}
		for _, z := range plan.Zones {
			status[z.Domain] = z.Status
		}
		wantCom := StatusApplied
		if run == 2 {
			wantCom = StatusInSync
		}
		if status["example.com"] != wantCom || status["sub.example.com"] != StatusWatched {
			t.Errorf("run %d: statuses %v", run, status)
		}
		if !slices.Equal(plan.Watched, []string{"sub.example.com"}) || plan.Summary.Watched != 1 {
			t.Errorf("run %d: watched %v, summary %d", run, plan.Watched, plan.Summary.Watched)
		}
		for _, rr := range st.records("example.com.") {
			if strings.HasSuffix(rr.Name, "sub") {
				t.Errorf("run %d: the watched domain's record was written: %v", run, rr)
			}
		}
		n := 0
		for l := range strings.SplitSeq(logs.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) != nil {
				continue
			}
			if m["msg"] == "drift" && m["domain"] == "sub.example.com" {
				n++
				if m["action"] != "would_correct" {
					t.Errorf("run %d: drift of the watched domain logged as %v", run, m["action"])
				}
			}
			if m["msg"] == "sync finished" && m["watched"] != float64(1) {
				t.Errorf("run %d: sync finished says watched %v", run, m["watched"])
			}
		}
		if n != 2 {
			t.Errorf("run %d: %d drift lines for the watched domain, want 2", run, n)
		}
	}
	// Only the enforced domain has a journal entry.
	list, err := ListJournal(e.Config.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Errorf("journal entries %v, want 1 (the enforced domain's)", list)
	}
}

// A watched domain's change over max_changes is a warning, never a refusal:
// nothing would be written anyway.
func TestRunWatchedSafetyIsAWarning(t *testing.T) {
	e, st, _ := testEngine(t, map[string][]libdns.RR{"example.com.": comZone()}, map[string][]policy.RRset{"example.com": comPolicy()})
	e.Config.Safety.MaxChanges = 1
	e.Config.Watch = true
	plan, err := e.Run(context.Background(), Options{Mode: ModeOnce})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Zones[0].Status != StatusWatched {
		t.Errorf("status %q, want watched", plan.Zones[0].Status)
	}
	for _, f := range plan.Findings {
		if f.Kind == "safety" && f.Severity != SevWarning {
			t.Errorf("safety finding %v, want a warning", f)
		}
	}
	if st.sets != 0 || len(st.records("example.com.")) != len(comZone()) {
		t.Errorf("the watched zone was written")
	}
}
