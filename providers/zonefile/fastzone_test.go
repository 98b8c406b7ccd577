package zonefile

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/libdns/libdns"
	"github.com/miekg/dns"

	"github.com/maildns/maildns/providers"
)

// libraryZone parses data with miekg/dns alone: the records, or ok false
// when it refuses the text.
func libraryZone(data []byte, origin string) ([]dns.RR, bool) {
	zp := dns.NewZoneParser(bytes.NewReader(data), origin, "")
	var out []dns.RR
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		out = append(out, rr)
	}
	return out, zp.Err() == nil
}

// checkFastZone fails t when parseZoneFast answers data differently from
// miekg/dns, and reports whether the fast parser took it.
func checkFastZone(t *testing.T, name string, data []byte, origin string) bool {
	t.Helper()
	checkCanonical(t, name, data, origin)
	fast, ok := parseZoneFast(data, origin)
	if !ok {
		return false
	}
	lib, libOK := libraryZone(data, origin)
	if !libOK {
		t.Errorf("%s: the fast parser took a zone miekg/dns refuses:\n%s", name, data)
		return true
	}
	if len(fast) != len(lib) {
		t.Errorf("%s: %d records, miekg/dns %d:\n%s", name, len(fast), len(lib), data)
		return true
	}
	for i := range fast {
		if reflect.TypeOf(fast[i]) != reflect.TypeOf(lib[i]) || fast[i].String() != lib[i].String() {
			t.Errorf("%s: record %d: %s, miekg/dns %s", name, i, fast[i], lib[i])
		}
	}
	return true
}

// engineRecords is what the engine makes of GetRecords' records when the
// provider gives no canonical ones (sync's readZoneRaw): each normalised,
// TXT text kept as the provider gave it. plain is false when that needs
// more than the records (a TXT text Normalize changes, a record it
// refuses) or the fast parser does not take the text.
func engineRecords(data []byte, origin string) (out []libdns.RR, plain bool) {
	if _, ok := parseZoneFast(data, origin); !ok {
		return nil, false
	}
	recs, err := records(data, "zone", origin)
	if err != nil {
		return nil, false
	}
	out = []libdns.RR{}
	for _, rec := range recs {
		rr, err := providers.Normalize(rec, origin)
		if err != nil {
			return nil, false
		}
		if raw := rec.RR().Data; (rr.Type == "TXT" || rr.Type == "SPF") && rr.Data != raw {
			return nil, false
		}
		out = append(out, rr)
	}
	return out, true
}

// checkCanonical fails t when readCanonical answers data otherwise than
// the engine's normalisation of GetRecords' records does: it must take
// every text that needs only the records, and give the same ones.
func checkCanonical(t *testing.T, name string, data []byte, origin string) {
	t.Helper()
	canon, ok := readCanonical(data, origin)
	want, plain := engineRecords(data, origin)
	switch {
	case ok != plain:
		t.Errorf("%s: readCanonical took it: %v, the engine needs only the records: %v\n%s", name, ok, plain, data)
	case ok && !reflect.DeepEqual(canon, want):
		t.Errorf("%s: readCanonical gave\n%v\nthe engine\n%v", name, canon, want)
	}
}

// fastZoneCases are zone texts at the edges of what the fast parser takes.
var fastZoneCases = []string{
	"$ORIGIN example.com.\n$TTL 3600\n@ IN SOA ns1.example.com. hostmaster.example.com. 2026010101 7200 3600 1209600 3600\n@ IN NS ns1\nns1 IN A 192.0.2.53\n",
	"$TTL 300\n@ IN MX 10 mail\nmail 60 IN A 192.0.2.1\nmail IN 60 AAAA 2001:db8::1\n",
	"$TTL 300\n@ MX 0 .\n@ TXT \"v=spf1 -all\"\n",
	"$TTL 300\n@ IN TXT \"a b\" \"c;d\" ; comment\n",
	"$TTL 300\nWWW.Example.COM. IN CNAME Target.Example.net.\n",
	"$TTL 300\n*.x IN A 192.0.2.1\n",
	"$TTL 300\n_dmarc IN txt \"v=DMARC1; p=reject\"\n",
	"$TTL 300\n25 IN PTR mail.example.com.\n",
	"$TTL 300\n@ in a 192.0.2.1\n",
	"$TTL 300\n@ IN A 192.0.2.1 ; c\n\n; only a comment\n",
	"$TTL 1h\n@ IN A 192.0.2.1\n",
	"@ IN A 192.0.2.1\n",
	"@ 60 IN A 192.0.2.1\nx IN A 192.0.2.2\n",
	"$TTL 300\n@ IN A 192.0.2.1\n  IN A 192.0.2.2\n",
	"$TTL 300\n@ IN SOA ns1 hm ( 1 2 3 4 5 )\n",
	"$TTL 300\n@ IN TXT unquoted\n",
	"$TTL 300\n@ IN TXT \"\"\n",
	"$TTL 300\n@ IN TXT \"a\\\"b\"\n",
	"$TTL 300\n@ IN TXT \"a\"b\n",
	"$TTL 300\n@ IN TXT \"open\n",
	"$TTL 300\n@ IN A 2001:db8::1\n",
	"$TTL 300\n@ IN AAAA 192.0.2.1\n",
	"$TTL 300\n@ IN AAAA ::ffff:192.0.2.1\n",
	"$TTL 300\n@ IN A 192.0.2.256\n",
	"$TTL 300\n@ IN A 01.2.3.4\n",
	"$TTL 300\n@ IN MX 65536 x.\n",
	"$TTL 300\n@ IN MX 65535 x.\n",
	"$TTL 300\n@ CH A 192.0.2.1\n",
	"$TTL 300\n@ IN CAA 0 issue \"x\"\n",
	"$TTL 300\n@ IN CAA 128 iodef \"mailto:x@example.com\"\n@ IN CAA 0 issuewild \";\"\n",
	"$TTL 300\n@ IN CAA 0 issue \"\"\n",
	"$TTL 300\n@ IN CAA 256 issue \"x\"\n",
	"$TTL 300\n@ IN CAA 0 is-sue \"x\"\n",
	"$TTL 300\n@ IN CAA 0 issue \"" + strings.Repeat("x", 255) + "\"\n",
	"$TTL 300\n@ IN CAA 0 issue \"" + strings.Repeat("x", 256) + "\"\n",
	"$TTL 300\n@ IN CAA 0 issue x\n",
	"$TTL 300\n_imaps._tcp IN SRV 0 1 993 mail\n_x._udp IN SRV 65535 65535 65535 .\n",
	"$TTL 300\n_x._tcp IN SRV 0 1 65536 mail\n",
	"$TTL 300\n_x._tcp IN SRV 0 1 mail\n",
	"$TTL 300\na..b IN A 192.0.2.1\n",
	"$TTL 300\n" + strings.Repeat("a", 64) + " IN A 192.0.2.1\n",
	"$TTL 300\n" + strings.Repeat("a", 63) + " IN A 192.0.2.1\n",
	"$TTL 300\nx*y IN A 192.0.2.1\n",
	"$TTL 300\n@ IN A 192.0.2.1\r\n",
	"$ORIGIN other.example.\n$TTL 300\nx IN A 192.0.2.1\n",
	"$ORIGIN sub\n$TTL 300\nx IN A 192.0.2.1\n",
	"$INCLUDE other.zone\n",
	"$GENERATE 1-2 x$ A 192.0.2.$\n",
	"$TTL 300\n@ IN SOA ns1. hm. 4294967295 1 2 3 4\n",
	"$TTL 300\n@ IN SOA ns1. hm. 4294967296 1 2 3 4\n",
	"$TTL 2147483647\n@ IN A 192.0.2.1\n",
	"$TTL 300\n@ 999999999 IN A 192.0.2.1\n",
	"$TTL 300\n@ IN IN A 192.0.2.1\n",
	"$TTL 300\n@ 1 2 A 192.0.2.1\n",
	"$TTL 300\n@ IN TYPE1 192.0.2.1\n",
	"$TTL 300\n@ IN A\n",
	"$TTL 300\n@ IN MX 10\n",
	"$TTL 300\n@ IN TXT \"" + strings.Repeat("x", 255) + "\"\n",
	"$TTL 300\n@ IN TXT \"" + strings.Repeat("x", 256) + "\"\n",
	"$TTL 300\n@ IN TXT \"é\"\n",
	"$TTL 300\n@\tIN\tA\t192.0.2.1\n",
	"$TTL 300\n@ IN A 192.0.2.1",
	"$ttl 300\n@ IN A 192.0.2.1\n",
	"$TTL 300\n3600 IN A 192.0.2.1\n",
	"$TTL 300\nIN IN A 192.0.2.1\n",
	"$TTL 300\nA IN A 192.0.2.1\n",
	"$TTL 300\n. IN NS x.\n",
	"$TTL 300\n@ IN NS @\n",
	"$TTL 300\n@ IN CNAME .\n",
	"$ORIGIN Example.COM.\n$TTL 300\nMail IN A 192.0.2.1\n@ IN MX 10 Mail\nx.Other.Example. IN NS NS1\n",
	"$ORIGIN sub.example.com.\n$TTL 300\n@ IN A 192.0.2.1\nx IN AAAA 2001:DB8:0::1\n$ORIGIN example.net.\ny IN PTR z\n",
	"$TTL 300\nmail IN A 192.0.2.1\nmail IN AAAA 2001:db8::1\nMAIL IN TXT \"a\"\n",
	"$TTL 300\n@ IN TXT \" padded \"\n",
	"$TTL 300\n@ IN TXT \"a \" \"b\"\n",
	"$TTL 300\n@ IN TXT \"a\" \" \"\n",
	"$TTL 300\n@ IN MX 010 MAIL.example.com.\n",
	"$TTL 300\nx 0 IN A 0.0.0.0\nx IN AAAA ::\n",
	"$TTL 300\n_sip._TCP.Example.com. IN SRV 0 1 5060 SIP.Example.com.\nsrv IN SRV 1 2 3 x\n",
	"$TTL 300\nexample.com. IN A 192.0.2.1\nexample.org. IN A 192.0.2.2\nxexample.com. IN A 192.0.2.3\n",
	"",
}

func TestFastZoneCases(t *testing.T) {
	taken := 0
	for i, c := range fastZoneCases {
		if checkFastZone(t, fmt.Sprintf("case %d", i), []byte(c), "example.com.") {
			taken++
		}
	}
	for _, i := range []int{0, 1, 2, 3, 4, 5, 6, 7} {
		if _, ok := parseZoneFast([]byte(fastZoneCases[i]), "example.com."); !ok {
			t.Errorf("case %d not taken by the fast parser:\n%s", i, fastZoneCases[i])
		}
	}
	t.Logf("%d of %d cases taken", taken, len(fastZoneCases))
}

// TestFastZoneFiles: every zone file of the tests parses to the records
// miekg/dns gives, and a zone as maildns writes it takes the fast path.
func TestFastZoneFiles(t *testing.T) {
	var files []string
	for _, dir := range []string{"testdata", "../../cmd/maildns/testdata", "../../sync/testdata", "../../configs"} {
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.Contains(filepath.Base(p), ".zone") {
				files = append(files, p)
			}
			return nil
		})
	}
	if len(files) < 3 {
		t.Fatalf("only %d zone files", len(files))
	}
	taken := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		origin := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(f), ".golden"), ".zone") + "."
		if checkFastZone(t, f, data, origin) {
			taken++
		}
	}
	t.Logf("%d of %d zone files taken", taken, len(files))
}

// FuzzFastZone: whenever the fast parser takes a zone, miekg/dns takes it
// too and gives the same records.
func FuzzFastZone(f *testing.F) {
	for _, c := range fastZoneCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFastZone(t, "input", data, "example.com.")
		checkHalves(t, "input", data, "example.com.")
	})
}

// TestParseZoneFastHalves: a text parsed in two halves side by side gives
// exactly what it gives parsed whole (the same records, or the same
// refusal), wherever the split falls: after $ORIGIN and $TTL lines, before
// a line the fast parser refuses, in a text without $TTL until its second
// half. Every case of the fuzzer's corpus is split too, and checked
// against miekg/dns.
func TestParseZoneFastHalves(t *testing.T) {
	var big strings.Builder
	big.WriteString("$ORIGIN z.example.\n$TTL 3600\n@ IN SOA ns1 hostmaster 1 7200 3600 1209600 3600\n")
	for i := range 400 {
		switch i {
		case 150:
			big.WriteString("$TTL 60\n")
		case 199, 201:
			big.WriteString("$ORIGIN sub.z.example.\n")
		case 260:
			big.WriteString("$ORIGIN z.example.\n")
		}
		fmt.Fprintf(&big, "m%d IN MX 10 mail.m%d\nm%d TXT \"v=spf1 -all\"\nmail.m%d 300 IN A 192.0.2.%d\n", i, i, i, i, i%250+1)
	}
	text := big.String()
	cases := map[string]string{
		"directives in both halves":           text,
		"refused line in the second half":     text + "x IN HINFO a b\n",
		"refused directive in the first half": "$TTL 1h\n" + text,
		"no $TTL before the second half":      strings.Replace(text, "$TTL 3600\n", "", 1),
		"no final newline":                    strings.TrimSuffix(text, "\n"),
	}
	for i, c := range fastZoneCases {
		cases[fmt.Sprintf("corpus %d", i)] = c
	}
	for name, c := range cases {
		checkHalves(t, name, []byte(c), "z.example.")
		checkFastZone(t, name, []byte(c), "z.example.")
	}
	if rrs, ok := parseZoneFastSplit([]byte(text), "z.example.", true); !ok || len(rrs) != 1+3*400 {
		t.Fatalf("the split text: %d records, ok %v", len(rrs), ok)
	} else if got := rrs[len(rrs)-1].String(); !strings.Contains(got, "mail.m399.z.example.\t300\tIN\tA") {
		t.Errorf("last record %s, want mail.m399 under the zone's origin", got)
	}
}

// checkHalves fails unless data parsed in two halves gives what it gives
// parsed whole.
func checkHalves(t *testing.T, name string, data []byte, origin string) {
	t.Helper()
	whole, wholeOK := parseZoneFastSplit(data, origin, false)
	halves, halvesOK := parseZoneFastSplit(data, origin, true)
	if wholeOK != halvesOK || len(whole) != len(halves) {
		t.Errorf("%s: whole %d records (ok %v), halves %d (ok %v)", name, len(whole), wholeOK, len(halves), halvesOK)
		return
	}
	for i := range whole {
		if whole[i].String() != halves[i].String() {
			t.Errorf("%s: record %d: whole %s, halves %s", name, i, whole[i], halves[i])
		}
	}
	canonWhole, wholeOK := readCanonicalSplit(data, origin, false)
	canonHalves, halvesOK := readCanonicalSplit(data, origin, true)
	if wholeOK != halvesOK || !reflect.DeepEqual(canonWhole, canonHalves) {
		t.Errorf("%s: readCanonical whole (ok %v) and in halves (ok %v) differ:\n%v\n%v", name, wholeOK, halvesOK, canonWhole, canonHalves)
	}
}

// TestEntryForAsMiekg: a record to write, taken by the fast parser, is the
// record miekg/dns makes of its line: names completed and in their case,
// TXT split and escaped, TTL as given.
func TestEntryForAsMiekg(t *testing.T) {
	z := &zoneData{origin: "example.com.", ttl: 3600}
	for _, r := range []libdns.RR{
		{Name: "@", Type: "MX", TTL: time.Hour, Data: "10 Mail.Example.com."},
		{Name: "www", Type: "CNAME", TTL: time.Minute, Data: "target"},
		{Name: "@", Type: "TXT", TTL: time.Hour, Data: `v=spf1 "quoted" ; -all`},
		{Name: "s1._domainkey", Type: "TXT", TTL: time.Hour, Data: strings.Repeat("p", 300)},
		{Name: "mail", Type: "A", TTL: 5 * time.Minute, Data: "192.0.2.1"},
		{Name: "mail", Type: "AAAA", TTL: time.Hour, Data: "2001:db8::1"},
		{Name: "_25._tcp.mail", Type: "TLSA", TTL: time.Hour, Data: "3 1 1 ABCDEF0123"},
		{Name: "@", Type: "CAA", TTL: time.Hour, Data: `0 issue "letsencrypt.org"`},
		{Name: "_sip._tcp", Type: "SRV", TTL: time.Hour, Data: "10 5 5060 sip.example.com."},
		{Name: "x.y", Type: "NS", TTL: time.Hour, Data: "ns1.example.net."},
	} {
		e, err := z.entryFor(r)
		if err != nil {
			t.Errorf("%v: %v", r, err)
			continue
		}
		data := r.Data
		if r.Type == "TXT" {
			data = encodeTXT(r.Data)
		}
		zp := dns.NewZoneParser(strings.NewReader(providers.AbsoluteName(r.Name, z.origin)+" "+strconv.Itoa(int(r.TTL.Seconds()))+" IN "+r.Type+" "+data+"\n"), z.origin, "")
		want, ok := zp.Next()
		if !ok {
			t.Fatal(zp.Err())
		}
		if e.rr.String() != want.String() || reflect.TypeOf(e.rr) != reflect.TypeOf(want) {
			t.Errorf("%v: %s, miekg/dns %s", r, e.rr, want)
		}
	}
}
