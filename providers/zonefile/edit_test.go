package zonefile

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
	"github.com/miekg/dns"

	"github.com/maildns/maildns/providers"
)

// checkzoneRuns counts the zone files loaded into named-checkzone.
var checkzoneRuns atomic.Int64

// bindTool finds a BIND 9 utility (Debian bind9-utils, installed by
// scripts/test-deps.sh). It skips the test when the tool is missing, or
// fails it when CI=true.
func bindTool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed: run scripts/test-deps.sh", name)
	}
	t.Skipf("%s is not installed: run scripts/test-deps.sh", name)
	return ""
}

// checkZone loads a zone file into named-checkzone, as BIND would load it.
func checkZone(t *testing.T, origin, path string) {
	t.Helper()
	out, err := exec.Command(bindTool(t, "named-checkzone"), "-q", "-k", "fail", "-i", "local", origin, path).CombinedOutput()
	checkzoneRuns.Add(1)
	if err != nil {
		out2, _ := exec.Command(bindTool(t, "named-checkzone"), origin, path).CombinedOutput()
		data, _ := os.ReadFile(path)
		t.Fatalf("named-checkzone %s %s: %v\n%s%s\n--- file:\n%s", origin, path, err, out, out2, data)
	}
}

// diffLines runs diff(1) on two texts and returns the lines it shows as
// removed and as added.
func diffLines(t *testing.T, before, after string) (removed, added []string) {
	t.Helper()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "before"), filepath.Join(dir, "after")
	if err := os.WriteFile(a, []byte(before), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, []byte(after), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("diff", a, b).Output()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
		t.Fatalf("diff: %v", err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(l, "< "):
			removed = append(removed, l[2:])
		case strings.HasPrefix(l, "> "):
			added = append(added, l[2:])
		}
	}
	return removed, added
}

// zoneProvider writes text as the zone file of zone in a new directory.
func zoneProvider(t *testing.T, zone, text string) (*Provider, string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, strings.TrimSuffix(zone, ".")+".zone")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return &Provider{Directory: dir, now: func() time.Time { return fixedNow }}, path
}

func readText(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// handZone is a zone kept in git and edited by hand: comments, blank
// lines, aligned columns, a multi-line SOA, owners left blank, TTLs
// omitted, an SPF split at an odd place by a control panel.
const handZone = `; example.org -- kept in git, edited by hand
$TTL 3600
$ORIGIN example.org.

@   IN  SOA ns1.example.net. hostmaster.example.org. (
        2026010101  ; serial
        3600        ; refresh
        900         ; retry
        1209600     ; expire
        300 )       ; minimum

; name servers
            IN  NS      ns1.example.net.
            IN  NS      ns2.example.net.

; mail
@           IN  MX      10 mail          ; primary
@           IN  MX      20 backup.example.net.
@           IN  TXT     "v=spf1 a " "~all"   ; SPF, split by the control panel
@           IN  TXT     "google-site-verification=xyz"

mail        300 IN  A   192.0.2.25
            300 IN  AAAA 2001:db8::25

_dmarc      IN  TXT     ( "v=DMARC1; "
                          "p=quarantine" )
www         IN  CNAME   @
`

// TestEditSPFDriftChangesTwoLines is the acceptance case of zone files
// edited in place: one drifting SPF changes the SPF line and the serial.
func TestEditSPFDriftChangesTwoLines(t *testing.T) {
	p, path := zoneProvider(t, "example.org.", handZone)
	_, err := p.ReplaceRecords(context.Background(), "example.org.",
		[]libdns.Record{libdns.TXT{Name: "@", Text: "v=spf1 a ~all"}},
		[]libdns.Record{libdns.TXT{Name: "@", TTL: time.Hour, Text: "v=spf1 mx -all"}})
	if err != nil {
		t.Fatal(err)
	}
	after := readText(t, path)
	removed, added := diffLines(t, handZone, after)
	wantRemoved := []string{
		"        2026010101  ; serial",
		`@           IN  TXT     "v=spf1 a " "~all"   ; SPF, split by the control panel`,
	}
	wantAdded := []string{
		"        2026112600  ; serial",
		`@           IN  TXT     "v=spf1 mx -all"   ; SPF, split by the control panel`,
	}
	if diff := cmp.Diff(wantRemoved, removed); diff != "" {
		t.Errorf("lines removed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantAdded, added); diff != "" {
		t.Errorf("lines added (-want +got):\n%s", diff)
	}
	checkZone(t, "example.org", path)
	entries, err := os.ReadDir(p.Directory)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want the zone file alone (no lock or temporary file)", names)
	}
}

// canon returns recs as canonical (name, type, data, TTL), sorted.
func canon(t *testing.T, zone string, recs []libdns.Record) []libdns.RR {
	t.Helper()
	out := make([]libdns.RR, 0, len(recs))
	for _, r := range recs {
		rr, err := providers.Normalize(r, zone)
		if err != nil {
			t.Fatalf("normalising %v: %v", r.RR(), err)
		}
		out = append(out, rr)
	}
	slices.SortFunc(out, func(a, b libdns.RR) int {
		return strings.Compare(a.Name+" "+a.Type+" "+a.Data+" "+a.TTL.String(), b.Name+" "+b.Type+" "+b.Data+" "+b.TTL.String())
	})
	return out
}

// afterReplace returns live after removing remove (by name, type and
// data) and adding add, in canonical form.
func afterReplace(t *testing.T, zone string, live, remove, add []libdns.Record) []libdns.RR {
	t.Helper()
	gone := map[[3]string]bool{}
	for _, r := range canon(t, zone, remove) {
		gone[[3]string{r.Name, r.Type, r.Data}] = true
	}
	var out []libdns.Record
	for _, r := range canon(t, zone, live) {
		if !gone[[3]string{r.Name, r.Type, r.Data}] {
			out = append(out, r)
		}
	}
	return canon(t, zone, append(out, add...))
}

// TestEditShapes edits zone files in the shapes people write them and
// checks, for each: the records are exactly those meant, diff(1) shows
// only the lines expected, and named-checkzone loads the result.
func TestEditShapes(t *testing.T) {
	const soa = "@ 3600 IN SOA ns1.example.net. hostmaster.example.net. 2026010101 3600 900 1209600 300\n"
	cases := []struct {
		name, zone, text string
		remove, add      []libdns.Record
		removed, added   []string // the lines diff shows, the serial line aside
	}{{
		name: "first record of a group of blank owners removed",
		zone: "example.org.", text: handZone,
		remove:  []libdns.Record{libdns.Address{Name: "mail", IP: netip.MustParseAddr("192.0.2.25")}},
		removed: []string{"mail        300 IN  A   192.0.2.25", "            300 IN  AAAA 2001:db8::25"},
		added:   []string{"mail            300 IN  AAAA 2001:db8::25"},
	}, {
		name: "record added to a group of blank owners",
		zone: "example.org.", text: handZone,
		add:   []libdns.Record{libdns.Address{Name: "mail", TTL: 300 * time.Second, IP: netip.MustParseAddr("192.0.2.26")}},
		added: []string{"mail        300 IN A 192.0.2.26"},
	}, {
		name: "DMARC in parentheses over two lines replaced",
		zone: "example.org.", text: handZone,
		remove:  []libdns.Record{libdns.TXT{Name: "_dmarc", Text: "v=DMARC1; p=quarantine"}},
		add:     []libdns.Record{libdns.TXT{Name: "_dmarc", TTL: time.Hour, Text: "v=DMARC1; p=reject; rua=mailto:d@example.org"}},
		removed: []string{`_dmarc      IN  TXT     ( "v=DMARC1; "`, `                          "p=quarantine" )`},
		added:   []string{`_dmarc      IN  TXT     "v=DMARC1; p=reject; rua=mailto:d@example.org"`},
	}, {
		name: "DKIM in 250-byte strings replaced, kept over several lines",
		zone: "example.com.",
		text: "$ORIGIN example.com.\n$TTL 1h\n" + soa + "@ IN NS ns1.example.net.\n" +
			"sel._domainkey IN TXT ( \"v=DKIM1; k=rsa; p=" + strings.Repeat("A", 236) + "\"\n" +
			"                        \"" + strings.Repeat("B", 250) + "\" ) ; old key\n" +
			"www IN A 192.0.2.80\n",
		remove: []libdns.Record{libdns.TXT{Name: "sel._domainkey", Text: "v=DKIM1; k=rsa; p=" + strings.Repeat("A", 236) + strings.Repeat("B", 250)}},
		add:    []libdns.Record{libdns.TXT{Name: "sel._domainkey", TTL: time.Hour, Text: "v=DKIM1; k=rsa; p=" + strings.Repeat("C", 392)}},
		removed: []string{
			"sel._domainkey IN TXT ( \"v=DKIM1; k=rsa; p=" + strings.Repeat("A", 236) + "\"",
			"                        \"" + strings.Repeat("B", 250) + "\" ) ; old key",
		},
		added: []string{
			"sel._domainkey IN TXT ( \"v=DKIM1; k=rsa; p=" + strings.Repeat("C", 237) + "\"",
			"                        \"" + strings.Repeat("C", 155) + "\" ) ; old key",
		},
	}, {
		name: "no $TTL: a removed line's TTL was inherited by the next",
		zone: "example.edu.",
		text: "$ORIGIN example.edu.\n" + soa + "  IN NS ns1.example.net.\n" +
			"mail 300 IN A 192.0.2.1\n     IN AAAA 2001:db8::1 ; owner and TTL from the line above\n" +
			"www  IN A 192.0.2.80\n",
		remove:  []libdns.Record{libdns.Address{Name: "mail", IP: netip.MustParseAddr("192.0.2.1")}},
		removed: []string{"mail 300 IN A 192.0.2.1", "     IN AAAA 2001:db8::1 ; owner and TTL from the line above"},
		added:   []string{"mail     300 IN AAAA 2001:db8::1 ; owner and TTL from the line above"},
	}, {
		name: "no $TTL: a new line's TTL would pass to the next",
		zone: "example.edu.",
		text: "$ORIGIN example.edu.\n" + soa + "  IN NS ns1.example.net.\n" +
			"mail 300 IN A 192.0.2.1\n     IN AAAA 2001:db8::1\n" +
			"www  IN A 192.0.2.80\n",
		add:     []libdns.Record{libdns.Address{Name: "mail", TTL: time.Minute, IP: netip.MustParseAddr("192.0.2.2")}},
		removed: []string{"     IN AAAA 2001:db8::1"},
		added:   []string{"mail 60 IN A 192.0.2.2", "     300 IN AAAA 2001:db8::1"},
	}, {
		name: "$ORIGIN changes inside the file",
		zone: "example.com.",
		text: "$ORIGIN example.com.\n$TTL 300\n" + soa + "@ IN NS ns1.example.net.\n" +
			"$ORIGIN sub.example.com.\nmail IN A 192.0.2.1\n@ IN MX 10 mail\n",
		add: []libdns.Record{
			libdns.TXT{Name: "sub", TTL: 300 * time.Second, Text: "v=spf1 mx -all"},
			libdns.TXT{Name: "_dmarc", TTL: 300 * time.Second, Text: "v=DMARC1; p=reject"},
		},
		added: []string{`@ 300 IN TXT "v=spf1 mx -all"`, `_dmarc.example.com. 300 IN TXT "v=DMARC1; p=reject"`},
	}, {
		name: "absolute owners, mixed case names and targets",
		zone: "example.com.",
		text: "$TTL 300\n" + strings.Replace(soa, "@", "Example.COM.", 1) + "Example.COM. IN NS ns1.example.net.\n" +
			"Example.COM.  IN MX 10 Mail.Example.Com.\nExample.COM.  IN MX 20 mx2.Example.NET.\nMAIL.Example.COM. 300 IN A 192.0.2.1\n",
		remove: []libdns.Record{libdns.MX{Name: "@", Preference: 10, Target: "mail.example.com."}},
		add:    []libdns.Record{libdns.MX{Name: "@", TTL: 300 * time.Second, Preference: 10, Target: "mail.example.com."}, libdns.MX{Name: "@", TTL: 300 * time.Second, Preference: 5, Target: "mail.example.com."}},
		added:  []string{"@             300 IN MX 5 mail.example.com."},
	}, {
		name: "TTL and class in either order, class omitted, TTL in units",
		zone: "example.com.",
		text: "$ORIGIN example.com.\n$TTL 300\n" + soa + "@ IN NS ns1.example.net.\n" +
			"mail IN 1h A 192.0.2.1\nwww 300 A 192.0.2.80\n",
		remove:  []libdns.Record{libdns.Address{Name: "mail", IP: netip.MustParseAddr("192.0.2.1")}, libdns.Address{Name: "www", IP: netip.MustParseAddr("192.0.2.80")}},
		add:     []libdns.Record{libdns.Address{Name: "mail", TTL: 600 * time.Second, IP: netip.MustParseAddr("192.0.2.1")}, libdns.Address{Name: "www", TTL: 300 * time.Second, IP: netip.MustParseAddr("192.0.2.81")}},
		removed: []string{"mail IN 1h A 192.0.2.1", "www 300 A 192.0.2.80"},
		added:   []string{"mail IN 600 A 192.0.2.1", "www 300 A 192.0.2.81"},
	}, {
		name: "different TTLs inside one RRset",
		zone: "example.com.",
		text: "$ORIGIN example.com.\n$TTL 300\n" + soa + "@ IN NS ns1.example.net.\n" +
			"@ 300 IN MX 10 a.example.net.\n@ 600 IN MX 20 b.example.net.\n@ 60 IN MX 30 c.example.net.\n",
		remove:  []libdns.Record{libdns.MX{Name: "@", Preference: 10, Target: "a.example.net."}, libdns.MX{Name: "@", Preference: 20, Target: "b.example.net."}, libdns.MX{Name: "@", Preference: 30, Target: "c.example.net."}},
		add:     []libdns.Record{libdns.MX{Name: "@", TTL: time.Hour, Preference: 10, Target: "mx.example.net."}},
		removed: []string{"@ 300 IN MX 10 a.example.net.", "@ 600 IN MX 20 b.example.net.", "@ 60 IN MX 30 c.example.net."},
		added:   []string{"@ 3600 IN MX 10 mx.example.net."},
	}, {
		name: "unknown type and NULL records stay as they are",
		zone: "example.com.",
		text: "$ORIGIN example.com.\n$TTL 300\n" + soa + "@ IN NS ns1.example.net.\n" +
			"x IN TYPE65534 \\# 3 010203\nn IN NULL \\# 3 010203\ne IN TYPE65280 \\# 0\n@ IN TXT \"v=spf1 -all\"\n",
		remove:  []libdns.Record{libdns.TXT{Name: "@", Text: "v=spf1 -all"}},
		add:     []libdns.Record{libdns.TXT{Name: "@", TTL: 300 * time.Second, Text: "v=spf1 mx -all"}, libdns.RR{Name: "y", Type: "TYPE65534", TTL: 300 * time.Second, Data: `\# 2 abcd`}},
		removed: []string{`@ IN TXT "v=spf1 -all"`},
		added:   []string{`@ IN TXT "v=spf1 mx -all"`, `y 300 IN TYPE65534 \# 2 abcd`},
	}, {
		name: "$GENERATE kept, a record added beside it",
		zone: "2.0.192.in-addr.arpa.",
		text: "$ORIGIN 2.0.192.in-addr.arpa.\n$TTL 1d\n" + soa + "@ IN NS ns1.example.net.\n" +
			"$GENERATE 100-200 $ IN PTR host-$.isp.example.\n26 IN PTR old.example.com.\n",
		remove:  []libdns.Record{libdns.RR{Name: "26", Type: "PTR", Data: "old.example.com."}},
		add:     []libdns.Record{libdns.RR{Name: "26", Type: "PTR", TTL: time.Hour, Data: "mail.example.com."}, libdns.RR{Name: "25", Type: "PTR", TTL: time.Hour, Data: "mail.example.com."}},
		removed: []string{"26 IN PTR old.example.com."},
		added:   []string{"26 3600 IN PTR mail.example.com.", "25 3600 IN PTR mail.example.com."},
	}, {
		name:    "file without a final newline",
		zone:    "example.com.",
		text:    "$ORIGIN example.com.\n$TTL 300\n" + soa + "@ IN NS ns1.example.net.",
		add:     []libdns.Record{libdns.TXT{Name: "_dmarc", TTL: 300 * time.Second, Text: "v=DMARC1; p=none"}},
		removed: []string{"@ IN NS ns1.example.net."},
		added:   []string{"@ IN NS ns1.example.net.", `_dmarc 300 IN TXT "v=DMARC1; p=none"`},
	}, {
		name:    "CRLF line ends",
		zone:    "example.com.",
		text:    "$ORIGIN example.com.\r\n$TTL 300\r\n" + strings.TrimSuffix(soa, "\n") + "\r\n@ IN NS ns1.example.net.\r\n@ IN TXT \"v=spf1 -all\" ; spf\r\n",
		remove:  []libdns.Record{libdns.TXT{Name: "@", Text: "v=spf1 -all"}},
		add:     []libdns.Record{libdns.TXT{Name: "@", TTL: 300 * time.Second, Text: "v=spf1 mx -all"}, libdns.TXT{Name: "_dmarc", TTL: 300 * time.Second, Text: "v=DMARC1; p=none"}},
		removed: []string{"@ IN TXT \"v=spf1 -all\" ; spf\r"},
		added:   []string{"@ IN TXT \"v=spf1 mx -all\" ; spf\r", "_dmarc 300 IN TXT \"v=DMARC1; p=none\"\r"},
	}, {
		name: "parentheses around the whole record",
		zone: "example.com.",
		text: "$ORIGIN example.com.\n$TTL 300\n" + soa + "@ IN NS ns1.example.net.\n" +
			"mail ( 300 IN A\n       192.0.2.1 ) ; odd but legal\nwww IN A 192.0.2.80\n",
		remove:  []libdns.Record{libdns.Address{Name: "mail", IP: netip.MustParseAddr("192.0.2.1")}},
		add:     []libdns.Record{libdns.Address{Name: "mail", TTL: 300 * time.Second, IP: netip.MustParseAddr("192.0.2.2")}},
		removed: []string{"mail ( 300 IN A", "       192.0.2.1 ) ; odd but legal"},
		added:   []string{"mail 300 IN A 192.0.2.2"},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, path := zoneProvider(t, c.zone, c.text)
			ctx := context.Background()
			live, err := p.GetRecords(ctx, c.zone)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.ReplaceRecords(ctx, c.zone, c.remove, c.add); err != nil {
				t.Fatal(err)
			}
			got, err := p.GetRecords(ctx, c.zone)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(afterReplace(t, c.zone, live, c.remove, c.add), canon(t, c.zone, got)); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
			after := readText(t, path)
			removed, added := diffLines(t, c.text, after)
			removed = slices.DeleteFunc(removed, func(l string) bool { return strings.Contains(l, "2026010101") })
			added = slices.DeleteFunc(added, func(l string) bool { return strings.Contains(l, "2026112600") })
			if diff := cmp.Diff(c.removed, removed, cmpEmpty); diff != "" {
				t.Errorf("lines removed (-want +got):\n%s\nfile:\n%s", diff, after)
			}
			if diff := cmp.Diff(c.added, added, cmpEmpty); diff != "" {
				t.Errorf("lines added (-want +got):\n%s\nfile:\n%s", diff, after)
			}
			if !strings.Contains(after, "2026112600") {
				t.Errorf("serial not bumped:\n%s", after)
			}
			checkZone(t, strings.TrimSuffix(c.zone, "."), path)
		})
	}
}

// cmpEmpty makes nil and empty slices equal.
var cmpEmpty = cmp.Transformer("empty", func(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
})

// TestEditGeneratedRecord: a record a $GENERATE line makes is cut out of
// its range, which is split around it; its replacement follows the line.
func TestEditGeneratedRecord(t *testing.T) {
	const zone = "2.0.192.in-addr.arpa."
	head := "$ORIGIN 2.0.192.in-addr.arpa.\n$TTL 1d\n@ IN SOA ns1.example.net. h.example.net. 1 2 3 4 5\n@ IN NS ns1.example.net.\n"
	for _, c := range []struct {
		name, gen string
		gone      []string
		want      []string
	}{
		{"inside", "$GENERATE 100-200 $ IN PTR host-$.isp.example. ; ISP default\n", []string{"150"},
			[]string{"$GENERATE 100-149 $ IN PTR host-$.isp.example. ; ISP default", "$GENERATE 151-200 $ IN PTR host-$.isp.example. ; ISP default", "150 3600 IN PTR mail.example.com."}},
		{"with a step", "$GENERATE 100-200/10 $ IN PTR host-$.isp.example.\n", []string{"150", "200"},
			[]string{"$GENERATE 100-140/10 $ IN PTR host-$.isp.example.", "$GENERATE 160-190/10 $ IN PTR host-$.isp.example.", "150 3600 IN PTR mail.example.com.", "200 3600 IN PTR mail.example.com."}},
		{"first and last", "$GENERATE 1-3 $ IN PTR host-$.isp.example.\n", []string{"1", "3"},
			[]string{"$GENERATE 2-2 $ IN PTR host-$.isp.example.", "1 3600 IN PTR mail.example.com.", "3 3600 IN PTR mail.example.com."}},
		{"all", "$GENERATE 1-2 $ IN PTR host-$.isp.example.\n", []string{"1", "2"},
			[]string{"1 3600 IN PTR mail.example.com.", "2 3600 IN PTR mail.example.com."}},
	} {
		t.Run(c.name, func(t *testing.T) {
			text := head + c.gen
			p, path := zoneProvider(t, zone, text)
			ctx := context.Background()
			live, err := p.GetRecords(ctx, zone)
			if err != nil {
				t.Fatal(err)
			}
			var remove, add []libdns.Record
			for _, n := range c.gone {
				remove = append(remove, libdns.RR{Name: n, Type: "PTR", Data: "host-" + n + ".isp.example."})
				add = append(add, libdns.RR{Name: n, Type: "PTR", TTL: time.Hour, Data: "mail.example.com."})
			}
			if _, err := p.ReplaceRecords(ctx, zone, remove, add); err != nil {
				t.Fatal(err)
			}
			got, err := p.GetRecords(ctx, zone)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(afterReplace(t, zone, live, remove, add), canon(t, zone, got)); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
			after := readText(t, path)
			if want := strings.Replace(head, " 1 2 3 4 5", " 2 2 3 4 5", 1) + strings.Join(c.want, "\n") + "\n"; after != want {
				t.Errorf("file:\n%s\nwant:\n%s", after, want)
			}
			checkZone(t, strings.TrimSuffix(zone, "."), path)
		})
	}
}

// TestCheckTextRefusesWrongText: the check made before every rename fails
// on text that would not load and on text whose records differ from the
// write's.
func TestCheckTextRefusesWrongText(t *testing.T) {
	z, err := readZone([]byte(handZone), "hand.zone", "example.org.")
	if err != nil {
		t.Fatal(err)
	}
	if err := z.checkData([]byte(handZone)); err != nil {
		t.Fatalf("the file as read: %v", err)
	}
	// With the records editedText meant in their order, the check
	// compares them one for one (no text key per record).
	if same, err := z.editedText(); err != nil || same != handZone {
		t.Fatalf("edit with no change: %v\n%s", err, same)
	}
	if got, err := parseAll([]byte(handZone), "hand.zone", "example.org."); err != nil || !z.holdsInOrder(got) {
		t.Fatalf("the records as meant are not found one for one: %v", err)
	}
	for name, text := range map[string]string{
		"syntax error":   strings.Replace(handZone, "IN  MX      10 mail", "IN  MX      ten mail", 1),
		"record lost":    strings.Replace(handZone, "www         IN  CNAME   @\n", "", 1),
		"record changed": strings.Replace(handZone, "192.0.2.25", "192.0.2.26", 1),
		"TTL changed":    strings.Replace(handZone, "mail        300 IN", "mail        301 IN", 1),
		"record added":   handZone + "extra IN A 192.0.2.1\n",
	} {
		if err := z.checkData([]byte(text)); err == nil || !strings.Contains(err.Error(), "nothing written") {
			t.Errorf("%s: %v", name, err)
		}
		if got, err := parseAll([]byte(text), "hand.zone", "example.org."); err == nil && z.holdsInOrder(got) {
			t.Errorf("%s: the records compared one for one hold what the write means", name)
		}
	}
	// The same records in another order: not one for one, but what the
	// write means all the same.
	i := strings.Index(handZone, "www         IN  CNAME   @\n")
	moved := strings.Replace(strings.Replace(handZone, "www         IN  CNAME   @\n", "", 1),
		"@           IN  MX      10 mail", "www.example.org. 3600 IN CNAME example.org.\n@           IN  MX      10 mail", 1)
	if got, err := parseAll([]byte(moved), "hand.zone", "example.org."); i < 0 || err != nil || z.holdsInOrder(got) {
		t.Fatalf("moved record: %d %v", i, err)
	}
	if err := z.checkData([]byte(moved)); err != nil {
		t.Errorf("the same records in another order: %v", err)
	}
}

// FuzzEditInPlace edits arbitrary zone files: whatever the file, an edit
// that is made holds exactly the records meant (editedText's output passes
// checkData), and a file edited with nothing changed is byte-identical.
func FuzzEditInPlace(f *testing.F) {
	for _, s := range []string{
		handZone,
		"$ORIGIN example.org.\n@ 300 IN SOA a. b. 1 2 3 4 5\nmail 300 IN A 192.0.2.1\n IN AAAA ::1\nwww IN A 192.0.2.2\n",
		"$ORIGIN example.org.\n$TTL 1h\n@ IN SOA a. b. ( 1 2\n 3 4 5 ) ; x\n$ORIGIN sub.example.org.\nx IN TXT \"a;b\" \"(c\" ; y\n",
		"$ORIGIN example.org.\n$TTL 60\n@ IN SOA a. b. 1 2 3 4 5\nx IN TYPE65534 \\# 3 010203\nn IN NULL \\# 0\n",
		"$ORIGIN example.org.\n$TTL 60\n@ IN SOA a. b. 1 2 3 4 5\n$GENERATE 1-9/2 h$ IN A 192.0.2.$ ; pool\nh3 IN TXT \"x\"\n",
	} {
		f.Add(s, uint8(3), uint8(1), uint8(2))
	}
	data, err := os.ReadFile(filepath.Join("testdata", "example.com.zone"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(strings.Replace(string(data), "$ORIGIN example.com.", "$ORIGIN example.org.", 1), uint8(5), uint8(7), uint8(9))
	f.Fuzz(func(t *testing.T, text string, del, at, ttl uint8) {
		z, err := readZone([]byte(text), "fuzz.zone", "example.org.")
		if err != nil {
			return
		}
		same, err := z.editedText()
		if err != nil {
			t.Fatalf("edit with no change: %v", err)
		}
		if same != text {
			t.Fatalf("edit with no change changed the text:\n%q\n%q", text, same)
		}
		if len(z.entries) == 0 {
			return
		}
		// Remove one record, add one at another's name, change a TTL.
		i := int(del) % len(z.entries)
		j := int(at) % len(z.entries)
		addAt := z.entries[j].key.Name
		z.entries = slices.Delete(z.entries, i, i+1)
		n, err := z.entryFor(libdns.TXT{Name: addAt, TTL: time.Duration(ttl) * time.Second, Text: "fuzz"})
		if err != nil {
			return
		}
		z.entries = append(z.entries, n)
		if len(z.entries) > 1 {
			k := int(ttl) % (len(z.entries) - 1)
			e := &z.entries[k]
			m, err := z.entryFor(libdns.RR{Name: e.key.Name, Type: e.key.Type, TTL: time.Duration(int(ttl)+1) * time.Second, Data: rdata(e.rr)})
			if err == nil && e.key.Type != "TXT" {
				z.entries[k] = m
			}
		}
		if z.soa != nil {
			z.soa.Serial++
		}
		out, err := z.editedText()
		if err != nil {
			if strings.Contains(err.Error(), "$GENERATE") {
				return
			}
			t.Fatal(err)
		}
		if err := z.checkData([]byte(out)); err != nil {
			t.Fatalf("%v\n--- before:\n%s\n--- after:\n%s", err, text, out)
		}
		// The check one for one never passes what the check by text key
		// would refuse.
		got, err := parseAll([]byte(out), "fuzz.zone", "example.org.")
		if err != nil {
			t.Fatal(err)
		}
		if z.holdsInOrder(got) {
			if err := z.checkRecords(got); err != nil {
				t.Fatalf("one for one, yet %v", err)
			}
		}
	})
}

// BenchmarkReplaceLargeZone changes one SPF in a zone of 16,000 records
// (a hosting provider's zone): read, edit in place, check, rename.
func BenchmarkReplaceLargeZone(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("$ORIGIN example.com.\n$TTL 3600\n@ IN SOA ns1.example.net. h.example.com. 1 3600 900 1209600 300\n@ IN NS ns1.example.net.\n")
	for i := range 16000 {
		fmt.Fprintf(&sb, "host%05d IN A 192.0.%d.%d ; host %d\n", i, i/250%250, i%250+1, i)
	}
	sb.WriteString("@ IN TXT \"v=spf1 a ~all\"\n")
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "example.com.zone"), []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	p := &Provider{Directory: dir}
	ctx := context.Background()
	values := []string{"v=spf1 a ~all", "v=spf1 mx -all"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := p.ReplaceRecords(ctx, "example.com.",
			[]libdns.Record{libdns.TXT{Name: "@", Text: values[i%2]}},
			[]libdns.Record{libdns.TXT{Name: "@", TTL: time.Hour, Text: values[(i+1)%2]}}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// TestSplitEntriesTokenChunks: a zone of more tokens than a chunk holds,
// an entry across each chunk's end (tokChunk is not a multiple of 3), and
// every entry keeps exactly its own tokens.
func TestSplitEntriesTokenChunks(t *testing.T) {
	n := 2*tokChunk/3 + 7
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "h%d A 192.0.2.%d\n", i, i%250+1)
	}
	text := b.String()
	entries := splitEntries(text)
	if len(entries) != n {
		t.Fatalf("%d entries, want %d", len(entries), n)
	}
	for i, e := range entries {
		want := []string{fmt.Sprintf("h%d", i), "A", fmt.Sprintf("192.0.2.%d", i%250+1)}
		var got []string
		for k := range e.toks {
			got = append(got, e.tok(k))
		}
		if !slices.Equal(got, want) || cap(e.toks) != len(e.toks) {
			t.Fatalf("entry %d: tokens %q (capacity %d), want %q", i, got, cap(e.toks), want)
		}
	}
}

// TestSplitEntriesTokens: the editor's tokens are miekg/dns's, where a
// carriage return, or a line break within parentheses, does not end a token.
func TestSplitEntriesTokens(t *testing.T) {
	cases := []struct {
		text string
		want [][]string // each entry's tokens
	}{
		{"a IN TXT x\r\n", [][]string{{"a", "IN", "TXT", "x"}}},
		{"a IN SOA b. c. 00\r7 1 2 3 4\n", [][]string{{"a", "IN", "SOA", "b.", "c.", "007", "1", "2", "3", "4"}}},
		{"a IN SOA b. c(\n1 2\r\n 3 4 5 6 )\nb IN A 192.0.2.1\n", [][]string{{"a", "IN", "SOA", "b.", "c1", "2", "3", "4", "5", "6"}, {"b", "IN", "A", "192.0.2.1"}}},
		{"a IN TXT ( \"x\r\" y\r\r\n z ) ; c\r\n", [][]string{{"a", "IN", "TXT", "\"x\r\"", "y", "z"}}},
		{"a IN TXT \\\rb\n", [][]string{{"a", "IN", "TXT", "\\b"}}},
		{"\r IN A 192.0.2.1\n", [][]string{{"IN", "A", "192.0.2.1"}}},
	}
	for _, c := range cases {
		var got [][]string
		for _, e := range splitEntries(c.text) {
			var toks []string
			for i := range e.toks {
				toks = append(toks, e.tok(i))
			}
			got = append(got, toks)
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", c.text, diff)
		}
		if e := splitEntries(c.text)[0]; (e.owner == 0) != !strings.HasPrefix(strings.TrimLeft(c.text, "\r"), " ") {
			t.Errorf("%q: owner token %d", c.text, e.owner)
		}
		// The parser reads the SOA serial where the editor finds it.
		rrs, err := parseAll([]byte(c.text), "t.zone", "example.org.")
		if err != nil {
			t.Errorf("%q: %v", c.text, err)
			continue
		}
		if soa, ok := rrs[0].(*dns.SOA); ok {
			if v, err := strconv.ParseUint(got[0][5], 10, 32); err != nil || uint32(v) != soa.Serial {
				t.Errorf("%q: serial %d, editor's token %q", c.text, soa.Serial, got[0][5])
			}
		}
	}
}

// TestCheckAndWriteLargeZone: a large zone's edited text is written to its
// temporary file while it is checked, and put in place only when the check
// passes: a text the check refuses leaves the zone file as it was and no
// temporary file; one it passes replaces the zone file.
func TestCheckAndWriteLargeZone(t *testing.T) {
	text := sharedZoneText(3000)
	if len(text) < parallelMin {
		t.Fatalf("a zone of %d bytes does not take the side-by-side path (%d)", len(text), parallelMin)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "z.example.zone")
	if err := os.WriteFile(path, []byte(text), 0o640); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	z, err := readZone([]byte(text), path, "z.example.")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := z.editedText(); err != nil {
		t.Fatal(err)
	}
	onlyZone := func(want string) {
		t.Helper()
		ents, _ := os.ReadDir(dir)
		if len(ents) != 1 {
			t.Errorf("%d files in the directory, want the zone file only", len(ents))
		}
		if got, _ := os.ReadFile(path); string(got) != want {
			t.Errorf("zone file changed (%d bytes, want %d)", len(got), len(want))
		}
	}
	for name, bad := range map[string]string{
		"record changed": strings.Replace(text, "198.18.5.1\n", "198.18.5.2\n", 1),
		"syntax error":   strings.Replace(text, "IN MX 10 oldmail.m2999", "IN MX ten oldmail.m2999", 1),
	} {
		if bad == text {
			t.Fatalf("%s: no change made", name)
		}
		if err := checkAndWrite(z, path, []byte(bad), info); err == nil || !strings.Contains(err.Error(), "nothing written") {
			t.Errorf("%s: %v, want the check's refusal", name, err)
		}
		onlyZone(text)
	}
	// The records in another layout: the check passes, the file is replaced.
	good := strings.ReplaceAll(text, " IN A ", "\tIN\tA\t")
	if err := checkAndWrite(z, path, []byte(good), info); err != nil {
		t.Fatal(err)
	}
	onlyZone(good)
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("mode after the write: %v, %v", st.Mode(), err)
	}
}
