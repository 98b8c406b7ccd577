// Package metrics holds the daemon's Prometheus metrics (prefix maildns_),
// computed from each run's plan and from the providers' call counts, and the
// HTTP server that serves them on /metrics with a health check on /healthz.
package metrics

import (
	"fmt"
	"runtime"
	"slices"
	gosync "sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/maildns/maildns/providers"
	"github.com/maildns/maildns/sync"
	"github.com/maildns/maildns/sync/daemon"
)

// Namespace prefixes every metric name.
const Namespace = "maildns"

// defaultPeriod is the health check's schedule period until one is known.
const defaultPeriod = 15 * time.Minute

// Metrics is the daemon's registry and health state. It is safe for
// concurrent use.
type Metrics struct {
	// Now is the clock of the health check; nil is time.Now.
	Now func() time.Time

	reg         *prometheus.Registry
	runs        *prometheus.CounterVec
	skipped     prometheus.Counter
	lastSync    prometheus.Gauge
	lastSuccess prometheus.Gauge
	duration    prometheus.Histogram
	drift       *prometheus.GaugeVec
	changes     *prometheus.CounterVec
	findings    *prometheus.GaugeVec
	watched     prometheus.Gauge
	periodSecs  prometheus.Gauge

	mu            gosync.Mutex
	started       time.Time
	period        time.Duration
	lastRunAt     time.Time
	lastSuccessAt time.Time
	lastErr       string
	failures      int // runs failed in a row

	gaugeMu gosync.Mutex
	gauges  map[string]*domainGauges // the plan gauges as last set, by domain
}

// New returns the metrics of a daemon of the given version. Provider calls
// are read from counts at scrape time (nil: providers.DefaultCounts, where
// the provider wrappers count).
func New(version string, counts *providers.Counts) *Metrics {
	if counts == nil {
		counts = providers.DefaultCounts
	}
	m := &Metrics{
		reg:     prometheus.NewRegistry(),
		started: time.Now(),
		period:  defaultPeriod,
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "sync_runs_total",
			Help: "Sync runs by result (ok: every zone synced; error: some zone could not be).",
		}, []string{"result"}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "sync_skipped_total",
			Help: "Scheduled syncs skipped because the previous one was still running.",
		}),
		lastSync: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "last_sync_timestamp_seconds",
			Help: "Unix time the last sync run finished, whatever its result.",
		}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "last_success_timestamp_seconds",
			Help: "Unix time the last successful sync run finished.",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "sync_duration_seconds",
			Help:    "Duration of sync runs.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14), // 50ms .. about 7m
		}),
		drift: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "drift_rrsets",
			Help: "RRsets that differed from the policy at the last run, by domain (before correction).",
		}, []string{"domain"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "changes_applied_total",
			Help: "RRset changes applied, by domain and action (create, update, delete).",
		}, []string{"domain", "action"}),
		findings: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "findings",
			Help: "Findings of the last run, by domain and severity (error, action, warning, info).",
		}, []string{"domain", "severity"}),
		// For alert rules that count schedule periods (deploy/prometheus).
		periodSecs: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "schedule_period_seconds",
			Help: "The schedule's period: the interval between two scheduled syncs.",
		}),
	}
	m.watched = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "watched_domains",
		Help: "Domains with enforce: false at the last run: planned and reported, never written.",
	})
	m.periodSecs.Set(defaultPeriod.Seconds())
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "build_info",
		Help: "Always 1; labels say the version of maildns and of Go.",
	}, []string{"version", "goversion"})
	buildInfo.WithLabelValues(version, runtime.Version()).Set(1)
	for _, r := range []string{"ok", "error"} {
		m.runs.WithLabelValues(r)
	}
	m.reg.MustRegister(m.runs, m.skipped, m.lastSync, m.lastSuccess, m.duration, m.drift, m.changes,
		m.findings, m.watched, m.periodSecs, buildInfo, &callCollector{counts: counts},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is the registry /metrics serves.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// SetPeriod sets the schedule period the health check measures against
// (daemon.Period of the schedule). Results carry it too.
func (m *Metrics) SetPeriod(d time.Duration) {
	if d <= 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.period = d
	m.periodSecs.Set(d.Seconds())
}

// Started resets the time the health check counts from before the first
// successful sync.
func (m *Metrics) Started(t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.started = t
}

// Skipped counts a scheduled sync skipped because one was still running.
func (m *Metrics) Skipped() { m.skipped.Inc() }

// Observe records one run: a run is ok when it returned no error. The gauges
// of the plan (drift, findings) are replaced by those of this run.
func (m *Metrics) Observe(r daemon.Result) {
	end := r.Start.Add(r.Duration)
	result := "ok"
	if r.Err != nil {
		result = "error"
	}
	m.runs.WithLabelValues(result).Inc()
	m.duration.Observe(r.Duration.Seconds())
	m.lastSync.Set(float64(end.UnixNano()) / 1e9)
	if r.Err == nil {
		m.lastSuccess.Set(float64(end.UnixNano()) / 1e9)
	}

	m.mu.Lock()
	m.lastRunAt = end
	if r.Err == nil {
		m.lastSuccessAt = end
		m.lastErr = ""
		m.failures = 0
	} else {
		m.lastErr = firstLine(r.Err.Error())
		m.failures++
	}
	if r.Period > 0 {
		m.period = r.Period
		m.periodSecs.Set(r.Period.Seconds())
	}
	m.mu.Unlock()

	if r.Plan != nil {
		m.observePlan(r.Plan)
	}
}

// severities are the findings gauge's severity labels, each domain's set
// (as 0 when it has none).
var severities = [...]string{sync.SevError, sync.SevAction, sync.SevWarning, sync.SevInfo}

// domainGauges is one domain's drift and findings gauges as last set.
type domainGauges struct {
	drift    int
	findings [len(severities)]int
	other    map[string]int // findings of any other severity
}

// observePlan sets the drift and findings gauges of the plan's domains and
// removes those of domains it no longer has. Only the values that changed
// are set: a daemon cycle over 10,000 unchanged domains touches none, and
// a scrape never sees the gauges half set.
func (m *Metrics) observePlan(p *sync.Plan) {
	m.gaugeMu.Lock()
	defer m.gaugeMu.Unlock()
	now := make(map[string]*domainGauges, len(m.gauges))
	domain := func(d string) *domainGauges {
		g := now[d]
		if g == nil {
			g = &domainGauges{}
			now[d] = g
		}
		return g
	}
	for _, z := range p.Zones {
		domain(z.Domain).drift += len(z.Changes)
		if z.Status == sync.StatusApplied {
			for _, c := range z.Changes {
				m.changes.WithLabelValues(z.Domain, c.Action).Inc()
			}
		}
	}
	for _, f := range p.Findings {
		g := domain(f.Domain)
		if i := slices.Index(severities[:], f.Severity); i >= 0 {
			g.findings[i]++
			continue
		}
		if g.other == nil {
			g.other = map[string]int{}
		}
		g.other[f.Severity]++
	}
	m.watched.Set(float64(p.Summary.Watched))
	for d, g := range now {
		old := m.gauges[d]
		if old == nil {
			old = &domainGauges{drift: -1, findings: [len(severities)]int{-1, -1, -1, -1}}
		}
		if g.drift != old.drift {
			m.drift.WithLabelValues(d).Set(float64(g.drift))
		}
		for i, sev := range severities {
			if g.findings[i] != old.findings[i] {
				m.findings.WithLabelValues(d, sev).Set(float64(g.findings[i]))
			}
		}
		for sev, n := range g.other {
			if old.other[sev] != n || n == 0 {
				m.findings.WithLabelValues(d, sev).Set(float64(n))
			}
		}
		for sev := range old.other {
			if _, ok := g.other[sev]; !ok {
				m.findings.DeleteLabelValues(d, sev)
			}
		}
	}
	for d, old := range m.gauges {
		if _, ok := now[d]; ok {
			continue
		}
		m.drift.DeleteLabelValues(d)
		for _, sev := range severities {
			m.findings.DeleteLabelValues(d, sev)
		}
		for sev := range old.other {
			m.findings.DeleteLabelValues(d, sev)
		}
	}
	m.gauges = now
}

// Health says whether the daemon is healthy: its last successful sync (or
// its start, before the first) is at most three schedule periods old. The
// message is "ok", "starting" (no successful sync yet, within the limit) or
// the reason it is not healthy.
func (m *Metrics) Health() (healthy bool, msg string) {
	now := time.Now()
	if m.Now != nil {
		now = m.Now()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	limit := 3 * m.period
	if m.lastSuccessAt.IsZero() {
		age := now.Sub(m.started)
		if age <= limit {
			return true, "starting"
		}
		reason := fmt.Sprintf("no successful sync in %s since start (limit %s, three schedule periods)",
			age.Round(time.Second), limit)
		if m.lastErr != "" {
			reason += fmt.Sprintf("; %d failed in a row, last error: %s", m.failures, m.lastErr)
		}
		return false, reason
	}
	age := now.Sub(m.lastSuccessAt)
	if age <= limit {
		return true, "ok"
	}
	reason := fmt.Sprintf("last successful sync %s ago (limit %s, three schedule periods)",
		age.Round(time.Second), limit)
	if m.lastErr != "" {
		reason += fmt.Sprintf("; %d failed in a row, last error: %s", m.failures, m.lastErr)
	}
	return false, reason
}

func firstLine(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}

// callCollector exports the providers' call counts as
// maildns_provider_requests_total{provider,operation,result}.
type callCollector struct {
	counts *providers.Counts
}

var callDesc = prometheus.NewDesc(Namespace+"_provider_requests_total",
	"Calls and API requests to DNS providers, by provider name, operation and result.",
	[]string{"provider", "operation", "result"}, nil)

func (c *callCollector) Describe(ch chan<- *prometheus.Desc) { ch <- callDesc }

func (c *callCollector) Collect(ch chan<- prometheus.Metric) {
	for k, v := range c.counts.Snapshot() {
		ch <- prometheus.MustNewConstMetric(callDesc, prometheus.CounterValue, float64(v),
			k.Provider, k.Operation, k.Result)
	}
}
