package contract

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/maildns/maildns/internal/testbind"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/providers"
	"github.com/maildns/maildns/sync"
)

// BenchmarkRFC2136DaemonCycle measures a daemon cycle in which nothing
// changed, over N zones of one domain each on BIND (N from
// MAILDNS_BENCH_RFC2136_ZONES, default 100; 10000 is the size and
// takes minutes to set up). Each op is one cycle of an engine kept between
// cycles with its providers and zone cache, as the daemon keeps them,
// talking to BIND directly; one cycle of a second such engine through a
// counting proxy gives the wire figures. Reported per cycle: requests and
// answers on the wire, SOA queries and transfers, bytes each way, and the
// CPU time of this process (maildns's side; BIND's is not counted).
func BenchmarkRFC2136DaemonCycle(b *testing.B) {
	n := 100
	if v := os.Getenv("MAILDNS_BENCH_RFC2136_ZONES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("MAILDNS_BENCH_RFC2136_ZONES=%q: want a number of zones", v)
		}
	}
	var zones []testbind.Zone
	for i := range n {
		zones = append(zones, testbind.Zone{Name: fmt.Sprintf("d%05d.example", i)})
	}
	srv := testbind.Start(b, zones...)
	proxy := srv.CountingProxy(b)

	// engine builds a daemon's engine for the zones on server addr.
	engine := func(addr string) func() *sync.Plan {
		dir := b.TempDir()
		write := func(rel, s string) {
			p := filepath.Join(dir, rel)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
				b.Fatal(err)
			}
		}
		write("maildns.yaml", fmt.Sprintf("policies: [\"policies/*.yaml\"]\nstate_dir: state\nlive_checks: false\n"+
			"safety: {max_changes: 20}\nproviders:\n  dns: {type: rfc2136, server: %q, key_name: %s, key_algorithm: %s, key: \"${file:tsig.key}\"}\n",
			addr, srv.KeyName, srv.KeyAlg))
		write("tsig.key", srv.KeySecret+"\n")
		for _, z := range zones {
			write(filepath.Join("policies", z.Name+".yaml"), "domain: "+z.Name+"\nprovider: dns\n"+
				"mail_hosts: [{name: mail, ipv4: [203.0.113.25]}]\nspf: {mail_hosts: true}\ndmarc: {policy: reject}\n")
		}
		cfg, err := policy.LoadConfig(filepath.Join(dir, "maildns.yaml"))
		if err != nil {
			b.Fatal(err)
		}
		provs, err := sync.BuildProvidersWith(cfg, providers.WrapOptions{Counts: &providers.Counts{}})
		if err != nil {
			b.Fatal(err)
		}
		e := &sync.Engine{Config: cfg, Providers: provs, Logger: slog.New(slog.DiscardHandler),
			ZoneCache: &sync.ZoneCache{FullReadEvery: sync.DefaultFullReadEvery}}
		return func() *sync.Plan {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			plan, err := e.Run(ctx, sync.Options{Mode: sync.ModeDaemon, Offline: true})
			if err != nil {
				b.Fatalf("daemon cycle: %v", err)
			}
			return plan
		}
	}
	inSync := func(plan *sync.Plan) {
		for _, z := range plan.Zones {
			if z.Status != sync.StatusInSync {
				b.Fatalf("zone %s: %s %s", z.Zone, z.Status, z.Error)
			}
		}
	}

	direct := engine(srv.Addr)
	direct() // converges every zone
	direct() // reads every zone written in full
	inSync(direct())

	counted := engine(proxy.Addr)
	counted()
	counted()
	proxy.Reset()
	inSync(counted())
	c, tr := proxy.Counts(), proxy.Traffic()
	if tr.ByType["SOA"] != n || c.Requests != n {
		b.Errorf("no-drift cycle over %d zones: %d requests %v, want one SOA query per zone", n, c.Requests, tr.ByType)
	}

	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	b.ResetTimer()
	c0 := cpu()
	for b.Loop() {
		direct()
	}
	used := cpu() - c0
	b.StopTimer()
	b.ReportMetric(float64(used.Microseconds())/1000/float64(b.N), "cpu-ms/cycle")
	b.ReportMetric(float64(c.Requests), "requests/cycle")
	b.ReportMetric(float64(c.Responses), "answers/cycle")
	b.ReportMetric(float64(tr.ByType["SOA"]), "soa/cycle")
	b.ReportMetric(float64(tr.ByType["AXFR"]+tr.ByType["IXFR"]), "transfers/cycle")
	b.ReportMetric(float64(tr.RequestBytes), "bytes-out/cycle")
	b.ReportMetric(float64(tr.ResponseBytes), "bytes-in/cycle")
	b.Logf("%d zones on BIND, no-drift cycle: %s", n, strings.TrimSpace(fmt.Sprintf("%d requests %v, %d answers, %d bytes out, %d bytes in",
		c.Requests, tr.ByType, c.Responses, tr.RequestBytes, tr.ResponseBytes)))
}
