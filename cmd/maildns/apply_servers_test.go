package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/maildns/maildns/internal/testbind"
)

// A saved plan applied through rfc2136 to BIND 9, Knot DNS and PowerDNS,
// with a change made by a direct UPDATE (as nsupdate would) between the
// plan and the apply: the changed zone is refused and left as the UPDATE
// left it, the other zones are written; a new plan then applies.
func TestApplySavedPlanOnServers(t *testing.T) {
	for _, kind := range testbind.Kinds {
		t.Run(kind, func(t *testing.T) { applySavedPlanOn(t, kind) })
	}
}

func applySavedPlanOn(t *testing.T, kind string) {
	cfg := e2eExample(t)
	dir := filepath.Dir(cfg)
	var zones []testbind.Zone
	for _, z := range []string{"example.com", "example.net", "113.0.203.in-addr.arpa", "8.b.d.0.1.0.0.2.ip6.arpa"} {
		data, err := os.ReadFile(filepath.Join(dir, "zones", z+".zone"))
		if err != nil {
			t.Fatal(err)
		}
		content := string(data)
		if z == "example.com" {
			content = messyExampleCom(t, content)
		}
		zones = append(zones, testbind.Zone{Name: z, Content: content})
	}
	srv := testbind.StartKind(t, kind, zones...)
	foreign := foreignAnswers(t, srv)
	if got := answers(t, srv, "example.com.", dns.TypeTXT); !strings.Contains(got, `"v=spf1 m" "x ~all"`) {
		t.Fatalf("%s does not serve the split SPF: %s", kind, got)
	}
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
	start := serial(t, srv, "example.com.")
	before := time.Now()
	update(t, srv, "example.com.", `_dmarc.example.com. 300 IN TXT "v=DMARC1; p=none; rua=mailto:ops@example.com"`)
	handSerial := serial(t, srv, "example.com.")
	// The one difference between the servers here: BIND 9 and Knot DNS
	// (serial-policy increment) add 1 to the serial on an UPDATE, PowerDNS
	// (SOA-EDIT-DNSUPDATE DEFAULT) moves it to today's YYYYMMDD01 when that
	// is higher. maildns checks RRset values, not serials, so either way
	// the change is found.
	want := []uint32{start + 1}
	if kind == testbind.PowerDNS {
		want = []uint32{dateSerial(before), dateSerial(time.Now())} // midnight may pass
	}
	if !slices.Contains(want, handSerial) {
		t.Errorf("%s: serial after the hand UPDATE %d (from %d), want one of %v", kind, handSerial, start, want)
	}

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
	if got := answers(t, srv, "example.com.", dns.TypeMX); !strings.EqualFold(got, "10 oldmail.example.com.") {
		t.Errorf("the refused zone was written: MX %s", got)
	}
	// Every UPDATE moves the serial on all three servers: an unmoved one
	// says no UPDATE at all reached the refused zone.
	if got := serial(t, srv, "example.com."); got != handSerial {
		t.Errorf("the refused zone was written: serial %d, the hand UPDATE left %d", got, handSerial)
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
	if got := serial(t, srv, "example.com."); got <= handSerial {
		t.Errorf("after the new plan: serial %d, not past the hand UPDATE's %d", got, handSerial)
	}
	if code, out, errOut := e2eRun(t, "--config", cfg, "--dry-run", "--output", "json"); code != 0 || !strings.Contains(out, `"update": 0,`) {
		t.Errorf("--dry-run after apply: exit %d\n%s%s", code, out, errOut)
	}
	if got := answers(t, srv, "example.com.", dns.TypeTXT); strings.Count(got, "v=spf1") != 1 || !strings.Contains(got, "v=spf1 ip4:203.0.113.25") {
		t.Errorf("after apply: apex TXT %s, want one SPF, the policy's", got)
	}
	if got := foreignAnswers(t, srv); got != foreign {
		t.Errorf("foreign records changed by apply:\nbefore %s\nafter  %s", foreign, got)
	}
}

// messyExampleCom makes the example's zone as people have it: the SPF
// split at an odd place, the MX target in mixed case, and foreign records
// maildns must leave alone (a 300-byte TXT, CAA, SRV, an unknown type).
func messyExampleCom(t *testing.T, zone string) string {
	t.Helper()
	for old, repl := range map[string]string{
		`@               IN TXT  "v=spf1 mx ~all"`:        `@               IN TXT  "v=spf1 m" "x ~all"`,
		`@               IN MX   10 oldmail.example.com.`: `@               IN MX   10 OldMail.Example.COM.`,
	} {
		if !strings.Contains(zone, old) {
			t.Fatalf("example.com zone: no %q to replace", old)
		}
		zone = strings.Replace(zone, old, repl, 1)
	}
	return zone + `@               IN TXT  "` + strings.Repeat("a", 200) + `" "` + strings.Repeat("b", 100) + `"
@               IN CAA  0 issue "letsencrypt.org"
_sip._tcp       IN SRV  10 5 5060 SIP.example.com.
weird           IN TYPE65280 \# 4 0a0b0c0d
`
}

// foreignAnswers is what the server answers for the foreign records of
// messyExampleCom and the example's own.
func foreignAnswers(t *testing.T, srv *testbind.Server) string {
	t.Helper()
	var out []string
	for _, q := range []struct {
		name  string
		qtype uint16
	}{
		{"example.com.", dns.TypeCAA}, {"_sip._tcp.example.com.", dns.TypeSRV}, {"weird.example.com.", 65280},
		{"www.example.com.", dns.TypeA}, {"oldmail.example.com.", dns.TypeA},
	} {
		out = append(out, answers(t, srv, q.name, q.qtype))
	}
	// The apex TXT values in a fixed order: PowerDNS answers an RRset in
	// the order it last stored it.
	var txt []string
	for _, v := range strings.Split(answers(t, srv, "example.com.", dns.TypeTXT), " | ") {
		if !strings.Contains(v, "v=spf1") {
			txt = append(txt, v)
		}
	}
	slices.Sort(txt)
	return strings.Join(append(out, txt...), " ; ")
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

// serial is the SOA serial zone is served with.
func serial(t *testing.T, srv *testbind.Server, zone string) uint32 {
	t.Helper()
	for _, rr := range srv.Query(t, zone, dns.TypeSOA).Answer {
		if soa, ok := rr.(*dns.SOA); ok {
			return soa.Serial
		}
	}
	t.Fatalf("no SOA for %s", zone)
	return 0
}

// dateSerial is the YYYYMMDD01 serial PowerDNS gives a zone on the day of
// tm, in local time as the server reckons it.
func dateSerial(tm time.Time) uint32 {
	y, m, d := tm.Date()
	return uint32(y*1000000 + int(m)*10000 + d*100 + 1)
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
