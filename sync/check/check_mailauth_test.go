package check

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/internal/testdns"
	"github.com/maildns/maildns/policy"
)

// maTest is one check run against a loopback DNS server and a zone.
type maTest struct {
	zone    []libdns.RR
	desired []policy.RRset
	live    bool
}

type maWant struct {
	sev, subject, contains string
}

func maDomain() *policy.Domain { return &policy.Domain{Domain: "example.com", Zone: "example.com"} }

func maEnv(srv *testdns.Server, tc maTest) *Env {
	env := &Env{Live: tc.live, Zone: tc.zone, Desired: tc.desired}
	if tc.live {
		env.Resolver = NewZoneResolver(map[string][]libdns.RR{"example.com": tc.zone},
			NewCachingResolver(NewDNSResolver([]string{srv.Addr}, 300*time.Millisecond)))
	}
	return env
}

func maTXT(name, v string) libdns.RR {
	return libdns.RR{Name: name, Type: "TXT", TTL: time.Hour, Data: v}
}

func maSet(element, name, typ string, values ...string) policy.RRset {
	own := policy.OwnAll
	if element == "spf" {
		own = policy.OwnPrefix
	}
	return policy.RRset{Zone: "example.com", Name: name, Type: typ, TTL: time.Hour, Values: values, Own: own, Element: policy.ElementNamed(element)}
}

// maCheck compares findings with wants: the same number, each want
// matching a distinct finding (severity, subject, message substring).
func maCheck(t *testing.T, label string, got []Finding, want []maWant) {
	t.Helper()
	used := make([]bool, len(got))
	ok := len(got) == len(want)
	for _, w := range want {
		found := false
		for i, f := range got {
			if !used[i] && f.Severity == w.sev && f.Subject == w.subject && strings.Contains(f.Message, w.contains) && f.Domain == "example.com" {
				used[i], found = true, true
				break
			}
		}
		ok = ok && found
	}
	if !ok {
		var b strings.Builder
		for _, f := range got {
			fmt.Fprintf(&b, "\n  %s %s %q: %s", f.Severity, f.Kind, f.Subject, f.Message)
		}
		t.Errorf("%s: findings:%s\nwant %+v", label, b.String(), want)
	}
}

// spfServer serves include trees of RFC 7208 §4.6.4 edge cases.
func spfServer(t *testing.T) *testdns.Server {
	srv := testdns.Start(t,
		`h.example.net. IN A 192.0.2.1`,
		`h.example.net. IN MX 10 h.example.net.`,
		// 1 + 3 + 5 + 1 = 10 lookups.
		`l1.example.net. IN TXT "v=spf1 include:l2.example.net a:h.example.net mx:h.example.net -all"`,
		`l2.example.net. IN TXT "v=spf1 a:h.example.net a:h.example.net mx:h.example.net exists:h.example.net include:l3.example.net -all"`,
		`l3.example.net. IN TXT "v=spf1 a:h.example.net -all"`,
		// 11 lookups: l3 with one more.
		`m1.example.net. IN TXT "v=spf1 include:m2.example.net a:h.example.net mx:h.example.net -all"`,
		`m2.example.net. IN TXT "v=spf1 a:h.example.net a:h.example.net mx:h.example.net exists:h.example.net include:m3.example.net -all"`,
		`m3.example.net. IN TXT "v=spf1 a:h.example.net mx:h.example.net -all"`,
		`loop1.example.net. IN TXT "v=spf1 include:loop2.example.net -all"`,
		`loop2.example.net. IN TXT "v=spf1 include:loop1.example.net -all"`,
		`nospf.example.net. IN TXT "hello"`,
		`twospf.example.net. IN TXT "v=spf1 -all"`,
		`twospf.example.net. IN TXT "v=spf1 ~all"`,
		`bad.example.net. IN TXT "v=spf1 ip4:300.1.1.1 -all"`,
		`v3.example.net. IN TXT "no mx here"`,
		`redir.example.net. IN TXT "v=spf1 redirect=l3.example.net"`,
	)
	srv.Fail("slow.example.net.", "", testdns.Timeout)
	return srv
}

func TestCheckSPF(t *testing.T) {
	srv := spfServer(t)
	long := "v=spf1 " + strings.Repeat("ip4:192.0.2.1 ", 33) + "-all"
	desired := func(v string) []policy.RRset { return []policy.RRset{maSet("spf", "@", "TXT", v)} }
	cases := []struct {
		name string
		tc   maTest
		want []maWant
	}{
		{"clean", maTest{desired: desired("v=spf1 ip4:192.0.2.1 -all"), live: true}, nil},
		{"exactly 10 lookups", maTest{desired: desired("v=spf1 include:l1.example.net -all"), live: true}, nil},
		{"11 lookups", maTest{desired: desired("v=spf1 include:m1.example.net -all"), live: true}, []maWant{
			{SevError, SubjectDesired, "SPF needs 11 DNS lookups, the limit is 10 (RFC 7208 §4.6.4): the 11th is example.com → include:m1.example.net → mx:h.example.net; lookups per record: example.com 1, m1.example.net 3, m2.example.net 5, m3.example.net 2"}}},
		{"redirect counts", maTest{desired: desired("v=spf1 a mx include:l1.example.net redirect=redir.example.net"), live: true}, []maWant{
			{SevError, SubjectDesired, "SPF needs 15 DNS lookups"}}},
		{"deep 11th", maTest{desired: desired("v=spf1 a:h.example.net a:h.example.net include:m1.example.net -all"), live: true}, []maWant{
			{SevError, SubjectDesired, "the 11th is example.com → include:m1.example.net → include:m2.example.net → include:m3.example.net → mx:h.example.net"}}},
		{"two voids are fine", maTest{desired: desired("v=spf1 a:v1.example.net mx:v3.example.net -all"), live: true}, nil},
		{"three voids", maTest{desired: desired("v=spf1 a:v1.example.net a:v2.example.net mx:v3.example.net -all"), live: true}, []maWant{
			{SevError, SubjectDesired, "SPF makes 3 void lookups (no answer or NXDOMAIN), the limit is 2"}}},
		{"loop", maTest{desired: desired("v=spf1 include:loop1.example.net -all"), live: true}, []maWant{
			{SevError, SubjectDesired, "SPF include loop: example.com → include:loop1.example.net → include:loop2.example.net → include:loop1.example.net"}}},
		{"include without SPF", maTest{desired: desired("v=spf1 include:nospf.example.net include:gone.example.net include:twospf.example.net include:bad.example.net -all"), live: true}, []maWant{
			{SevError, SubjectDesired, "include:nospf.example.net at example.com: nospf.example.net has no SPF record"},
			{SevError, SubjectDesired, "gone.example.net does not exist"},
			{SevError, SubjectDesired, "twospf.example.net publishes 2 SPF records"},
			{SevError, SubjectDesired, "the SPF record of bad.example.net is invalid"}}},
		{"timeout", maTest{desired: desired("v=spf1 include:slow.example.net -all"), live: true}, []maWant{
			{SevWarning, SubjectDesired, "could not verify the SPF include tree of example.com: include:slow.example.net"}}},
		{"sender macros are not followed", maTest{desired: desired("v=spf1 exists:%{i}._spf.example.net include:%{d}.example.net -all"), live: true}, []maWant{
			{SevInfo, SubjectDesired, "exists:%{i}._spf.example.net at example.com"},
			{SevError, SubjectDesired, "example.com.example.net does not exist"}}},
		{"lint", maTest{desired: desired("v=spf1 ptr ?all"), live: true}, []maWant{
			{SevWarning, SubjectDesired, "ptr mechanism is deprecated"}, {SevWarning, SubjectDesired, `"?all"`}}},
		{"long", maTest{desired: desired(long), live: true}, []maWant{{SevWarning, SubjectDesired, "over 450"}}},
		{"live differs", maTest{
			zone:    []libdns.RR{maTXT("@", "v=spf1 +all"), maTXT("@", "google-site-verification=x")},
			desired: desired("v=spf1 -all"), live: true}, []maWant{
			{SevError, SubjectLive, `"+all" lets every host`}}},
		{"two live SPF", maTest{
			zone: []libdns.RR{maTXT("@", "v=spf1 -all"), maTXT("@", "v=spf1 ip4:192.0.2.1 -all")}, live: true}, []maWant{
			{SevError, SubjectLive, "2 SPF records at example.com"}}},
		{"live syntax", maTest{zone: []libdns.RR{maTXT("@", "v=spf1 a:foo -all")}, live: true}, []maWant{
			{SevError, SubjectLive, "is invalid (receivers return permerror): column 10"}}},
		{"desired mx from the policy", maTest{
			desired: []policy.RRset{maSet("spf", "@", "TXT", "v=spf1 mx a:v1.example.net a:v2.example.net -all"), maSet("mx", "@", "MX", "10 mail.example.com.")},
			live:    true}, nil},
		{"live checks off", maTest{desired: desired("v=spf1 include:m1.example.net +all")}, []maWant{
			{SevInfo, "", SkippedMessage}, {SevError, SubjectDesired, `"+all"`}}},
		{"no lookups needed offline", maTest{desired: desired("v=spf1 -all")}, nil},
	}
	for _, c := range cases {
		got := CheckSPF(context.Background(), maEnv(srv, c.tc), maDomain())
		maCheck(t, c.name, got, c.want)
		for _, f := range got {
			if f.Kind != KindSPF {
				t.Errorf("%s: kind %q", c.name, f.Kind)
			}
		}
	}
}

func TestSPFBlocked(t *testing.T) {
	srv := spfServer(t)
	tc := maTest{desired: []policy.RRset{maSet("spf", "@", "TXT", "v=spf1 include:m1.example.net -all")}, live: true,
		zone: []libdns.RR{maTXT("@", "v=spf1 include:l1.example.net -all")}}
	got := CheckSPF(context.Background(), maEnv(srv, tc), maDomain())
	if !SPFBlocked(got, "example.com") {
		t.Errorf("an 11-lookup desired record does not block: %+v", got)
	}
	if SPFBlocked(got, "example.org") {
		t.Error("blocks another domain")
	}
	tc.desired = []policy.RRset{maSet("spf", "@", "TXT", "v=spf1 include:l1.example.net -all")}
	tc.zone = []libdns.RR{maTXT("@", "v=spf1 include:m1.example.net -all")}
	got = CheckSPF(context.Background(), maEnv(srv, tc), maDomain())
	if SPFBlocked(got, "example.com") {
		t.Errorf("a broken live record blocks its own correction: %+v", got)
	}
	maCheck(t, "live over the limit", got, []maWant{{SevError, SubjectLive, "SPF needs 11 DNS lookups"}})
}

func maRSA(t *testing.T, bits int) string {
	n, err := rand.Prime(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&rsa.PublicKey{N: n, E: 65537})
	return base64.StdEncoding.EncodeToString(der)
}

func TestCheckDKIM(t *testing.T) {
	k2048, k1024, k512 := maRSA(t, 2048), maRSA(t, 1024), maRSA(t, 512)
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	ed := base64.StdEncoding.EncodeToString(pub)
	d := maDomain()
	d.DKIM = []policy.DKIM{
		{Selector: "good", Key: k2048, KeyType: "rsa", KeyBits: 2048},
		{Selector: "weak", Key: k1024, KeyType: "rsa", KeyBits: 1024},
		{Selector: "ed", Key: ed, KeyType: "ed25519"},
		{Selector: "drift", Key: k2048, KeyType: "rsa", KeyBits: 2048},
		{Selector: "broken", Key: k2048, KeyType: "rsa", KeyBits: 2048},
		{Selector: "old", State: "retired"},
		{Selector: "gone", State: "absent"},
		{Selector: "done", State: "retired"},
		{Selector: "two", Key: k2048, KeyType: "rsa", KeyBits: 2048},
	}
	tc := maTest{
		zone: []libdns.RR{
			maTXT("good._domainkey", "v=DKIM1; k=rsa; p="+k2048),
			maTXT("weak._domainkey", "v=DKIM1; k=rsa; p="+k1024),
			maTXT("ed._domainkey", "v=DKIM1; k=ed25519; p="+ed),
			maTXT("drift._domainkey", "v=DKIM1; k=rsa; t=y; p="+k512),
			maTXT("broken._domainkey", "k=rsa; v=DKIM1; p="+k2048),
			maTXT("old._domainkey", "v=DKIM1; p="+k2048),
			maTXT("gone._domainkey", "v=DKIM1; p="+k2048),
			maTXT("done._domainkey", "v=DKIM1; p="),
			maTXT("two._domainkey", "v=DKIM1; p="+k2048),
			maTXT("two._domainkey", "v=DKIM1; p="+k1024),
		},
		desired: []policy.RRset{
			maSet("dkim", "good._domainkey", "TXT", "v=DKIM1; k=rsa; p="+k2048),
			maSet("dkim", "ed._domainkey", "TXT", "v=DKIM1; k=ed25519; p="+ed),
		},
	}
	got := CheckDKIM(context.Background(), maEnv(nil, tc), d)
	maCheck(t, "dkim", got, []maWant{
		{SevWarning, "weak._domainkey.example.com.", "the policy's key for selector weak: RSA key of 1024 bits"},
		{SevError, "drift._domainkey.example.com.", "the live key at drift._domainkey.example.com.: RSA key of 512 bits"},
		{SevWarning, "drift._domainkey.example.com.", "t=y"},
		{SevError, "broken._domainkey.example.com.", "v= must be the first tag"},
		{SevWarning, "old._domainkey.example.com.", "selector old is retired in the policy but"},
		{SevWarning, "gone._domainkey.example.com.", "selector gone is absent in the policy but"},
		{SevWarning, "two._domainkey.example.com.", "2 TXT records"},
		{SevWarning, "two._domainkey.example.com.", "the live key at two._domainkey.example.com.: RSA key of 1024 bits"},
	})
}

func TestCheckDMARC(t *testing.T) {
	srv := testdns.Start(t,
		`example.com._report._dmarc.reports.example.net. IN TXT "v=DMARC1"`,
		`example.com._report._dmarc.wrong.example.net. IN TXT "v=spf1 -all"`,
	)
	srv.Fail("example.com._report._dmarc.slow.example.net.", "", testdns.Timeout)
	desired := func(v string) []policy.RRset { return []policy.RRset{maSet("dmarc", "_dmarc", "TXT", v)} }
	cases := []struct {
		name string
		tc   maTest
		want []maWant
	}{
		{"own domain", maTest{desired: desired("v=DMARC1; p=reject; rua=mailto:d@example.com,mailto:x@reports.sub.example.com"), live: true}, nil},
		{"authorised", maTest{desired: desired("v=DMARC1; p=reject; rua=mailto:d@reports.example.net"), live: true}, nil},
		{"missing authorisation", maTest{desired: desired("v=DMARC1; p=reject; rua=mailto:d@other.example.org; ruf=mailto:f@wrong.example.net"), live: true}, []maWant{
			{SevAction, "other.example.org", `other.example.org must publish TXT example.com._report._dmarc.other.example.org. "v=DMARC1" (RFC 7489 §7.1)`},
			{SevAction, "wrong.example.net", "wrong.example.net must publish TXT example.com._report._dmarc.wrong.example.net."}}},
		{"lookup fails", maTest{desired: desired("v=DMARC1; p=none; rua=mailto:d@slow.example.net"), live: true}, []maWant{
			{SevWarning, "slow.example.net", "could not verify that slow.example.net accepts DMARC reports for example.com"}}},
		{"offline", maTest{desired: desired("v=DMARC1; p=none; rua=mailto:d@slow.example.net")}, []maWant{{SevInfo, "", SkippedMessage}}},
		{"offline own domain", maTest{desired: desired("v=DMARC1; p=none; rua=mailto:d@example.com")}, nil},
		{"live records", maTest{
			zone:    []libdns.RR{maTXT("_dmarc", "v=DMARC1; p=none"), maTXT("_dmarc", "v=DMARC1; p=nonsense"), maTXT("_dmarc", "v=dmarc1; p=reject")},
			desired: desired("v=DMARC1; p=reject"), live: true}, []maWant{
			{SevError, SubjectLive, "2 DMARC records at _dmarc.example.com."},
			{SevError, SubjectLive, `"v=DMARC1; p=nonsense" at _dmarc.example.com. is invalid`},
			{SevError, SubjectLive, `TXT "v=dmarc1; p=reject" at _dmarc.example.com. is not a DMARC record`}}},
		// RFC 7489 §6.6.3: no p but a valid rua is applied as p=none, not
		// as written: an error, like an invalid sp.
		{"live p missing", maTest{zone: []libdns.RR{maTXT("_dmarc", "v=DMARC1; rua=mailto:d@example.com")}}, []maWant{
			{SevError, SubjectLive, "receivers act as if the record said p=none"}}},
		{"live sp invalid", maTest{zone: []libdns.RR{maTXT("_dmarc", "v=DMARC1; p=reject; sp=rejct; rua=mailto:d@example.com")}}, []maWant{
			{SevError, SubjectLive, `sp="rejct" is not none, quarantine or reject: because rua is valid, receivers act as if the record said p=none`}}},
		{"live rf unregistered", maTest{zone: []libdns.RR{maTXT("_dmarc", "v=DMARC1; p=reject; rf=iodef")}}, []maWant{
			{SevError, SubjectLive, `report format "iodef" is not registered`}}},
		// Receivers discard a record that does not start with v=DMARC1.
		{"live leading whitespace", maTest{zone: []libdns.RR{maTXT("_dmarc", " v=DMARC1; p=reject")}}, []maWant{
			{SevError, SubjectLive, "starts with whitespace: receivers discard"}}},
		// Values are case-insensitive (RFC 5234 §2.3): nothing to report.
		{"live mixed case", maTest{zone: []libdns.RR{maTXT("_dmarc", "v=DMARC1; p=ReJect; adkim=S; rua=mailto:d@example.com!10M")}}, nil},
	}
	for _, c := range cases {
		got := CheckDMARC(context.Background(), maEnv(srv, c.tc), maDomain())
		maCheck(t, c.name, got, c.want)
	}
}

func TestExternalDestination(t *testing.T) {
	cases := []struct {
		domain, dest string
		want         bool
	}{
		{"example.com", "example.com", false},
		{"example.com", "reports.example.com", false},
		{"mail.example.com", "example.com", false}, // same organisational domain
		{"example.com", "example.net", true},
		{"example.co.uk", "other.co.uk", true},
		{"a.example.co.uk", "b.example.co.uk", false},
	}
	for _, c := range cases {
		if got := externalDestination(c.domain, c.dest); got != c.want {
			t.Errorf("externalDestination(%s, %s) = %v, want %v", c.domain, c.dest, got, c.want)
		}
	}
}

func TestCheckMX(t *testing.T) {
	srv := testdns.Start(t,
		`mx.example.net. IN A 198.51.100.1`,
		`mx6.example.net. IN AAAA 2001:db8::1`,
		`alias.example.net. IN CNAME mx.example.net.`,
		`noaddr.example.net. IN TXT "no address"`,
	)
	srv.Fail("slow.example.net.", "", testdns.Timeout)
	mail := maSet("mail_hosts", "mail", "A", "192.0.2.25")
	cases := []struct {
		name string
		tc   maTest
		want []maWant
	}{
		{"clean", maTest{
			desired: []policy.RRset{maSet("mx", "@", "MX", "10 mail.example.com.", "20 mx.example.net.", "30 mx6.example.net."), mail},
			zone:    []libdns.RR{{Name: "@", Type: "MX", Data: "10 mail.example.com."}},
			live:    true}, nil},
		{"in-zone CNAME", maTest{
			desired: []policy.RRset{maSet("mx", "@", "MX", "10 www.example.com.")},
			zone:    []libdns.RR{{Name: "www", Type: "CNAME", Data: "mx.example.net."}},
			live:    true}, []maWant{{SevError, "www.example.com.", "the desired MX target www.example.com. is a CNAME (to mx.example.net.)"}}},
		{"live targets", maTest{
			desired: []policy.RRset{maSet("mx", "@", "MX", "10 mail.example.com."), mail},
			zone: []libdns.RR{
				{Name: "@", Type: "MX", Data: "10 alias.example.net."},
				{Name: "@", Type: "MX", Data: "20 noaddr.example.net."},
				{Name: "@", Type: "MX", Data: "30 gone.example.net."},
				{Name: "@", Type: "MX", Data: "40 192.0.2.1."},
				{Name: "@", Type: "MX", Data: "50 slow.example.net."},
				{Name: "@", Type: "MX", Data: "60 nohost.example.com."},
			},
			live: true}, []maWant{
			{SevError, "alias.example.net.", "the live MX target alias.example.net. is a CNAME (to mx.example.net.): an MX must name a host with its own A/AAAA records (RFC 5321 §5.1, RFC 2181 §10.3)"},
			{SevError, "noaddr.example.net.", "has no A or AAAA record"},
			{SevError, "gone.example.net.", "does not exist (NXDOMAIN)"},
			{SevError, "192.0.2.1.", "the live MX target 192.0.2.1 is an IP address"},
			{SevWarning, "slow.example.net.", "could not verify the live MX target slow.example.net."},
			{SevError, "nohost.example.com.", "does not exist"},
		}},
		{"null MX", maTest{
			desired: []policy.RRset{maSet("mx", "@", "MX", "0 .")},
			zone:    []libdns.RR{{Name: "@", Type: "MX", Data: "0 ."}, {Name: "@", Type: "MX", Data: "10 mx.example.net."}, {Name: "@", Type: "MX", Data: "5 ."}},
			live:    true}, []maWant{
			{SevError, ".", "the live MX records of example.com mix a null MX with 1 other MX"},
			{SevWarning, ".", "the live null MX has preference 5"}}},
		{"offline", maTest{desired: []policy.RRset{maSet("mx", "@", "MX", "10 mx.example.net.", "20 192.0.2.7.")}}, []maWant{
			{SevInfo, "", SkippedMessage},
			{SevError, "192.0.2.7.", "is an IP address"}}},
		{"offline own hosts", maTest{desired: []policy.RRset{maSet("mx", "@", "MX", "10 mail.example.com."), mail}}, nil},
	}
	for _, c := range cases {
		got := CheckMX(context.Background(), maEnv(srv, c.tc), maDomain())
		maCheck(t, c.name, got, c.want)
	}
}

// TestMailChecksRegistered makes sure the engine runs the four checks.
func TestMailChecksRegistered(t *testing.T) {
	want := map[string]bool{KindSPF: false, KindDKIM: false, KindDMARC: false, KindMX: false}
	for _, c := range All() {
		if _, ok := want[c.Name]; ok {
			want[c.Name] = true
		}
	}
	for k, ok := range want {
		if !ok {
			t.Errorf("check %s is not registered", k)
		}
	}
}
