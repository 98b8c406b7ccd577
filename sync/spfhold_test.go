package sync

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maildns/maildns/internal/testdns"
)

// SPEC §6: an SPF record that would need more than 10 DNS lookups through
// the live include tree is not published; the record in place stays.
func TestSPFOverLookupLimitIsNotPublished(t *testing.T) {
	// _spf.provider.example includes a chain of 10 more records: with the
	// policy's own include that is 11 lookups.
	srv := testdns.Start(t, testdns.SPFIncludeChain("provider.example", 10)...)

	for _, tc := range []struct {
		name, include string
		held          bool
	}{
		{"11 lookups: held", "s0.provider.example", true},
		{"10 lookups: published", "s1.provider.example", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "maildns.yaml"), fmt.Sprintf(`policies: ["policies/*.yaml"]
state_dir: state
resolvers: ["%s"]
providers:
  local: {type: zonefile, directory: zones}
`, srv.Addr))
			writeFile(t, filepath.Join(dir, "policies", "example.com.yaml"), `domain: example.com
provider: local
mail_hosts: [{name: mail, ipv4: [203.0.113.25]}]
spf: {mail_hosts: false, mechanisms: ["include:`+tc.include+`"]}
`)
			zone := filepath.Join(dir, "zones", "example.com.zone")
			writeFile(t, zone, `$ORIGIN example.com.
$TTL 3600
@	IN SOA	ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 3600
@	IN NS	ns1.example.com.
ns1	IN A	203.0.113.53
@	IN MX	10 mail.example.com.
@	IN TXT	"v=spf1 mx -all"
@	IN TXT	"google-site-verification=abc"
mail	IN A	203.0.113.25
`)
			plan, logs := runConfigResolver(t, filepath.Join(dir, "maildns.yaml"), ModeOnce, nil)
			data, err := os.ReadFile(zone)
			if err != nil {
				t.Fatal(err)
			}
			published := strings.Contains(string(data), "include:"+tc.include)
			zp := zonePlan(t, plan, "example.com")
			var safety, desired bool
			for _, f := range plan.Findings {
				if f.Kind == KindSPF && f.Severity == SevError && f.Subject == "safety" {
					safety = true
				}
				if f.Kind == KindSPF && f.Severity == SevError && f.Subject == SubjectDesired && strings.Contains(f.Message, "11 DNS lookups") {
					desired = true
				}
			}
			if tc.held {
				if published || !strings.Contains(string(data), `"v=spf1 mx -all"`) {
					t.Errorf("the 11-lookup SPF was published; zone:\n%s", data)
				}
				if zp.Status != StatusRefused || !safety || !desired {
					t.Errorf("status %s, safety finding %v, lookup finding %v; want refused, true, true\nfindings: %+v\nlogs:\n%s", zp.Status, safety, desired, plan.Findings, logs)
				}
			} else {
				if !published || zp.Status != StatusApplied || safety {
					t.Errorf("published %v, status %s, safety finding %v; want true, applied, false\nfindings: %+v", published, zp.Status, safety, plan.Findings)
				}
			}
			if !strings.Contains(string(data), "google-site-verification=abc") {
				t.Errorf("a foreign TXT was lost:\n%s", data)
			}
		})
	}
}
