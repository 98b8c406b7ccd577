package rfc2136_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
	"github.com/maildns/maildns/internal/providertest"
	"github.com/maildns/maildns/internal/testbind"
	"github.com/maildns/maildns/providers"
	"github.com/maildns/maildns/providers/rfc2136"
	"github.com/miekg/dns"
)

var _ providers.ConditionalReplacer = (*rfc2136.Provider)(nil)

// Keys as people paste them: an old and a new DKIM key (base64, 392 bytes).
var (
	oldDKIMKey = "v=DKIM1; k=rsa; p=" + strings.Repeat("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAold", 7)
	newDKIMKey = "v=DKIM1; k=rsa; p=" + strings.Repeat("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAnew", 7)
	longTXT    = "foreign-verification=" + strings.Repeat("0123456789", 28) // 301 bytes
)

// splitAt renders text as TXT strings of n bytes, as control panels do.
func splitAt(text string, n int) string {
	var parts []string
	for len(text) > n {
		parts = append(parts, `"`+text[:n]+`"`)
		text = text[n:]
	}
	return strings.Join(append(parts, `"`+text+`"`), " ")
}

// hostileZone is a zone as people have it: the SPF, DMARC and a DKIM key
// split at odd places, mixed-case owners and targets, TTLs that differ
// within an RRset (PowerDNS keeps them), and foreign records of many kinds.
func hostileZone() string {
	return testbind.MinimalZone(zone) + `
@	300	IN TXT "v=spf1 a " "~all"
@	600	IN TXT "google-site-verification=4ibFUgB-wXLQ_S7vsXVomSTVamuOXBiVAzpR5IZ87D0"
@	300	IN TXT ` + splitAt(longTXT, 200) + `
@	300	IN TXT "quote\"d back\\slash caf\195\169"
@	300	IN MX 10 OldMX.Example.COM.
OldMX	300	IN A 192.0.2.9
Mail	300	IN A 192.0.2.25
www	300	IN A 192.0.2.80
@	300	IN CAA 0 issue "letsencrypt.org"
_sip._tcp	300	IN SRV 10 5 5060 SIP.Example.COM.
sip	300	IN A 192.0.2.60
S1._DomainKey	300	IN TXT ` + splitAt(oldDKIMKey, 250) + `
_DMARC	300	IN TXT "v=DMARC1; " "p=quarantine"
unknown	300	IN TYPE65534 \# 3 010203
`
}

const revZone = "113.0.203.in-addr.arpa."

func hostileReverse() string {
	return testbind.MinimalZone(revZone) + `
25	300	IN PTR Wrong.ISP.Example.NET.
26	300	IN PTR Foreign.Host.Example.ORG.
`
}

// startKind starts a server of kind with the hostile zones and a provider
// for it, through a counting proxy.
func startKind(t *testing.T, kind string) (*testbind.Server, *testbind.Proxy, providers.Provider) {
	t.Helper()
	srv := testbind.StartKind(t, kind,
		testbind.Zone{Name: zone, Content: hostileZone(), DisableIntegrityCheck: true},
		testbind.Zone{Name: revZone, Content: hostileReverse(), DisableIntegrityCheck: true})
	proxy := srv.CountingProxy(t)
	values := srv.Settings()
	values["server"] = proxy.Addr
	return srv, proxy, newProvider(t, values)
}

func onEachServer(t *testing.T, f func(t *testing.T, kind string)) {
	for _, kind := range testbind.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			f(t, kind)
		})
	}
}

func rec(name, typ string, ttl int, data string) libdns.RR {
	return libdns.RR{Name: name, Type: typ, TTL: time.Duration(ttl) * time.Second, Data: data}
}

// foreignServed is what the server answers for every foreign record.
func foreignServed(t *testing.T, srv *testbind.Server) map[string][]string {
	return map[string][]string{
		"apex TXT": slices.DeleteFunc(served(t, srv, zone, dns.TypeTXT), func(s string) bool { return strings.HasPrefix(s, "v=spf1") }),
		"www A":    served(t, srv, "www."+zone, dns.TypeA),
		"CAA":      served(t, srv, zone, dns.TypeCAA),
		"SRV":      served(t, srv, "_sip._tcp."+zone, dns.TypeSRV),
		"TYPE":     served(t, srv, "unknown."+zone, 65534),
		"PTR 26":   served(t, srv, "26."+revZone, dns.TypePTR),
	}
}

// TestReplaceWhatTheServerHolds replaces, on each server, records held
// split at odd places and in mixed case: each is removed (a by-value delete
// re-rendered from the canonical text would match nothing, leaving two SPF
// records), exactly one value of each remains, and every foreign record is
// as it was.
func TestReplaceWhatTheServerHolds(t *testing.T) {
	onEachServer(t, func(t *testing.T, kind string) {
		srv, proxy, p := startKind(t, kind)
		r := p.(providers.Replacer)
		foreign := foreignServed(t, srv)
		if len(foreign["apex TXT"]) != 3 || len(foreign["TYPE"]) != 1 || len(foreign["PTR 26"]) != 1 {
			t.Fatalf("foreign records as loaded: %q", foreign)
		}
		if _, err := p.GetRecords(ctx(t), zone); err != nil {
			t.Fatal(err)
		}
		if _, err := p.GetRecords(ctx(t), revZone); err != nil {
			t.Fatal(err)
		}
		proxy.Reset()
		_, err := r.ReplaceRecords(ctx(t), zone,
			[]libdns.Record{
				rec("@", "TXT", 300, "v=spf1 a ~all"),
				rec("s1._domainkey", "TXT", 300, oldDKIMKey),
				rec("_dmarc", "TXT", 300, "v=DMARC1; p=quarantine"),
				rec("@", "MX", 300, "10 oldmx.example.com."),
				rec("mail", "A", 300, "192.0.2.25"),
			},
			[]libdns.Record{
				rec("@", "TXT", 3600, "v=spf1 mx -all"),
				rec("s1._domainkey", "TXT", 3600, newDKIMKey),
				rec("_dmarc", "TXT", 3600, "v=DMARC1; p=reject"),
				rec("@", "MX", 3600, "10 mail.example.com."),
				rec("mail", "A", 3600, "203.0.113.25"),
			})
		if err != nil {
			t.Fatal(err)
		}
		if c := proxy.Counts(); c.Requests != 1 {
			t.Errorf("replacing 5 RRsets after a read: %+v, want one UPDATE", c)
		}
		if _, err := r.ReplaceRecords(ctx(t), revZone,
			[]libdns.Record{rec("25", "PTR", 300, "wrong.isp.example.net.")},
			[]libdns.Record{rec("25", "PTR", 3600, "mail.example.com.")}); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			name string
			typ  uint16
			want []string
		}{
			{zone, dns.TypeMX, []string{"10 mail.example.com."}},
			{"s1._domainkey." + zone, dns.TypeTXT, []string{newDKIMKey}},
			{"_dmarc." + zone, dns.TypeTXT, []string{"v=DMARC1; p=reject"}},
			{"mail." + zone, dns.TypeA, []string{"203.0.113.25"}},
			{"25." + revZone, dns.TypePTR, []string{"mail.example.com."}},
		} {
			if diff := cmp.Diff(tt.want, served(t, srv, tt.name, tt.typ)); diff != "" {
				t.Errorf("%s %s (-want +got):\n%s", tt.name, dns.TypeToString[tt.typ], diff)
			}
		}
		var spf []string
		for _, v := range served(t, srv, zone, dns.TypeTXT) {
			if strings.HasPrefix(v, "v=spf1") {
				spf = append(spf, v)
			}
		}
		if diff := cmp.Diff([]string{"v=spf1 mx -all"}, spf); diff != "" {
			t.Errorf("SPF (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(foreign, foreignServed(t, srv)); diff != "" {
			t.Errorf("foreign records changed (-want +got):\n%s", diff)
		}
	})
}

// TestDeleteRecordsWhatTheServerHolds deletes by value, without a read
// first, a split TXT and a mixed-case MX.
func TestDeleteRecordsWhatTheServerHolds(t *testing.T) {
	onEachServer(t, func(t *testing.T, kind string) {
		srv, _, p := startKind(t, kind)
		if _, err := p.DeleteRecords(ctx(t), zone, []libdns.Record{
			rec("@", "TXT", 0, "v=spf1 a ~all"),
			rec("@", "MX", 0, "10 oldmx.example.com."),
		}); err != nil {
			t.Fatal(err)
		}
		if got := served(t, srv, zone, dns.TypeMX); len(got) != 0 {
			t.Errorf("MX after delete: %q", got)
		}
		if got := served(t, srv, zone, dns.TypeTXT); len(got) != 3 || slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, "v=spf1") }) {
			t.Errorf("apex TXT after deleting the SPF: %q", got)
		}
	})
}

// TestReplaceRecordsIfChanged writes between maildns's read and its write
// on each server: the conditional write fails as changed, writes nothing,
// and the other write survives. The server checks: the provider's own view
// (the read) still matches what the caller expects, so only the UPDATE's
// prerequisites can tell.
func TestReplaceRecordsIfChanged(t *testing.T) {
	onEachServer(t, func(t *testing.T, kind string) {
		srv, proxy, p := startKind(t, kind)
		other := newProvider(t, srv.Settings())
		cr := p.(providers.ConditionalReplacer)
		live, err := p.GetRecords(ctx(t), zone)
		if err != nil {
			t.Fatal(err)
		}
		state := func(name, typ string) providers.RRsetState {
			s := providers.RRsetState{Name: name, Type: typ}
			for _, rec := range live {
				r := rec.RR()
				if r.Name == name && r.Type == typ {
					s.Values = append(s.Values, r.Data)
				}
			}
			return s
		}
		apex := state("@", "TXT")
		if len(apex.Values) != 4 {
			t.Fatalf("apex TXT as read: %q", apex.Values)
		}
		spfSwap := func() error {
			_, err := cr.ReplaceRecordsIf(ctx(t), zone, []providers.RRsetState{apex},
				[]libdns.Record{rec("@", "TXT", 300, "v=spf1 a ~all")},
				[]libdns.Record{rec("@", "TXT", 300, "v=spf1 mx -all")})
			return err
		}

		// Another writer changes the SPF after the read.
		if _, err := other.(providers.Replacer).ReplaceRecords(ctx(t), zone,
			[]libdns.Record{rec("@", "TXT", 300, "v=spf1 a ~all")},
			[]libdns.Record{rec("@", "TXT", 300, "v=spf1 a include:other.example -all")}); err != nil {
			t.Fatal(err)
		}
		proxy.Reset()
		err = spfSwap()
		var ce *providers.ChangedError
		if !errors.As(err, &ce) || !errors.Is(err, providers.ErrChanged) {
			t.Fatalf("conditional write after another write: err = %v, want a *providers.ChangedError", err)
		}
		if ce.Name != "@" || ce.Type != "TXT" || !slices.Contains(ce.Have, "v=spf1 a include:other.example -all") {
			t.Errorf("ChangedError = %+v", ce)
		}
		if c := proxy.Counts(); c.Requests != 2 {
			t.Errorf("a stale write: %+v, want the UPDATE and one read naming the change", c)
		}
		var spf []string
		for _, v := range served(t, srv, zone, dns.TypeTXT) {
			if strings.HasPrefix(v, "v=spf1") {
				spf = append(spf, v)
			}
		}
		if diff := cmp.Diff([]string{"v=spf1 a include:other.example -all"}, spf); diff != "" {
			t.Errorf("SPF after the stale write (-want +got):\n%s", diff)
		}

		// A record expected absent that another writer added meanwhile:
		// the server answers YXRRSET.
		if _, err := p.GetRecords(ctx(t), zone); err != nil {
			t.Fatal(err)
		}
		if _, err := other.AppendRecords(ctx(t), zone, []libdns.Record{rec("_dmarc.sub", "TXT", 300, "v=DMARC1; p=none")}); err != nil {
			t.Fatal(err)
		}
		_, err = cr.ReplaceRecordsIf(ctx(t), zone, []providers.RRsetState{{Name: "_dmarc.sub", Type: "TXT"}}, nil,
			[]libdns.Record{rec("_dmarc.sub", "TXT", 300, "v=DMARC1; p=reject")})
		if !errors.As(err, &ce) || ce.Name != "_dmarc.sub" || len(ce.Have) != 1 {
			t.Fatalf("adding where another writer added: err = %v, want a ChangedError naming _dmarc.sub", err)
		}
		if diff := cmp.Diff([]string{"v=DMARC1; p=none"}, served(t, srv, "_dmarc.sub."+zone, dns.TypeTXT)); diff != "" {
			t.Errorf("_dmarc.sub after the stale write (-want +got):\n%s", diff)
		}

		// Read again: the same write now lands.
		if live, err = p.GetRecords(ctx(t), zone); err != nil {
			t.Fatal(err)
		}
		apex = state("@", "TXT")
		if _, err := cr.ReplaceRecordsIf(ctx(t), zone, []providers.RRsetState{apex},
			[]libdns.Record{rec("@", "TXT", 300, "v=spf1 a include:other.example -all")},
			[]libdns.Record{rec("@", "TXT", 300, "v=spf1 mx -all")}); err != nil {
			t.Fatal(err)
		}
		if got := served(t, srv, zone, dns.TypeTXT); !slices.Contains(got, "v=spf1 mx -all") || len(got) != 4 {
			t.Errorf("apex TXT after the fresh write: %q", got)
		}

		// Expectations that no longer hold by the provider's own read fail
		// before anything is sent.
		proxy.Reset()
		_, err = cr.ReplaceRecordsIf(ctx(t), zone, []providers.RRsetState{{Name: "@", Type: "TXT", Values: []string{"v=spf1 -all"}}}, nil,
			[]libdns.Record{rec("@", "TXT", 300, "v=spf1 a -all")})
		if !errors.Is(err, providers.ErrChanged) {
			t.Fatalf("expecting what the read did not show: err = %v, want ErrChanged", err)
		}
		if c := proxy.Counts(); c.Requests > 1 {
			t.Errorf("a write whose expectation fails sent %d requests", c.Requests)
		}
	})
}

// TestReplaceRecordsRetriesAfterAnotherWrite: the unconditional replace
// empties _dmarc (it held only the value removed), so it deletes the RRset
// whole; another writer added a value there since the read. The UPDATE's
// prerequisite fails, the provider reads again and deletes by value: the
// other writer's value survives.
func TestReplaceRecordsRetriesAfterAnotherWrite(t *testing.T) {
	onEachServer(t, func(t *testing.T, kind string) {
		srv, _, p := startKind(t, kind)
		other := newProvider(t, srv.Settings())
		if _, err := p.GetRecords(ctx(t), zone); err != nil {
			t.Fatal(err)
		}
		if _, err := other.AppendRecords(ctx(t), zone, []libdns.Record{rec("_dmarc", "TXT", 300, "another-note=1")}); err != nil {
			t.Fatal(err)
		}
		if _, err := p.(providers.Replacer).ReplaceRecords(ctx(t), zone,
			[]libdns.Record{rec("_dmarc", "TXT", 300, "v=DMARC1; p=quarantine")},
			[]libdns.Record{rec("_dmarc", "TXT", 300, "v=DMARC1; p=reject")}); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"another-note=1", "v=DMARC1; p=reject"}, served(t, srv, "_dmarc."+zone, dns.TypeTXT)); diff != "" {
			t.Errorf("_dmarc TXT (-want +got):\n%s", diff)
		}
	})
}

// TestManyRRsetsSplitIntoUpdates writes the records of 500 mail domains
// in one zone: the changes go out in several UPDATEs over one connection,
// each under the DNS message limit, each RRset whole in one of them, and
// all land.
func TestManyRRsetsSplitIntoUpdates(t *testing.T) {
	onEachServer(t, func(t *testing.T, kind string) {
		srv, proxy, p := startKind(t, kind)
		var add []libdns.Record
		for i := range 500 {
			d := fmt.Sprintf("d%03d", i)
			add = append(add,
				rec(d, "MX", 3600, fmt.Sprintf("10 mail.%s.example.com.", d)),
				rec(d, "TXT", 3600, "v=spf1 mx -all"),
				rec("s1._domainkey."+d, "TXT", 3600, newDKIMKey),
				rec("_dmarc."+d, "TXT", 3600, "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"),
				rec("mail."+d, "A", 3600, fmt.Sprintf("198.51.%d.%d", i/250, i%250+1)),
			)
		}
		if _, err := p.GetRecords(ctx(t), zone); err != nil {
			t.Fatal(err)
		}
		proxy.Reset()
		if _, err := p.(providers.Replacer).ReplaceRecords(ctx(t), zone, nil, add); err != nil {
			t.Fatal(err)
		}
		c := proxy.Counts()
		t.Logf("%s: 2,500 RRsets in %d UPDATEs over %d connection(s), the largest %d bytes", kind, c.Requests, c.Conns, proxy.MaxRequest())
		if proxy.MaxRequest() > 65535 || proxy.MaxRequest() < 20000 {
			t.Errorf("largest UPDATE: %d bytes", proxy.MaxRequest())
		}
		if c.Conns != 1 || c.Requests < 5 || c.Requests > 12 {
			t.Errorf("%+v, want one connection and 5 to 12 UPDATEs", c)
		}
		recs, err := p.GetRecords(ctx(t), zone)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range recs {
			if strings.HasPrefix(r.RR().Name, "d") || strings.Contains(r.RR().Name, ".d") {
				n++
			}
		}
		if n != len(add) {
			t.Errorf("%d of %d records landed", n, len(add))
		}
		if got := served(t, srv, "s1._domainkey.d499."+zone, dns.TypeTXT); !slices.Equal(got, []string{newDKIMKey}) {
			t.Errorf("last DKIM key: %q", got)
		}
	})
}

// TestRefusalSaysWhatToCheck: a key the server knows but does not allow
// to update the zone (the operator left it out of BIND's update-policy,
// Knot's acl or PowerDNS's TSIG-ALLOW-DNSUPDATE) gets one error that names
// the server's software and what to check there, names the zone once
// (through the provider wrapper) and holds no secret.
func TestRefusalSaysWhatToCheck(t *testing.T) {
	want := map[string][]string{
		testbind.BIND:     {"9.", "update-policy", "allow-update"},
		testbind.Knot:     {"Knot DNS 3.", "BADKEY", "acl", "action [transfer, update]"},
		testbind.PowerDNS: {"PowerDNS", "REFUSED", "TSIG-ALLOW-DNSUPDATE", "dnsupdate=yes", "allow-dnsupdate-from"},
	}
	onEachServer(t, func(t *testing.T, kind string) {
		srv := testbind.StartKind(t, kind, testbind.Zone{Name: zone, Content: hostileZone(), DisableIntegrityCheck: true})
		values := srv.Settings()
		values["key_name"], values["key"] = srv.XferKeyName, srv.XferKeySecret
		p := providertest.Wrap(newProvider(t, values), "primary", rfc2136.Type, &providers.Counts{}, time.Second)
		_, err := p.(providers.Replacer).ReplaceRecords(ctx(t), zone, nil, []libdns.Record{rec("@", "TXT", 300, "v=spf1 -all")})
		if err == nil {
			t.Fatal("an update with a key the zone does not allow succeeded")
		}
		msg := err.Error()
		t.Logf("%s: %s", kind, msg)
		for _, w := range want[kind] {
			if !strings.Contains(msg, w) {
				t.Errorf("the error does not say %q", w)
			}
		}
		if n := strings.Count(msg, "example.com"); n != 1 {
			t.Errorf("the error names the zone %d times", n)
		}
		if n := strings.Count(msg, `"primary"`); n != 1 {
			t.Errorf("the error names the provider %d times", n)
		}
		if strings.Contains(msg, srv.XferKeySecret) || strings.Contains(msg, srv.KeySecret) {
			t.Error("the error holds a secret")
		}
		if got := served(t, srv, zone, dns.TypeTXT); slices.Contains(got, "v=spf1 -all") {
			t.Error("the refused update was applied")
		}
	})
}

// TestConditionalSplitStopsAtTheStaleRRset: a conditional write of 500
// domains goes in several UPDATEs, each conditional on its own RRsets.
// Another writer filled one RRset of a later message since the read: the
// UPDATEs before it land, that one and those after it are not sent, and
// the error names the RRset.
func TestConditionalSplitStopsAtTheStaleRRset(t *testing.T) {
	srv, proxy, p := startKind(t, testbind.BIND)
	other := newProvider(t, srv.Settings())
	var add []libdns.Record
	var expect []providers.RRsetState
	for i := range 500 {
		d := fmt.Sprintf("d%03d", i)
		add = append(add, rec("s1._domainkey."+d, "TXT", 3600, newDKIMKey), rec(d, "TXT", 3600, "v=spf1 mx -all"))
		expect = append(expect, providers.RRsetState{Name: "s1._domainkey." + d, Type: "TXT"}, providers.RRsetState{Name: d, Type: "TXT"})
	}
	if _, err := p.GetRecords(ctx(t), zone); err != nil {
		t.Fatal(err)
	}
	if _, err := other.AppendRecords(ctx(t), zone, []libdns.Record{rec("d400", "TXT", 300, "v=spf1 a -all")}); err != nil {
		t.Fatal(err)
	}
	proxy.Reset()
	_, err := p.(providers.ConditionalReplacer).ReplaceRecordsIf(ctx(t), zone, expect, nil, add)
	var ce *providers.ChangedError
	if !errors.As(err, &ce) || ce.Name != "d400" || !slices.Equal(ce.Have, []string{"v=spf1 a -all"}) {
		t.Fatalf("err = %v, want a ChangedError naming d400", err)
	}
	// The prerequisites failed before the write: nothing of the
	// provider's own view was used (expect matched it).
	if got := served(t, srv, "d400."+zone, dns.TypeTXT); !slices.Equal(got, []string{"v=spf1 a -all"}) {
		t.Errorf("d400 TXT: %q, want only the other writer's", got)
	}
	if got := served(t, srv, "d000."+zone, dns.TypeTXT); len(got) != 1 {
		t.Errorf("d000 TXT (a message before the stale one): %q, want it written", got)
	}
	if got := served(t, srv, "d499."+zone, dns.TypeTXT); len(got) != 0 {
		t.Errorf("d499 TXT (after the stale message): %q, want it not written", got)
	}
}

// TestExpectComparedAsEveryBackend: the expectation is compared as
// providers.CheckExpect compares it, so values the caller normalised
// once more (a foreign TXT with a backslash reads differently then) still
// match the RRset they came from, and a value to remove in that form
// still names the record.
func TestExpectComparedAsEveryBackend(t *testing.T) {
	onEachServer(t, func(t *testing.T, kind string) {
		srv, _, p := startKind(t, kind)
		live, err := p.GetRecords(ctx(t), zone)
		if err != nil {
			t.Fatal(err)
		}
		apex := providers.RRsetState{Name: "@", Type: "TXT"}
		var foreign libdns.RR
		for _, rec := range live {
			r, err := providers.Normalize(rec, zone)
			if err != nil {
				t.Fatal(err)
			}
			if r.Name == "@" && r.Type == "TXT" {
				apex.Values = append(apex.Values, r.Data)
				if strings.HasPrefix(r.Data, "quote") {
					foreign = r
				}
			}
		}
		if foreign.Data == "" || strings.Contains(foreign.Data, `\`) {
			t.Fatalf("the backslash TXT normalised again: %q (the case this test is about is gone)", foreign.Data)
		}
		_, err = p.(providers.ConditionalReplacer).ReplaceRecordsIf(ctx(t), zone, []providers.RRsetState{apex},
			[]libdns.Record{rec("@", "TXT", 300, "v=spf1 a ~all"), foreign},
			[]libdns.Record{rec("@", "TXT", 300, "v=spf1 mx -all")})
		if err != nil {
			t.Fatal(err)
		}
		got := served(t, srv, zone, dns.TypeTXT)
		if len(got) != 3 || !slices.Contains(got, "v=spf1 mx -all") || slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, "quote") }) {
			t.Errorf("apex TXT: %q", got)
		}
	})
}
