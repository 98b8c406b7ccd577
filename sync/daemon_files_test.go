package sync

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
)

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
	newFakeStore(t.Name(), map[string][]libdns.RR{"example.com.": {tRR("@", "NS", tHour, "ns1.example.net.")}})
	t.Cleanup(func() { fakeStores.Delete(t.Name()) })

	cfg, err := policy.LoadConfig(filepath.Join(dir, "maildns.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	run, err := EngineRunner(cfg, slog.New(slog.DiscardHandler))
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
