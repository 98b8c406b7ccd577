package metrics

import (
	"fmt"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/maildns/maildns/internal/heaptest"
	"github.com/maildns/maildns/providers"
	"github.com/maildns/maildns/sync"
	"github.com/maildns/maildns/sync/daemon"
)

// bigPlan is a daemon's quiet plan over n domains, one zone each, a domain
// in ten with a warning and one in a hundred with two changes applied.
func bigPlan(n int) *sync.Plan {
	p := &sync.Plan{Zones: make([]sync.ZonePlan, 0, n)}
	for i := range n {
		d := fmt.Sprintf("d%05d.example", i)
		z := sync.ZonePlan{Domain: d, Zone: d, Status: sync.StatusInSync}
		if i%100 == 0 {
			z.Status, z.Changes = sync.StatusApplied, []sync.Change{{Action: sync.ActionCreate}, {Action: sync.ActionUpdate}}
		}
		p.Zones = append(p.Zones, z)
		if i%10 == 0 {
			p.Findings = append(p.Findings, sync.Finding{Domain: d, Severity: sync.SevWarning})
		}
	}
	return p
}

// The plan series (drift_rrsets, findings, changes_applied_total: five
// series a domain and more) are kept as counts, not as a registry's
// children: a GaugeVec kept about 2 KB a domain, 20 MB of a 10,000-domain
// daemon's heap.
func TestPlanSeriesMemory(t *testing.T) {
	const n = 10000
	plan := bigPlan(n)
	before := heaptest.Live()
	m := New("test", &providers.Counts{})
	for i := range 3 {
		m.Observe(daemon.Result{Start: time.Unix(1.8e9+int64(i), 0), Plan: plan})
	}
	after := heaptest.Live()
	runtime.KeepAlive(plan)
	per := (int64(after) - int64(before)) / n
	t.Logf("metrics keep %d bytes a domain", per)
	if per > 200 {
		t.Errorf("metrics keep %d bytes a domain after 3 plans of %d domains, want at most 200", per, n)
	}
	runtime.KeepAlive(m)
}

// BenchmarkObservePlan is one daemon cycle's metrics over 10,000 domains.
func BenchmarkObservePlan(b *testing.B) {
	plan := bigPlan(10000)
	m := New("test", &providers.Counts{})
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m.Observe(daemon.Result{Start: time.Unix(1.8e9+int64(i), 0), Plan: plan})
	}
}

// BenchmarkScrape is one scrape of /metrics over 10,000 domains.
func BenchmarkScrape(b *testing.B) {
	m := New("test", &providers.Counts{})
	m.Observe(daemon.Result{Start: time.Unix(1.8e9, 0), Plan: bigPlan(10000)})
	h := m.Handler()
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}
