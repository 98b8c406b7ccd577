package contract

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
	"github.com/miekg/dns"

	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/providers"
	"github.com/maildns/maildns/sync"
)

// providerName is the provider's name in every scenario's maildns.yaml.
const providerName = "dns"

// harness runs one scenario against one backend: a config directory with
// maildns.yaml and the policies, the providers built from it through the
// real registry and wrappers, and the counts of their calls.
type harness struct {
	t        *testing.T
	backend  string
	scenario string
	fx       *fixture
	dir      string
	counts   *providers.Counts
	provs    map[string]providers.Provider
	// observer, when set before the providers are built, is told of every
	// provider call as the wrapper counts it.
	observer providers.Observer
	logs     bytes.Buffer
	logMu    stdsync.Mutex

	// cache, when set, is the daemon's zone cache, kept between runs.
	cache *sync.ZoneCache
}

func newHarness(t *testing.T, scenario string, b backend, zones []zoneSeed) *harness {
	t.Helper()
	h := &harness{t: t, backend: b.name, scenario: scenario, fx: b.start(t, zones), dir: t.TempDir(), counts: &providers.Counts{}}
	cfg := "# written by the contract suite\n" +
		"policies: [\"policies/*.yaml\"]\n" +
		"state_dir: state\n" +
		"live_checks: false\n" +
		"safety: {max_changes: 20}\n" +
		"providers:\n  " + providerName + ": " + h.fx.yaml + "\n"
	h.write("maildns.yaml", cfg)
	for name, content := range h.fx.files {
		h.write(name, content)
	}
	key, err := os.ReadFile(filepath.Join("..", "policy", "testdata", "golden", "keys", "rsa2048-public.pem"))
	if err != nil {
		t.Fatal(err)
	}
	h.write(filepath.Join("keys", "rsa2048.pem"), string(key))
	t.Cleanup(func() {
		if t.Failed() {
			h.logMu.Lock()
			t.Logf("engine log:\n%s", h.logs.String())
			h.logMu.Unlock()
		}
	})
	return h
}

func (h *harness) Write(p []byte) (int, error) {
	h.logMu.Lock()
	defer h.logMu.Unlock()
	return h.logs.Write(p)
}

func (h *harness) write(rel, content string) {
	h.t.Helper()
	p := filepath.Join(h.dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		h.t.Fatal(err)
	}
}

// policy writes the policy of example.com.
func (h *harness) policy(text string) {
	h.t.Helper()
	h.write(filepath.Join("policies", "example.com.yaml"), text)
}

// policyFile writes the policy of another domain.
func (h *harness) policyFile(domain, text string) {
	h.t.Helper()
	h.write(filepath.Join("policies", domain+".yaml"), text)
}

// fresh drops the built providers: the next run builds them anew, as a
// one-shot --once process does (the daemon keeps them between runs).
func (h *harness) fresh() { h.provs = nil }

// load loads the config as written now.
func (h *harness) load() *policy.Config {
	h.t.Helper()
	cfg, err := policy.LoadConfig(filepath.Join(h.dir, "maildns.yaml"))
	if err != nil {
		h.t.Fatalf("loading the config: %v", err)
	}
	return cfg
}

// calls are the provider-level calls (attempts) of one run, by operation,
// and the requests the run sent on the wire.
type calls struct {
	get, appendc, del, set int64
	replace                int64 // ReplaceRecords
	retries, errors        int64
	gated                  int64 // OpRequest counted by the wrapper's gate
	wire                   int64 // -1: no wire
	wireLog                string
}

func (c calls) writes() int64 { return c.appendc + c.del + c.set + c.replace }

func (c calls) String() string {
	w := "-"
	if c.wire >= 0 {
		w = fmt.Sprint(c.wire)
	}
	return fmt.Sprintf("get=%d append=%d delete=%d set=%d replace=%d wire=%s", c.get, c.appendc, c.del, c.set, c.replace, w)
}

// run loads the config, builds the providers when needed and runs the
// engine once in mode; it returns the plan, its calls and the run's error.
func (h *harness) run(mode string) (*sync.Plan, calls, error) {
	h.t.Helper()
	cfg := h.load()
	if h.provs == nil {
		provs, err := sync.BuildProvidersWith(cfg, providers.WrapOptions{Counts: h.counts, Observer: h.observer})
		if err != nil {
			h.t.Fatalf("building the providers: %v", err)
		}
		h.provs = provs
	}
	before := h.counts.Snapshot()
	h.fx.reset()
	var wire0 int64 = -1
	if h.fx.wire != nil {
		wire0 = h.fx.wire()
	}
	e := &sync.Engine{Config: cfg, Providers: h.provs, Logger: slog.New(slog.NewTextHandler(h, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	e.ZoneCache = h.cache
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	plan, err := e.Run(ctx, sync.Options{Mode: mode})
	after := h.counts.Snapshot()
	d := func(op, result string) int64 {
		k := providers.CallKey{Provider: providerName, Operation: op, Result: result}
		return after[k] - before[k]
	}
	var c calls
	for _, r := range []string{providers.ResultOK, providers.ResultRetry, providers.ResultError} {
		c.get += d(providers.OpGetRecords, r)
		c.appendc += d(providers.OpAppendRecords, r)
		c.del += d(providers.OpDeleteRecords, r)
		c.set += d(providers.OpSetRecords, r)
		c.replace += d(providers.OpReplaceRecords, r)
	}
	for _, op := range []string{providers.OpGetRecords, providers.OpAppendRecords, providers.OpDeleteRecords, providers.OpSetRecords, providers.OpReplaceRecords} {
		c.retries += d(op, providers.ResultRetry)
		c.errors += d(op, providers.ResultError)
	}
	c.gated = d(providers.OpRequest, providers.ResultSent)
	c.wire = -1
	if h.fx.wire != nil {
		c.wire = h.fx.wire() - wire0
	}
	c.wireLog = h.fx.wireLog()
	return plan, c, err
}

// sync runs --once and fails the test unless every zone is applied or in
// sync, without retries, failed calls or error findings.
func (h *harness) sync() (*sync.Plan, calls) {
	h.t.Helper()
	plan, c, err := h.run(sync.ModeOnce)
	if err != nil {
		h.t.Fatalf("sync: %v\nplan: %s", err, planText(plan))
	}
	for _, z := range plan.Zones {
		if z.Status != sync.StatusApplied && z.Status != sync.StatusInSync {
			h.t.Fatalf("sync: zone %s status %s (%s)\nplan: %s", z.Zone, z.Status, z.Error, planText(plan))
		}
	}
	for _, f := range plan.Findings {
		if f.Severity == sync.SevError || f.Kind == "safety" || f.Kind == "verify" {
			h.t.Errorf("sync: finding %s/%s %s: %s", f.Severity, f.Kind, f.Subject, f.Message)
		}
	}
	if c.retries != 0 || c.errors != 0 {
		h.t.Errorf("sync: %d retried and %d failed provider calls", c.retries, c.errors)
	}
	return plan, c
}

// inSync runs a dry run and fails the test unless it finds nothing to change.
func (h *harness) inSync() calls {
	h.t.Helper()
	plan, c, err := h.run(sync.ModeDryRun)
	if err != nil {
		h.t.Fatalf("dry run: %v", err)
	}
	for _, z := range plan.Zones {
		if z.Status != sync.StatusInSync || len(z.Changes) > 0 {
			h.t.Errorf("dry run after sync: zone %s status %s, changes:\n%s", z.Zone, z.Status, planText(plan))
		}
	}
	if c.writes() != 0 {
		h.t.Errorf("dry run made %d write calls", c.writes())
	}
	return c
}

// changes lists a plan's changes as "zone action name type".
func changes(plan *sync.Plan) []string {
	var out []string
	for _, z := range plan.Zones {
		for _, c := range z.Changes {
			out = append(out, fmt.Sprintf("%s %s %s %s", z.Zone, c.Action, c.Name, c.Type))
		}
	}
	slices.Sort(out)
	return out
}

func (h *harness) wantChanges(plan *sync.Plan, want ...string) {
	h.t.Helper()
	slices.Sort(want)
	if diff := cmp.Diff(want, changes(plan)); diff != "" {
		h.t.Errorf("changes (-want +got):\n%s", diff)
	}
}

func planText(plan *sync.Plan) string {
	if plan == nil {
		return "<nil>"
	}
	var b bytes.Buffer
	_ = sync.WriteText(&b, plan, false)
	return b.String()
}

// records returns the records at (name, type) of zone as the backend reads
// them, sorted by data.
func (h *harness) records(zone, name, typ string) []libdns.RR {
	h.t.Helper()
	var out []libdns.RR
	for _, rr := range readBackend(h.t, h.fx, zone) {
		if rr.Name == name && rr.Type == typ {
			out = append(out, rr)
		}
	}
	slices.SortFunc(out, func(a, b libdns.RR) int { return strings.Compare(a.Data, b.Data) })
	return out
}

// served returns what the DNS server answers for (name, type) as "ttl data"
// strings (TXT strings joined), sorted; nil when the backend has no server.
func (h *harness) served(name string, qtype uint16) []string {
	h.t.Helper()
	if h.fx.query == nil {
		return nil
	}
	var out []string
	for _, rr := range h.fx.query(h.t, name, qtype) {
		if rr.Header().Rrtype != qtype {
			continue
		}
		var data string
		switch v := rr.(type) {
		case *dns.TXT:
			for _, s := range v.Txt {
				s = unescapeTXT(s)
				if len(s) > 255 {
					h.t.Errorf("%s TXT: a string of %d bytes", name, len(s))
				}
				data += s
			}
		default:
			data = strings.TrimPrefix(rr.String(), rr.Header().String())
		}
		out = append(out, fmt.Sprintf("%d %s", rr.Header().Ttl, data))
	}
	slices.Sort(out)
	return out
}

// assertConverged checks, through the backend's own read, that every
// RRset the policies want holds exactly the wanted owned values.
func (h *harness) assertConverged() {
	h.t.Helper()
	cfg := h.load()
	zones := map[string][]libdns.RR{}
	for _, d := range cfg.Domains {
		sets, err := policy.Compile(d)
		if err != nil {
			h.t.Fatal(err)
		}
		for _, rs := range sets {
			live, ok := zones[rs.Zone]
			if !ok {
				live = readBackend(h.t, h.fx, rs.Zone)
				zones[rs.Zone] = live
			}
			var have []string
			for _, rr := range live {
				if rr.Name == providers.RelativeName(rs.Name, rs.Zone) && rr.Type == rs.Type && rs.Owns(rr.Data) {
					have = append(have, rr.Data)
				}
			}
			var want []string
			if !rs.Absent {
				for _, v := range rs.Values {
					c, err := providers.CanonicalData(rs.Type, v, rs.Zone)
					if err != nil {
						h.t.Fatal(err)
					}
					want = append(want, c)
				}
			}
			slices.Sort(have)
			slices.Sort(want)
			if !slices.Equal(have, want) {
				h.t.Errorf("zone %s, %s %s: backend has %q, policy wants %q", rs.Zone, rs.Name, rs.Type, have, want)
			}
		}
	}
}

// measurement is one row of the call table.
type measurement struct {
	backend, scenario, step string
	c                       calls
}

var (
	tableMu stdsync.Mutex
	table   []measurement
)

// measure records a run's calls for the table printed at the end.
func (h *harness) measure(step string, c calls) {
	tableMu.Lock()
	defer tableMu.Unlock()
	table = append(table, measurement{backend: h.backend, scenario: h.scenario, step: step, c: c})
	if want, ok := wantWire[h.scenario+"/"+step][h.backend]; ok && c.wire != want {
		h.t.Errorf("%s: %d requests on the wire (%s), want %d", step, c.wire, c.wireLog, want)
	}
	// The wrapper's per-request count (the provider_requests_total metric
	// with operation "request") must see every request the fake served.
	if h.fx.typ == "cloudflare" || h.fx.typ == "route53" || h.fx.typ == "desec" {
		if c.gated != c.wire {
			h.t.Errorf("%s: the wrapper counted %d requests, the fake served %d", step, c.gated, c.wire)
		}
	}
}
