package sync

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
)

// benchDomain is one domain's policy and a zone with drift in one RRset in
// ten and as many foreign records as owned ones.
func benchDomain(i int) (string, []policy.RRset, []libdns.RR) {
	dom := fmt.Sprintf("d%05d.example", i)
	sets := []policy.RRset{
		tOwned(dom, dom, "mail", "A", time.Hour, "203.0.113.25"),
		tOwned(dom, dom, "mail", "AAAA", time.Hour, "2001:db8::25"),
		tOwned(dom, dom, "@", "MX", time.Hour, "10 mail."+dom+"."),
		tOwnedSPF(dom, dom, "v=spf1 ip4:203.0.113.25 ip6:2001:db8::25 -all"),
		tOwned(dom, dom, "s1._domainkey", "TXT", time.Hour, "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="),
		tOwned(dom, dom, "_dmarc", "TXT", time.Hour, "v=DMARC1; p=reject; rua=mailto:d@"+dom),
	}
	var live []libdns.RR
	for j, s := range sets {
		for _, v := range s.Values {
			if j == i%10 {
				v = "v=spf1 mx ~all" // drift in one domain's RRset
				if s.Type == "A" {
					v = "198.51.100.7"
				} else if s.Type == "AAAA" {
					v = "2001:db8::99"
				} else if s.Type == "MX" {
					v = "10 old." + dom + "."
				}
			}
			live = append(live, tRR(s.Name, s.Type, time.Hour, v))
		}
	}
	live = append(live,
		tRR("@", "SOA", time.Hour, "ns1."+dom+". h."+dom+". 1 7200 3600 1209600 3600"),
		tRR("@", "NS", time.Hour, "ns1."+dom+"."),
		tRR("@", "TXT", time.Hour, "google-site-verification=abc"),
		tRR("www", "A", time.Hour, "192.0.2.80"),
		tRR("www", "AAAA", time.Hour, "2001:db8::80"),
		tRR("ftp", "CNAME", time.Hour, "www."+dom+"."),
	)
	return dom, sets, live
}

func BenchmarkDiff(b *testing.B) {
	_, sets, live := benchDomain(3)
	b.ReportAllocs()
	for b.Loop() {
		Diff(sets, live)
	}
}

// BenchmarkRunDryRun1000 plans 1,000 domains, each in its own zone, read
// from an in-memory provider through the registry and the shared wrapper.
func BenchmarkRunDryRun1000(b *testing.B) {
	e := benchEngineOf(b, 1000)
	b.ReportAllocs()
	for b.Loop() {
		plan, err := e.Run(context.Background(), Options{Mode: ModeDryRun, Offline: true})
		if err != nil || len(plan.Zones) != 1000 {
			b.Fatalf("%d zones, err %v", len(plan.Zones), err)
		}
	}
}

// BenchmarkDryRunJSON1000 is BenchmarkRunDryRun1000 with the checks'
// scorecards and the plan written as JSON: the engine's whole work per
// domain after the zone read (plan, checks, assemble, output), reported
// per domain as well.
func BenchmarkDryRunJSON1000(b *testing.B) {
	e := benchEngineOf(b, 1000)
	b.ReportAllocs()
	for b.Loop() {
		plan, err := e.Run(context.Background(), Options{Mode: ModeDryRun, Offline: true})
		if err != nil || len(plan.Zones) != 1000 || len(plan.Scorecard()) == 0 {
			b.Fatalf("%d zones, %d scorecard lines, err %v", len(plan.Zones), len(plan.Scorecard()), err)
		}
		if err := WriteJSON(io.Discard, plan); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/domain")
}

// benchEngineOf is benchEngine over n domains of benchDomain, each in its
// own zone.
func benchEngineOf(b *testing.B, n int) *Engine {
	zones := map[string][]libdns.RR{}
	desired := map[string][]policy.RRset{}
	for i := range n {
		dom, sets, live := benchDomain(i)
		zones[dom+"."] = live
		desired[dom] = sets
	}
	return benchEngine(b, zones, desired)
}

// benchEngine is testEngine for benchmarks.
func benchEngine(b *testing.B, zones map[string][]libdns.RR, desired map[string][]policy.RRset) *Engine {
	b.Helper()
	newFakeStore(b.Name(), zones)
	b.Cleanup(func() { fakeStores.Delete(b.Name()) })
	cfg := &policy.Config{
		File:      "maildns.yaml",
		Dir:       b.TempDir(),
		StateDir:  b.TempDir(),
		Safety:    policy.Safety{MaxChanges: 10},
		Providers: map[string]*policy.ProviderConfig{"mem": {Name: "mem", Type: "fake", Settings: map[string]string{"store": b.Name()}}},
	}
	for dom := range desired {
		cfg.Domains = append(cfg.Domains, &policy.Domain{Domain: dom, Provider: "mem", Zone: dom, TTL: time.Hour})
	}
	provs, err := BuildProviders(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return &Engine{
		Config:    cfg,
		Providers: provs,
		Logger:    slog.New(slog.DiscardHandler),
		Compile:   func(d *policy.Domain) ([]policy.RRset, error) { return desired[d.Domain], nil },
	}
}
