package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/maildns/maildns/providers"
	"github.com/maildns/maildns/sync"
	"github.com/maildns/maildns/sync/daemon"
)

// scrape returns the samples of the /metrics text exposition by series
// name with labels as written ("maildns_findings{domain=\"a\",severity=\"info\"}").
func scrape(t *testing.T, h http.Handler) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	out := map[string]float64{}
	for line := range strings.SplitSeq(rec.Body.String(), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// only keeps the maildns_ series other than the histogram buckets.
func only(samples map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range samples {
		if strings.HasPrefix(k, "maildns_") && !strings.Contains(k, "_bucket{") && !strings.HasPrefix(k, "maildns_build_info") {
			out[k] = v
		}
	}
	return out
}

func TestObserveMovesMetrics(t *testing.T) {
	counts := &providers.Counts{}
	m := New("v1.2.3", counts)
	h := m.Handler()

	before := scrape(t, h)
	if got := before[`maildns_build_info{goversion="`+runtime.Version()+`",version="v1.2.3"}`]; got != 1 {
		t.Errorf("build_info = %v in %v", got, before)
	}
	if diff := cmp.Diff(map[string]float64{
		`maildns_sync_runs_total{result="ok"}`:    0,
		`maildns_sync_runs_total{result="error"}`: 0,
		`maildns_sync_skipped_total`:              0,
		`maildns_last_sync_timestamp_seconds`:     0,
		`maildns_last_success_timestamp_seconds`:  0,
		`maildns_sync_duration_seconds_sum`:       0,
		`maildns_sync_duration_seconds_count`:     0,
		`maildns_watched_domains`:                 0,
		`maildns_schedule_period_seconds`:         900, // the default 15m until a schedule is known
	}, only(before)); diff != "" {
		t.Errorf("metrics before any run (-want +got):\n%s", diff)
	}

	m.Skipped()
	start := time.Unix(1_800_000_000, 0)
	counts.Add("local", "get", "ok")
	counts.Add("local", "get", "ok")
	counts.Add("local", "set", "error")
	m.Observe(daemon.Result{
		Start: start, Duration: 1500 * time.Millisecond,
		Plan: &sync.Plan{
			Zones: []sync.ZonePlan{
				{Domain: "example.com", Status: sync.StatusApplied, Changes: []sync.Change{
					{Action: sync.ActionUpdate}, {Action: sync.ActionCreate}, {Action: sync.ActionCreate}}},
				{Domain: "example.com", Zone: "113.0.203.in-addr.arpa", Status: sync.StatusRefused, Changes: []sync.Change{
					{Action: sync.ActionDelete}}},
				{Domain: "example.org", Status: sync.StatusInSync},
				{Domain: "example.net", Status: sync.StatusWatched, Changes: []sync.Change{{Action: sync.ActionCreate}}},
			},
			Watched: []string{"example.net"},
			Summary: sync.Summary{Watched: 1},
			Findings: []sync.Finding{
				{Domain: "example.com", Severity: sync.SevAction},
				{Domain: "example.com", Severity: sync.SevWarning},
				{Domain: "example.com", Severity: sync.SevWarning},
				{Domain: "example.net", Severity: sync.SevError},
			},
		},
	})
	after := only(scrape(t, h))
	want := map[string]float64{
		`maildns_sync_runs_total{result="ok"}`:                                             1,
		`maildns_sync_runs_total{result="error"}`:                                          0,
		`maildns_sync_skipped_total`:                                                       1,
		`maildns_last_sync_timestamp_seconds`:                                              1.8000000015e9,
		`maildns_last_success_timestamp_seconds`:                                           1.8000000015e9,
		`maildns_sync_duration_seconds_sum`:                                                1.5,
		`maildns_sync_duration_seconds_count`:                                              1,
		`maildns_schedule_period_seconds`:                                                  900,
		`maildns_drift_rrsets{domain="example.com"}`:                                       4,
		`maildns_drift_rrsets{domain="example.org"}`:                                       0,
		`maildns_drift_rrsets{domain="example.net"}`:                                       1,
		`maildns_watched_domains`:                                                          1,
		`maildns_changes_applied_total{action="create",domain="example.com"}`:              2,
		`maildns_changes_applied_total{action="update",domain="example.com"}`:              1,
		`maildns_provider_requests_total{operation="get",provider="local",result="ok"}`:    2,
		`maildns_provider_requests_total{operation="set",provider="local",result="error"}`: 1,
	}
	for _, d := range []string{"example.com", "example.org", "example.net"} {
		for _, sev := range []string{"error", "action", "warning", "info"} {
			want[`maildns_findings{domain="`+d+`",severity="`+sev+`"}`] = 0
		}
	}
	want[`maildns_findings{domain="example.com",severity="action"}`] = 1
	want[`maildns_findings{domain="example.com",severity="warning"}`] = 2
	want[`maildns_findings{domain="example.net",severity="error"}`] = 1
	if diff := cmp.Diff(want, after); diff != "" {
		t.Errorf("metrics after one run (-want +got):\n%s", diff)
	}

	// A failed run: counters move, the success timestamp stays, the gauges
	// of the plan are replaced.
	m.Observe(daemon.Result{Start: start.Add(time.Minute), Duration: time.Second, Err: errors.New("zone example.com: timeout"),
		Plan: &sync.Plan{Zones: []sync.ZonePlan{{Domain: "example.com", Status: sync.StatusError}}}})
	again := only(scrape(t, h))
	for k, v := range map[string]float64{
		`maildns_sync_runs_total{result="ok"}`:                                1,
		`maildns_sync_runs_total{result="error"}`:                             1,
		`maildns_last_sync_timestamp_seconds`:                                 1.800000061e9,
		`maildns_last_success_timestamp_seconds`:                              1.8000000015e9,
		`maildns_sync_duration_seconds_count`:                                 2,
		`maildns_drift_rrsets{domain="example.com"}`:                          0,
		`maildns_changes_applied_total{action="create",domain="example.com"}`: 2,
		`maildns_findings{domain="example.com",severity="warning"}`:           0,
		`maildns_watched_domains`:                                             0,
	} {
		if again[k] != v {
			t.Errorf("after a failed run %s = %v, want %v", k, again[k], v)
		}
	}
	if _, ok := again[`maildns_drift_rrsets{domain="example.org"}`]; ok {
		t.Error("drift of a domain the last plan did not name is still exported")
	}
}

func TestHealth(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	now := t0
	m := New("test", &providers.Counts{})
	m.Now = func() time.Time { return now }
	m.Started(t0)
	m.SetPeriod(time.Minute)
	h := m.Handler()
	get := func() (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		return rec.Code, strings.TrimSpace(rec.Body.String())
	}
	fail := func(at time.Time) {
		m.Observe(daemon.Result{Start: at, Duration: time.Second, Err: errors.New("provider local: zone example.com.: read: boom\nmore"),
			Period: time.Minute})
	}
	steps := []struct {
		name     string
		do       func()
		code     int
		contains string
	}{
		{"at start", func() {}, 200, "starting"},
		{"first run failed, within 3 periods", func() { now = t0.Add(30 * time.Second); fail(now) }, 200, "starting"},
		{"no success past 3 periods", func() { now = t0.Add(3*time.Minute + time.Second); fail(now) }, 503,
			"no successful sync in 3m1s since start (limit 3m0s, three schedule periods); 2 failed in a row, last error: provider local: zone example.com.: read: boom"},
		{"a success", func() { now = t0.Add(4 * time.Minute); m.Observe(daemon.Result{Start: now, Period: time.Minute}) }, 200, "ok"},
		{"still young", func() { now = t0.Add(6 * time.Minute); fail(now) }, 200, "ok"},
		{"failing for 3 periods", func() { now = t0.Add(7*time.Minute + time.Second); fail(now) }, 503,
			"last successful sync 3m1s ago (limit 3m0s, three schedule periods); 2 failed in a row"},
		{"a longer period from a reload", func() { m.SetPeriod(time.Hour) }, 200, "ok"},
	}
	for _, s := range steps {
		s.do()
		code, body := get()
		if code != s.code || !strings.Contains(body, s.contains) {
			t.Errorf("%s: /healthz = %d %q, want %d containing %q", s.name, code, body, s.code, s.contains)
		}
	}
}

func TestServer(t *testing.T) {
	m := New("test", &providers.Counts{})
	srv, err := m.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, nil) }()
	base := "http://" + srv.Addr().String()
	client := &http.Client{Timeout: 5 * time.Second}
	for _, tc := range []struct {
		path     string
		code     int
		contains string
	}{
		{"/metrics", 200, "maildns_sync_runs_total"},
		{"/healthz", 200, "starting"},
		{"/", 200, "/metrics"},
		{"/nope", 404, ""},
	} {
		resp, err := client.Get(base + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.Contains(string(body), tc.contains) {
			t.Errorf("GET %s = %d %q, want %d containing %q", tc.path, resp.StatusCode, body, tc.code, tc.contains)
		}
	}
	if _, err := m.Listen(srv.Addr().String()); err == nil || !strings.Contains(err.Error(), "metrics listen") {
		t.Errorf("Listen on a busy address = %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if _, err := client.Get(base + "/healthz"); err == nil {
		t.Error("server still answers after shutdown")
	}
}

// TestSchedulePeriodMetric: maildns_schedule_period_seconds follows the
// schedule, for alert rules that count periods.
func TestSchedulePeriodMetric(t *testing.T) {
	m := New("v1", &providers.Counts{})
	m.SetPeriod(time.Hour)
	if got := only(scrape(t, m.Handler()))["maildns_schedule_period_seconds"]; got != 3600 {
		t.Errorf("maildns_schedule_period_seconds = %v, want 3600", got)
	}
}

// The plan gauges are set from what changed since the last plan: each
// plan's gauges are exactly its domains' counts, whatever came before, a
// repeated plan included, and a domain gone takes its gauges along.
func TestPlanGaugesFollowEachPlan(t *testing.T) {
	m := New("test", &providers.Counts{})
	h := m.Handler()
	gauges := func() map[string]float64 {
		out := map[string]float64{}
		for k, v := range scrape(t, h) {
			if strings.HasPrefix(k, "maildns_drift_rrsets{") || strings.HasPrefix(k, "maildns_findings{") {
				out[k] = v
			}
		}
		return out
	}
	want := func(drift map[string]int, findings map[string]map[string]int) map[string]float64 {
		out := map[string]float64{}
		for d, n := range drift {
			out[`maildns_drift_rrsets{domain="`+d+`"}`] = float64(n)
			for _, sev := range []string{"error", "action", "warning", "info"} {
				out[`maildns_findings{domain="`+d+`",severity="`+sev+`"}`] = 0
			}
			for sev, n := range findings[d] {
				out[`maildns_findings{domain="`+d+`",severity="`+sev+`"}`] = float64(n)
			}
		}
		return out
	}
	a := &sync.Plan{
		Zones: []sync.ZonePlan{{Domain: "a.example", Changes: []sync.Change{{}, {}}}, {Domain: "b.example"}},
		Findings: []sync.Finding{{Domain: "a.example", Severity: sync.SevWarning}, {Domain: "b.example", Severity: sync.SevError},
			{Domain: "b.example", Severity: "odd"}},
	}
	b := &sync.Plan{
		Zones:    []sync.ZonePlan{{Domain: "a.example"}, {Domain: "c.example", Changes: []sync.Change{{}}}},
		Findings: []sync.Finding{{Domain: "a.example", Severity: sync.SevWarning}, {Domain: "a.example", Severity: sync.SevInfo}},
	}
	wantA := want(map[string]int{"a.example": 2, "b.example": 0},
		map[string]map[string]int{"a.example": {"warning": 1}, "b.example": {"error": 1, "odd": 1}})
	wantB := want(map[string]int{"a.example": 0, "c.example": 1}, map[string]map[string]int{"a.example": {"warning": 1, "info": 1}})
	for i, step := range []struct {
		plan *sync.Plan
		want map[string]float64
	}{{a, wantA}, {a, wantA}, {b, wantB}, {b, wantB}, {a, wantA}} {
		m.Observe(daemon.Result{Start: time.Unix(1.8e9, 0), Plan: step.plan})
		if diff := cmp.Diff(step.want, gauges()); diff != "" {
			t.Errorf("plan %d (-want +got):\n%s", i+1, diff)
		}
	}
}
