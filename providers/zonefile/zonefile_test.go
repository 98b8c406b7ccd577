package zonefile

import (
	"context"
	"errors"
	"flag"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
	"github.com/miekg/dns"

	"github.com/maildns/maildns/providers"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// fixedNow is the clock of every test provider: serials are deterministic.
var fixedNow = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// newTestProvider copies the named files of testdata/ into a temporary
// directory and returns a provider on it.
func newTestProvider(t *testing.T, files ...string) *Provider {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	return &Provider{Directory: dir, now: func() time.Time { return fixedNow }}
}

func rrs(t *testing.T, recs []libdns.Record) []libdns.RR {
	t.Helper()
	out := make([]libdns.RR, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.RR())
	}
	slices.SortFunc(out, func(a, b libdns.RR) int {
		return strings.Compare(a.Name+" "+a.Type+" "+a.Data, b.Name+" "+b.Type+" "+b.Data)
	})
	return out
}

func getRRs(t *testing.T, p *Provider, zone string) []libdns.RR {
	t.Helper()
	recs, err := p.GetRecords(context.Background(), zone)
	if err != nil {
		t.Fatal(err)
	}
	return rrs(t, recs)
}

func soaSerial(t *testing.T, p *Provider, zone string) uint32 {
	t.Helper()
	path, origin, err := p.ZonePath(zone)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	z, err := readZone(data, path, origin)
	if err != nil {
		t.Fatal(err)
	}
	if z.soa == nil {
		t.Fatal("no SOA")
	}
	return z.soa.Serial
}

func h(n int) time.Duration { return time.Duration(n) * time.Second }

func TestGetRecords(t *testing.T) {
	p := newTestProvider(t, "example.com.zone")
	got := getRRs(t, p, "example.com.")
	want := []libdns.RR{
		{Name: "@", TTL: h(3600), Type: "CAA", Data: `0 issue "letsencrypt.org"`},
		{Name: "@", TTL: h(300), Type: "MX", Data: "10 mail.example.com."},
		{Name: "@", TTL: h(300), Type: "MX", Data: "20 mx2.example.net."},
		{Name: "@", TTL: h(3600), Type: "NS", Data: "ns1.example.net."},
		{Name: "@", TTL: h(3600), Type: "NS", Data: "ns2.example.net."},
		{Name: "@", TTL: h(3600), Type: "TXT", Data: "google-site-verification=abc123"},
		{Name: "@", TTL: h(3600), Type: "TXT", Data: "v=spf1 mx -all"},
		{Name: "_25._tcp.mail", TTL: h(3600), Type: "TLSA", Data: "3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}, // canonical: hex lower case
		{Name: "_dmarc", TTL: h(3600), Type: "TXT", Data: "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"},
		{Name: "_sip._tcp", TTL: h(3600), Type: "SRV", Data: "10 20 5060 sip.example.com."},
		{Name: "mail", TTL: h(300), Type: "A", Data: "192.0.2.10"},
		{Name: "mail", TTL: h(300), Type: "AAAA", Data: "2001:db8::10"},
		{Name: "nomail", TTL: h(3600), Type: "MX", Data: "0 ."},
		{Name: "quote", TTL: h(3600), Type: "TXT", Data: `say "hi" \ back\slash A`},
		{Name: "s1._domainkey", TTL: h(3600), Type: "TXT", Data: "v=DKIM1; k=rsa; p=MIIBIjANBgkq"},
		{Name: "www", TTL: h(3600), Type: "CNAME", Data: "example.com."},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetRecords (-want +got):\n%s", diff)
	}
}

func TestGetRecordsTypes(t *testing.T) {
	p := newTestProvider(t, "example.com.zone")
	recs, err := p.GetRecords(context.Background(), "example.com")
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]string{}
	for _, r := range recs {
		types[r.RR().Type] = strings.TrimPrefix(strings.TrimPrefix(typeName(r), "libdns."), "*")
	}
	want := map[string]string{
		"A": "Address", "AAAA": "Address", "MX": "MX", "NS": "NS", "TXT": "TXT",
		"CNAME": "CNAME", "SRV": "SRV", "CAA": "CAA", "TLSA": "RR",
	}
	if diff := cmp.Diff(want, types); diff != "" {
		t.Errorf("record structs by type (-want +got):\n%s", diff)
	}
}

func typeName(r libdns.Record) string {
	switch r.(type) {
	case libdns.Address:
		return "Address"
	case libdns.MX:
		return "MX"
	case libdns.NS:
		return "NS"
	case libdns.TXT:
		return "TXT"
	case libdns.CNAME:
		return "CNAME"
	case libdns.SRV:
		return "SRV"
	case libdns.CAA:
		return "CAA"
	case libdns.ServiceBinding:
		return "ServiceBinding"
	case libdns.RR:
		return "RR"
	}
	return "other"
}

// TestGetRecordsIsNormalised checks that every record read is already in the
// canonical form of providers.Normalize. TXT data is raw text, which
// Normalize reads as presentation, so it is compared through its quoted form.
func TestGetRecordsIsNormalised(t *testing.T) {
	p := newTestProvider(t, "example.com.zone", "113.0.203.in-addr.arpa.zone")
	for _, zone := range []string{"example.com.", "113.0.203.in-addr.arpa."} {
		recs, err := p.GetRecords(context.Background(), zone)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			rr := rec.RR()
			in := rr
			if rr.Type == "TXT" {
				in.Data = encodeTXT(rr.Data)
			}
			n, err := providers.Normalize(in, zone)
			if err != nil {
				t.Fatalf("%v: %v", rr, err)
			}
			if n != rr {
				t.Errorf("record not canonical:\n got  %+v\n want %+v", rr, n)
			}
			parsed, err := rr.Parse()
			if err != nil {
				t.Fatalf("%v: %v", rr, err)
			}
			if parsed.RR() != rr {
				t.Errorf("RR of %+v does not round-trip through libdns: %+v", rr, parsed.RR())
			}
		}
	}
}

func TestReverseZone(t *testing.T) {
	p := newTestProvider(t, "113.0.203.in-addr.arpa.zone")
	got := getRRs(t, p, "113.0.203.in-addr.arpa.")
	want := []libdns.RR{
		{Name: "10", TTL: h(86400), Type: "PTR", Data: "mail.example.com."},
		{Name: "11", TTL: h(86400), Type: "PTR", Data: "mail2.example.com."},
		{Name: "@", TTL: h(86400), Type: "NS", Data: "ns1.example.net."},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("GetRecords (-want +got):\n%s", diff)
	}
	// An absolute PTR target stays absolute; a relative one is in the zone.
	_, err := p.SetRecords(context.Background(), "113.0.203.in-addr.arpa.", []libdns.Record{
		libdns.RR{Name: "10", Type: "PTR", TTL: h(300), Data: "mx.example.com."},
		libdns.RR{Name: "12", Type: "PTR", TTL: h(300), Data: "host"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got = getRRs(t, p, "113.0.203.in-addr.arpa.")
	want = []libdns.RR{
		{Name: "10", TTL: h(300), Type: "PTR", Data: "mx.example.com."},
		{Name: "11", TTL: h(86400), Type: "PTR", Data: "mail2.example.com."},
		{Name: "12", TTL: h(300), Type: "PTR", Data: "host.113.0.203.in-addr.arpa."},
		{Name: "@", TTL: h(86400), Type: "NS", Data: "ns1.example.net."},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after SetRecords (-want +got):\n%s", diff)
	}
	if s := soaSerial(t, p, "113.0.203.in-addr.arpa."); s != 8 {
		t.Errorf("serial %d, want 8 (plain serials are incremented)", s)
	}
}

func TestMissingZoneFile(t *testing.T) {
	p := newTestProvider(t)
	_, err := p.GetRecords(context.Background(), "example.org.")
	want := filepath.Join(p.Directory, "example.org.zone")
	if err == nil || !strings.Contains(err.Error(), "zone file "+want+" does not exist") || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("GetRecords on a missing file: %v", err)
	}
	_, err = p.AppendRecords(context.Background(), "example.org.", []libdns.Record{libdns.TXT{Name: "x", Text: "y"}})
	if err == nil || !strings.Contains(err.Error(), want+" does not exist") {
		t.Errorf("AppendRecords on a missing file: %v", err)
	}
	if _, err := os.Stat(want); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a write created the zone file: %v", err)
	}
}

func TestParseErrorNamesFileAndLine(t *testing.T) {
	p := newTestProvider(t)
	path := filepath.Join(p.Directory, "example.com.zone")
	text := "$ORIGIN example.com.\n$TTL 300\n@ IN SOA ns1 host 1 2 3 4 5\nwww IN A 192.0.2.1\nbad IN A 192.0.2\n"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := p.GetRecords(context.Background(), "example.com.")
	if err == nil || !strings.Contains(err.Error(), path+":5:") {
		t.Errorf("error %v does not name %s:5", err, path)
	}
	_, err = p.DeleteRecords(context.Background(), "example.com.", []libdns.Record{libdns.RR{Name: "www"}})
	if err == nil || !strings.Contains(err.Error(), path+":5:") {
		t.Errorf("write error %v does not name %s:5", err, path)
	}
}

func TestIncludeRefused(t *testing.T) {
	p := newTestProvider(t)
	path := filepath.Join(p.Directory, "example.com.zone")
	if err := os.WriteFile(path, []byte("$INCLUDE /etc/passwd\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := p.GetRecords(context.Background(), "example.com."); err == nil {
		t.Error("$INCLUDE was followed")
	}
}

func TestBadZoneNames(t *testing.T) {
	p := newTestProvider(t)
	for _, zone := range []string{"", ".", "../etc/passwd", "a/b.", "a..b."} {
		if _, err := p.GetRecords(context.Background(), zone); err == nil || !strings.Contains(err.Error(), "not a zone name") {
			t.Errorf("zone %q: %v", zone, err)
		}
	}
}

// TestWriteGolden applies one change of every kind and compares the
// rewritten file with testdata/example.com.zone.golden.
func TestWriteGolden(t *testing.T) {
	p := newTestProvider(t, "example.com.zone")
	ctx := context.Background()
	if _, err := p.AppendRecords(ctx, "example.com.", []libdns.Record{
		libdns.TXT{Name: "@", TTL: h(300), Text: "v=spf1 include:_spf.example.net -all"},
		libdns.Address{Name: "mail", TTL: h(300), IP: netip.MustParseAddr("192.0.2.11")},
		libdns.RR{Name: "_mta-sts", Type: "TXT", Data: "v=STSv1; id=20261126"},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.SetRecords(ctx, "example.com.", []libdns.Record{
		libdns.MX{Name: "@", TTL: h(600), Preference: 5, Target: "mail"},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.DeleteRecords(ctx, "example.com.", []libdns.Record{
		libdns.TXT{Name: "@", Text: "v=spf1 mx -all"},
	}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(p.Directory, "example.com.zone"))
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "example.com.zone.golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("zone file (-want +got):\n%s", diff)
	}
	path := filepath.Join(p.Directory, "example.com.zone")
	if _, err := readZone(got, path, "example.com."); err != nil {
		t.Fatal(err)
	}
	checkZone(t, "example.com", path)
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o640 {
		t.Errorf("file mode %v, want 0640 kept", info.Mode().Perm())
	}
	if s := soaSerial(t, p, "example.com."); s != 2026112602 {
		t.Errorf("serial %d after three writes, want 2026112602", s)
	}
}

func TestForeignRecordsPreserved(t *testing.T) {
	p := newTestProvider(t, "example.com.zone")
	ctx := context.Background()
	before := getRRs(t, p, "example.com.")
	// Replacing the apex TXT set of the SPF value keeps nothing else of it,
	// by libdns semantics; everything at other (name, type) pairs stays.
	if _, err := p.SetRecords(ctx, "example.com.", []libdns.Record{
		libdns.TXT{Name: "_dmarc", TTL: h(3600), Text: "v=DMARC1; p=none"},
	}); err != nil {
		t.Fatal(err)
	}
	after := getRRs(t, p, "example.com.")
	var changed []libdns.RR
	for _, r := range before {
		if !slices.Contains(after, r) {
			changed = append(changed, r)
		}
	}
	want := []libdns.RR{{Name: "_dmarc", TTL: h(3600), Type: "TXT", Data: "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"}}
	if diff := cmp.Diff(want, changed); diff != "" {
		t.Errorf("records lost (-want +got):\n%s", diff)
	}
	if len(after) != len(before) {
		t.Errorf("%d records after, %d before", len(after), len(before))
	}
	// The SOA is kept, with its names, and its serial moved to today.
	data, err := os.ReadFile(filepath.Join(p.Directory, "example.com.zone"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "SOA  ns1.example.net. Hostmaster.example.com. (\n                2026112600 ; serial") {
		t.Errorf("SOA not kept:\n%s", data)
	}
}

func TestNoChangeNoWrite(t *testing.T) {
	p := newTestProvider(t, "example.com.zone")
	ctx := context.Background()
	path := filepath.Join(p.Directory, "example.com.zone")
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	calls := []struct {
		name string
		do   func() ([]libdns.Record, error)
		n    int
	}{
		{"append existing", func() ([]libdns.Record, error) {
			return p.AppendRecords(ctx, "example.com.", []libdns.Record{libdns.MX{Name: "@", TTL: h(300), Preference: 10, Target: "mail.example.com."}})
		}, 1},
		{"set same set in another order", func() ([]libdns.Record, error) {
			return p.SetRecords(ctx, "example.com.", []libdns.Record{
				libdns.NS{Name: "@", TTL: h(3600), Target: "ns2.example.net."},
				libdns.NS{Name: "@", TTL: h(3600), Target: "NS1.example.net."},
			})
		}, 2},
		{"delete absent", func() ([]libdns.Record, error) {
			return p.DeleteRecords(ctx, "example.com.", []libdns.Record{libdns.TXT{Name: "@", Text: "nothing"}})
		}, 0},
		{"delete wrong TTL", func() ([]libdns.Record, error) {
			return p.DeleteRecords(ctx, "example.com.", []libdns.Record{libdns.Address{Name: "mail", TTL: h(1), IP: netip.MustParseAddr("192.0.2.10")}})
		}, 0},
	}
	for _, c := range calls {
		out, err := c.do()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(out) != c.n {
			t.Errorf("%s returned %d records, want %d", c.name, len(out), c.n)
		}
		now, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(now) != string(orig) {
			t.Fatalf("%s rewrote the file", c.name)
		}
	}
}

func TestSetRecordsSemantics(t *testing.T) {
	p := newTestProvider(t, "example.com.zone")
	ctx := context.Background()
	// libdns example 1: the A set is replaced, the TXT set kept.
	if _, err := p.AppendRecords(ctx, "example.com.", []libdns.Record{
		libdns.Address{Name: "alpha", TTL: h(3600), IP: netip.MustParseAddr("2001:db8::1")},
		libdns.Address{Name: "alpha", TTL: h(3600), IP: netip.MustParseAddr("2001:db8::2")},
		libdns.Address{Name: "beta", TTL: h(3600), IP: netip.MustParseAddr("2001:db8::3")},
		libdns.Address{Name: "beta", TTL: h(3600), IP: netip.MustParseAddr("2001:db8::4")},
	}); err != nil {
		t.Fatal(err)
	}
	out, err := p.SetRecords(ctx, "example.com.", []libdns.Record{
		libdns.Address{Name: "alpha", TTL: h(3600), IP: netip.MustParseAddr("2001:db8::1")},
		libdns.Address{Name: "alpha", TTL: h(3600), IP: netip.MustParseAddr("2001:db8::2")},
		libdns.Address{Name: "alpha", TTL: h(3600), IP: netip.MustParseAddr("2001:db8::5")},
		libdns.Address{Name: "mail", TTL: h(300), IP: netip.MustParseAddr("192.0.2.99")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 4 {
		t.Errorf("SetRecords returned %d records, want 4", len(out))
	}
	var got []string
	for _, r := range getRRs(t, p, "example.com.") {
		if r.Type == "A" || r.Type == "AAAA" {
			got = append(got, r.Name+" "+r.Type+" "+r.Data)
		}
	}
	want := []string{
		"alpha AAAA 2001:db8::1", "alpha AAAA 2001:db8::2", "alpha AAAA 2001:db8::5",
		"beta AAAA 2001:db8::3", "beta AAAA 2001:db8::4",
		"mail A 192.0.2.99", "mail AAAA 2001:db8::10",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("addresses (-want +got):\n%s", diff)
	}
}

func TestDeleteWildcards(t *testing.T) {
	tests := []struct {
		name string
		del  libdns.Record
		gone []string // name type data of the records deleted
	}{
		{"exact", libdns.TXT{Name: "@", TTL: h(3600), Text: "v=spf1 mx -all"}, []string{"@ TXT v=spf1 mx -all"}},
		{"any TTL", libdns.MX{Name: "@", Preference: 20, Target: "mx2.example.net."}, []string{"@ MX 20 mx2.example.net."}},
		{"relative target", libdns.MX{Name: "@", Preference: 10, Target: "mail"}, []string{"@ MX 10 mail.example.com."}},
		{"any data", libdns.RR{Name: "@", Type: "MX"}, []string{"@ MX 10 mail.example.com.", "@ MX 20 mx2.example.net."}},
		{"any type", libdns.RR{Name: "mail"}, []string{"mail A 192.0.2.10", "mail AAAA 2001:db8::10"}},
		{"any type, data given", libdns.RR{Name: "mail", Data: "2001:db8:0::10"}, []string{"mail AAAA 2001:db8::10"}},
		{"zero address is any data", libdns.Address{Name: "mail"}, []string{"mail A 192.0.2.10"}},
		{"name case and FQDN", libdns.RR{Name: "WWW.example.com.", Type: "CNAME"}, []string{"www CNAME example.com."}},
		{"TXT with escapes", libdns.TXT{Name: "quote", Text: `say "hi" \ back\slash A`}, []string{`quote TXT say "hi" \ back\slash A`}},
		{"SRV by struct", libdns.SRV{Service: "sip", Transport: "tcp", Name: "@", Priority: 10, Weight: 20, Port: 5060, Target: "sip.example.com."}, []string{"_sip._tcp SRV 10 20 5060 sip.example.com."}},
		{"apex wildcard keeps SOA", libdns.RR{Name: "@"}, []string{
			`@ CAA 0 issue "letsencrypt.org"`, "@ MX 10 mail.example.com.", "@ MX 20 mx2.example.net.",
			"@ NS ns1.example.net.", "@ NS ns2.example.net.",
			"@ TXT google-site-verification=abc123", "@ TXT v=spf1 mx -all",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newTestProvider(t, "example.com.zone")
			out, err := p.DeleteRecords(context.Background(), "example.com.", []libdns.Record{tc.del})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rrs(t, out) {
				got = append(got, r.Name+" "+r.Type+" "+r.Data)
			}
			if diff := cmp.Diff(tc.gone, got); diff != "" {
				t.Errorf("deleted (-want +got):\n%s", diff)
			}
			left := getRRs(t, p, "example.com.")
			for _, r := range out {
				if slices.Contains(left, r.RR()) {
					t.Errorf("%v still in the zone", r.RR())
				}
			}
			if s := soaSerial(t, p, "example.com."); s != 2026112600 {
				t.Errorf("serial %d, want 2026112600", s)
			}
		})
	}
}

func TestDeleteRequiresName(t *testing.T) {
	p := newTestProvider(t, "example.com.zone")
	if _, err := p.DeleteRecords(context.Background(), "example.com.", []libdns.Record{libdns.RR{Type: "TXT"}}); err == nil {
		t.Error("a delete without a name was accepted")
	}
}

func TestBadInputRecords(t *testing.T) {
	p := newTestProvider(t, "example.com.zone")
	tests := []struct {
		name string
		rec  libdns.Record
		want string
	}{
		{"SOA", libdns.RR{Name: "@", Type: "SOA", Data: "a. b. 1 2 3 4 5"}, "SOA"},
		{"bad address", libdns.RR{Name: "x", Type: "A", Data: "192.0.2"}, "x A: bad data"},
		{"no type", libdns.RR{Name: "x", Data: "192.0.2.1"}, "type is empty"},
		{"unknown type", libdns.RR{Name: "x", Type: "BOGUS", Data: "1"}, "unknown record type"},
		{"outside the zone", libdns.RR{Name: "www.example.net.", Type: "A", Data: "192.0.2.1"}, "outside the zone"},
		{"two lines", libdns.RR{Name: "x", Type: "A", Data: "192.0.2.1\ny IN A 192.0.2.2"}, "spans lines"},
		{"directive as name", libdns.RR{Name: "$INCLUDE", Type: "A", Data: "192.0.2.1"}, "not a domain name"},
		{"empty data", libdns.RR{Name: "x", Type: "CNAME"}, "data is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.AppendRecords(context.Background(), "example.com.", []libdns.Record{libdns.TXT{Name: "ok", Text: "fine"}, tc.rec})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "zone example.com.") {
				t.Errorf("error %v, want one with %q naming the zone", err, tc.want)
			}
		})
	}
	// Nothing of a failed call is written, not even its good records.
	for _, r := range getRRs(t, p, "example.com.") {
		if r.Name == "ok" {
			t.Error("a failed call wrote part of its records")
		}
	}
}

func TestTXTRoundTrip(t *testing.T) {
	dkim := "v=DKIM1; k=rsa; p=" + strings.Repeat("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", 9) + "IDAQAB"
	tests := []struct {
		name, text string
		chunks     int // character strings in the file
	}{
		{"dkim 2048", dkim, 2},
		{"exactly 255", strings.Repeat("a", 255), 1},
		{"256", strings.Repeat("a", 256), 2},
		{"600 escaped", strings.Repeat(`"\;`, 200), 3},
		{"quote backslash semicolon", `a "quoted" \ back;slash; ( paren )`, 1},
		{"leading and trailing spaces", "  spaced  ", 1},
		{"empty", "", 1},
		{"control and utf-8", "tab\there\x00nul é", 1},
		{"looks like presentation", `"a" "b"`, 1},
		{"decimal escape text", `\065`, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newTestProvider(t, "example.com.zone")
			ctx := context.Background()
			out, err := p.AppendRecords(ctx, "example.com.", []libdns.Record{libdns.TXT{Name: "t", TTL: h(60), Text: tc.text}})
			if err != nil {
				t.Fatal(err)
			}
			if got := out[0].(libdns.TXT).Text; got != tc.text {
				t.Errorf("AppendRecords returned %q, want %q", got, tc.text)
			}
			var got []string
			for _, r := range getRRs(t, p, "example.com.") {
				if r.Name == "t" {
					got = append(got, r.Data)
				}
			}
			if diff := cmp.Diff([]string{tc.text}, got); diff != "" {
				t.Errorf("read back (-want +got):\n%s", diff)
			}
			// Check the file: the strings of the record and their sizes.
			path := filepath.Join(p.Directory, "example.com.zone")
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var txt *dns.TXT
			if err := parseZone(data, path, "example.com.", func(rr dns.RR, _ string) {
				if v, ok := rr.(*dns.TXT); ok && v.Hdr.Name == "t.example.com." {
					txt = v
				}
			}); err != nil {
				t.Fatal(err)
			}
			if txt == nil {
				t.Fatal("record not in the file")
			}
			if len(txt.Txt) != tc.chunks {
				t.Errorf("%d strings in the file, want %d", len(txt.Txt), tc.chunks)
			}
			for i, s := range txt.Txt {
				if n := len(decodeTXT([]string{s})); n > 255 || (i < len(txt.Txt)-1 && n != 255) {
					t.Errorf("string %d holds %d bytes", i, n)
				}
			}
			// Deleting by the same text finds it.
			del, err := p.DeleteRecords(ctx, "example.com.", []libdns.Record{libdns.TXT{Name: "t", Text: tc.text}})
			if err != nil || len(del) != 1 {
				t.Errorf("DeleteRecords: %d deleted, %v", len(del), err)
			}
		})
	}
}

func TestNextSerial(t *testing.T) {
	now := time.Date(2026, 11, 26, 23, 30, 0, 0, time.FixedZone("x", -5*3600)) // 2026-11-27 UTC
	tests := []struct {
		old, want uint32
	}{
		{2026010101, 2026112700},
		{2026112700, 2026112701},
		{2026112705, 2026112706},
		{2026112799, 2026112800},
		{2030010100, 2030010101},
		{1, 2},
		{7, 8},
		{1999999999, 2000000000}, // month 99: not a date
		{4294967295, 0},
	}
	for _, tc := range tests {
		if got := nextSerial(tc.old, now); got != tc.want {
			t.Errorf("nextSerial(%d) = %d, want %d", tc.old, got, tc.want)
		}
	}
}

func TestParseTTL(t *testing.T) {
	tests := []struct {
		in   string
		want uint32
		ok   bool
	}{
		{"3600", 3600, true}, {"1h", 3600, true}, {"1h30m", 5400, true}, {"1W2d", 777600, true},
		{"", 0, false}, {"h", 0, false}, {"1x", 0, false}, {"99999999999", 0, false},
	}
	for _, tc := range tests {
		got, ok := parseTTL(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseTTL(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestZeroTTLTakesZoneDefault(t *testing.T) {
	p := newTestProvider(t, "example.com.zone", "113.0.203.in-addr.arpa.zone")
	ctx := context.Background()
	out, err := p.AppendRecords(ctx, "example.com.", []libdns.Record{libdns.TXT{Name: "d", Text: "x"}, libdns.TXT{Name: "z", TTL: time.Millisecond, Text: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if out[0].RR().TTL != time.Hour || out[1].RR().TTL != 0 {
		t.Errorf("TTLs %v and %v, want 1h ($TTL 1h) and 0", out[0].RR().TTL, out[1].RR().TTL)
	}
}

func TestListZones(t *testing.T) {
	p := newTestProvider(t, "example.com.zone", "113.0.203.in-addr.arpa.zone")
	// Lock and temporary files are not zones.
	for _, f := range []string{"example.com.zone.lock", ".example.com.zone.tmp-1", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(p.Directory, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	zones, err := p.ListZones(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []libdns.Zone{{Name: "113.0.203.in-addr.arpa."}, {Name: "example.com."}}
	if diff := cmp.Diff(want, zones); diff != "" {
		t.Errorf("ListZones (-want +got):\n%s", diff)
	}
}

func TestRegistry(t *testing.T) {
	base := t.TempDir()
	p, err := providers.New("zonefile", &providers.Settings{
		BaseDir: base,
		Values:  map[string]string{"directory": "zones", "file_suffix": ".db"},
	})
	if err != nil {
		t.Fatal(err)
	}
	zp := p.(*Provider)
	if zp.Directory != filepath.Join(base, "zones") || zp.FileSuffix != ".db" {
		t.Errorf("provider %+v", zp)
	}
	if path, _, _ := zp.ZonePath("Example.COM."); path != filepath.Join(base, "zones", "example.com.db") {
		t.Errorf("zone path %s", path)
	}

	_, err = providers.New("zonefile", &providers.Settings{BaseDir: base, Values: map[string]string{}})
	var se *providers.SettingError
	if !errors.As(err, &se) || se.Key != "directory" || !errors.Is(err, providers.ErrMissing) {
		t.Errorf("missing directory: %v", err)
	}
	_, err = providers.New("zonefile", &providers.Settings{Values: map[string]string{"directory": "/z", "dir": "x"}})
	if !errors.As(err, &se) || se.Key != "dir" {
		t.Errorf("unknown setting: %v", err)
	}
	_, err = providers.New("zonefile", &providers.Settings{Values: map[string]string{"directory": "/z", "file_suffix": "a/b"}})
	if !errors.As(err, &se) || se.Key != "file_suffix" {
		t.Errorf("bad suffix: %v", err)
	}
}

func TestContextCancelled(t *testing.T) {
	p := newTestProvider(t, "example.com.zone")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.GetRecords(ctx, "example.com."); !errors.Is(err, context.Canceled) {
		t.Errorf("GetRecords: %v", err)
	}
	if _, err := p.AppendRecords(ctx, "example.com.", []libdns.Record{libdns.TXT{Name: "x", Text: "y"}}); !errors.Is(err, context.Canceled) {
		t.Errorf("AppendRecords: %v", err)
	}
}

func TestSymlinkedZoneFileKeepsLink(t *testing.T) {
	p := newTestProvider(t)
	realPath := filepath.Join(t.TempDir(), "realPath.zone")
	data, err := os.ReadFile(filepath.Join("testdata", "example.com.zone"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(realPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(p.Directory, "example.com.zone")
	if err := os.Symlink(realPath, link); err != nil {
		t.Fatal(err)
	}
	if _, err := p.AppendRecords(context.Background(), "example.com.", []libdns.Record{libdns.TXT{Name: "l", Text: "x"}}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v %v", fi.Mode(), err)
	}
	written, err := os.ReadFile(realPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(written), "\nl ") {
		t.Errorf("the link's target was not written:\n%s", written)
	}
}

// TestUnknownTypesRoundTrip: records of types miekg/dns does not know
// (RFC 3597) and NULL records are read and written in the generic form
// \# length hex, which reads back to the same bytes.
func TestUnknownTypesRoundTrip(t *testing.T) {
	p := newTestProvider(t)
	text := "$ORIGIN example.com.\n$TTL 300\n@ IN SOA ns1.example.net. h.example.com. 1 2 3 4 5\n" +
		"@ IN NS ns1.example.net.\nx IN TYPE65534 \\# 3 010203\nn IN NULL \\# 3 0A0B0C\ne IN TYPE65280 \\# 0\n"
	if err := os.WriteFile(filepath.Join(p.Directory, "example.com.zone"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"x": `\# 3 010203`, "n": `\# 3 0a0b0c`, "e": `\# 0`}
	check := func() {
		t.Helper()
		got := map[string]string{}
		for _, r := range getRRs(t, p, "example.com.") {
			if r.Type != "NS" {
				got[r.Name] = r.Data
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("records (-want +got):\n%s", diff)
		}
	}
	check()
	if _, err := p.AppendRecords(context.Background(), "example.com.", []libdns.Record{
		libdns.RR{Name: "y", Type: "TYPE65534", TTL: time.Minute, Data: `\# 2 abcd`},
	}); err != nil {
		t.Fatal(err)
	}
	want["y"] = `\# 2 abcd`
	check()
}
