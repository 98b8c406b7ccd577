package sync_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/providers"
	"github.com/maildns/maildns/sync"
	"github.com/maildns/maildns/sync/daemon"
)

// These tests run the engine through sync/daemon's runner; sync/daemon
// imports sync, so they are in package sync_test (export_test.go names
// what they need of the package's test fakes).

// The daemon loads the config, its policies and their key files once (and
// again only on a reload): its runs use what was loaded, so between runs no
// policy or key file is read or parsed again. With the files gone, the next
// run still plans from the loaded config.
func TestDaemonRunsDoNotReadPolicyFiles(t *testing.T) {
	dir := t.TempDir()
	keyPEM := "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n"
	files := map[string]string{
		"maildns.yaml": "policies: [\"policies/*.yaml\"]\nstate_dir: state\nlive_checks: false\nproviders:\n  mem: {type: fake, store: " + t.Name() + "}\n",
		"policies/example.com.yaml": "domain: example.com\nprovider: mem\nmail_hosts:\n  - {name: mail, ipv4: [192.0.2.25]}\n" +
			"spf: {mail_hosts: true}\ndkim:\n  - {selector: s1, key_file: ../keys/s1.pem}\ndmarc: {policy: reject}\n",
		"keys/s1.pem": keyPEM,
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sync.NewFakeStore(t.Name(), map[string][]libdns.RR{"example.com.": {sync.FakeRR("@", "NS", time.Hour, "ns1.example.net.")}})
	t.Cleanup(func() { sync.DeleteFakeStore(t.Name()) })

	cfg, err := policy.LoadConfig(filepath.Join(dir, "maildns.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	run, err := daemon.EngineRunner(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	first, err := run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if first.Summary.Create == 0 {
		t.Fatalf("first run planned no change: %+v", first.Summary)
	}
	for _, name := range []string{"policies/example.com.yaml", "keys/s1.pem", "maildns.yaml"} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	second, err := run(context.Background())
	if err != nil {
		t.Fatalf("a run after the policy files are gone: %v (it read them again)", err)
	}
	// The first run applied its changes: the second finds the zone in sync,
	// planned from the same (loaded) policy.
	if second.Summary.Create+second.Summary.Update+second.Summary.Delete != 0 || second.Summary.Errors != 0 {
		t.Errorf("second run: %+v, want in sync", second.Summary)
	}
	if d := cmp.Diff(len(first.Zones), len(second.Zones)); d != "" {
		t.Errorf("zones: %s", d)
	}
}

// The daemon's runner keeps a zone cache: its second no-drift cycle over
// zone files makes no GetRecords call.
func TestEngineRunnerCachesZones(t *testing.T) {
	dir := t.TempDir()
	sync.WriteTestFile(t, filepath.Join(dir, "maildns.yaml"), "policies: [\"policies/*.yaml\"]\nstate_dir: state\nlive_checks: false\n"+
		"providers:\n  cachedlocal: {type: zonefile, directory: zones}\n")
	sync.WriteTestFile(t, filepath.Join(dir, "policies", "a.example.yaml"), "domain: a.example\nprovider: cachedlocal\n"+
		"mail_hosts: [{name: mail, ipv4: [203.0.113.25]}]\n")
	sync.WriteTestFile(t, filepath.Join(dir, "zones", "a.example.zone"), strings.ReplaceAll(sync.CacheZone, "%s", "a.example"))
	cfg, err := policy.LoadConfig(filepath.Join(dir, "maildns.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	run, err := daemon.EngineRunner(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	reads := func() int64 {
		return providers.DefaultCounts.Get("cachedlocal", providers.OpGetRecords, providers.ResultOK)
	}
	for i := range 2 {
		if _, err := run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if reads() == 0 {
			t.Fatalf("cycle %d: zone not read", i+1)
		}
	}
	before := reads()
	plan, err := run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := reads() - before; got != 0 {
		t.Errorf("no-drift cycle: %d GetRecords calls, want 0", got)
	}
	if plan.Zones[0].Status != sync.StatusInSync {
		t.Errorf("no-drift cycle: %+v", plan.Zones[0])
	}
}
