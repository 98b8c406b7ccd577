package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maildns/maildns/internal/testbind"
)

// The reverse zone is the ISP's (served here by a real BIND 9 on loopback):
// maildns only checks it. A wrong PTR makes the audit exit 2 with a finding
// that carries the request to send to the ISP; a correct one exits 0.
func TestDryRunPTRChecked(t *testing.T) {
	for _, tc := range []struct {
		name, ptr string
		want      int
	}{
		{"wrong PTR", "host-25.isp.example.", exitDrift},
		{"correct PTR", "mail.example.com.", exitOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := testbind.Start(t, testbind.Zone{Name: "113.0.203.in-addr.arpa", Content: `$ORIGIN 113.0.203.in-addr.arpa.
$TTL 300
@	SOA	ns1.isp.example. hostmaster.isp.example. 1 3600 600 86400 300
@	NS	ns1.isp.example.
25	PTR	` + tc.ptr + `
`})
			dir := writeTree(t, map[string]string{
				"maildns.yaml":              fmt.Sprintf("policies: [\"policies/*.yaml\"]\nresolvers: [\"%s\"]\nproviders:\n  local: {type: zonefile, directory: zones}\n", srv.Addr),
				"policies/example.com.yaml": "domain: example.com\nprovider: local\nmail_hosts: [{name: mail, ipv4: [203.0.113.25]}]\n",
				"zones/example.com.zone": `$ORIGIN example.com.
$TTL 3600
@	SOA	ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 3600
@	NS	ns1.example.com.
ns1	A	203.0.113.53
@	MX	10 mail.example.com.
@	TXT	"v=spf1 ip4:203.0.113.25 -all"
mail	A	203.0.113.25
`,
			})
			code, stdout, stderr := e2eRun(t, "--config", filepath.Join(dir, "maildns.yaml"), "--dry-run", "--output", "json")
			if code != tc.want {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.want, stdout, stderr)
			}
			var plan struct {
				Zones []struct {
					Status string `json:"status"`
				} `json:"zones"`
				Findings []struct {
					Severity   string `json:"severity"`
					Kind       string `json:"kind"`
					Subject    string `json:"subject"`
					ISPRequest string `json:"isp_request"`
				} `json:"findings"`
			}
			if err := json.Unmarshal([]byte(stdout), &plan); err != nil {
				t.Fatalf("plan is not JSON: %v\n%s", err, stdout)
			}
			for _, z := range plan.Zones {
				if z.Status != "in_sync" {
					t.Errorf("zone status %s, want in_sync (only the PTR is wrong)", z.Status)
				}
			}
			var ptr []string
			for _, f := range plan.Findings {
				if f.Kind == "ptr" {
					ptr = append(ptr, f.Severity+" "+f.Subject+" "+f.ISPRequest)
				}
			}
			if tc.want == exitOK {
				if len(ptr) != 0 {
					t.Errorf("findings for a correct PTR: %q", ptr)
				}
				return
			}
			want := "action 203.0.113.25 Please set the reverse DNS (PTR) of 203.0.113.25 to mail.example.com. (currently: host-25.isp.example.)"
			if len(ptr) != 1 || !strings.HasPrefix(ptr[0], want) {
				t.Errorf("ptr findings %q, want one starting %q", ptr, want)
			}
			if !strings.Contains(stderr, `"msg":"ptr needs ISP action"`) {
				t.Errorf("no 'ptr needs ISP action' log line:\n%s", stderr)
			}
		})
	}
}
