// Package metrics holds the daemon's Prometheus metrics (prefix maildns_),
// computed from each run's plan and from the providers' call counts, and the
// HTTP server that serves them on /metrics with a health check on /healthz.
package metrics

import (
	"fmt"
	"maps"
	"runtime"
	"slices"
	gosync "sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"

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
	plan        *planSeries
	watched     prometheus.Gauge
	periodSecs  prometheus.Gauge

	mu            gosync.Mutex
	started       time.Time
	period        time.Duration
	lastRunAt     time.Time
	lastSuccessAt time.Time
	lastErr       string
	failures      int // runs failed in a row
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
		plan: &planSeries{gauges: map[string]domainGauges{}, changes: map[changeKey]uint64{}},
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
	m.reg.MustRegister(m.runs, m.skipped, m.lastSync, m.lastSuccess, m.duration, m.plan,
		m.watched, m.periodSecs, buildInfo, &callCollector{counts: counts},
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
		m.plan.observe(r.Plan)
		m.watched.Set(float64(r.Plan.Summary.Watched))
	}
}

// severities are the findings gauge's severity labels, each domain's set
// (as 0 when it has none).
var severities = [...]string{sync.SevError, sync.SevAction, sync.SevWarning, sync.SevInfo}

// domainGauges is one domain's drift and findings gauges.
type domainGauges struct {
	drift    int32
	findings [len(severities)]int32
	plan     uint32           // the plan that set them
	other    map[string]int32 // findings of any other severity
}

// changeKey is one series of changes_applied_total.
type changeKey struct{ domain, action string }

// planSeries holds the series of the plans (drift_rrsets, findings,
// changes_applied_total) as plain counts by domain and makes their samples
// at scrape time: a daemon over 10,000 domains exports 50,000 of them,
// which as a GaugeVec's children kept some 2 KB a domain, here some 60
// bytes.
type planSeries struct {
	mu      gosync.Mutex
	plans   uint32                  // plans observed
	gauges  map[string]domainGauges // by domain, as the last plan set them
	changes map[changeKey]uint64
}

var (
	driftDesc = prometheus.NewDesc(Namespace+"_drift_rrsets",
		"RRsets that differed from the policy at the last run, by domain (before correction).",
		[]string{"domain"}, nil)
	changesDesc = prometheus.NewDesc(Namespace+"_changes_applied_total",
		"RRset changes applied, by domain and action (create, update, delete).",
		[]string{"domain", "action"}, nil)
	findingsDesc = prometheus.NewDesc(Namespace+"_findings",
		"Findings of the last run, by domain and severity (error, action, warning, info).",
		[]string{"domain", "severity"}, nil)
)

// observe replaces the drift and findings gauges by those of p's domains
// (a domain p does not name loses its series) and counts p's applied
// changes. A scrape sees the gauges of one plan, never half set.
func (s *planSeries) observe(p *sync.Plan) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.plans++
	get := func(d string) domainGauges {
		g := s.gauges[d]
		if g.plan != s.plans {
			g = domainGauges{plan: s.plans}
		}
		return g
	}
	for _, z := range p.Zones {
		g := get(z.Domain)
		g.drift += int32(len(z.Changes))
		s.gauges[z.Domain] = g
		if z.Status == sync.StatusApplied {
			for _, c := range z.Changes {
				s.changes[changeKey{z.Domain, c.Action}]++
			}
		}
	}
	for _, f := range p.Findings {
		g := get(f.Domain)
		if i := slices.Index(severities[:], f.Severity); i >= 0 {
			g.findings[i]++
		} else {
			if g.other == nil {
				g.other = map[string]int32{}
			}
			g.other[f.Severity]++
		}
		s.gauges[f.Domain] = g
	}
	maps.DeleteFunc(s.gauges, func(_ string, g domainGauges) bool { return g.plan != s.plans })
}

func (s *planSeries) Describe(ch chan<- *prometheus.Desc) {
	ch <- driftDesc
	ch <- changesDesc
	ch <- findingsDesc
}

// Label names and the severity labels, shared by every scrape's samples.
var (
	domainLabel, actionLabel, severityLabel = "domain", "action", "severity"
	severityPairs                           = func() (out [len(severities)]*dto.LabelPair) {
		for i := range severities {
			out[i] = &dto.LabelPair{Name: &severityLabel, Value: &severities[i]}
		}
		return out
	}()
)

// Collect sends the samples of the series. They are made in a few large
// slices rather than one by one (50,000 samples a scrape at 10,000
// domains), and hold their labels and values themselves.
func (s *planSeries) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, other := len(s.gauges), 0
	for _, g := range s.gauges {
		other += len(g.other)
	}
	names := make([]string, 0, n+other+2*len(s.changes))
	pairs := make([]dto.LabelPair, 0, cap(names))
	labels := make([]*dto.LabelPair, 0, (1+2*len(severities))*n+2*other+2*len(s.changes))
	gauges := make([]gaugeSample, 0, (1+len(severities))*n+other)
	pair := func(name *string, value string) *dto.LabelPair {
		names = append(names, value)
		pairs = append(pairs, dto.LabelPair{Name: name, Value: &names[len(names)-1]})
		return &pairs[len(pairs)-1]
	}
	label := func(lp ...*dto.LabelPair) []*dto.LabelPair {
		i := len(labels)
		labels = append(labels, lp...)
		return labels[i:len(labels):len(labels)]
	}
	gauge := func(desc *prometheus.Desc, v float64, lp ...*dto.LabelPair) {
		gauges = append(gauges, gaugeSample{desc: desc, value: v, labels: label(lp...)})
		ch <- &gauges[len(gauges)-1]
	}
	for d, g := range s.gauges {
		dp := pair(&domainLabel, d)
		gauge(driftDesc, float64(g.drift), dp)
		for i, sp := range severityPairs {
			gauge(findingsDesc, float64(g.findings[i]), dp, sp)
		}
		for sev, k := range g.other {
			gauge(findingsDesc, float64(k), dp, pair(&severityLabel, sev))
		}
	}
	counters := make([]counterSample, 0, len(s.changes))
	for k, v := range s.changes {
		counters = append(counters, counterSample{value: float64(v),
			labels: label(pair(&actionLabel, k.action), pair(&domainLabel, k.domain))})
		ch <- &counters[len(counters)-1]
	}
}

// gaugeSample is one gauge sample of the plan series, labels sorted by name.
type gaugeSample struct {
	desc   *prometheus.Desc
	labels []*dto.LabelPair
	value  float64
	gauge  dto.Gauge
}

func (p *gaugeSample) Desc() *prometheus.Desc { return p.desc }

func (p *gaugeSample) Write(out *dto.Metric) error {
	p.gauge.Value = &p.value
	out.Label, out.Gauge = p.labels, &p.gauge
	return nil
}

// counterSample is one sample of changes_applied_total.
type counterSample struct {
	labels  []*dto.LabelPair
	value   float64
	counter dto.Counter
}

func (p *counterSample) Desc() *prometheus.Desc { return changesDesc }

func (p *counterSample) Write(out *dto.Metric) error {
	p.counter.Value = &p.value
	out.Label, out.Counter = p.labels, &p.counter
	return nil
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
