package sync

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
)

// TestDryRunLetsZonesGo plans a dry run with drift: once planned and
// checked, the zones' records are let go (the plan, the drift log and the
// scorecard are made all the same); a plan made to be applied (to be
// saved) keeps them, for its writes.
func TestDryRunLetsZonesGo(t *testing.T) {
	zones := map[string][]libdns.RR{"a.example.": {tRR("@", "TXT", time.Hour, "v=spf1 ~all")}}
	desired := map[string][]policy.RRset{"a.example": {tOwnedSPF("a.example", "a.example", "v=spf1 -all")}}
	for _, forApply := range []bool{false, true} {
		e, _, logs := testEngine(t, zones, desired)
		pl, err := e.Plan(context.Background(), Options{Mode: ModeDryRun, Offline: true, ForApply: forApply})
		if err != nil {
			t.Fatal(err)
		}
		z := pl.st.order[0]
		if kept := z.live != nil; kept != forApply {
			t.Errorf("ForApply %v: zone records kept %v", forApply, kept)
		}
		// What only applying needs of a share is not made for each share
		// of a dry run.
		if kept := z.parts[0].shareApply != nil; kept != forApply {
			t.Errorf("ForApply %v: share's apply state made %v", forApply, kept)
		}
		if kept := z.zoneApply != nil; kept != forApply {
			t.Errorf("ForApply %v: zone's apply state made %v", forApply, kept)
		}
		plan := e.Report(context.Background(), pl)
		if len(plan.Zones) != 1 || plan.Zones[0].Status != StatusDrift || len(plan.Zones[0].Changes) != 1 || len(plan.Scorecard()) == 0 {
			t.Errorf("ForApply %v: plan %+v", forApply, plan)
		}
		if !strings.Contains(logs.String(), `"msg":"drift"`) {
			t.Errorf("ForApply %v: no drift logged:\n%s", forApply, logs.String())
		}
	}
}
