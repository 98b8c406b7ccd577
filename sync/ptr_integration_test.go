package sync

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/maildns/maildns/internal/testbind"
	"github.com/maildns/maildns/policy"
	_ "github.com/maildns/maildns/providers/rfc2136"
	_ "github.com/maildns/maildns/providers/zonefile"
	"github.com/maildns/maildns/sync/check"
	"github.com/miekg/dns"
)

// The managed-PTR round trip: the reverse zone is delegated to us, the PTR of
// the mail host still holds the ISP's default; a dry run plans the change, a
// sync writes it, the next run is in sync. The IPv6 address's reverse zone is
// not delegated: its PTR is left to the live check (off here: no network).

const ptrRoundTripPolicy = `domain: example.com
provider: fwd
ttl: 3600
mail_hosts:
  - name: mail
    ipv4: [203.0.113.25]
    ipv6: ["2001:db8::25"]
ptr:
  provider: rev
  zone: 113.0.203.in-addr.arpa
`

const ptrRoundTripForward = `$ORIGIN example.com.
$TTL 3600
@	IN SOA	ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 3600
@	IN NS	ns1.example.com.
ns1	IN A	127.0.0.1
mail	IN A	203.0.113.25
mail	IN AAAA	2001:db8::25
`

const ptrRoundTripReverse = `$ORIGIN 113.0.203.in-addr.arpa.
$TTL 3600
@	IN SOA	ns1.isp.example. hostmaster.isp.example. 1 7200 3600 1209600 3600
@	IN NS	ns1.isp.example.
25	IN PTR	host-25.isp.example.
80	IN PTR	www.example.com.
`

// ptrRoundTripConfig writes maildns.yaml (providers fwd and rev with the
// given YAML bodies) and the policy into a new directory and returns the
// config's path.
func ptrRoundTripConfig(t *testing.T, dir, fwd, rev string) string {
	t.Helper()
	cfg := "policies: [\"policies/*.yaml\"]\nstate_dir: state\nlive_checks: false\nlog: {level: debug}\n" +
		"safety: {max_changes: 20}\nproviders:\n  fwd: " + fwd + "\n  rev: " + rev + "\n"
	writeFile(t, filepath.Join(dir, "maildns.yaml"), cfg)
	writeFile(t, filepath.Join(dir, "policies", "example.com.yaml"), ptrRoundTripPolicy)
	return filepath.Join(dir, "maildns.yaml")
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// runConfig loads the config and runs the engine once in mode.
func runConfig(t *testing.T, path, mode string) (*Plan, string) {
	t.Helper()
	return runConfigResolver(t, path, mode, nil)
}

// runConfigResolver is runConfig with the resolver of the live checks.
func runConfigResolver(t *testing.T, path, mode string, r Resolver) (*Plan, string) {
	t.Helper()
	cfg, err := policy.LoadConfig(path)
	if err != nil {
		t.Fatalf("loading %s: %v", path, err)
	}
	provs, err := BuildProviders(cfg)
	if err != nil {
		t.Fatalf("building providers: %v", err)
	}
	var logs bytes.Buffer
	e := &Engine{Config: cfg, Providers: provs, Resolver: r, Logger: slog.New(slog.NewJSONHandler(&logs, nil))}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	plan, err := e.Run(ctx, Options{Mode: mode})
	if err != nil {
		t.Fatalf("%s run: %v\nplan: %+v\nlogs:\n%s", mode, err, plan, logs.String())
	}
	return plan, logs.String()
}

func zonePlan(t *testing.T, plan *Plan, zone string) ZonePlan {
	t.Helper()
	for _, z := range plan.Zones {
		if z.Zone == zone {
			return z
		}
	}
	t.Fatalf("no plan for zone %s in %+v", zone, plan.Zones)
	return ZonePlan{}
}

func ptrFindings(plan *Plan) []Finding {
	var out []Finding
	for _, f := range plan.Findings {
		if f.Kind == KindPTR {
			out = append(out, f)
		}
	}
	return out
}

// checkPTRRoundTrip runs dry-run, once, dry-run against the config at path.
func checkPTRRoundTrip(t *testing.T, path string) {
	t.Helper()
	const rev = "113.0.203.in-addr.arpa"
	v6skipped := []Finding{{Severity: SevInfo, Kind: "ptr", Domain: "example.com", Subject: "2001:db8::25",
		Message: "skipped: live checks are off"}}

	plan, _ := runConfig(t, path, ModeDryRun)
	zp := zonePlan(t, plan, rev)
	wantChange := []Change{{Action: ActionUpdate, Name: "25", Type: "PTR", TTL: 3600,
		Before: []string{"host-25.isp.example."}, After: []string{"mail.example.com."}}}
	if zp.Status != StatusDrift || !cmp.Equal(zp.Changes, wantChange) {
		t.Errorf("dry run, zone %s: status %s, changes (-want +got):\n%s", rev, zp.Status, cmp.Diff(wantChange, zp.Changes))
	}
	if diff := cmp.Diff(v6skipped, ptrFindings(plan)); diff != "" {
		t.Errorf("dry run: ptr findings (-want +got):\n%s", diff)
	}

	plan, logs := runConfig(t, path, ModeOnce)
	if zp := zonePlan(t, plan, rev); zp.Status != StatusApplied {
		t.Errorf("once, zone %s: status %s, want %s (error %q)\nlogs:\n%s", rev, zp.Status, StatusApplied, zp.Error, logs)
	}
	if diff := cmp.Diff(v6skipped, ptrFindings(plan)); diff != "" {
		t.Errorf("once: ptr findings (-want +got):\n%s", diff)
	}

	plan, _ = runConfig(t, path, ModeDryRun)
	for _, z := range plan.Zones {
		if z.Zone == rev && (z.Status != StatusInSync || len(z.Changes) > 0) {
			t.Errorf("after the sync, zone %s: status %s, changes %+v", z.Zone, z.Status, z.Changes)
		}
	}
	if diff := cmp.Diff(v6skipped, ptrFindings(plan)); diff != "" {
		t.Errorf("after the sync: ptr findings (-want +got):\n%s", diff)
	}
}

func TestPTRManagedRoundTripZonefile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "zones", "example.com.zone"), ptrRoundTripForward)
	writeFile(t, filepath.Join(dir, "zones", "113.0.203.in-addr.arpa.zone"), ptrRoundTripReverse)
	path := ptrRoundTripConfig(t, dir, "{type: zonefile, directory: zones}", "{type: zonefile, directory: zones}")
	checkPTRRoundTrip(t, path)

	b, err := os.ReadFile(filepath.Join(dir, "zones", "113.0.203.in-addr.arpa.zone"))
	if err != nil {
		t.Fatal(err)
	}
	var ptrs []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); slices.Contains(f, "PTR") {
			ptrs = append(ptrs, f[0]+" "+f[len(f)-1])
		}
	}
	want := []string{"25 mail.example.com.", "80 www.example.com."}
	if diff := cmp.Diff(want, ptrs); diff != "" {
		t.Errorf("PTRs in the zone file (-want +got):\n%s\n%s", diff, b)
	}
}

func TestPTRManagedRoundTripRFC2136(t *testing.T) {
	srv := testbind.Start(t,
		testbind.Zone{Name: "example.com", Content: ptrRoundTripForward},
		testbind.Zone{Name: "113.0.203.in-addr.arpa", Content: ptrRoundTripReverse})
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "tsig.key"), srv.KeySecret+"\n")
	set := srv.Settings()
	prov := "{type: rfc2136, server: \"" + set["server"] + "\", key_name: " + set["key_name"] +
		", key_algorithm: " + set["key_algorithm"] + ", key: \"${file:tsig.key}\"}"
	path := ptrRoundTripConfig(t, dir, prov, prov)
	checkPTRRoundTrip(t, path)

	// What BIND now serves: the PTR names the host and the host resolves
	// back, as the checked mode sees it over the wire.
	m := srv.Query(t, "25.113.0.203.in-addr.arpa.", dns.TypePTR)
	var got []string
	for _, rr := range m.Answer {
		if p, ok := rr.(*dns.PTR); ok {
			got = append(got, p.Ptr)
		}
	}
	if diff := cmp.Diff([]string{"mail.example.com."}, got); diff != "" {
		t.Errorf("PTR served by BIND (-want +got):\n%s", diff)
	}
	d := &policy.Domain{Domain: "example.com", Zone: "example.com", Provider: "fwd", MailHosts: []policy.MailHost{
		{Name: "mail", IPv4: []string{"203.0.113.25"}}}}
	env := &CheckEnv{Resolver: directResolver{srv.Addr}, Live: true, Logger: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if f := check.CheckPTR(ctx, env, d); len(f) > 0 {
		t.Errorf("checked mode against BIND after the sync: %+v", f)
	}
}

// TestPTRCheckedThroughEngine runs the check in checked mode through the
// engine: the action finding lands in the plan and the SPEC §5 log line
// carries exactly its keys.
func TestPTRCheckedThroughEngine(t *testing.T) {
	// The network, as the resolvers see it: the ISP's reverse zones.
	r := &mapResolver{}
	ispZone(r)
	r.add("25.113.0.203.in-addr.arpa.", "PTR", "host-25.isp.example.")
	r.add("8.b.d.0.1.0.0.2.ip6.arpa.", "SOA", "ns1.isp.example. hostmaster.isp.example. 1 2 3 4 5")
	r.add("8.b.d.0.1.0.0.2.ip6.arpa.", "NS", "ns1.isp.example.")
	checkPTRThroughEngine(t, r, "")
}

// TestPTRCheckedThroughEngineBIND is the same with the ISP's reverse zones on
// BIND, reached through the resolvers: of maildns.yaml as in production.
func TestPTRCheckedThroughEngineBIND(t *testing.T) {
	srv := testbind.Start(t,
		testbind.Zone{Name: "113.0.203.in-addr.arpa", Content: `$ORIGIN 113.0.203.in-addr.arpa.
$TTL 3600
@	IN SOA	ns1.isp.example. hostmaster.isp.example. 1 7200 3600 1209600 3600
@	IN NS	ns1.isp.example.
@	IN NS	ns2.isp.example.
25	IN PTR	host-25.isp.example.
`},
		testbind.Zone{Name: "8.b.d.0.1.0.0.2.ip6.arpa", Content: `$ORIGIN 8.b.d.0.1.0.0.2.ip6.arpa.
$TTL 3600
@	IN SOA	ns1.isp.example. hostmaster.isp.example. 1 7200 3600 1209600 3600
@	IN NS	ns1.isp.example.
`})
	checkPTRThroughEngine(t, nil, "resolvers: [\""+srv.Addr+"\"]\n")
}

// checkPTRThroughEngine runs a dry run of a checked-mode policy whose
// forward zone is a zone file (the mail host's A/AAAA are answered from it)
// and whose reverse zones r, or the config's resolvers, answer.
func checkPTRThroughEngine(t *testing.T, r Resolver, resolvers string) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "zones", "example.com.zone"), ptrRoundTripForward)
	writeFile(t, filepath.Join(dir, "maildns.yaml"), "policies: [\"policies/*.yaml\"]\nstate_dir: state\nlive_checks: true\n"+
		resolvers+"providers:\n  fwd: {type: zonefile, directory: zones}\n")
	writeFile(t, filepath.Join(dir, "policies", "example.com.yaml"), strings.Split(ptrRoundTripPolicy, "ptr:")[0])

	var res Resolver
	if r != nil {
		res = r // a nil *mapResolver must stay a nil Resolver
	}
	plan, logs := runConfigResolver(t, filepath.Join(dir, "maildns.yaml"), ModeDryRun, res)
	req4 := "Please set the reverse DNS (PTR) of 203.0.113.25 to mail.example.com. (currently: host-25.isp.example.). " +
		"The reverse zone 113.0.203.in-addr.arpa is served by ns1.isp.example., ns2.isp.example. (contact hostmaster@isp.example)."
	req6 := "Please set the reverse DNS (PTR) of 2001:db8::25 to mail.example.com. (currently: none). " +
		"The reverse zone 8.b.d.0.1.0.0.2.ip6.arpa is served by ns1.isp.example. (contact hostmaster@isp.example)."
	// The engine sorts findings by subject.
	want := []Finding{
		{Severity: SevAction, Kind: "ptr", Domain: "example.com", Subject: "2001:db8::25",
			Message:    "2001:db8::25 has no PTR, want mail.example.com. (an IPv6 address needs its own PTR, a common omission); reverse zone 8.b.d.0.1.0.0.2.ip6.arpa at ns1.isp.example.",
			ISPRequest: req6},
		{Severity: SevAction, Kind: "ptr", Domain: "example.com", Subject: "203.0.113.25",
			Message:    "PTR of 203.0.113.25 is host-25.isp.example., want mail.example.com.; reverse zone 113.0.203.in-addr.arpa at ns1.isp.example., ns2.isp.example.",
			ISPRequest: req4},
	}
	if diff := cmp.Diff(want, ptrFindings(plan)); diff != "" {
		t.Errorf("ptr findings (-want +got):\n%s", diff)
	}

	var got []string
	for _, line := range strings.Split(logs, "\n") {
		if !strings.Contains(line, `"msg":"ptr needs ISP action"`) {
			continue
		}
		var keys []string
		dec := json.NewDecoder(strings.NewReader(line))
		dec.Token() // {
		for dec.More() {
			k, _ := dec.Token()
			var v any
			_ = dec.Decode(&v)
			keys = append(keys, k.(string))
		}
		got = append(got, strings.Join(keys, " "))
	}
	wantKeys := "time level msg domain ip have want isp_request"
	if diff := cmp.Diff([]string{wantKeys, wantKeys}, got); diff != "" {
		t.Errorf("keys of the \"ptr needs ISP action\" log lines (-want +got):\n%s\nlogs:\n%s", diff, logs)
	}
}
