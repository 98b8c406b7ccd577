package sync

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/sync/check"
)

// noNetwork fails every lookup: an answer must come from the zones read.
type noNetwork struct{}

func (noNetwork) Lookup(_ context.Context, name, qtype string) (check.Answer, error) {
	return check.Answer{}, fmt.Errorf("%s %s: no network in this test", name, qtype)
}

// A dry run keeps each small zone packed once it is planned, the values its
// policy wants shared with the compiled sets, and its checks see every
// record as read: in the domain's own zone (Env.Values) and, through the
// resolver, in another zone read this run (an MX target, a CNAME to follow,
// mixed case, odd TTLs).
func TestDryRunChecksReadPackedZones(t *testing.T) {
	dkim := "v=DKIM1; k=rsa; p=" + strings.Repeat("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A", 12)
	zones := map[string][]libdns.RR{
		"a.example.": {
			tRR("@", "NS", tHour, "ns1.a.example."),
			tRR("@", "MX", tHour, "10 mail.b.example."),
			tRR("@", "TXT", 300*time.Second, "v=spf1 -all"),
			tRR("@", "TXT", tHour, "google-site-verification=x"),
			tRR("s1._domainkey", "TXT", tHour, dkim),
			tRR("_dmarc", "TXT", tHour, "v=DMARC1; p=reject"),
			tRR("Www", "CNAME", 7*time.Second, "web.b.example."),
		},
		"b.example.": {
			tRR("@", "NS", tHour, "ns1.b.example."),
			tRR("mail", "A", tHour, "192.0.2.25"),
			tRR("web", "AAAA", tHour, "2001:db8::80"),
		},
	}
	desired := map[string][]policy.RRset{
		"a.example": {
			tOwned("a.example", "a.example", "@", "MX", tHour, "10 mail.b.example."),
			tOwnedSPF("a.example", "a.example", "v=spf1 -all"),
			tOwned("a.example", "a.example", "s1._domainkey", "TXT", tHour, dkim),
			tOwned("a.example", "a.example", "_dmarc", "TXT", tHour, "v=DMARC1; p=reject"),
		},
		"b.example": {tOwned("b.example", "b.example", "mail", "A", tHour, "192.0.2.25")},
	}
	e, _, _ := testEngine(t, zones, desired)
	e.Config.LiveChecks = true
	e.Resolver = noNetwork{}
	var mu sync.Mutex
	seen := map[string][]string{}
	e.Checks = []check.Check{{Name: "test", Run: func(ctx context.Context, env *CheckEnv, d *policy.Domain) []Finding {
		if d.Domain != "a.example" {
			return nil
		}
		got := []string{
			strings.Join(env.Values("_dmarc", "TXT"), "|"),
			strings.Join(env.Values("@", "txt"), "|"),
			strings.Join(env.Values("S1._DOMAINKEY", "TXT"), "|"),
			strings.Join(env.Values("www", "CNAME"), "|"),
			strings.Join(env.Values("nope", "TXT"), "|"),
		}
		for _, q := range [][2]string{{"mail.b.example.", "A"}, {"www.a.example.", "AAAA"}, {"a.example.", "MX"}, {"missing.b.example.", "A"}} {
			ans, err := env.Resolver.Lookup(ctx, q[0], q[1])
			if err != nil {
				got = append(got, "error: "+err.Error())
				continue
			}
			var recs []string
			for _, rr := range ans.Records {
				recs = append(recs, fmt.Sprintf("%s %s %d %s", rr.Name, rr.Type, int(rr.TTL.Seconds()), rr.Data))
			}
			got = append(got, fmt.Sprintf("rcode %d zone %v: %s", ans.Rcode, ans.FromZone, strings.Join(recs, ", ")))
		}
		mu.Lock()
		seen[d.Domain] = got
		mu.Unlock()
		return nil
	}}}
	rs, err := e.newRun(Options{Mode: ModeDryRun})
	if err != nil {
		t.Fatal(err)
	}
	rs.compile(context.Background(), e)
	rs.readZones(context.Background(), e)
	for _, z := range rs.order {
		if z.live != nil || z.packed.Len() != len(zones[z.fqdn]) {
			t.Errorf("zone %s after its plan: %d records as read, %d packed", z.key.zone, len(z.live), z.packed.Len())
		}
		if z.key.zone == "a.example" && z.packed.Size() > 150 {
			// The DKIM key, the MX and the DMARC and SPF records are the
			// policy's strings, not copies.
			t.Errorf("zone a.example packed in %d bytes", z.packed.Size())
		}
		want := slices.Clone(zones[z.fqdn])
		for i := range want {
			want[i].Name = strings.ToLower(want[i].Name) // as read: canonical
		}
		if got := z.packed.Unpack(); !slices.Equal(got, want) {
			t.Errorf("zone %s unpacked:\n%v\nwant\n%v", z.key.zone, got, want)
		}
	}
	rs.safety(e.Config)
	rs.check(context.Background(), e)
	want := []string{
		"v=DMARC1; p=reject",
		"v=spf1 -all|google-site-verification=x",
		dkim,
		"web.b.example.",
		"",
		"rcode 0 zone true: mail.b.example. A 3600 192.0.2.25",
		"rcode 0 zone true: www.a.example. CNAME 7 web.b.example., web.b.example. AAAA 3600 2001:db8::80",
		"rcode 0 zone true: a.example. MX 3600 10 mail.b.example.",
		"rcode 3 zone true: ",
	}
	if got := seen["a.example"]; !slices.Equal(got, want) {
		t.Errorf("the checks saw\n%q\nwant\n%q", got, want)
	}
}

// A sub-domain's DMARC record in a packed zone is still judged against its
// parent's record in that zone (the safety rules read the records).
func TestDryRunPackedZoneParentDMARC(t *testing.T) {
	zones := map[string][]libdns.RR{"example.com.": comZone(tRR("_dmarc", "TXT", tHour, "v=DMARC1; p=reject; sp=reject"))}
	desired := map[string][]policy.RRset{
		"example.com":      {tOwned("example.com", "example.com", "_dmarc", "TXT", tHour, "v=DMARC1; p=reject; sp=reject")},
		"shop.example.com": {tOwned("shop.example.com", "example.com", "_dmarc.shop", "TXT", tHour, "v=DMARC1; p=none")},
	}
	e, _, _ := testEngine(t, zones, desired)
	plan, err := e.Run(context.Background(), Options{Mode: ModeDryRun, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(plan.Findings, func(f Finding) bool {
		return f.Kind == "safety" && f.Domain == "shop.example.com" && strings.Contains(f.Message, "weaker than the sp=reject example.com gives")
	}) {
		t.Errorf("no finding on the sub-domain's weaker DMARC: %+v", plan.Findings)
	}
}

// A zone to be written is never packed: --once, and a dry run whose plan
// is saved, keep the records as read for the write path.
func TestZonesToWriteAreNotPacked(t *testing.T) {
	zones := map[string][]libdns.RR{"example.com.": comZone()}
	for _, opts := range []Options{{Mode: ModeOnce}, {Mode: ModeDryRun, ForApply: true}} {
		e, _, _ := testEngine(t, zones, map[string][]policy.RRset{"example.com": comPolicy()})
		rs, err := e.newRun(opts)
		if err != nil {
			t.Fatal(err)
		}
		rs.compile(context.Background(), e)
		rs.readZones(context.Background(), e)
		if z := rs.order[0]; z.packed.Len() != 0 || len(z.live) != len(zones["example.com."]) {
			t.Errorf("%+v: %d packed, %d as read", opts, z.packed.Len(), len(z.live))
		}
	}
}
