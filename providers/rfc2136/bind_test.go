package rfc2136_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
	"github.com/libdns/libdns/libdnstest"
	"github.com/maildns/maildns/internal/testbind"
	"github.com/maildns/maildns/providers"
	"github.com/maildns/maildns/providers/rfc2136"
	"github.com/miekg/dns"
)

const zone = "example.com."

// exampleZone has an apex TXT RRset of three values that are not ours.
const exampleZone = `$ORIGIN example.com.
$TTL 3600
@	IN SOA	ns.example.com. hostmaster.example.com. 1 3600 600 86400 300
@	IN NS	ns.example.com.
ns	IN A	127.0.0.1
@	IN TXT	"google-site-verification=Xq3f9Kd0"
@	IN TXT	"MS=ms81234567"
@	IN TXT	"apple-domain-verification=AbCdEf"
www	IN A	192.0.2.80
`

var foreignTXT = []string{
	"MS=ms81234567",
	"apple-domain-verification=AbCdEf",
	"google-site-verification=Xq3f9Kd0",
}

func newProvider(t *testing.T, values map[string]string) providers.Provider {
	t.Helper()
	p, err := providers.New(rfc2136.Type, &providers.Settings{Name: "bind", Values: values, Secret: map[string]bool{"key": true}})
	if err != nil {
		t.Fatalf("providers.New: %v", err)
	}
	return p
}

func startExample(t *testing.T) (*testbind.Server, providers.Provider) {
	t.Helper()
	srv := testbind.Start(t, testbind.Zone{Name: zone, Content: exampleZone})
	return srv, newProvider(t, srv.Settings())
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// served returns the values the server answers for name and qtype, in
// canonical form, sorted; TXT strings joined.
func served(t *testing.T, srv *testbind.Server, name string, qtype uint16) []string {
	t.Helper()
	r := srv.Query(t, name, qtype)
	var out []string
	for _, rr := range r.Answer {
		if rr.Header().Rrtype != qtype {
			continue
		}
		switch v := rr.(type) {
		case *dns.TXT:
			out = append(out, providers.CanonicalTXT(`"`+strings.Join(v.Txt, `" "`)+`"`))
		default:
			out = append(out, strings.TrimPrefix(rr.String(), rr.Header().String()))
		}
	}
	slices.Sort(out)
	return out
}

func txt(name, text string) libdns.RR {
	return libdns.RR{Name: name, Type: "TXT", TTL: 3600 * time.Second, Data: text}
}

func TestConformance(t *testing.T) {
	for _, kind := range testbind.Kinds {
		t.Run(kind, func(t *testing.T) { testConformance(t, kind) })
	}
}

func testConformance(t *testing.T, kind string) {
	// libdnstest points MX, SRV and NS at in-zone names without addresses,
	// which BIND's integrity checks refuse, as they should.
	srv := testbind.StartKind(t, kind, testbind.Zone{Name: zone, DisableIntegrityCheck: true})
	p := newProvider(t, srv.Settings())
	suite := libdnstest.NewTestSuite(libdnstest.WrapNoZoneLister(p), zone)
	// RunTests less ListZones, which RFC 2136 has no way to answer (and
	// which the suite would report as skipped).
	if err := suite.AttemptZoneCleanup(); err != nil {
		t.Fatalf("initial cleanup: %v", err)
	}
	t.Run("GetRecords", suite.TestGetRecords)
	t.Run("AppendRecords", suite.TestAppendRecords)
	t.Run("SetRecords", suite.TestSetRecords)
	t.Run("DeleteRecords", suite.TestDeleteRecords)
}

func TestLargeZoneTransfer(t *testing.T) {
	var b strings.Builder
	b.WriteString(exampleZone)
	const hosts = 3000
	for i := range hosts {
		fmt.Fprintf(&b, "h%d IN A 198.51.100.%d\nh%d IN TXT \"host number %d of the large zone\"\n", i, i%256, i, i)
	}
	srv := testbind.Start(t, testbind.Zone{Name: zone, Content: b.String()})
	proxy := srv.CountingProxy(t)
	values := srv.Settings()
	values["server"] = proxy.Addr
	p := newProvider(t, values)

	recs, err := p.GetRecords(ctx(t), zone)
	if err != nil {
		t.Fatal(err)
	}
	if want := 2*hosts + 6; len(recs) != want {
		t.Errorf("GetRecords returned %d records, want %d", len(recs), want)
	}
	want := txt("h2999", "host number 2999 of the large zone")
	if !hasRecord(recs, want) {
		t.Errorf("GetRecords lacks %v", want)
	}
	c := proxy.Counts()
	t.Logf("AXFR of %d records: %+v", len(recs), c)
	if c.Conns != 1 || c.Requests != 1 || c.Responses < 2 {
		t.Errorf("AXFR of a large zone: %+v, want 1 connection, 1 request, several signed answers", c)
	}
}

func TestSharedApexTXTKeepsForeignValues(t *testing.T) {
	srv, p := startExample(t)
	spf := txt("@", "v=spf1 mx -all")

	if _, err := p.AppendRecords(ctx(t), zone, []libdns.Record{spf}); err != nil {
		t.Fatal(err)
	}
	want := append(slices.Clone(foreignTXT), "v=spf1 mx -all")
	slices.Sort(want)
	if diff := cmp.Diff(want, served(t, srv, zone, dns.TypeTXT)); diff != "" {
		t.Errorf("served apex TXT after append (-want +got):\n%s", diff)
	}

	if _, err := p.DeleteRecords(ctx(t), zone, []libdns.Record{spf}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(foreignTXT, served(t, srv, zone, dns.TypeTXT)); diff != "" {
		t.Errorf("served apex TXT after delete (-want +got):\n%s", diff)
	}

	recs, err := p.GetRecords(ctx(t), zone)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		if rr := r.RR(); rr.Name == "@" && rr.Type == "TXT" {
			got = append(got, rr.Data)
		}
	}
	slices.Sort(got)
	if diff := cmp.Diff(foreignTXT, got); diff != "" {
		t.Errorf("GetRecords apex TXT (-want +got):\n%s", diff)
	}
}

func TestGetRecordsCanonical(t *testing.T) {
	_, p := startExample(t)
	recs, err := p.GetRecords(ctx(t), zone)
	if err != nil {
		t.Fatal(err)
	}
	var got []libdns.RR
	for _, r := range recs {
		got = append(got, r.RR())
	}
	want := []libdns.RR{
		{Name: "@", Type: "NS", TTL: time.Hour, Data: "ns.example.com."},
		{Name: "ns", Type: "A", TTL: time.Hour, Data: "127.0.0.1"},
		{Name: "@", Type: "TXT", TTL: time.Hour, Data: "google-site-verification=Xq3f9Kd0"},
		{Name: "@", Type: "TXT", TTL: time.Hour, Data: "MS=ms81234567"},
		{Name: "@", Type: "TXT", TTL: time.Hour, Data: "apple-domain-verification=AbCdEf"},
		{Name: "www", Type: "A", TTL: time.Hour, Data: "192.0.2.80"},
	}
	sortRR := func(s []libdns.RR) {
		slices.SortFunc(s, func(a, b libdns.RR) int {
			return strings.Compare(a.Name+a.Type+a.Data, b.Name+b.Type+b.Data)
		})
	}
	sortRR(got)
	sortRR(want)
	// No SOA (the transfer carries it twice), names relative, TXT plain.
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetRecords (-want +got):\n%s", diff)
	}
}

func TestLongDKIMRoundTrip(t *testing.T) {
	srv, p := startExample(t)
	key := strings.Repeat("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", 9)[:380]
	dkim := "v=DKIM1; k=rsa; p=" + key
	if len(dkim) < 390 {
		t.Fatalf("test value is %d bytes", len(dkim))
	}
	rec := txt("sel1._domainkey", dkim)
	if _, err := p.AppendRecords(ctx(t), zone, []libdns.Record{rec}); err != nil {
		t.Fatal(err)
	}

	r := srv.Query(t, "sel1._domainkey.example.com.", dns.TypeTXT)
	if len(r.Answer) != 1 {
		t.Fatalf("served %d TXT records, want 1: %v", len(r.Answer), r.Answer)
	}
	strs := r.Answer[0].(*dns.TXT).Txt
	if len(strs) != 2 || len(strs[0]) != 255 || strings.Join(strs, "") != dkim {
		t.Errorf("served TXT strings of %d bytes each, want 2 strings (255 + %d) joining to the value", lens(strs), len(dkim)-255)
	}

	recs, err := p.GetRecords(ctx(t), zone)
	if err != nil {
		t.Fatal(err)
	}
	if !hasRecord(recs, rec) {
		t.Errorf("GetRecords does not return the DKIM value whole")
	}
	if _, err := p.DeleteRecords(ctx(t), zone, []libdns.Record{rec}); err != nil {
		t.Fatal(err)
	}
	if got := served(t, srv, "sel1._domainkey.example.com.", dns.TypeTXT); len(got) != 0 {
		t.Errorf("after delete the server still serves %q", got)
	}
}

func lens(ss []string) []int {
	var n []int
	for _, s := range ss {
		n = append(n, len(s))
	}
	return n
}

func hasRecord(recs []libdns.Record, want libdns.RR) bool {
	for _, r := range recs {
		if r.RR() == want {
			return true
		}
	}
	return false
}

func TestEscapedTXTRoundTrip(t *testing.T) {
	srv, p := startExample(t)
	values := []string{
		`say "hi" \ bye`,
		`"quoted whole"`,
		`back\slash\\double`,
		`a" "b`,
		"caf\u00e9 \u2713",
	}
	var recs []libdns.Record
	for _, v := range values {
		recs = append(recs, txt("esc", v))
	}
	if _, err := p.AppendRecords(ctx(t), zone, recs); err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(values)
	slices.Sort(want)

	// On the wire each value is one string holding exactly its bytes.
	r := srv.Query(t, "esc.example.com.", dns.TypeTXT)
	var wire []string
	for _, rr := range r.Answer {
		b := make([]byte, dns.Len(rr)+10)
		n, err := dns.PackRR(rr, b, 0, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		rdata := b[n-int(rr.Header().Rdlength) : n]
		wire = append(wire, string(rdata[1:1+int(rdata[0])]))
	}
	slices.Sort(wire)
	if diff := cmp.Diff(want, wire); diff != "" {
		t.Errorf("TXT bytes on the wire (-want +got):\n%s", diff)
	}

	got, err := p.GetRecords(ctx(t), zone)
	if err != nil {
		t.Fatal(err)
	}
	var read []string
	for _, r := range got {
		if rr := r.RR(); rr.Name == "esc" {
			read = append(read, rr.Data)
		}
	}
	slices.Sort(read)
	if diff := cmp.Diff(want, read); diff != "" {
		t.Errorf("GetRecords TXT (-want +got):\n%s", diff)
	}

	// Deleting by the values read back removes them all.
	if _, err := p.DeleteRecords(ctx(t), zone, recs); err != nil {
		t.Fatal(err)
	}
	if got := served(t, srv, "esc.example.com.", dns.TypeTXT); len(got) != 0 {
		t.Errorf("after delete the server still serves %q", got)
	}
}

func TestPTRInReverseZone(t *testing.T) {
	const rev = "113.0.203.in-addr.arpa."
	srv := testbind.Start(t, testbind.Zone{Name: rev})
	p := newProvider(t, srv.Settings())
	recs := []libdns.Record{
		libdns.RR{Name: "25", Type: "PTR", TTL: time.Hour, Data: "mail.example.com."},
		// Without its trailing dot the target is still the host, not
		// mail.example.com.113.0.203.in-addr.arpa.
		libdns.RR{Name: "26", Type: "PTR", TTL: time.Hour, Data: "mail2.example.com"},
	}
	if _, err := p.AppendRecords(ctx(t), rev, recs); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"25": "mail.example.com.", "26": "mail2.example.com."} {
		if diff := cmp.Diff([]string{want}, served(t, srv, name+"."+rev, dns.TypePTR)); diff != "" {
			t.Errorf("served PTR %s (-want +got):\n%s", name, diff)
		}
	}
	got, err := p.GetRecords(ctx(t), rev)
	if err != nil {
		t.Fatal(err)
	}
	want := libdns.RR{Name: "25", Type: "PTR", TTL: time.Hour, Data: "mail.example.com."}
	if !hasRecord(got, want) {
		t.Errorf("GetRecords lacks %v: %v", want, got)
	}
}

func TestMXAndTargetAddressInOneCall(t *testing.T) {
	srv, p := startExample(t) // integrity checks on, as in production
	recs := []libdns.Record{
		libdns.RR{Name: "@", Type: "MX", TTL: time.Hour, Data: "10 mail.example.com."},
		libdns.RR{Name: "mail", Type: "A", TTL: time.Hour, Data: "192.0.2.25"},
	}
	if _, err := p.AppendRecords(ctx(t), zone, recs); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"10 mail.example.com."}, served(t, srv, zone, dns.TypeMX)); diff != "" {
		t.Errorf("served MX (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"192.0.2.25"}, served(t, srv, "mail.example.com.", dns.TypeA)); diff != "" {
		t.Errorf("served A (-want +got):\n%s", diff)
	}

	// An MX to an in-zone host without an address is refused whole, and
	// that is not worth retrying.
	_, err := p.AppendRecords(ctx(t), zone, []libdns.Record{
		libdns.RR{Name: "@", Type: "MX", TTL: time.Hour, Data: "20 nohost.example.com."},
	})
	var re *rfc2136.Error
	if !errors.As(err, &re) || re.Rcode != dns.RcodeRefused {
		t.Fatalf("MX to an address-less in-zone host: err = %v, want REFUSED", err)
	}
	if re.Temporary() {
		t.Errorf("REFUSED is Temporary")
	}
	if ok, _ := providers.IsTransient(err); ok {
		t.Errorf("REFUSED is transient to the retry wrapper")
	}
	// The zone is named once, by the provider wrapper.
	if !strings.Contains(err.Error(), "@ MX") || strings.Contains(err.Error(), "example.com.\"") {
		t.Errorf("error does not name the record, or names the zone: %v", err)
	}
	if got := served(t, srv, zone, dns.TypeMX); len(got) != 1 {
		t.Errorf("served MX after the refused update: %q", got)
	}
}

func TestSetRecordsIsOneAtomicUpdate(t *testing.T) {
	srv, _ := startExample(t)
	proxy := srv.CountingProxy(t)
	values := srv.Settings()
	values["server"] = proxy.Addr
	p := newProvider(t, values)

	good := []libdns.Record{
		libdns.RR{Name: "www", Type: "A", TTL: time.Hour, Data: "192.0.2.81"},
		libdns.RR{Name: "www", Type: "A", TTL: time.Hour, Data: "192.0.2.82"},
		txt("www", "hello"),
	}
	if _, err := p.SetRecords(ctx(t), zone, good); err != nil {
		t.Fatal(err)
	}
	if c := proxy.Counts(); c != (testbind.Counts{Conns: 1, Requests: 1, Responses: 1}) {
		t.Errorf("SetRecords of 2 RRsets: %+v, want one connection, request and response", c)
	}
	if diff := cmp.Diff([]string{"192.0.2.81", "192.0.2.82"}, served(t, srv, "www.example.com.", dns.TypeA)); diff != "" {
		t.Errorf("served www A (-want +got):\n%s", diff)
	}

	// A record outside the zone makes the server refuse the whole update:
	// the RRset deletion in the same message must not have happened.
	bad := []libdns.Record{
		libdns.RR{Name: "www", Type: "A", TTL: time.Hour, Data: "192.0.2.99"},
		libdns.RR{Name: "www.example.org.", Type: "A", TTL: time.Hour, Data: "192.0.2.99"},
	}
	_, err := p.SetRecords(ctx(t), zone, bad)
	var re *rfc2136.Error
	if !errors.As(err, &re) || re.Rcode != dns.RcodeNotZone {
		t.Fatalf("SetRecords with an out-of-zone name: err = %v, want NOTZONE", err)
	}
	if diff := cmp.Diff([]string{"192.0.2.81", "192.0.2.82"}, served(t, srv, "www.example.com.", dns.TypeA)); diff != "" {
		t.Errorf("served www A after the refused update (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(foreignTXT, served(t, srv, zone, dns.TypeTXT)); diff != "" {
		t.Errorf("apex TXT touched by SetRecords of other RRsets (-want +got):\n%s", diff)
	}
}

func TestMessageCounts(t *testing.T) {
	srv, _ := startExample(t)
	proxy := srv.CountingProxy(t)
	values := srv.Settings()
	values["server"] = proxy.Addr
	p := newProvider(t, values)

	tests := []struct {
		name string
		op   func() error
		want testbind.Counts
	}{
		{"GetRecords", func() error { _, err := p.GetRecords(ctx(t), zone); return err }, testbind.Counts{Conns: 1, Requests: 1, Responses: 1}},
		{"AppendRecords 3", func() error {
			_, err := p.AppendRecords(ctx(t), zone, []libdns.Record{
				txt("@", "v=spf1 mx -all"),
				libdns.RR{Name: "@", Type: "MX", TTL: time.Hour, Data: "10 mail.example.com."},
				libdns.RR{Name: "mail", Type: "A", TTL: time.Hour, Data: "192.0.2.25"},
			})
			return err
		}, testbind.Counts{Conns: 1, Requests: 1, Responses: 1}},
		// A delete by value deletes what the server holds: the zone is
		// read first when it was written since the last read.
		{"DeleteRecords 1 after a write", func() error {
			_, err := p.DeleteRecords(ctx(t), zone, []libdns.Record{txt("@", "v=spf1 mx -all")})
			return err
		}, testbind.Counts{Conns: 2, Requests: 2, Responses: 2}},
		{"GetRecords again", func() error { _, err := p.GetRecords(ctx(t), zone); return err }, testbind.Counts{Conns: 1, Requests: 1, Responses: 1}},
		{"DeleteRecords 1 after a read", func() error {
			_, err := p.DeleteRecords(ctx(t), zone, []libdns.Record{libdns.RR{Name: "mail", Type: "A", Data: "192.0.2.25"}})
			return err
		}, testbind.Counts{Conns: 1, Requests: 1, Responses: 1}},
		{"AppendRecords none", func() error { _, err := p.AppendRecords(ctx(t), zone, nil); return err }, testbind.Counts{}},
	}
	for _, tt := range tests {
		proxy.Reset()
		if err := tt.op(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got := proxy.Counts()
		t.Logf("%s: %+v", tt.name, got)
		if got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestWrongKey(t *testing.T) {
	srv, _ := startExample(t)
	other := make([]byte, 32)
	if _, err := rand.Read(other); err != nil {
		t.Fatal(err)
	}
	wrongSecret := base64.StdEncoding.EncodeToString(other)

	tests := []struct {
		name    string
		change  map[string]string
		tsigErr uint16
	}{
		{"wrong secret", map[string]string{"key": wrongSecret}, dns.RcodeBadSig},
		{"unknown key name", map[string]string{"key_name": "no-such-key"}, dns.RcodeBadKey},
		{"wrong algorithm", map[string]string{"key_algorithm": "hmac-sha512"}, dns.RcodeBadKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			values := srv.Settings()
			for k, v := range tt.change {
				values[k] = v
			}
			p := newProvider(t, values)
			for op, call := range map[string]func() error{
				"GetRecords": func() error { _, err := p.GetRecords(ctx(t), zone); return err },
				"AppendRecords": func() error {
					_, err := p.AppendRecords(ctx(t), zone, []libdns.Record{txt("@", "v=spf1 -all")})
					return err
				},
			} {
				err := call()
				var re *rfc2136.Error
				if !errors.As(err, &re) || re.TSIGError != tt.tsigErr {
					t.Fatalf("%s: err = %v, want TSIG error %s", op, err, dns.RcodeToString[int(tt.tsigErr)])
				}
				msg := err.Error()
				for _, s := range []string{srv.KeySecret, wrongSecret} {
					if strings.Contains(msg, s) {
						t.Errorf("%s: the error holds a secret: %s", op, msg)
					}
				}
				if !strings.Contains(msg, "check key_name, key_algorithm and key") {
					t.Errorf("%s: the error does not say what to check: %s", op, msg)
				}
				if re.Temporary() {
					t.Errorf("%s: a rejected key is Temporary", op)
				}
				t.Logf("%s: %v", op, err)
			}
			if diff := cmp.Diff(foreignTXT, served(t, srv, zone, dns.TypeTXT)); diff != "" {
				t.Errorf("zone changed by a rejected update (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAppendSetsTheRRsetTTL records what DNS does with one TTL per RRset:
// adding a value with another TTL gives the whole RRset, foreign values
// included, the new TTL, and it stays after the value is deleted again.
// Callers that share an RRset keep its TTL by appending with the live one.
func TestAppendSetsTheRRsetTTL(t *testing.T) {
	srv, p := startExample(t)
	spf := libdns.RR{Name: "@", Type: "TXT", TTL: 300 * time.Second, Data: "v=spf1 -all"}
	ttls := func() map[uint32]int {
		n := map[uint32]int{}
		for _, rr := range srv.Query(t, zone, dns.TypeTXT).Answer {
			n[rr.Header().Ttl]++
		}
		return n
	}
	if _, err := p.AppendRecords(ctx(t), zone, []libdns.Record{spf}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[uint32]int{300: 4}, ttls()); diff != "" {
		t.Errorf("TTLs after adding with TTL 300 to an RRset at 3600 (-want +got):\n%s", diff)
	}
	if _, err := p.DeleteRecords(ctx(t), zone, []libdns.Record{spf}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[uint32]int{300: 3}, ttls()); diff != "" {
		t.Errorf("TTLs after deleting it again (-want +got):\n%s", diff)
	}

	// Appending with the live TTL leaves the foreign values as they were.
	srv2, p2 := startExample(t)
	spf.TTL = time.Hour
	if _, err := p2.AppendRecords(ctx(t), zone, []libdns.Record{spf}); err != nil {
		t.Fatal(err)
	}
	n := map[uint32]int{}
	for _, rr := range srv2.Query(t, zone, dns.TypeTXT).Answer {
		n[rr.Header().Ttl]++
	}
	if diff := cmp.Diff(map[uint32]int{3600: 4}, n); diff != "" {
		t.Errorf("TTLs after adding with the live TTL (-want +got):\n%s", diff)
	}
}
