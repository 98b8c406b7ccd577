package providers

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
)

func TestCanonicalTXT(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "v=spf1 -all", "v=spf1 -all"},
		{"empty", "", ""},
		{"quoted single", `"v=spf1 -all"`, "v=spf1 -all"},
		{"quoted split", `"a" "b"`, "ab"},
		{"quoted split with tab", "\"a\"\t\"b\"", "ab"},
		{"quoted split keeps inner spaces", `"v=DKIM1; k=rsa; " "p=MIIB"`, "v=DKIM1; k=rsa; p=MIIB"},
		{"unquoted split", `a" "b`, "ab"},
		{"escaped quote unquoted", `say \"hi\"`, `say "hi"`},
		{"escaped quote quoted", `"say \"hi\""`, `say "hi"`},
		{"escaped backslash", `a\\b`, `a\b`},
		{"escaped backslash quoted", `"a\\b"`, `a\b`},
		{"decimal escape", `\065BC`, "ABC"},
		{"decimal escape at end", `x\065`, "xA"},
		{"decimal escape quoted", `"\059 semi"`, "; semi"},
		{"decimal escape high byte", `"\255"`, "\xff"},
		{"not a decimal escape", `\999`, "999"},
		{"lone quote is text", `say "hi`, `say "hi`},
		{"semicolon kept", `"a;b"`, "a;b"},
		{"quoted empty string", `""`, ""},
		{"dkim split at 255", `"` + strings.Repeat("k", 255) + `" "` + strings.Repeat("m", 100) + `"`, strings.Repeat("k", 255) + strings.Repeat("m", 100)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := CanonicalTXT(tc.in); got != tc.want {
				t.Errorf("CanonicalTXT(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestCanonicalData(t *testing.T) {
	const zone = "example.com."
	tests := []struct {
		typ, in, want string
		wantErr       bool
	}{
		{typ: "A", in: "192.0.2.1", want: "192.0.2.1"},
		{typ: "A", in: " 192.0.2.1 ", want: "192.0.2.1"},
		{typ: "A", in: "::ffff:192.0.2.1", want: "192.0.2.1"},
		{typ: "A", in: "2001:db8::1", wantErr: true},
		{typ: "A", in: "192.0.2", wantErr: true},
		{typ: "A", in: "", wantErr: true},
		{typ: "AAAA", in: "2001:DB8::1", want: "2001:db8::1"},
		{typ: "AAAA", in: "2001:0db8:0000:0000:0000:0000:0000:0001", want: "2001:db8::1"},
		{typ: "AAAA", in: "::1", want: "::1"},
		{typ: "AAAA", in: "::ffff:192.0.2.1", want: "::ffff:192.0.2.1"},
		{typ: "AAAA", in: "192.0.2.1", wantErr: true},
		{typ: "AAAA", in: "fe80::1%eth0", wantErr: true},
		{typ: "MX", in: "10 mail.example.com.", want: "10 mail.example.com."},
		{typ: "MX", in: "10 Mail.Example.COM.", want: "10 mail.example.com."},
		{typ: "MX", in: "10 mail", want: "10 mail.example.com."},
		{typ: "MX", in: "010  mail.example.net.", want: "10 mail.example.net."},
		{typ: "MX", in: "0 .", want: "0 ."},
		{typ: "MX", in: "10 @", want: "10 example.com."},
		{typ: "MX", in: "mail.example.com.", wantErr: true},
		{typ: "MX", in: "70000 mail.example.com.", wantErr: true},
		{typ: "MX", in: "x mail.example.com.", wantErr: true},
		{typ: "PTR", in: "mail.example.com.", want: "mail.example.com."},
		{typ: "PTR", in: "Mail.Example.com.", want: "mail.example.com."},
		{typ: "PTR", in: "mail", want: "mail.example.com."},
		{typ: "CNAME", in: "@", want: "example.com."},
		{typ: "NS", in: "NS1.example.net.", want: "ns1.example.net."},
		{typ: "TXT", in: `"a" "b"`, want: "ab"},
		{typ: "SPF", in: `"v=spf1 -all"`, want: "v=spf1 -all"},
		{typ: "SRV", in: "10 20 443 svc.example.com.", want: "10 20 443 svc.example.com."},
		{typ: "CAA", in: `0 issue "letsencrypt.org"`, want: `0 issue "letsencrypt.org"`},
	}
	for _, tc := range tests {
		t.Run(tc.typ+" "+tc.in, func(t *testing.T) {
			got, err := CanonicalData(tc.typ, tc.in, zone)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("CanonicalData(%s, %q) = %q, want an error", tc.typ, tc.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("CanonicalData(%s, %q): %v", tc.typ, tc.in, err)
			}
			if got != tc.want {
				t.Errorf("CanonicalData(%s, %q) = %q, want %q", tc.typ, tc.in, got, tc.want)
			}
		})
	}
}

func TestCanonicalDataWithoutZone(t *testing.T) {
	got, err := CanonicalData("PTR", "mail.example.com", "")
	if err != nil {
		t.Fatal(err)
	}
	if got != "mail.example.com." {
		t.Errorf("got %q, want the bare target made absolute", got)
	}
}

func TestRelativeAndAbsoluteName(t *testing.T) {
	tests := []struct {
		name, zone, rel, abs string
	}{
		{"@", "example.com.", "@", "example.com."},
		{"", "example.com.", "@", "example.com."},
		{"example.com.", "example.com.", "@", "example.com."},
		{"Example.COM.", "example.com", "@", "example.com."},
		{"www", "example.com.", "www", "www.example.com."},
		{"WWW", "example.com.", "www", "www.example.com."},
		{"s1._domainkey.example.com.", "example.com.", "s1._domainkey", "s1._domainkey.example.com."},
		{"www.example.net.", "example.com.", "www.example.net.", "www.example.net."},
		{"notexample.com.", "example.com.", "notexample.com.", "notexample.com."},
		{"5.113.0.203.in-addr.arpa.", "113.0.203.in-addr.arpa.", "5", "5.113.0.203.in-addr.arpa."},
		// Names as a zone file may hold them raw: only blanks are trimmed.
		{" www\t", "example.com.", "www", "www.example.com."},
		{"\v0.example.com.", "example.com.", "\v0", "\v0.example.com."},
		{"x\u00a0", "example.com.", "x\u00a0", "x\u00a0.example.com."},
	}
	for _, tc := range tests {
		t.Run(tc.name+" in "+tc.zone, func(t *testing.T) {
			rel := RelativeName(tc.name, tc.zone)
			if rel != tc.rel {
				t.Errorf("RelativeName(%q, %q) = %q, want %q", tc.name, tc.zone, rel, tc.rel)
			}
			if abs := AbsoluteName(rel, tc.zone); abs != tc.abs {
				t.Errorf("AbsoluteName(%q, %q) = %q, want %q", rel, tc.zone, abs, tc.abs)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	const zone = "example.com."
	tests := []struct {
		name string
		in   libdns.Record
		want libdns.RR
	}{
		{
			name: "typed MX relative target",
			in:   libdns.MX{Name: "@", TTL: 3600 * time.Second, Preference: 10, Target: "Mail"},
			want: libdns.RR{Name: "@", Type: "MX", TTL: time.Hour, Data: "10 mail.example.com."},
		},
		{
			name: "null MX",
			in:   libdns.MX{Name: "nomail", TTL: time.Hour, Preference: 0, Target: "."},
			want: libdns.RR{Name: "nomail", Type: "MX", TTL: time.Hour, Data: "0 ."},
		},
		{
			name: "PTR absolute stays absolute",
			in:   libdns.RR{Name: "5.113.0.203.in-addr.arpa.", Type: "ptr", TTL: 300 * time.Second, Data: "mail.example.com."},
			want: libdns.RR{Name: "5.113.0.203.in-addr.arpa.", Type: "PTR", TTL: 300 * time.Second, Data: "mail.example.com."},
		},
		{
			name: "TXT split and quoted, sub-second TTL truncated",
			in:   libdns.RR{Name: "S1._domainkey", Type: "TXT", TTL: 1500 * time.Millisecond, Data: `"v=DKIM1; " "p=abc"`},
			want: libdns.RR{Name: "s1._domainkey", Type: "TXT", TTL: time.Second, Data: "v=DKIM1; p=abc"},
		},
		{
			name: "AAAA typed",
			in:   libdns.Address{Name: "mail.example.com.", TTL: time.Minute, IP: mustAddr(t, "2001:db8:0::1")},
			want: libdns.RR{Name: "mail", Type: "AAAA", TTL: time.Minute, Data: "2001:db8::1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Normalize(tc.in, zone)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Normalize (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNormalizeErrorNamesRecord(t *testing.T) {
	_, err := Normalize(libdns.RR{Name: "www", Type: "A", Data: "not-an-ip"}, "example.com.")
	if err == nil || !strings.Contains(err.Error(), "www A") {
		t.Fatalf("error %v does not name the record", err)
	}
}

func TestSplitTXT(t *testing.T) {
	long := strings.Repeat("x", 600)
	tests := []struct {
		in   string
		want []int
	}{
		{"", []int{0}},
		{"abc", []int{3}},
		{strings.Repeat("x", 255), []int{255}},
		{strings.Repeat("x", 256), []int{255, 1}},
		{long, []int{255, 255, 90}},
	}
	for _, tc := range tests {
		got := SplitTXT(tc.in)
		var lens []int
		for _, s := range got {
			lens = append(lens, len(s))
		}
		if diff := cmp.Diff(tc.want, lens); diff != "" {
			t.Errorf("SplitTXT(len %d) lengths (-want +got):\n%s", len(tc.in), diff)
		}
		if strings.Join(got, "") != tc.in {
			t.Errorf("SplitTXT(len %d) does not join back", len(tc.in))
		}
	}
}

func mustAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
