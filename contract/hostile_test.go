package contract

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
	"github.com/miekg/dns"

	"github.com/maildns/maildns/internal/testbind"
	"github.com/maildns/maildns/providers"
	"github.com/maildns/maildns/sync"
)

// The scenarios of this file start from zones as people have them and run
// on the DNS servers (the rfc2136 backend on BIND, Knot DNS and PowerDNS),
// which load them from a zone file exactly as written.
var serverBackends = []string{"bind", "knot", "powerdns"}

// Old values as control panels and hand-edited zones hold them.
var (
	oldDKIM = "v=DKIM1; k=rsa; p=" + strings.Repeat("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAold", 7)
	longTXT = "foreign-verification=" + strings.Repeat("0123456789", 28) // 301 bytes
)

// splitAt renders text as quoted TXT strings of n bytes.
func splitAt(text string, n int) string {
	var parts []string
	for len(text) > n {
		parts = append(parts, `"`+text[:n]+`"`)
		text = text[n:]
	}
	return strings.Join(append(parts, `"`+text+`"`), " ")
}

// hostileForward is example.com as found: the SPF, the DMARC record and an
// old DKIM key split at odd places, names and targets in mixed case, TTLs
// that differ inside the apex TXT RRset, and foreign records of many kinds
// (quotes, a backslash and non-ASCII bytes in a TXT; a record of a type no
// one knows). extra is appended.
func hostileForward(extra string) string {
	return testbind.MinimalZone(zone) + `
@	300	IN TXT "v=spf1 a " "~all"
@	300	IN TXT "google-site-verification=4ibFUgB-wXLQ_S7vsXVomSTVamuOXBiVAzpR5IZ87D0"
@	300	IN TXT ` + splitAt(longTXT, 200) + `
@	600	IN TXT "MS=ms1; note=\"quoted\" back\\slash caf\195\169"
@	300	IN MX 10 OldMX.Example.COM.
OldMX	300	IN A 192.0.2.9
Mail	300	IN A 192.0.2.25
WWW	300	IN A 192.0.2.80
@	300	IN CAA 0 issue "letsencrypt.org"
_sip._tcp	300	IN SRV 10 5 5060 SIP.Example.COM.
sip	300	IN A 192.0.2.60
S2048._DomainKey	300	IN TXT ` + splitAt(oldDKIM, 250) + `
_DMARC	300	IN TXT "v=DMARC1; " "p=quarantine"
unknown	300	IN TYPE65534 \# 3 010203
` + extra
}

func hostileReverse() string {
	return testbind.MinimalZone(revZone) + `
25	300	IN PTR Wrong.ISP.Example.NET.
26	300	IN PTR Foreign.Host.Example.ORG.
`
}

func hostileZones(extra string) []zoneSeed {
	return []zoneSeed{{name: zone, raw: hostileForward(extra)}, {name: revZone, raw: hostileReverse()}}
}

// foreignQueries are the foreign records of the hostile zones, asked of
// the server before and after: each must be served unchanged.
var foreignQueries = []struct {
	name  string
	qtype uint16
}{
	{"www." + zone + ".", dns.TypeA},
	{"oldmx." + zone + ".", dns.TypeA},
	{"sip." + zone + ".", dns.TypeA},
	{zone + ".", dns.TypeCAA},
	{"_sip._tcp." + zone + ".", dns.TypeSRV},
	{"unknown." + zone + ".", 65534},
	{"26." + revZone + ".", dns.TypePTR},
}

// foreignState is what the server answers for every foreign record; the
// apex TXT values other than the SPF without their TTL (the RRset's TTL is
// the server's business: BIND and Knot keep one per RRset).
func foreignState(h *harness) map[string][]string {
	out := map[string][]string{}
	for _, q := range foreignQueries {
		out[fmt.Sprintf("%s TYPE%d", q.name, q.qtype)] = h.served(q.name, q.qtype)
	}
	var apex []string
	for _, s := range h.served(zone+".", dns.TypeTXT) {
		_, data, _ := strings.Cut(s, " ")
		if !strings.HasPrefix(data, "v=spf1") {
			apex = append(apex, data)
		}
	}
	slices.Sort(apex)
	out["apex TXT"] = apex
	return out
}

// ownedOnce checks that each owned RRset holds exactly one record with
// the policy's value, as the server answers.
func ownedOnce(h *harness, ptr bool) {
	h.t.Helper()
	count := func(name string, qtype uint16, prefix string) []string {
		var out []string
		for _, s := range h.served(name, qtype) {
			if _, data, _ := strings.Cut(s, " "); strings.HasPrefix(data, prefix) {
				out = append(out, data)
			}
		}
		return out
	}
	spf := spfOf(h.t, h)
	owned := []struct {
		what string
		got  []string
		want string
	}{
		{"SPF", count(zone+".", dns.TypeTXT, "v=spf1"), spf},
		{"DMARC", count("_dmarc."+zone+".", dns.TypeTXT, ""), "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com"},
		{"MX", count(zone+".", dns.TypeMX, ""), "10 mail.example.com."},
		{"mail A", count("mail."+zone+".", dns.TypeA, ""), "203.0.113.25"},
	}
	if ptr {
		owned = append(owned, struct {
			what string
			got  []string
			want string
		}{"PTR", count("25."+revZone+".", dns.TypePTR, ""), "mail.example.com."})
	}
	for _, c := range owned {
		if len(c.got) != 1 || c.got[0] != c.want {
			h.t.Errorf("%s served: %q, want exactly %q", c.what, c.got, c.want)
		}
	}
	dkim := count("s2048._domainkey."+zone+".", dns.TypeTXT, "")
	if len(dkim) != 1 || dkim[0] == oldDKIM || !strings.HasPrefix(dkim[0], "v=DKIM1;") {
		h.t.Errorf("DKIM served: %d records, want exactly the policy's key", len(dkim))
	}
}

// (k) The zone as people have it: --once converges, the next dry run finds
// nothing, exactly one record of each owned kind holds the policy's value,
// and every foreign record is served as it was.
func testHostile(t *testing.T, h *harness) {
	before := foreignState(h)
	if len(before["apex TXT"]) != 3 || len(before["unknown."+zone+". TYPE65534"]) != 1 || len(before["www."+zone+". TYPE1"]) != 1 {
		t.Fatalf("the zone as loaded: %q", before)
	}
	h.policy(full.yaml())
	plan, c := h.sync()
	h.measure("1 converge", c)
	h.wantChanges(plan, zone+" update @ MX", zone+" update @ TXT", zone+" update _dmarc TXT", zone+" update mail A",
		zone+" create mail AAAA", zone+" update s2048._domainkey TXT", revZone+" update 25 PTR")
	c = h.inSync()
	h.measure("2 no drift", c)
	h.assertConverged()
	ownedOnce(h, true)
	if diff := cmp.Diff(before, foreignState(h)); diff != "" {
		t.Errorf("foreign records changed (-before +after):\n%s", diff)
	}
}

// (l) A zone of 16,000 records, more than one AXFR message holds: read
// whole, written exactly, every record kept.
func testLargeZone(t *testing.T, h *harness) {
	n0 := len(readBackend(t, h.fx, zone))
	if n0 < 16000 {
		t.Fatalf("the zone holds %d records", n0)
	}
	before := foreignState(h)
	h.policy(full.yaml())
	plan, c := h.sync()
	h.measure("1 converge", c)
	if len(changes(plan)) != 7 {
		t.Errorf("changes: %q", changes(plan))
	}
	c = h.inSync()
	h.measure("2 no drift", c)
	ownedOnce(h, true)
	if diff := cmp.Diff(before, foreignState(h)); diff != "" {
		t.Errorf("foreign records changed (-before +after):\n%s", diff)
	}
	// The SPF swap, the MX, DMARC, DKIM and A replaced, AAAA added: one
	// more record than before.
	if n := len(readBackend(t, h.fx, zone)); n != n0+1 {
		t.Errorf("the zone holds %d records after the sync, %d before", n, n0)
	}
}

func largeZoneExtra() string {
	var b strings.Builder
	for i := range 16000 {
		fmt.Fprintf(&b, "h%05d\t300\tIN A 10.%d.%d.%d\n", i, i/65536, i/256%256, i%256)
	}
	return b.String()
}

// (m) Another writer changes the zone between maildns's read and its
// write: it adds a foreign value to the apex TXT and puts in an SPF of its
// own (a second maildns with an older policy). The foreign value survives,
// the zone never holds two SPF or two DMARC records, and the run ends with
// the policy's SPF.
func testRaceWrite(t *testing.T, h *harness) {
	other, err := providers.New(h.fx.typ, &providers.Settings{Name: "other", Values: maps.Clone(h.fx.settings)})
	if err != nil {
		t.Fatal(err)
	}
	var mu stdsync.Mutex
	armed, done := false, false
	var states []string
	check := func(when string) {
		live, err := readBackendErr(h.fx, zone)
		if err != nil {
			states = append(states, when+": "+err.Error())
			return
		}
		spf, dmarc := 0, 0
		for _, r := range live {
			switch {
			case r.Name == "@" && r.Type == "TXT" && strings.HasPrefix(r.Data, "v=spf1"):
				spf++
			case r.Name == "_dmarc" && r.Type == "TXT" && strings.HasPrefix(r.Data, "v=DMARC1"):
				dmarc++
			}
		}
		if spf > 1 || dmarc > 1 {
			states = append(states, fmt.Sprintf("%s: %d SPF, %d DMARC", when, spf, dmarc))
		}
	}
	h.observer = func(_, op, result string) {
		if result != providers.ResultOK || op == providers.OpRequest {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if !armed {
			return
		}
		if op == providers.OpGetRecords && !done {
			// Right after maildns read the forward zone, before it writes.
			done = true
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := other.GetRecords(ctx, zone+"."); err != nil {
				states = append(states, "the other writer's read: "+err.Error())
				return
			}
			_, err := other.(providers.Replacer).ReplaceRecords(ctx, zone+".",
				[]libdns.Record{rr("@", "TXT", 300, "v=spf1 a ~all")},
				[]libdns.Record{rr("@", "TXT", 300, "v=spf1 include:other.example -all"), rr("@", "TXT", 300, "other-verification=1")})
			if err != nil {
				states = append(states, "the other write: "+err.Error())
			}
			return
		}
		if op != providers.OpGetRecords {
			check("after " + op)
		}
	}
	p := full
	p.ptr = false // one zone: the first read the engine makes is the one raced
	h.policy(p.yaml())
	mu.Lock()
	armed = true
	mu.Unlock()
	_, _, err = h.run(sync.ModeOnce)
	mu.Lock()
	armed = false
	problems := slices.Clone(states)
	mu.Unlock()
	if !done {
		t.Fatal("the other write never ran")
	}
	after := func() []string {
		var out []string
		var spf []string
		for _, s := range h.served(zone+".", dns.TypeTXT) {
			if _, data, _ := strings.Cut(s, " "); strings.HasPrefix(data, "v=spf1") {
				spf = append(spf, data)
			}
		}
		if len(spf) > 1 {
			out = append(out, fmt.Sprintf("after the run: %d SPF records %q (run error: %v)", len(spf), spf, err))
		}
		return out
	}
	problems = append(problems, after()...)
	if len(h.records(zone, "@", "TXT")) == 0 || !slices.ContainsFunc(h.records(zone, "@", "TXT"), func(r libdns.RR) bool { return r.Data == "other-verification=1" }) {
		t.Errorf("the other writer's foreign value is gone")
	}
	h.expectKnown("race", problems)
	if len(problems) > 0 {
		return
	}
	// The run converges on a fresh read.
	h.sync()
	h.inSync()
	ownedOnce(h, false)
}

// (o) A key the server lets transfer the zone but not update it (left out
// of BIND's update-policy, Knot's acl, PowerDNS's TSIG-ALLOW-DNSUPDATE):
// the run fails with one error that says what to check on that server,
// names the provider and the zone once, and writes nothing.
func testRefusedUpdate(t *testing.T, h *harness) {
	h.write("maildns.yaml", "policies: [\"policies/*.yaml\"]\nstate_dir: state\nlive_checks: false\n"+
		"safety: {max_changes: 20}\nproviders:\n  "+providerName+": "+h.fx.xferYAML+"\n")
	p := full
	p.ptr = false
	h.policy(p.yaml())
	before := h.served(zone+".", dns.TypeTXT)
	plan, _, err := h.run(sync.ModeOnce)
	if err == nil {
		t.Fatal("--once with a key the zone does not allow to update: no error")
	}
	want := map[string]string{"bind": "update-policy", "knot": "acl", "powerdns": "TSIG-ALLOW-DNSUPDATE"}[h.backend]
	msg := err.Error()
	t.Logf("%s: %s", h.backend, msg)
	var problems []string
	if !strings.Contains(msg, want) {
		t.Errorf("the error does not say %q: %s", want, msg)
	}
	if n := strings.Count(msg, `provider "`+providerName+`"`); n != 1 {
		problems = append(problems, fmt.Sprintf("the error names the provider %d times", n))
	}
	if n := strings.Count(msg, "example.com"); n != 1 {
		problems = append(problems, fmt.Sprintf("the error names the zone %d times", n))
	}
	var verify []string
	for _, f := range plan.Findings {
		if f.Kind == "verify" {
			verify = append(verify, f.Message)
		}
	}
	if len(verify) > 0 {
		problems = append(problems, fmt.Sprintf("%d verify findings after a write that wrote nothing", len(verify)))
	}
	h.expectKnown("one error", problems)
	if diff := cmp.Diff(before, h.served(zone+".", dns.TypeTXT)); diff != "" {
		t.Errorf("the refused run changed the apex TXT (-before +after):\n%s", diff)
	}
}

var hostileScenarios = []scenario{
	{"hostile_zone", hostileZones(""), testHostile},
	{"large_zone", hostileZones(largeZoneExtra()), testLargeZone},
	{"race_write", hostileZones("")[:1], testRaceWrite},
	{"many_policies", hostileZones(""), testManyPolicies},
	{"refused_update", hostileZones("")[:1], testRefusedUpdate},
}

// TestHostileZones runs the scenarios that start from zones as people
// have them on each DNS server.
func TestHostileZones(t *testing.T) {
	t.Run("scenarios", func(t *testing.T) { runHostile(t) })
	logTable(t)
}

func runHostile(t *testing.T) {
	for _, sc := range hostileScenarios {
		t.Run(sc.name, func(t *testing.T) {
			for _, b := range backends {
				if !slices.Contains(serverBackends, b.name) {
					continue
				}
				t.Run(b.name, func(t *testing.T) {
					t.Parallel()
					sc.run(t, newHarness(t, sc.name, b, sc.zones))
				})
			}
		})
	}
}

// (n) 500 policies in one zone converge in one run: their changes do not
// fit in one UPDATE and go in several, each RRset whole in one; the shares
// of the zone are held, planned and verified on the worker pool (the
// engine does so from manyShares domains a zone).
func testManyPolicies(t *testing.T, h *harness) {
	h.write("maildns.yaml", "policies: [\"policies/*.yaml\"]\nstate_dir: state\nlive_checks: false\n"+
		"safety: {max_changes: 5000}\nproviders:\n  "+providerName+": "+h.fx.yaml+"\n")
	const n = 500
	for i := range n {
		d := fmt.Sprintf("d%03d.%s", i, zone)
		h.policyFile(d, fmt.Sprintf(`domain: %s
provider: %s
zone: %s
mail_hosts:
  - name: mail
    ipv4: [198.51.%d.%d]
spf: {mechanisms: ["include:_spf.example.net"], all: fail}
dkim:
  - selector: s2048
    key_file: ../keys/rsa2048.pem
dmarc:
  policy: reject
  rua: ["mailto:dmarc@example.com"]
`, d, providerName, zone, i/250, i%250+1))
	}
	start := time.Now()
	plan, c := h.sync()
	t.Logf("--once: %s, %s", time.Since(start), c.wireLog)
	h.measure("1 converge", c)
	if got := len(changes(plan)); got != 5*n {
		t.Errorf("%d changes, want %d", got, 5*n)
	}
	if c.wire < 8 {
		t.Errorf("%d messages on the wire (%s): the changes did not need several UPDATEs?", c.wire, c.wireLog)
	}
	start = time.Now()
	h.assertConverged()
	t.Logf("assertConverged: %s", time.Since(start))
	start = time.Now()
	c = h.inSync()
	t.Logf("--dry-run: %s", time.Since(start))
	h.measure("2 no drift", c)
	spf := 0
	for _, r := range readBackend(t, h.fx, zone) {
		if r.Type == "TXT" && strings.HasPrefix(r.Data, "v=spf1") {
			spf++
		}
	}
	if spf != n+1 { // and the apex's own
		t.Errorf("%d SPF records in the zone, want %d", spf, n+1)
	}
}
