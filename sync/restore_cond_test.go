package sync

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/providers"
)

// condProvider is the fake with a conditional replacement: meddle runs
// first (another writer between the restore's read and its write).
type condProvider struct {
	*fakeProvider
	calls  int
	meddle func()
}

func (c *condProvider) ReplaceRecordsIf(ctx context.Context, zone string, expect []providers.RRsetState, remove, add []libdns.Record) ([]libdns.Record, error) {
	c.calls++
	if c.meddle != nil {
		c.meddle()
	}
	live, err := c.GetRecords(ctx, zone)
	if err != nil {
		return nil, err
	}
	if err := providers.CheckExpect(zone, expect, live); err != nil {
		return nil, err
	}
	if _, err := c.DeleteRecords(ctx, zone, remove); err != nil {
		return nil, err
	}
	return c.AppendRecords(ctx, zone, add)
}

// A restore writes through ReplaceRecordsIf where the provider has it: a
// zone changed between the restore's read and its write is not written
// (ErrChanged), and the other writer's record stays alone.
func TestRestoreConditional(t *testing.T) {
	a, b, c := "v=DMARC1; p=none", "v=DMARC1; p=quarantine", "v=DMARC1; p=reject"
	desired := map[string][]policy.RRset{"example.com": {tOwned("example.com", "example.com", "_dmarc", "TXT", tHour, b)}}
	e, st, _ := testEngine(t, map[string][]libdns.RR{"example.com.": comZone(tRR("_dmarc", "TXT", tHour, a))}, desired)
	e.Config.StateDir = t.TempDir()
	plan, err := e.Run(context.Background(), Options{Mode: ModeOnce})
	if err != nil {
		t.Fatal(err)
	}
	cp := &condProvider{fakeProvider: &fakeProvider{st}}
	e.Providers["mem"] = cp
	cp.meddle = func() {
		st.mu.Lock()
		defer st.mu.Unlock()
		recs := st.zones["example.com."]
		for i := range recs {
			if recs[i].Name == "_dmarc" {
				recs[i].Data = c
			}
		}
		cp.meddle = nil
	}
	rplan, err := e.RestoreRun(context.Background(), plan.RunID, Options{Mode: ModeOnce, AllowWeakening: true})
	if !errors.Is(err, providers.ErrChanged) || rplan.Zones[0].Status != StatusError || cp.calls != 1 {
		t.Fatalf("restore over a concurrent change: %v, %s, %d conditional calls", err, rplan.Zones[0].Status, cp.calls)
	}
	if got := dmarcValues(st); !cmp.Equal(got, []string{c}) {
		t.Errorf("DMARC after the refused write: %v, want only the other writer's %q", got, c)
	}
	// Put B back and restore again: one conditional write, A is back.
	cp.meddle = func() {}
	st.mu.Lock()
	for i, rr := range st.zones["example.com."] {
		if rr.Name == "_dmarc" {
			st.zones["example.com."][i].Data = b
		}
	}
	st.mu.Unlock()
	rplan, err = e.RestoreRun(context.Background(), plan.RunID, Options{Mode: ModeOnce, AllowWeakening: true})
	if err != nil || rplan.Zones[0].Status != StatusApplied || cp.calls != 2 {
		t.Fatalf("restore: %v, %s, %d conditional calls", err, rplan.Zones[0].Status, cp.calls)
	}
	if got := dmarcValues(st); !cmp.Equal(got, []string{a}) {
		t.Errorf("DMARC after restore: %v, want %q", got, a)
	}
}
