package sync

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/providers"
)

// blockingProvider holds the first write until release is closed, telling
// started when it begins.
type blockingProvider struct {
	providers.Provider
	started, release chan struct{}
	first            bool
}

func (b *blockingProvider) AppendRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	if !b.first {
		b.first = true
		close(b.started)
		<-b.release
	}
	return b.Provider.AppendRecords(ctx, zone, recs)
}

// A stop (SIGTERM: the run's context cancelled) during a one-shot run takes
// effect between zones: the zone being written is finished and journaled,
// the zones not started are reported as not attempted with their planned
// changes, and no entry is left without its result.
func TestStopBetweenZones(t *testing.T) {
	const n = 6
	zones := map[string][]libdns.RR{}
	desired := map[string][]policy.RRset{}
	for i := range n {
		dom := fmt.Sprintf("d%d.example", i)
		zones[dom+"."] = []libdns.RR{tRR("@", "NS", tHour, "ns1.example.net.")}
		desired[dom] = []policy.RRset{tOwned(dom, dom, "_dmarc", "TXT", tHour, "v=DMARC1; p=reject")}
	}
	e, st, _ := testEngine(t, zones, desired)
	e.Config.StateDir = t.TempDir()
	e.Concurrency = 1
	b := &blockingProvider{Provider: e.Providers["mem"], started: make(chan struct{}), release: make(chan struct{})}
	e.Providers["mem"] = b
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-b.started
		cancel() // the signal arrives while the first zone is being written
		close(b.release)
	}()
	plan, err := e.Run(ctx, Options{Mode: ModeOnce})
	if err == nil {
		t.Fatal("a stopped run reported no error")
	}
	applied, notAttempted := 0, 0
	for _, z := range plan.Zones {
		switch {
		case z.Status == StatusApplied:
			applied++
		case z.Status == StatusError && strings.Contains(z.Error, "not attempted") && len(z.Changes) == 1:
			notAttempted++
		default:
			t.Errorf("zone %s: %s %q", z.Zone, z.Status, z.Error)
		}
	}
	if applied != 1 || notAttempted != n-1 {
		t.Errorf("%d applied, %d not attempted; want 1 and %d", applied, notAttempted, n-1)
	}
	entries := journalEntries(t, e.Config.StateDir)
	if len(entries) != 1 || entries[0].Result == nil || entries[0].Result.Status != StatusApplied {
		t.Errorf("journal: %d entries, want the one finished zone's with its result", len(entries))
	}
	if st.appends != 1 {
		t.Errorf("%d writes, want 1", st.appends)
	}
	if written(plan) != 1 {
		t.Errorf("written %d", written(plan))
	}
}
