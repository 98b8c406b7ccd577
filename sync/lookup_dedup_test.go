package sync

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maildns/maildns/internal/testdns"
)

// Live lookups are asked once per run, however many domains need them and
// whichever step asks: 20 domains include the same outside SPF record and
// all change their SPF, so the SPF hold before applying and the checks
// after it both look the include up. The server sees each question once;
// names inside the zones read this run never reach it.
func TestRunAsksEachLookupOnce(t *testing.T) {
	srv := testdns.Start(t, `_spf.provider.example. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"`)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "maildns.yaml"), fmt.Sprintf(`policies: ["policies/*.yaml"]
state_dir: state
resolvers: ["%s"]
providers:
  local: {type: zonefile, directory: zones}
`, srv.Addr))
	const n = 20
	for i := range n {
		dom := fmt.Sprintf("d%02d.example", i)
		writeFile(t, filepath.Join(dir, "policies", dom+".yaml"), `domain: `+dom+`
provider: local
mail_hosts: [{name: mail, ipv4: [203.0.113.25]}]
spf: {mail_hosts: true, mechanisms: ["include:_spf.provider.example"]}
dmarc: {policy: reject}
`)
		writeFile(t, filepath.Join(dir, "zones", dom+".zone"), `$ORIGIN `+dom+`.
$TTL 3600
@	IN SOA	ns1.`+dom+`. hostmaster.`+dom+`. 1 7200 3600 1209600 3600
@	IN NS	ns1.`+dom+`.
ns1	IN A	203.0.113.53
@	IN MX	10 mail.`+dom+`.
@	IN TXT	"v=spf1 mx -all"
mail	IN A	203.0.113.25
_dmarc	IN TXT	"v=DMARC1; p=reject"
`)
	}
	for _, mode := range []string{ModeOnce, ModeDryRun} {
		before := srv.QueryCount()
		plan, logs := runConfigResolver(t, filepath.Join(dir, "maildns.yaml"), mode, nil)
		if len(plan.Zones) != n {
			t.Fatalf("%s: %d zone plans, want %d\nlogs:\n%s", mode, len(plan.Zones), n, logs)
		}
		asked := map[string]int{}
		for _, q := range srv.Queries()[before:] {
			asked[q.Name+" "+q.Type]++
		}
		for q, k := range asked {
			if strings.Contains(q, ".example. ") && !strings.HasPrefix(q, "_spf.provider.example. ") {
				t.Errorf("%s run: %q went to the server: it is in a zone read this run", mode, q)
			}
			if k != 1 {
				t.Errorf("%s run: %q asked %d times, want once a run", mode, q, k)
			}
		}
		if asked["_spf.provider.example. TXT"] != 1 {
			t.Errorf("%s run: the shared include was asked %d times, want once (asked: %v)", mode, asked["_spf.provider.example. TXT"], asked)
		}
	}
}
