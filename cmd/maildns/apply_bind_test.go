package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/maildns/maildns/internal/testbind"
)

// A saved plan applied through rfc2136 to BIND, with a change made by a
// direct UPDATE (as nsupdate would) between the plan and the apply: the
// changed zone is refused and left as the UPDATE left it, the other zones
// are written; a new plan then applies.
func TestApplySavedPlanOnBIND(t *testing.T) {
	cfg := e2eExample(t)
	dir := filepath.Dir(cfg)
	var zones []testbind.Zone
	for _, z := range []string{"example.com", "example.net", "113.0.203.in-addr.arpa", "8.b.d.0.1.0.0.2.ip6.arpa"} {
		data, err := os.ReadFile(filepath.Join(dir, "zones", z+".zone"))
		if err != nil {
			t.Fatal(err)
		}
		zones = append(zones, testbind.Zone{Name: z, Content: string(data)})
	}
	srv := testbind.StartKind(t, testbind.BIND, zones...)
	// The TSIG secret sits in the config itself: it must not reach the plan.
	e2eReplace(t, cfg, "  local: {type: zonefile, directory: zones}",
		"  ns: {type: rfc2136, server: \""+srv.Addr+"\", key_name: "+srv.KeyName+", key_algorithm: "+srv.KeyAlg+", key: \""+srv.KeySecret+"\"}")
	for _, p := range []string{"example.com.yaml", "example.net.yaml"} {
		path := filepath.Join(dir, "policies", p)
		data, _ := os.ReadFile(path)
		if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(data), "provider: local", "provider: ns")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	plan := savePlanOf(t, cfg)
	data, _ := os.ReadFile(plan)
	if strings.Contains(string(data), srv.KeySecret) {
		t.Fatal("the saved plan holds the TSIG secret")
	}

	// By hand: a TXT at _dmarc.example.com, which the plan creates from
	// nothing.
	update(t, srv, "example.com.", `_dmarc.example.com. 300 IN TXT "v=DMARC1; p=none; rua=mailto:ops@example.com"`)

	code, out, errOut := e2eRun(t, "apply", plan)
	if code != 1 {
		t.Fatalf("apply exit %d, want 1\n%s%s", code, out, errOut)
	}
	change := `_dmarc TXT in zone example.com changed since the plan: planned from nothing, now "v=DMARC1; p=none; rua=mailto:ops@example.com"`
	if !strings.Contains(out, change) || !strings.Contains(errOut, change) {
		t.Errorf("apply does not name the change %q:\n%s%s", change, out, errOut)
	}
	if !strings.Contains(out, "zone example.com at ns: refused") || !strings.Contains(out, "zone example.net at ns: applied") {
		t.Errorf("apply output:\n%s", out)
	}
	if got := answers(t, srv, "example.com.", dns.TypeMX); got != "10 oldmail.example.com." {
		t.Errorf("the refused zone was written: MX %s", got)
	}
	if got := answers(t, srv, "_dmarc.example.com.", dns.TypeTXT); got != `"v=DMARC1; p=none; rua=mailto:ops@example.com"` {
		t.Errorf("the refused zone was written: _dmarc %s", got)
	}
	if got := answers(t, srv, "example.net.", dns.TypeMX); got != "0 ." {
		t.Errorf("example.net not applied: MX %s", got)
	}
	if got := answers(t, srv, "25.113.0.203.in-addr.arpa.", dns.TypePTR); got != "mail.example.com." {
		t.Errorf("the reverse zone not applied: PTR %s", got)
	}

	// A new plan sees the zone as it is now, and applies.
	plan = savePlanOf(t, cfg)
	if code, out, errOut := e2eRun(t, "apply", plan); code != 0 {
		t.Fatalf("apply of the new plan: exit %d\n%s%s", code, out, errOut)
	}
	if got := answers(t, srv, "example.com.", dns.TypeMX); got != "10 mail.example.com." {
		t.Errorf("after the new plan: MX %s", got)
	}
	if code, out, errOut := e2eRun(t, "--config", cfg, "--dry-run", "--output", "json"); code != 0 || !strings.Contains(out, `"update": 0,`) {
		t.Errorf("--dry-run after apply: exit %d\n%s%s", code, out, errOut)
	}
}

// update sends one signed UPDATE adding rr to zone, as nsupdate would.
func update(t *testing.T, srv *testbind.Server, zone, rr string) {
	t.Helper()
	r, err := dns.NewRR(rr)
	if err != nil {
		t.Fatal(err)
	}
	key := dns.Fqdn(srv.KeyName)
	m := new(dns.Msg)
	m.SetUpdate(zone)
	m.Insert([]dns.RR{r})
	m.SetTsig(key, dns.Fqdn(srv.KeyAlg), 300, time.Now().Unix())
	c := &dns.Client{Net: "tcp", TsigSecret: map[string]string{key: srv.KeySecret}, Timeout: 5 * time.Second}
	resp, _, err := c.Exchange(m, srv.Addr)
	if err != nil || resp.Rcode != dns.RcodeSuccess {
		t.Fatalf("UPDATE %s: %v %v", rr, err, resp)
	}
}

// answers is the data of the answers to name and qtype, joined by " | ".
func answers(t *testing.T, srv *testbind.Server, name string, qtype uint16) string {
	t.Helper()
	var out []string
	for _, rr := range srv.Query(t, name, qtype).Answer {
		out = append(out, strings.TrimPrefix(rr.String(), rr.Header().String()))
	}
	return strings.Join(out, " | ")
}
