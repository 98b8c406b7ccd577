package sync

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/providers"
)

// cnameZone holds CNAMEs at names policies write: the mail host, _dmarc,
// and shop (a subdomain with a policy of its own), beside data maildns
// may write (the apex SPF, to be corrected).
func cnameZone() []libdns.RR {
	return []libdns.RR{
		tRR("@", "SOA", tHour, "ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 3600"),
		tRR("@", "NS", tHour, "ns1.example.com."),
		tRR("ns1", "A", tHour, "192.0.2.53"),
		tRR("@", "TXT", tHour, "v=spf1 mx ~all"),
		tRR("@", "MX", tHour, "10 mx.example.net."),
		tRR("mail", "CNAME", tHour, "mailhost.example.net."),
		tRR("_dmarc", "CNAME", tHour, "dmarc.example.net."),
		tRR("shop", "CNAME", tHour, "shops.example.net."),
	}
}

func cnamePolicies() map[string][]policy.RRset {
	return map[string][]policy.RRset{
		"example.com": {
			tOwned("example.com", "example.com", "mail", "A", tHour, "203.0.113.25"),
			tOwnedSPF("example.com", "example.com", "v=spf1 ip4:203.0.113.25 -all"),
			tOwned("example.com", "example.com", "_dmarc", "TXT", tHour, "v=DMARC1; p=reject"),
		},
		"shop.example.com": {
			tOwned("shop.example.com", "example.com", "shop", "MX", tHour, "10 mail.example.com."),
		},
	}
}

// held are the RRsets cnamePolicies want at a CNAME.
var held = []string{"_dmarc TXT", "mail A", "shop MX"}

func cnameFindings(plan *Plan) []string {
	var out []string
	for _, f := range plan.Findings {
		if f.Kind == "cname" {
			if f.Severity != SevError || !strings.Contains(f.Message, "CNAME") {
				return []string{"bad finding: " + f.Message}
			}
			out = append(out, f.Subject)
		}
	}
	slices.Sort(out)
	return out
}

// A policy name that holds a CNAME is a "cname" error finding, offline and
// in every mode; the RRset there is held back while the rest of the zone is
// written; the dry run still shows what a sync would want there.
func TestCNAMEAtPolicyNameIsHeld(t *testing.T) {
	const zone = "example.com."
	e, st := conditionalEngine(t, map[string][]libdns.RR{zone: cnameZone()}, cnamePolicies())

	plan, err := e.Run(context.Background(), Options{Mode: ModeDryRun, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := cnameFindings(plan); !slices.Equal(got, held) {
		t.Errorf("dry run: cname findings %v, want %v", got, held)
	}
	if plan.Summary.Create+plan.Summary.Update != 4 {
		t.Errorf("dry run: %+v, want the 4 changes shown", plan.Summary)
	}

	plan, err = e.Run(context.Background(), Options{Mode: ModeOnce, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := cnameFindings(plan); !slices.Equal(got, held) {
		t.Errorf("sync: cname findings %v, want %v", got, held)
	}
	after := st.records(zone)
	for _, rr := range after {
		if rr.Type != "CNAME" && (rr.Name == "mail" || rr.Name == "_dmarc" || rr.Name == "shop") {
			t.Errorf("%v written beside a CNAME", rr)
		}
	}
	if !slices.Contains(after, tRR("@", "TXT", tHour, "v=spf1 ip4:203.0.113.25 -all")) || countPrefix(after, "@", "v=spf1") != 1 {
		t.Errorf("the rest of the zone was not written: %v", after)
	}
	for _, zp := range plan.Zones {
		want := StatusApplied
		if zp.Domain == "shop.example.com" {
			want = StatusRefused // its one change was held back
		}
		if zp.Status != want {
			t.Errorf("%s: status %s, want %s", zp.Domain, zp.Status, want)
		}
		for _, c := range zp.Changes {
			if slices.Contains(held, c.Name+" "+c.Type) {
				t.Errorf("%s: held change %s %s in the plan of a sync", zp.Domain, c.Name, c.Type)
			}
		}
	}
}

// The same through zone files: the file maildns writes still loads in
// named-checkzone (no "CNAME and other data").
func TestCNAMEAtPolicyNameZonefile(t *testing.T) {
	checkzone, err := exec.LookPath("named-checkzone")
	if err != nil {
		t.Fatalf("named-checkzone (bind9-utils, installed by scripts/test-deps.sh): %v", err)
	}
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("$ORIGIN example.com.\n$TTL 3600\n")
	for _, rr := range cnameZone() {
		data := rr.Data
		if rr.Type == "TXT" {
			data = strconv.Quote(data)
		}
		b.WriteString(rr.Name + " IN " + rr.Type + " " + data + "\n")
	}
	path := filepath.Join(dir, "example.com.zone")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := providers.New("zonefile", &providers.Settings{Name: "mem", Values: map[string]string{"directory": dir}})
	if err != nil {
		t.Fatal(err)
	}
	e, _, _ := testEngine(t, nil, cnamePolicies())
	e.Providers = map[string]providers.Provider{"mem": providers.Wrap(p, providers.WrapOptions{Name: "mem", Type: "zonefile", Counts: &providers.Counts{}})}
	plan, err := e.Run(context.Background(), Options{Mode: ModeOnce, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := cnameFindings(plan); !slices.Equal(got, held) {
		t.Errorf("cname findings %v, want %v", got, held)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "ip4:203.0.113.25") {
		t.Errorf("the SPF was not written:\n%s", data)
	}
	if out, err := exec.Command(checkzone, "example.com", path).CombinedOutput(); err != nil {
		t.Errorf("named-checkzone: %v\n%s\n%s", err, out, data)
	}
}

// guarded is a provider whose backend will not write a zone that holds
// DNSSEC signatures, as the zone file backend does.
type guarded struct{ providers.Provider }

func (g *guarded) Unwrap() providers.Provider { return g.Provider }
func (g *guarded) CanReplaceIf() bool         { return providers.CanReplaceIf(g.Provider) }

func (g *guarded) ReplaceRecordsIf(ctx context.Context, zone string, expect []providers.RRsetState, remove, add []libdns.Record) ([]libdns.Record, error) {
	return g.Provider.(providers.ConditionalReplacer).ReplaceRecordsIf(ctx, zone, expect, remove, add)
}

func (g *guarded) GuardWrite(zone string, live []libdns.Record) *providers.Refusal {
	for _, r := range live {
		if r.RR().Type == "RRSIG" {
			return &providers.Refusal{Kind: "dnssec", Message: "the zone holds DNSSEC signatures: let the server sign it"}
		}
	}
	return nil
}

// A zone the backend refuses to write (providers.GuardWrite) is a finding
// of the refusal's kind; nothing is written to it; the plan still shows
// the changes; the zone is refused.
func TestGuardedZoneIsRefused(t *testing.T) {
	const zone = "example.com."
	live := comZone(tRR("@", "TXT", tHour, "v=spf1 mx ~all"),
		tRR("@", "RRSIG", tHour, "SOA 13 2 3600 20270101000000 20261201000000 12345 example.com. c2ln"))
	e, st := conditionalEngine(t, map[string][]libdns.RR{zone: live}, map[string][]policy.RRset{"example.com": comPolicy()})
	e.Providers["mem"] = &guarded{e.Providers["mem"]}
	for _, mode := range []string{ModeDryRun, ModeOnce} {
		plan, err := e.Run(context.Background(), Options{Mode: mode, Offline: true})
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		zp := plan.Zones[0]
		want := map[string]string{ModeDryRun: StatusDrift, ModeOnce: StatusRefused}[mode]
		if zp.Status != want || len(zp.Changes) != 4 {
			t.Errorf("%s: status %s with %d changes, want %s with 4", mode, zp.Status, len(zp.Changes), want)
		}
		n := 0
		for _, f := range plan.Findings {
			if f.Kind == "dnssec" && f.Severity == SevError && strings.Contains(f.Message, "let the server sign") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: %d dnssec findings, want 1: %+v", mode, n, plan.Findings)
		}
	}
	if st.replaceIfs+st.appends+st.deletes+st.replaces+st.sets != 0 {
		t.Errorf("wrote to a zone its backend refuses")
	}
	if ents := journalEntries(t, e.Config.StateDir); len(ents) != 0 {
		t.Errorf("%d journal entries for a zone not written", len(ents))
	}
}

// TestCNAMEConflictScanIsIndex: a small zone's conflicts found by a scan
// are those its index finds, whatever the case of names and types.
func TestCNAMEConflictScanIsIndex(t *testing.T) {
	live := []libdns.RR{
		tRR("www", "A", tHour, "192.0.2.1"),
		tRR("Shop", "cname", tHour, "shops.example.net."),
		tRR("shop", "CNAME", tHour, "other.example.net."),
		tRR("mail", "A", tHour, "192.0.2.25"),
		tRR("blog", "CNAME", tHour, "www.example.com."),
		tRR("blog", "RRSIG", tHour, "CNAME 13 3 3600 20300101000000 20200101000000 1 example.com. AAAA"),
	}
	idx := indexLive(live)
	for _, name := range []string{"www", "shop", "SHOP", "mail", "blog", "none", "@"} {
		for _, typ := range []string{"A", "TXT", "MX", "CNAME"} {
			scan, indexed := cnameConflict(nil, live, name, typ), cnameConflict(idx, live, name, typ)
			if scan != indexed {
				t.Errorf("%s %s: scan %q, index %q", name, typ, scan, indexed)
			}
		}
	}
	if got := cnameConflict(nil, live, "shop", "A"); got != "holds a CNAME to shops.example.net." {
		t.Errorf("shop A: %q", got)
	}
}
