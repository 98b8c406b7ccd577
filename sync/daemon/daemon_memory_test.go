package daemon

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/maildns/maildns/internal/heaptest"
	"github.com/maildns/maildns/policy"
	_ "github.com/maildns/maildns/providers/zonefile" // the backend of the site
	"github.com/maildns/maildns/sync"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// writeSite writes a daemon's setup of n domains under dir: a config (zone
// files, live checks off), one policy per domain and a zone file per zone,
// perZone domains sharing each zone (1: each its own). Every domain has an
// Ed25519 DKIM key; every third one is in a staged rotation (s1 retired by
// date, s2 signing), so that its run policy differs from the config's. The
// zones hold foreign records and none of the policies' records: the first
// cycle writes them.
func writeSite(t *testing.T, dir string, n, perZone int) {
	writeFile(t, filepath.Join(dir, "maildns.yaml"), "policies: [\"policies/*.yaml\"]\nstate_dir: state\nlive_checks: false\n"+
		"providers:\n  local: {type: zonefile, directory: zones}\n")
	zones := map[string]*strings.Builder{}
	var order []string
	for i := range n {
		domain, zone := fmt.Sprintf("d%04d.example", i), ""
		if perZone > 1 {
			zone = fmt.Sprintf("z%03d.example", i/perZone)
			domain = fmt.Sprintf("m%d.%s", i%perZone, zone)
		}
		zname := domain
		if zone != "" {
			zname = zone
		}
		zb := zones[zname]
		if zb == nil {
			zb = &strings.Builder{}
			zones[zname] = zb
			order = append(order, zname)
			fmt.Fprintf(zb, "$ORIGIN %s.\n$TTL 3600\n@ IN SOA ns1 hostmaster 1 7200 3600 1209600 3600\n@ IN NS ns1\nns1 IN A 192.0.2.53\n", zname)
		}
		fmt.Fprintf(zb, "www.%s. IN A 192.0.2.80\n%s. IN TXT \"site-verification=%d\"\n", domain, domain, i)
		key := func(sel int) string {
			seed := make([]byte, ed25519.SeedSize)
			copy(seed, fmt.Sprintf("%d-%d", i, sel))
			der, err := x509.MarshalPKIXPublicKey(ed25519.NewKeyFromSeed(seed).Public())
			if err != nil {
				t.Fatal(err)
			}
			return base64.StdEncoding.EncodeToString(der)
		}
		dkim := "dkim:\n  - {selector: s1, key: " + key(1) + "}\n"
		if i%3 == 0 {
			dkim = "dkim:\n  - {selector: s1, key: " + key(1) + ", retire_at: 2020-01-01}\n  - {selector: s2, key: " + key(2) + "}\n"
		}
		zoneLine := ""
		if zone != "" {
			zoneLine = "zone: " + zone + "\n"
		}
		writeFile(t, filepath.Join(dir, "policies", domain+".yaml"), "domain: "+domain+"\nprovider: local\n"+zoneLine+
			fmt.Sprintf("mail_hosts: [{name: mail, ipv4: [198.18.%d.%d]}]\n", i/250, i%250+1)+
			"spf: {mail_hosts: true, all: fail}\n"+dkim+"dmarc: {policy: reject, rua: [\"mailto:dmarc@"+domain+"\"]}\n")
	}
	for _, z := range order {
		writeFile(t, filepath.Join(dir, "zones", z+".zone"), zones[z].String())
	}
}

// The daemon's runs keep no more memory as they go on: what it keeps
// between cycles (zone reads, compiled policies) is one cycle's worth.
// Before, every run compiled each policy again and kept the result (the
// compile cache was keyed by the rotation's copy of the policy, a new one
// every run): about 1.6 KB per domain per cycle.
func TestDaemonMemorySteady(t *testing.T) {
	const n, cycles = 300, 10
	dir := t.TempDir()
	writeSite(t, dir, n, 1)
	_, run := loadRunner(t, dir)
	var at3 uint64
	for i := 1; i <= cycles; i++ {
		plan, err := run(context.Background())
		if err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		want := sync.StatusInSync
		if i == 1 {
			want = sync.StatusApplied
		}
		for _, z := range plan.Zones {
			if z.Status != want {
				t.Fatalf("cycle %d: %s is %s, want %s", i, z.Domain, z.Status, want)
			}
		}
		plan = nil
		switch h := heaptest.Live(); i {
		case 3:
			at3 = h
		case cycles:
			// 100 bytes per domain and cycle is far below what a kept
			// plan, zone or policy costs.
			if bound := uint64(100 * n * (cycles - 3)); h > at3+bound {
				t.Errorf("live heap grew from %d KB after cycle 3 to %d KB after cycle %d (bound %d KB)",
					at3>>10, h>>10, cycles, bound>>10)
			}
			t.Logf("live heap after cycle 3: %d KB, after cycle %d: %d KB", at3>>10, cycles, h>>10)
		}
	}
}

// What the daemon keeps between cycles besides its config (the memo of
// each domain's results, the zone cache, the compiled policies, the
// status file's record) stays within a bound a domain. Measured at 1,000
// domains (a zone each, quiet after the second cycle): 5.1 KB a domain
// before the zone cache's records were packed, the status record kept once
// and the scorecard left out of the daemon's plans; 3.0 KB after.
func TestDaemonKeepsLittleADomain(t *testing.T) {
	const n = 1000
	dir := t.TempDir()
	writeSite(t, dir, n, 1)
	cfg, run := loadRunner(t, dir)
	before := heaptest.Live()
	for i := 1; i <= 4; i++ {
		start := time.Now()
		plan, err := run(context.Background())
		if err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		if err := sync.RecordRun(cfg.StateDir, sync.ModeDaemon, plan, nil, start, time.Now(), time.Time{}, ""); err != nil {
			t.Fatal(err)
		}
	}
	per := (int64(heaptest.Live()) - int64(before)) / n
	t.Logf("kept between cycles: %d bytes a domain", per)
	if per > 3500 {
		t.Errorf("the daemon keeps %d bytes a domain between cycles, want at most 3,500", per)
	}
	runtime.KeepAlive(cfg)
	runtime.KeepAlive(run)
}

// A policy file changed and reloaded (SIGHUP builds a new runner from the
// new config) is planned again at once and its drift corrected, though no
// zone changed.
func TestMemoReloadReplansChangedPolicy(t *testing.T) {
	dir := t.TempDir()
	writeSite(t, dir, 5, 1)
	load := func() Runner {
		_, run := loadRunner(t, dir)
		return run
	}
	run := load()
	status := func(name string) string {
		t.Helper()
		plan, err := run(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, z := range plan.Zones {
			if z.Domain == "d0001.example" {
				return z.Status
			}
		}
		t.Fatalf("%s: no plan for d0001.example", name)
		return ""
	}
	for i, want := range []string{sync.StatusApplied, sync.StatusInSync, sync.StatusInSync} {
		if got := status("cycle"); got != want {
			t.Fatalf("cycle %d: d0001.example %s, want %s", i+1, got, want)
		}
	}
	path := filepath.Join(dir, "policies", "d0001.example.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(data), "mailto:dmarc@", "mailto:reports@", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := status("policy file changed, not reloaded"); got != sync.StatusInSync {
		t.Fatalf("before the reload d0001.example %s: the running config changed", got)
	}
	run = load()
	if got := status("reloaded"); got != sync.StatusApplied {
		t.Fatalf("after the reload d0001.example %s, want its new DMARC written", got)
	}
}

// A cycle collects first when one more cycle's allocation would take the
// heap to where the runtime may start a collection (70% of the way from
// the last live heap to the goal), and not before.
func TestCollectFirst(t *testing.T) {
	const mb = 1 << 20
	at := func(inUse, allocated, live, goal uint64) heapStats {
		return heapStats{inUse: inUse * mb, allocated: allocated * mb, live: live * mb, goal: goal * mb}
	}
	for _, c := range []struct {
		name      string
		now, last heapStats
		kept      uint64
		want      bool
	}{
		{"first cycle", at(60, 500, 50, 100), heapStats{}, 0, false},
		{"room for two more cycles", at(55, 520, 50, 100), at(50, 510, 50, 100), 0, false},
		{"room for one more cycle", at(70, 540, 50, 100), at(60, 530, 50, 100), 0, false},
		{"the next cycle would reach the trigger", at(70, 540, 50, 100), at(55, 519, 50, 100), 0, true},
		{"a cycle that allocated much", at(52, 800, 50, 100), at(50, 600, 50, 100), 0, true},
		{"no goal above the live heap", at(60, 540, 50, 50), at(50, 500, 50, 50), 0, false},
		// A collection in the midst of a cycle found 90 MB live (goal
		// 180, trigger from 153 on); what the daemon keeps is 50.
		{"a goal set in the midst of a cycle", at(80, 540, 90, 180), at(70, 530, 90, 180), 50 * mb, true},
		{"the same without what is kept", at(80, 540, 90, 180), at(70, 530, 90, 180), 0, false},
		{"kept above the last live heap", at(55, 520, 50, 100), at(50, 510, 50, 100), 80 * mb, false},
	} {
		if got := collectFirst(c.now, c.last, c.kept); got != c.want {
			t.Errorf("%s: collectFirst = %v, want %v", c.name, got, c.want)
		}
	}
}

// loadRunner loads the config of the site in dir (writeSite) and builds the
// daemon's runner on it.
func loadRunner(t *testing.T, dir string) (*policy.Config, Runner) {
	t.Helper()
	cfg, err := policy.LoadConfig(filepath.Join(dir, "maildns.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	run, err := EngineRunner(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, run
}
