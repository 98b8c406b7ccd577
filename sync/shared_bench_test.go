package sync

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/sync/check"
)

// oneZone is n domains (m<i>.z.example) in one zone z.example, one in
// ten drifting (SPF and MX), each with foreign records beside its own.
func oneZone(n int) ([]libdns.RR, map[string][]policy.RRset) {
	const zone = "z.example"
	live := []libdns.RR{
		tRR("@", "SOA", time.Hour, "ns1.z.example. h.z.example. 1 7200 3600 1209600 3600"),
		tRR("@", "NS", time.Hour, "ns1.z.example."),
	}
	desired := map[string][]policy.RRset{}
	for i := range n {
		label := fmt.Sprintf("m%d", i)
		dom := label + "." + zone
		mx, spf := "10 mail."+dom+".", "v=spf1 mx -all"
		sets := []policy.RRset{
			tOwned(dom, zone, "mail."+label, "A", time.Hour, "203.0.113.25"),
			tOwned(dom, zone, label, "MX", time.Hour, mx),
			tOwnedSPF(dom, zone, spf),
			tOwned(dom, zone, "_dmarc."+label, "TXT", time.Hour, "v=DMARC1; p=reject"),
		}
		sets[2].Name = label
		desired[dom] = sets
		if i%10 == 0 {
			mx, spf = "10 old."+dom+".", "v=spf1 mx ~all"
		}
		live = append(live,
			tRR("mail."+label, "A", time.Hour, "203.0.113.25"),
			tRR(label, "MX", time.Hour, mx),
			tRR(label, "TXT", time.Hour, spf),
			tRR(label, "TXT", time.Hour, "google-site-verification="+label),
			tRR("_dmarc."+label, "TXT", time.Hour, "v=DMARC1; p=reject"),
			tRR("www."+label, "A", time.Hour, "192.0.2.80"),
		)
	}
	return live, desired
}

// BenchmarkRunOnceSharedZone applies 2,000 domains of one zone, 200 of them
// drifting, with the SPF hold and the journal: every per-domain step must
// look the zone up by its index, not scan it (a scan per domain is
// quadratic in the domains sharing the zone).
func BenchmarkRunOnceSharedZone(b *testing.B) {
	const n = 2000
	live, desired := oneZone(n)
	cfg := &policy.Config{
		File:      "maildns.yaml",
		Safety:    policy.Safety{MaxChanges: 10},
		Providers: map[string]*policy.ProviderConfig{"mem": {Name: "mem", Type: "fake", Settings: map[string]string{"store": b.Name()}}},
	}
	for dom := range desired {
		cfg.Domains = append(cfg.Domains, &policy.Domain{Domain: dom, Provider: "mem", Zone: "z.example", TTL: time.Hour})
	}
	b.Cleanup(func() { fakeStores.Delete(b.Name()) })
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		newFakeStore(b.Name(), map[string][]libdns.RR{"z.example.": live})
		cfg.Dir, cfg.StateDir = b.TempDir(), b.TempDir()
		e := sharedEngine(b, cfg, desired)
		b.StartTimer()
		plan, err := e.Run(context.Background(), Options{Mode: ModeOnce})
		if err != nil {
			b.Fatal(err)
		}
		if got := plan.Summary.Update + plan.Summary.Create; got != 2*n/10 {
			b.Fatalf("%d changes applied, want %d", got, 2*n/10)
		}
	}
}

// BenchmarkSharedZoneSteps runs the per-domain steps of applying 10,000
// domains of one zone (1,000 drifting): the SPF hold of each and the
// journal's before-state of each drifting one. Looked up by the zone's
// index they cost the same per domain whatever the zone's size.
func BenchmarkSharedZoneSteps(b *testing.B) {
	live, desired := oneZone(10000)
	z := &zoneState{key: zoneKey{"mem", "z.example"}, fqdn: "z.example.", live: live}
	for dom, sets := range desired {
		d := &policy.Domain{Domain: dom, Provider: "mem", Zone: "z.example", TTL: time.Hour}
		r := &domainRun{d: d, sets: sets, zone: z}
		z.parts = append(z.parts, &domainZone{domain: d, main: true, sets: sets, run: r, shareApply: &shareApply{}})
	}
	planZone(z, true)
	resolver := check.NewZoneResolver(map[string][]libdns.RR{"z.example": live}, nil)
	log := slog.New(slog.DiscardHandler)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for _, p := range z.parts {
			p.spf = spfUnchecked
			holdSPF(ctx, log, resolver, z, p)
			if len(p.plan.Changes) > 0 {
				n += len(touched(p.plan.Changes, z.live, z.liveIndexed()))
			}
		}
		if n != 2000 {
			b.Fatalf("%d RRsets journalled, want 2000", n)
		}
	}
}

// BenchmarkRunOnceSharedZoneFile is --once on one zone file shared by
// 10,000 domains (60,000 records), 1,000 of them drifting, with the
// journal: the zone-file write path (one conditional write, read back,
// verify) as it runs, plan included.
func BenchmarkRunOnceSharedZoneFile(b *testing.B) {
	const n = 10000
	live, desired := oneZone(n)
	var text strings.Builder
	text.WriteString("$ORIGIN z.example.\n")
	for _, rr := range live {
		data := rr.Data
		if rr.Type == "TXT" {
			data = `"` + data + `"`
		}
		fmt.Fprintf(&text, "%s %d IN %s %s\n", rr.Name, int(rr.TTL.Seconds()), rr.Type, data)
	}
	base, err := os.MkdirTemp("/dev/shm", "maildns-bench-")
	if err != nil {
		base = b.TempDir() // no /dev/shm: the disk's fsyncs are measured too
	} else {
		b.Cleanup(func() { _ = os.RemoveAll(base) })
	}
	zones := filepath.Join(base, "zones")
	if err := os.MkdirAll(zones, 0o755); err != nil {
		b.Fatal(err)
	}
	cfg := &policy.Config{
		File:      "maildns.yaml",
		Dir:       base,
		Safety:    policy.Safety{MaxChanges: 20000},
		Providers: map[string]*policy.ProviderConfig{"mem": {Name: "mem", Type: "zonefile", Settings: map[string]string{"directory": zones}}},
	}
	for dom := range desired {
		cfg.Domains = append(cfg.Domains, &policy.Domain{Domain: dom, Provider: "mem", Zone: "z.example", TTL: time.Hour})
	}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		if err := os.WriteFile(filepath.Join(zones, "z.example.zone"), []byte(text.String()), 0o644); err != nil {
			b.Fatal(err)
		}
		cfg.StateDir = filepath.Join(base, "state")
		_ = os.RemoveAll(cfg.StateDir)
		e := sharedEngine(b, cfg, desired)
		b.StartTimer()
		plan, err := e.Run(context.Background(), Options{Mode: ModeOnce, Offline: true})
		if err != nil {
			b.Fatal(err)
		}
		if got := plan.Summary.Update; got != 2*n/10 {
			b.Fatalf("%d changes applied, want %d (%+v)", got, 2*n/10, plan.Summary)
		}
	}
}

// sharedEngine is an engine on cfg's providers, built anew for each run of
// a benchmark, compiling each domain to its desired sets and resolving
// nothing.
func sharedEngine(b *testing.B, cfg *policy.Config, desired map[string][]policy.RRset) *Engine {
	b.Helper()
	provs, err := BuildProviders(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return &Engine{
		Config: cfg, Providers: provs, Logger: slog.New(slog.DiscardHandler),
		Resolver: check.NewZoneResolver(map[string][]libdns.RR{}, nil),
		Compile:  func(d *policy.Domain) ([]policy.RRset, error) { return desired[d.Domain], nil },
	}
}
