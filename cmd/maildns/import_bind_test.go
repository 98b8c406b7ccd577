package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maildns/maildns/internal/testbind"
)

// The example after --once, served by BIND: import through rfc2136 (AXFR),
// and the imported policies validate and dry-run with no change there.
func TestImportRoundTripOnBIND(t *testing.T) {
	cfg := e2eExample(t)
	dir := filepath.Dir(cfg)
	if code, out, errOut := e2eRun(t, "--config", cfg, "--once"); code != 0 {
		t.Fatalf("--once: exit %d\n%s%s", code, out, errOut)
	}
	var zones []testbind.Zone
	for _, z := range []string{"example.com", "example.net", "113.0.203.in-addr.arpa", "8.b.d.0.1.0.0.2.ip6.arpa"} {
		data, err := os.ReadFile(filepath.Join(dir, "zones", z+".zone"))
		if err != nil {
			t.Fatal(err)
		}
		zones = append(zones, testbind.Zone{Name: z, Content: string(data)})
	}
	srv := testbind.Start(t, zones...)
	keyFile := filepath.Join(dir, "tsig.key")
	if err := os.WriteFile(keyFile, []byte(srv.KeySecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bindCfg := filepath.Join(dir, "bind.yaml")
	conf := fmt.Sprintf(`policies: ["bind-policies/*.yaml"]
state_dir: bind-state
live_checks: false
providers:
  ns: {type: rfc2136, server: %q, key_name: %q, key_algorithm: %q, key: "${file:%s}"}
`, srv.Addr, srv.KeyName, srv.KeyAlg, keyFile)
	if err := os.WriteFile(bindCfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, z := range []string{"example.com", "example.net"} {
		code, out, errOut := e2eRun(t, "import", "--config", bindCfg, "--provider", "ns", "--zone", z, "--out", filepath.Join(dir, "bind-policies"))
		if code != 0 {
			t.Fatalf("import %s: exit %d\n%s%s", z, code, out, errOut)
		}
	}
	com, _ := os.ReadFile(filepath.Join(dir, "bind-policies", "example.com.yaml"))
	for _, want := range []string{"provider: ns", "selector: s2026", "ptr:\n  provider: ns", "dmarc:"} {
		if !strings.Contains(string(com), want) {
			t.Errorf("imported example.com lacks %q:\n%s", want, com)
		}
	}
	if strings.Contains(string(com), srv.KeySecret) {
		t.Error("the TSIG secret is in an imported policy")
	}
	roundTrip(t, bindCfg)
	if code, out, errOut := e2eRun(t, "--config", bindCfg, "--once"); code != 0 || !strings.Contains(out, "· 0 changes (") {
		t.Errorf("--once on the imported policies: exit %d\n%s%s", code, out, errOut)
	}
}
