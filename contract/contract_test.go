package contract

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	stdsync "sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
	"github.com/miekg/dns"

	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/providers"
	"github.com/maildns/maildns/sync"
)

const (
	zone    = "example.com"
	revZone = "113.0.203.in-addr.arpa"
)

// The apex TXT values another party keeps at example.com, all TTL 300; the
// third is longer than one 255-byte string.
var foreignApex = []string{
	`MS=ms12345678; note="a quoted word" and a back\slash`,
	"google-site-verification=4ibFUgB-wXLQ_S7vsXVomSTVamuOXBiVAzpR5IZ87D0",
	"globalsign-domain-verification=" + strings.Repeat("Zx9-Ab3_Qw7", 25),
}

func rr(name, typ string, ttl int, data string) libdns.RR {
	return libdns.RR{Name: name, Type: typ, TTL: time.Duration(ttl) * time.Second, Data: data}
}

func foreignApexRecords() []libdns.RR {
	var out []libdns.RR
	for _, v := range foreignApex {
		out = append(out, rr("@", "TXT", 300, v))
	}
	return out
}

// pol builds the policy of example.com; the zero value is a mail host with
// an A record only.
type pol struct {
	ttl        int    // default 3600
	host       string // mail host name, default "mail"
	ipv4       string // default 203.0.113.25
	ipv6       bool   // AAAA 2001:db8::25
	mxPriority int    // 0: the default MX
	spf        string // "": no spf section; "none": no mechanisms; "-": state absent; else one mechanism
	dkim       bool
	dmarc      string // "": no dmarc section; else the policy
	dmarcRUA   bool
	ptr        bool // the reverse zone is managed
	parked     bool
	weaken     bool // allow_weakening: true
}

func (p pol) yaml() string {
	var b strings.Builder
	ttl := p.ttl
	if ttl == 0 {
		ttl = 3600
	}
	fmt.Fprintf(&b, "domain: %s\nprovider: %s\nttl: %d\n", zone, providerName, ttl)
	if p.weaken {
		b.WriteString("allow_weakening: true\n")
	}
	if p.parked {
		// Parking a domain with a real MX is weakening (SPEC §6): meant here.
		b.WriteString("parked: true\nallow_weakening: true\n")
		return b.String()
	}
	host := p.host
	if host == "" {
		host = "mail"
	}
	ip := p.ipv4
	if ip == "" {
		ip = "203.0.113.25"
	}
	fmt.Fprintf(&b, "mail_hosts:\n  - name: %s\n    ipv4: [%s]\n", host, ip)
	if p.ipv6 {
		b.WriteString("    ipv6: [\"2001:db8::25\"]\n")
	}
	if p.mxPriority > 0 {
		fmt.Fprintf(&b, "mx:\n  - {host: %s, priority: %d}\n", host, p.mxPriority)
	}
	switch p.spf {
	case "":
	case "-":
		b.WriteString("spf: {state: absent}\n")
	case "none":
		b.WriteString("spf: {all: fail}\n")
	default:
		fmt.Fprintf(&b, "spf: {mechanisms: [%q], all: fail}\n", p.spf)
	}
	if p.dkim {
		b.WriteString("dkim:\n  - selector: s2048\n    key_file: ../keys/rsa2048.pem\n")
	}
	if p.dmarc != "" {
		fmt.Fprintf(&b, "dmarc:\n  policy: %s\n", p.dmarc)
		if p.dmarcRUA {
			b.WriteString("  rua: [\"mailto:dmarc@example.com\"]\n")
		}
	}
	if p.ptr {
		fmt.Fprintf(&b, "ptr:\n  provider: %s\n  zone: %s\n", providerName, revZone)
	}
	return b.String()
}

// full is a sending domain with every record kind and a managed PTR.
var full = pol{ipv6: true, spf: "none", dkim: true, dmarc: "quarantine", dmarcRUA: true, ptr: true}

// scenario is one contract case, run against every backend.
type scenario struct {
	name  string
	zones []zoneSeed
	run   func(t *testing.T, h *harness)
}

func bothZones(fwd ...libdns.RR) []zoneSeed {
	return []zoneSeed{{name: zone, recs: fwd}, {name: revZone, recs: []libdns.RR{
		rr("25", "PTR", 3600, "host-25.isp.example."),
		rr("80", "PTR", 3600, "www.example.com."),
	}}}
}

var scenarios = []scenario{
	{"apex_txt_foreign", []zoneSeed{{name: zone, recs: append(foreignApexRecords(), rr("www", "A", 300, "192.0.2.80"))}}, testApexForeign},
	{"dkim_rsa2048", []zoneSeed{{name: zone}}, testDKIM2048},
	{"mx_and_target", []zoneSeed{{name: zone}}, testMXAndTarget},
	{"ptr_reverse", bothZones(), testPTR},
	{"no_drift", bothZones(), testNoDrift},
	{"drift_k", bothZones(), testDriftK},
	{"foreign_between_runs", bothZones(), testForeignBetweenRuns},
	{"parked", []zoneSeed{{name: zone, recs: []libdns.RR{rr("www", "A", 300, "192.0.2.80")}}}, testParked},
	{"replace_window", []zoneSeed{{name: zone, recs: foreignApexRecords()}}, testReplaceWindow},
	{"shared_zone", []zoneSeed{{name: zone}}, testSharedZone},
	{"missing_zone", []zoneSeed{{name: "example.org"}}, testMissingZone},
	{"transient_write", []zoneSeed{{name: zone, recs: foreignApexRecords()}}, testTransientWrite},
	{"restore", []zoneSeed{{name: zone, recs: foreignApexRecords()}}, testRestore},
}

// wantWire pins the requests on the wire of some runs by "scenario/step"
// and backend: zone file rewrites for zonefile, DNS messages through the
// proxy for rfc2136 on BIND, Knot and PowerDNS (one TCP connection each), HTTP requests served by the
// fakes (pages of 5 records: the forward zone of these scenarios takes two
// pages on Cloudflare; deSEC pages by RRset).
var wantWire = map[string]map[string]int64{
	"dkim_rsa2048/2 again":                     {"zonefile": 0, "bind": 1, "knot": 1, "powerdns": 1, "cloudflare": 1, "route53": 1, "desec": 1},
	"no_drift/2 no drift (daemon)":             {"zonefile": 0, "bind": 2, "knot": 2, "powerdns": 2, "cloudflare": 3, "route53": 3, "desec": 3},
	"no_drift/3 no drift (fresh)":              {"zonefile": 0, "bind": 2, "knot": 2, "powerdns": 2, "cloudflare": 5, "route53": 5, "desec": 3},
	"drift_k/1 k=1 update":                     {"zonefile": 1, "bind": 4, "knot": 4, "powerdns": 4, "cloudflare": 7, "route53": 7, "desec": 7},
	"drift_k/2 k=3 update":                     {"zonefile": 1, "bind": 4, "knot": 4, "powerdns": 4, "cloudflare": 9, "route53": 9, "desec": 8},
	"foreign_between_runs/1 after foreign add": {"zonefile": 0, "bind": 2, "knot": 2, "powerdns": 2, "cloudflare": 3, "route53": 3, "desec": 3},
}

// TestContract runs every scenario against every backend, then prints the
// provider calls and wire requests measured.
func TestContract(t *testing.T) {
	t.Run("scenarios", func(t *testing.T) {
		for _, sc := range scenarios {
			t.Run(sc.name, func(t *testing.T) {
				for _, b := range backends {
					t.Run(b.name, func(t *testing.T) {
						t.Parallel()
						sc.run(t, newHarness(t, sc.name, b, sc.zones))
					})
				}
			})
		}
	})
	logTable(t)
}

func logTable(t *testing.T) {
	tableMu.Lock()
	defer tableMu.Unlock()
	order := map[string]int{}
	for i, s := range scenarios {
		order[s.name] = i
	}
	border := map[string]int{}
	for i, b := range backends {
		border[b.name] = i
	}
	rows := slices.Clone(table)
	slices.SortStableFunc(rows, func(a, b measurement) int {
		if order[a.scenario] != order[b.scenario] {
			return order[a.scenario] - order[b.scenario]
		}
		if a.step != b.step {
			return strings.Compare(a.step, b.step)
		}
		return border[a.backend] - border[b.backend]
	})
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 2, 8, 2, ' ', 0)
	fmt.Fprintln(w, "scenario\tstep\tbackend\tget_records\tappend_records\tdelete_records\tset_records\treplace_records\tretried\twire requests\twire detail")
	for _, r := range rows {
		wire := "-"
		if r.c.wire >= 0 {
			wire = fmt.Sprint(r.c.wire)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", r.scenario, r.step, r.backend, r.c.get, r.c.appendc, r.c.del, r.c.set, r.c.replace, r.c.retries, wire, r.c.wireLog)
	}
	w.Flush()
	// The provider calls are the engine's: the same on every backend.
	first := map[string]measurement{}
	for _, r := range rows {
		k := r.scenario + "/" + r.step
		f, ok := first[k]
		if !ok {
			first[k] = r
			continue
		}
		if f.c.retries+r.c.retries > 0 {
			continue // a fault was injected on one of them
		}
		// A backend that writes conditionally makes a create or a delete
		// alone a replace too: the number of write calls is the same.
		if f.c.get != r.c.get || f.c.writes() != r.c.writes() {
			t.Errorf("%s: provider calls differ by backend: %s %s, %s %s", k, f.backend, f.c, r.backend, r.c)
		}
	}
	t.Logf("provider calls per run (attempts, by the wrapper) and requests on the wire (zonefile: zone file rewrites):\n%s", b.String())
}

// checkApexTXT checks the apex TXT RRset: the foreign values are there with
// TTL 300 (through the backend's read and, where a server runs, DNS), and
// the owned values are exactly spf.
func checkApexTXT(t *testing.T, h *harness, spf ...string) {
	t.Helper()
	var foreign, owned []string
	for _, r := range h.records(zone, "@", "TXT") {
		if strings.HasPrefix(r.Data, "v=spf1") {
			owned = append(owned, r.Data)
			continue
		}
		foreign = append(foreign, fmt.Sprintf("%d %s", int(r.TTL/time.Second), r.Data))
	}
	var want []string
	for _, v := range foreignApex {
		want = append(want, "300 "+v)
	}
	slices.Sort(want)
	slices.Sort(foreign)
	if diff := cmp.Diff(want, foreign); diff != "" {
		t.Errorf("apex TXT foreign values as the backend reads them (-want +got):\n%s", diff)
	}
	if !cmp.Equal(spf, owned, cmp.Comparer(func(a, b []string) bool { return slices.Equal(a, b) })) && !(len(spf) == 0 && len(owned) == 0) {
		t.Errorf("apex TXT owned values: have %q, want %q", owned, spf)
	}
	if h.fx.query != nil {
		served := h.served(zone+".", dns.TypeTXT)
		wantServed := slices.Clone(want)
		for _, s := range spf {
			wantServed = append(wantServed, "300 "+s)
		}
		slices.Sort(wantServed)
		if diff := cmp.Diff(wantServed, served); diff != "" {
			t.Errorf("apex TXT as the server answers it (-want +got):\n%s", diff)
		}
	}
}

func spfOf(t *testing.T, h *harness) string {
	t.Helper()
	for _, d := range h.load().Domains {
		return policy.SPFRecord(d)
	}
	t.Fatal("no domain")
	return ""
}

// (a) An apex TXT RRset with three foreign values survives every kind of
// plan that touches the SPF value in it.
func testApexForeign(t *testing.T, h *harness) {
	p := pol{spf: "none", dmarc: "reject"}
	h.policy(p.yaml())
	plan, c := h.sync()
	h.measure("1 create", c)
	h.wantChanges(plan, zone+" create @ MX", zone+" create @ TXT", zone+" create _dmarc TXT", zone+" create mail A")
	spf1 := spfOf(t, h)
	checkApexTXT(t, h, spf1)
	h.inSync()

	p.spf = "include:_spf.example.net"
	h.policy(p.yaml())
	plan, c = h.sync()
	h.measure("2 update", c)
	h.wantChanges(plan, zone+" update @ TXT")
	spf2 := spfOf(t, h)
	if spf2 == spf1 {
		t.Fatalf("the SPF did not change: %q", spf2)
	}
	checkApexTXT(t, h, spf2)
	h.checkJournal(spf1)
	h.inSync()

	// A TTL change: the owned value in the shared set keeps the foreign
	// values' TTL (one TTL per RRset), every other RRset moves.
	p.ttl = 600
	h.policy(p.yaml())
	plan, c = h.sync()
	h.measure("3 ttl", c)
	h.wantChanges(plan, zone+" update @ MX", zone+" update _dmarc TXT", zone+" update mail A")
	checkApexTXT(t, h, spf2)
	for _, r := range h.records(zone, "mail", "A") {
		if r.TTL != 600*time.Second {
			t.Errorf("mail A TTL %s, want 10m", r.TTL)
		}
	}
	h.inSync()

	p.spf, p.weaken = "-", true
	h.policy(p.yaml())
	plan, c = h.sync()
	h.measure("4 delete", c)
	h.wantChanges(plan, zone+" delete @ TXT")
	checkApexTXT(t, h)
	h.inSync()
	h.assertConverged()
	if got := h.records(zone, "www", "A"); len(got) != 1 || got[0].Data != "192.0.2.80" || got[0].TTL != 300*time.Second {
		t.Errorf("foreign www A: %v", got)
	}
}

// (b) A 2048-bit RSA DKIM key (a TXT value over 255 bytes) round-trips.
func testDKIM2048(t *testing.T, h *harness) {
	h.policy(pol{dkim: true}.yaml())
	plan, c := h.sync()
	h.measure("1 create", c)
	h.wantChanges(plan, zone+" create @ MX", zone+" create mail A", zone+" create s2048._domainkey TXT")
	var want string
	for _, d := range h.load().Domains {
		sets, err := policy.Compile(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sets {
			if s.Name == "s2048._domainkey" {
				want = s.Values[0]
			}
		}
	}
	if len(want) < 400 || !strings.HasPrefix(want, "v=DKIM1; k=rsa; p=MIIBIjAN") {
		t.Fatalf("compiled DKIM value %q: not a 2048-bit RSA key", want)
	}
	got := h.records(zone, "s2048._domainkey", "TXT")
	if len(got) != 1 || got[0].Data != want || got[0].TTL != time.Hour {
		t.Errorf("DKIM read back: %v\nwant one value, TTL 1h: %q", got, want)
	}
	if h.fx.query != nil {
		if diff := cmp.Diff([]string{"3600 " + want}, h.served("s2048._domainkey."+zone+".", dns.TypeTXT)); diff != "" {
			t.Errorf("DKIM as served (-want +got):\n%s", diff)
		}
	}
	h.inSync()
	_, c = h.sync()
	h.measure("2 again", c)
	if c.writes() != 0 || c.get != 1 {
		t.Errorf("the run after the DKIM was written: %s, want one read and no write", c)
	}
}

// (c) An MX and the A of its in-zone target created in one plan, then the MX
// moved to a new in-zone host with its A in one plan. BIND refuses an MX to
// an in-zone name without an address unless both come in one update.
func testMXAndTarget(t *testing.T, h *harness) {
	h.policy(pol{host: "mx1"}.yaml())
	plan, c := h.sync()
	h.measure("1 create", c)
	h.wantChanges(plan, zone+" create @ MX", zone+" create mx1 A")
	h.assertConverged()
	if h.fx.query != nil {
		if diff := cmp.Diff([]string{"3600 10 mx1.example.com."}, h.served(zone+".", dns.TypeMX)); diff != "" {
			t.Errorf("MX as served (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"3600 203.0.113.25"}, h.served("mx1."+zone+".", dns.TypeA)); diff != "" {
			t.Errorf("mx1 A as served (-want +got):\n%s", diff)
		}
	}
	h.inSync()

	h.policy(pol{host: "mx2", ipv4: "203.0.113.26"}.yaml())
	plan, c = h.sync()
	h.measure("2 move", c)
	h.wantChanges(plan, zone+" update @ MX", zone+" create mx2 A")
	h.assertConverged()
	if h.fx.query != nil {
		if diff := cmp.Diff([]string{"3600 10 mx2.example.com."}, h.served(zone+".", dns.TypeMX)); diff != "" {
			t.Errorf("MX as served (-want +got):\n%s", diff)
		}
	}
	// The old host's A is no longer in the policy: left alone.
	if got := h.records(zone, "mx1", "A"); len(got) != 1 {
		t.Errorf("mx1 A after the move: %v, want it left in place", got)
	}
	h.inSync()
}

// (d) The PTR of the mail host in a reverse zone maildns manages.
func testPTR(t *testing.T, h *harness) {
	h.policy(pol{ptr: true}.yaml())
	plan, c := h.sync()
	h.measure("1 ptr", c)
	h.wantChanges(plan, zone+" create @ MX", zone+" create mail A", revZone+" update 25 PTR")
	if got := h.records(revZone, "25", "PTR"); len(got) != 1 || got[0].Data != "mail.example.com." {
		t.Errorf("25 PTR read back: %v", got)
	}
	if got := h.records(revZone, "80", "PTR"); len(got) != 1 || got[0].Data != "www.example.com." || got[0].TTL != time.Hour {
		t.Errorf("foreign 80 PTR: %v", got)
	}
	if h.fx.query != nil {
		if diff := cmp.Diff([]string{"3600 mail.example.com."}, h.served("25."+revZone+".", dns.TypePTR)); diff != "" {
			t.Errorf("PTR as served (-want +got):\n%s", diff)
		}
	}
	h.inSync()
}

// (e) A run that finds no drift reads each zone once and writes nothing.
func testNoDrift(t *testing.T, h *harness) {
	h.policy(full.yaml())
	plan, c := h.sync()
	h.measure("1 initial", c)
	if len(changes(plan)) != 7 {
		t.Errorf("initial changes: %q", changes(plan))
	}
	h.assertConverged()

	_, c = h.sync()
	h.measure("2 no drift (daemon)", c)
	checkCalls(t, h, "no drift (daemon)", c, calls{get: 2})

	h.fresh()
	_, c = h.sync()
	h.measure("3 no drift (fresh)", c)
	checkCalls(t, h, "no drift (fresh providers)", c, calls{get: 2})
}

// (f) A run with k changed RRsets: at most k write calls, and for each zone
// written one read under its lock (the first read of a run takes no lock:
// a zone is locked, read again and planned again only to be written) and
// one read-back.
func testDriftK(t *testing.T, h *harness) {
	h.policy(full.yaml())
	h.sync()

	// k = 1: the DMARC policy goes up.
	p := full
	p.dmarc = "reject"
	h.policy(p.yaml())
	plan, c := h.sync()
	h.measure("1 k=1 update", c)
	h.wantChanges(plan, zone+" update _dmarc TXT")
	// One write call: the old value is replaced by the new one in one step
	// (see the replace_window scenario).
	checkCalls(t, h, "k=1", c, calls{get: 3, replace: 1})
	h.assertConverged()

	// k = 3: SPF, MX and DMARC change. A dry run first reads and writes
	// nothing.
	p.spf = "include:_spf.example.net"
	p.mxPriority = 20
	p.dmarcRUA = false
	h.policy(p.yaml())
	plan, c, err := h.run(sync.ModeDryRun)
	if err != nil {
		t.Fatal(err)
	}
	h.measure("2a k=3 dry run", c)
	h.wantChanges(plan, zone+" update @ MX", zone+" update @ TXT", zone+" update _dmarc TXT")
	checkCalls(t, h, "k=3 dry run", c, calls{get: 2})
	plan, c = h.sync()
	h.measure("2 k=3 update", c)
	h.wantChanges(plan, zone+" update @ MX", zone+" update @ TXT", zone+" update _dmarc TXT")
	checkCalls(t, h, "k=3", c, calls{get: 3, replace: 1})
	if c.writes() > 3 {
		t.Errorf("k=3: %d write calls", c.writes())
	}
	h.assertConverged()

	// k = 3 across two zones: a second address for the mail host changes
	// its A and the SPF, and adds a PTR in the reverse zone.
	p.ipv4 = "203.0.113.25, 203.0.113.27"
	h.policy(p.yaml())
	plan, c = h.sync()
	h.measure("3 k=3 A+SPF+PTR", c)
	h.wantChanges(plan, zone+" update @ TXT", zone+" update mail A", revZone+" create 27 PTR")
	checkCalls(t, h, "k=3 in two zones", c, calls{get: 4, appendc: 1, replace: 1})
	h.assertConverged()
	h.inSync()
}

// (g) A foreign record added between runs is left untouched.
func testForeignBetweenRuns(t *testing.T, h *harness) {
	h.policy(full.yaml())
	h.sync()
	added := []libdns.RR{
		rr("@", "TXT", 3600, "foreign-added=1"),
		rr("www", "A", 300, "192.0.2.80"),
		rr("_acme-challenge", "TXT", 120, "acme-token-xyz"),
	}
	h.fx.add(t, zone, added...)
	h.fx.add(t, revZone, rr("99", "PTR", 600, "other.example.net."))
	plan, c := h.sync()
	h.measure("1 after foreign add", c)
	h.wantChanges(plan)
	checkCalls(t, h, "after a foreign add", c, calls{get: 2})
	for _, a := range added {
		found := false
		for _, r := range h.records(zone, a.Name, a.Type) {
			if r.Data == a.Data {
				found = true
				if r.TTL != a.TTL {
					t.Errorf("foreign %s %s %q: TTL %s, want %s", a.Name, a.Type, a.Data, r.TTL, a.TTL)
				}
			}
		}
		if !found {
			t.Errorf("foreign %s %s %q is gone", a.Name, a.Type, a.Data)
		}
	}
	if got := h.records(revZone, "99", "PTR"); len(got) != 1 || got[0].Data != "other.example.net." {
		t.Errorf("foreign 99 PTR: %v", got)
	}
	h.assertConverged()
}

// (h) A sending domain converted to a parked one.
func testParked(t *testing.T, h *harness) {
	h.policy(pol{spf: "none", dkim: true, dmarc: "quarantine"}.yaml())
	h.sync()
	h.policy(pol{parked: true}.yaml())
	if h.knownBug() {
		return
	}
	plan, c := h.sync()
	h.measure("1 park", c)
	h.wantChanges(plan, zone+" update @ MX", zone+" update @ TXT", zone+" update _dmarc TXT")
	h.assertConverged()
	if got := h.records(zone, "@", "MX"); len(got) != 1 || got[0].Data != "0 ." {
		t.Errorf("null MX read back: %v", got)
	}
	if h.fx.query != nil {
		if diff := cmp.Diff([]string{"3600 0 ."}, h.served(zone+".", dns.TypeMX)); diff != "" {
			t.Errorf("null MX as served (-want +got):\n%s", diff)
		}
	}
	// The mail host's A and the DKIM key are no longer in the policy: left.
	if got := h.records(zone, "mail", "A"); len(got) != 1 {
		t.Errorf("mail A after parking: %v", got)
	}
	if got := h.records(zone, "s2048._domainkey", "TXT"); len(got) != 1 {
		t.Errorf("DKIM after parking: %v", got)
	}
	h.inSync()
}

// knownBugs are contract failures not fixed yet, by "scenario/check/backend",
// with what is seen. A check with a known bug must still fail, so that the
// entry is removed with the fix; "sync" is the error the sync fails with.
var knownBugs = map[string]string{}

// knownBug runs --once when the scenario has a known bug on this backend
// and checks that it fails as recorded; it reports whether it did so.
func (h *harness) knownBug() bool {
	h.t.Helper()
	key := h.scenario + "/sync/" + h.backend
	want, ok := knownBugs[key]
	if !ok {
		return false
	}
	_, _, err := h.run(sync.ModeOnce)
	if err == nil || !strings.Contains(err.Error(), want) {
		h.t.Errorf("known bug %s: the sync should fail with %q, it returned %v (fixed? remove it from knownBugs)", key, want, err)
		return true
	}
	h.t.Logf("KNOWN BUG (%s): %v", key, err)
	return true
}

// (i) While a sync replaces the SPF and the DMARC record, the zone never
// holds two of either: two "v=spf1" records are an SPF permerror (RFC 7208
// section 4.5) and two DMARC records mean no DMARC policy at all (RFC 7489
// section 6.6.3). Nor does it lose the record for a while. The zone is read
// after every write call of the sync.
func testReplaceWindow(t *testing.T, h *harness) {
	var mu stdsync.Mutex
	var states []string
	record := false
	h.observer = func(_, op, result string) {
		if result != providers.ResultOK || op == providers.OpGetRecords || op == providers.OpRequest {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if !record {
			return
		}
		live, err := readBackendErr(h.fx, zone)
		if err != nil {
			states = append(states, "after "+op+": "+err.Error())
			return
		}
		spf, dmarc := 0, 0
		for _, r := range live {
			switch {
			case r.Name == "@" && r.Type == "TXT" && strings.HasPrefix(r.Data, "v=spf1 "):
				spf++
			case r.Name == "_dmarc" && r.Type == "TXT" && strings.HasPrefix(r.Data, "v=DMARC1"):
				dmarc++
			}
		}
		states = append(states, fmt.Sprintf("after %s: %d SPF, %d DMARC", op, spf, dmarc))
	}
	h.policy(pol{spf: "none", dmarc: "quarantine"}.yaml())
	h.sync()
	mu.Lock()
	record = true
	mu.Unlock()
	h.policy(pol{spf: "include:_spf.example.net", dmarc: "reject"}.yaml())
	plan, _ := h.sync()
	h.wantChanges(plan, zone+" update @ TXT", zone+" update _dmarc TXT")
	// A TTL-only update of the DMARC record (the SPF keeps the foreign
	// values' TTL): it is never gone for a moment.
	h.policy(pol{ttl: 600, spf: "include:_spf.example.net", dmarc: "reject"}.yaml())
	plan, _ = h.sync()
	h.wantChanges(plan, zone+" update @ MX", zone+" update _dmarc TXT", zone+" update mail A")
	for _, r := range h.records(zone, "_dmarc", "TXT") {
		if r.TTL != 600*time.Second {
			t.Errorf("_dmarc TXT TTL %s after the TTL update, want 10m", r.TTL)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	var bad []string
	if len(states) < 2 {
		bad = append(bad, fmt.Sprintf("%d write calls seen in two syncs that change records", len(states)))
	}
	for _, s := range states {
		if !strings.HasSuffix(s, ": 1 SPF, 1 DMARC") {
			bad = append(bad, fmt.Sprintf("the zone between the write calls of one sync: %q", states))
			break
		}
	}
	h.expectKnown("window", bad)
	checkApexTXT(t, h, spfOf(t, h))
}

// checkJournal checks the newest journal entry: it recorded the apex TXT
// RRset as it was before the change, every foreign value exactly, with its
// TTL, and the owned value spf.
func (h *harness) checkJournal(spf string) {
	h.t.Helper()
	paths, err := sync.ListJournal(filepath.Join(h.dir, "state"))
	if err != nil || len(paths) == 0 {
		h.t.Fatalf("journal: %v, %d entries", err, len(paths))
	}
	// The entry of the SPF update (entries opened within one second do not
	// sort by time: the name has the time to the second, then random hex).
	var entry *sync.JournalEntry
	var path string
	for _, p := range paths {
		e, err := sync.ReadJournal(p)
		if err != nil {
			h.t.Fatal(err)
		}
		for _, c := range e.Changes {
			if c.Action == sync.ActionUpdate && c.Name == "@" && c.Type == "TXT" {
				entry, path = e, p
			}
		}
	}
	if entry == nil {
		h.t.Fatalf("no journal entry of the SPF update among %d", len(paths))
	}
	var got []string
	for _, set := range entry.Before {
		if set.Name == "@" && set.Type == "TXT" {
			for _, r := range set.Records {
				got = append(got, fmt.Sprintf("%d %s", r.TTL, r.Data))
			}
		}
	}
	want := []string{"300 " + spf}
	for _, v := range foreignApex {
		want = append(want, "300 "+v)
	}
	slices.Sort(want)
	slices.Sort(got)
	var problems []string
	if diff := cmp.Diff(want, got); diff != "" {
		problems = append(problems, fmt.Sprintf("journal entry %s, @ TXT before the change (-want +got):\n%s", filepath.Base(path), diff))
	}
	h.expectKnown("journal", problems)
}

// expectKnown reports problems found by check of the scenario, unless they
// are a known bug of this backend: then it checks that they are still seen.
func (h *harness) expectKnown(check string, problems []string) {
	h.t.Helper()
	key := h.scenario + "/" + check + "/" + h.backend
	want, known := knownBugs[key]
	switch {
	case known && len(problems) == 0:
		h.t.Errorf("known bug %s (%s) no longer seen: remove it from knownBugs", key, want)
	case known:
		h.t.Logf("KNOWN BUG (%s): %s: %s", key, want, strings.Join(problems, "; "))
	default:
		for _, p := range problems {
			h.t.Error(p)
		}
	}
}

// (j) Two domains in one zone: billing.example.com sends through the mail
// host of example.com, whose A record example.com's policy creates in the
// same run. The zone is read once, then again under its lock; both shares
// are written in one call (each with its own journal entry), the share that
// adds an address first in it: in domain order billing.example.com's MX
// would go first, naming a host that has no address yet, which BIND refuses
// (even later in the same UPDATE).
func testSharedZone(t *testing.T, h *harness) {
	h.policy(pol{spf: "none"}.yaml())
	h.policyFile("billing.example.com", "domain: billing.example.com\nprovider: "+providerName+"\nzone: "+zone+
		"\nttl: 3600\nmx:\n  - {host: mail.example.com., priority: 10}\nspf: {mechanisms: [\"mx\"], all: fail}\n")
	plan, c, err := h.run(sync.ModeOnce)
	h.measure("1 both shares", c)
	var problems []string
	if err != nil {
		problems = append(problems, fmt.Sprintf("first sync: %v", err))
	}
	h.expectKnown("order", problems)
	if err == nil {
		checkCalls(t, h, "shared zone, both shares", c, calls{get: 2, appendc: 1})
	}
	if err != nil {
		// The next run finds the address in place.
		h.sync()
	} else {
		h.wantChanges(plan, zone+" create @ MX", zone+" create @ TXT", zone+" create mail A",
			zone+" create billing MX", zone+" create billing TXT")
	}
	h.assertConverged()
	_, c = h.sync()
	h.measure("2 no drift", c)
	checkCalls(t, h, "shared zone, no drift", c, calls{get: 1})
	h.inSync()
}

// (k) A policy whose zone the provider does not have: that domain is an
// error naming the zone and the provider, nothing is written there, and the
// other domain of the run is synced.
func testMissingZone(t *testing.T, h *harness) {
	h.policy(pol{spf: "none"}.yaml())
	h.policyFile("example.org", "domain: example.org\nprovider: "+providerName+"\nparked: true\n")
	plan, c, err := h.run(sync.ModeOnce)
	h.measure("1 one zone missing", c)
	if err == nil {
		t.Fatalf("the sync succeeded without the zone example.com:\n%s", planText(plan))
	}
	if !strings.Contains(err.Error(), "example.com") || !strings.Contains(err.Error(), `"`+providerName+`"`) {
		t.Errorf("the error does not name the zone and the provider: %v", err)
	}
	status := map[string]string{}
	for _, z := range plan.Zones {
		status[z.Zone] = z.Status
	}
	if diff := cmp.Diff(map[string]string{zone: sync.StatusError, "example.org": sync.StatusApplied}, status); diff != "" {
		t.Errorf("zone statuses (-want +got):\n%s", diff)
	}
	checkCalls(t, h, "one zone missing", c, calls{get: 3, appendc: 1})
	if got := readBackend(t, h.fx, "example.org"); len(got) < 3 {
		t.Errorf("example.org after the sync: %v", got)
	}
}

// (l) A write that fails with a transient error after part of it landed
// (the second request after the zone read answers 503) is retried by the
// wrapper: the zone is read again, only what is missing is sent, and the run
// converges with no record twice. Then the same for an update of the SPF
// and the DMARC record (one replacement): the writing request fails; on
// Cloudflare the one after the SPF was changed in place, before the DMARC
// record. Backends that cannot be made to fail run the same syncs
// without the fault.
func testTransientWrite(t *testing.T, h *harness) {
	var mu stdsync.Mutex
	read, sent, failAt := false, 0, 2
	h.observer = func(_, op, result string) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case op == providers.OpGetRecords && result == providers.ResultOK:
			read = true
		case op == providers.OpRequest && read && h.fx.failNext != nil:
			if sent++; sent == failAt {
				h.fx.failNext(1)
			}
		}
	}
	h.policy(pol{spf: "none", dkim: true, dmarc: "reject"}.yaml())
	plan, c, err := h.run(sync.ModeOnce)
	h.measure("1 create, one 503", c)
	if err != nil {
		t.Fatalf("sync: %v\n%s", err, planText(plan))
	}
	wantRetries := int64(0)
	if h.fx.failNext != nil {
		wantRetries = 1
	}
	if c.retries != wantRetries || c.errors != 0 {
		t.Errorf("%d retried and %d failed calls, want %d and 0", c.retries, c.errors, wantRetries)
	}
	h.wantChanges(plan, zone+" create @ MX", zone+" create @ TXT", zone+" create _dmarc TXT",
		zone+" create mail A", zone+" create s2048._domainkey TXT")
	h.assertConverged()
	seen := map[string]int{}
	for _, r := range readBackend(t, h.fx, zone) {
		seen[r.Name+" "+r.Type+" "+r.Data]++
	}
	for k, n := range seen {
		if n > 1 {
			t.Errorf("%d records %s", n, k)
		}
	}
	checkApexTXT(t, h, spfOf(t, h))
	h.inSync()

	mu.Lock()
	// The request that writes: the second after the zone read (the replace
	// reads the touched RRsets, then writes them in one request); on
	// Cloudflare the third, which edits the DMARC record after the SPF.
	read, sent, failAt = false, 0, 2
	if h.fx.typ == "cloudflare" {
		failAt = 3
	}
	mu.Unlock()
	h.policy(pol{spf: "include:_spf.example.net", dkim: true, dmarc: "reject", dmarcRUA: true}.yaml())
	plan, c, err = h.run(sync.ModeOnce)
	h.measure("2 update, one 503", c)
	if err != nil {
		t.Fatalf("sync: %v\n%s", err, planText(plan))
	}
	h.wantChanges(plan, zone+" update @ TXT", zone+" update _dmarc TXT")
	if c.retries != wantRetries || c.errors != 0 || c.replace != 1+wantRetries {
		t.Errorf("update: %d retried and %d failed calls, %d replace attempts, want %d, 0 and %d", c.retries, c.errors, c.replace, wantRetries, 1+wantRetries)
	}
	h.assertConverged()
	checkApexTXT(t, h, spfOf(t, h))
	if got := h.records(zone, "_dmarc", "TXT"); len(got) != 1 || !strings.Contains(got[0].Data, "rua=mailto:") {
		t.Errorf("_dmarc after the update: %v", got)
	}
	h.inSync()
}

// (m) Restoring the journal entry of an SPF and DMARC update puts both back
// as they were, through the same backend, and leaves the foreign values at
// the apex exactly as they are.
func testRestore(t *testing.T, h *harness) {
	h.policy(pol{spf: "none", dmarc: "reject"}.yaml())
	h.sync()
	spf1 := spfOf(t, h)
	dmarc1 := h.records(zone, "_dmarc", "TXT")
	h.policy(pol{spf: "include:_spf.example.net", dmarc: "reject", dmarcRUA: true}.yaml())
	h.sync()
	paths, err := sync.ListJournal(filepath.Join(h.dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	var update string
	for _, p := range paths {
		e, err := sync.ReadJournal(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range e.Changes {
			if c.Action == sync.ActionUpdate && c.Name == "_dmarc" {
				update = p
			}
		}
	}
	if update == "" {
		t.Fatalf("no journal entry of the update among %d", len(paths))
	}
	e := &sync.Engine{Config: h.load(), Providers: h.provs}
	before := h.counts.Snapshot()
	plan, err := e.Restore(context.Background(), update, sync.Options{Mode: sync.ModeOnce})
	if err != nil {
		t.Fatalf("restore: %v\n%s", err, planText(plan))
	}
	after := h.counts.Snapshot()
	writes := int64(0)
	for _, op := range []string{providers.OpAppendRecords, providers.OpDeleteRecords, providers.OpSetRecords, providers.OpReplaceRecords} {
		k := providers.CallKey{Provider: providerName, Operation: op, Result: providers.ResultOK}
		writes += after[k] - before[k]
	}
	if writes == 0 || writes > 4 {
		t.Errorf("restore: %d write calls", writes)
	}
	checkApexTXT(t, h, spf1)
	if got := h.records(zone, "_dmarc", "TXT"); !cmp.Equal(dmarc1, got) {
		t.Errorf("_dmarc after the restore: %v, want %v", got, dmarc1)
	}
}

// conditional returns the calls c would be with a backend that writes
// conditionally: the engine makes every write of a zone one
// ReplaceRecordsIf (counted as replace_records), a create or a delete
// alone too.
func (c calls) conditional() calls {
	c.replace += c.appendc + c.del
	c.appendc, c.del = 0, 0
	return c
}

// checkCalls compares the provider-level calls of a run with want.
func checkCalls(t *testing.T, h *harness, what string, got, want calls) {
	t.Helper()
	if providers.CanReplaceIf(h.provs[providerName]) {
		want = want.conditional()
	}
	if got.get != want.get || got.appendc != want.appendc || got.del != want.del || got.set != want.set || got.replace != want.replace {
		t.Errorf("%s: %s, want get=%d append=%d delete=%d set=%d replace=%d", what, got, want.get, want.appendc, want.del, want.set, want.replace)
	}
}
