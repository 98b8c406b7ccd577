package policy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Lists past what a record can hold, and an SPF with more lookup terms than
// RFC 7208 allows, are refused at load with the file and line.
func TestLoadLimits(t *testing.T) {
	many := make([]string, MaxListItems+1)
	for i := range many {
		many[i] = fmt.Sprintf("10.0.%d.%d", i/250, i%250+1)
	}
	includes := make([]string, 11)
	for i := range includes {
		includes[i] = fmt.Sprintf(`"include:s%d.example.net"`, i)
	}
	for _, tc := range []struct{ name, policy, want string }{
		{"101 addresses", "mail_hosts:\n  - name: mail\n    ipv4: [" + strings.Join(many, ", ") + "]\n",
			"p.yaml:5: ipv4 has 101 items, at most 100 are allowed"},
		{"11 includes", "mail_hosts: [{name: mail, ipv4: [192.0.2.1]}]\nspf:\n  mechanisms: [" + strings.Join(includes, ", ") + "]\n",
			"p.yaml:4: spf: 11 mechanisms that need DNS lookups, the limit is 10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "policies"), 0o755); err != nil {
				t.Fatal(err)
			}
			cfg := filepath.Join(dir, "maildns.yaml")
			if err := os.WriteFile(cfg, []byte("policies: [\"policies/*.yaml\"]\nproviders:\n  local: {type: zonefile, directory: zones}\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "policies", "p.yaml"), []byte("domain: example.com\nprovider: local\n"+tc.policy), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadConfig(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("LoadConfig error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
