package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maildns/maildns/internal/testdns"
)

// An audit of a domain whose SPF is broken in the live zone or through its
// include tree exits 2 and names the problem.
func TestDryRunNamesBrokenSPF(t *testing.T) {
	srv := testdns.Start(t, testdns.SPFIncludeChain("provider.example", 10)...)

	for _, tc := range []struct {
		name, spf, liveTXT, want string
	}{
		{
			name:    "two SPF records at the apex",
			spf:     `{mail_hosts: true}`,
			liveTXT: "@ IN TXT \"v=spf1 ip4:203.0.113.25 -all\"\n@ IN TXT \"v=spf1 include:_spf.colleague.example ~all\"\n",
			want:    "2 SPF records at example.com",
		},
		{
			name:    "an include tree of 11 lookups",
			spf:     `{mail_hosts: false, mechanisms: ["include:s0.provider.example"]}`,
			liveTXT: "@ IN TXT \"v=spf1 include:s0.provider.example -all\"\n",
			want:    "SPF needs 11 DNS lookups",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeTree(t, map[string]string{
				"maildns.yaml":              fmt.Sprintf("policies: [\"policies/*.yaml\"]\nresolvers: [\"%s\"]\nproviders:\n  local: {type: zonefile, directory: zones}\n", srv.Addr),
				"policies/example.com.yaml": "domain: example.com\nprovider: local\nmail_hosts: [{name: mail, ipv4: [203.0.113.25]}]\nspf: " + tc.spf + "\nptr: {mode: \"off\"}\n",
				"zones/example.com.zone":    "$ORIGIN example.com.\n$TTL 3600\n@ IN SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 3600\n@ IN NS ns1.example.com.\nns1 IN A 203.0.113.53\n@ IN MX 10 mail.example.com.\nmail IN A 203.0.113.25\n" + tc.liveTXT,
			})
			code, stdout, stderr := e2eRun(t, "--config", filepath.Join(dir, "maildns.yaml"), "--dry-run")
			if code != exitDrift {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitDrift, stdout, stderr)
			}
			if !strings.Contains(stdout, tc.want) {
				t.Errorf("the plan does not name the problem (%q):\n%s", tc.want, stdout)
			}
		})
	}
}

// writeTree writes files (path relative to a new temporary directory ->
// content) and returns the directory.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
