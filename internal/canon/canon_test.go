package canon

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

// The functions as they were before they learnt to skip copies: each
// answer of the package must stay theirs.

func refRelativeName(name, zone string) string {
	name = strings.ToLower(strings.Trim(name, " \t\r\n"))
	zone = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(zone), "."))
	if name == "" || name == "@" {
		return "@"
	}
	if strings.HasSuffix(name, ".") {
		fq := strings.TrimSuffix(name, ".")
		if fq == zone {
			return "@"
		}
		if zone != "" && strings.HasSuffix(fq, "."+zone) {
			return strings.TrimSuffix(fq, "."+zone)
		}
		return name
	}
	return name
}

func refAbsoluteName(name, zone string) string {
	zone = strings.ToLower(strings.TrimSuffix(zone, "."))
	name = strings.ToLower(name)
	switch {
	case name == "" || name == "@":
		return zone + "."
	case strings.HasSuffix(name, "."):
		return name
	default:
		return name + "." + zone + "."
	}
}

func refData(typ, data, zone string) (string, error) {
	data = strings.TrimSpace(data)
	switch typ {
	case "A", "AAAA":
		ip, err := netip.ParseAddr(data)
		if err != nil || ip.Zone() != "" {
			return "", fmt.Errorf("bad address %q", data)
		}
		if typ == "A" {
			if !ip.Is4() && !ip.Is4In6() {
				return "", fmt.Errorf("address %q does not fit type %s", data, typ)
			}
			return ip.Unmap().String(), nil
		}
		if !ip.Is6() {
			return "", fmt.Errorf("address %q does not fit type %s", data, typ)
		}
		return ip.String(), nil
	case "MX":
		f := strings.Fields(data)
		if len(f) != 2 {
			return "", fmt.Errorf("bad MX data %q", data)
		}
		pref, err := strconv.ParseUint(f[0], 10, 16)
		if err != nil {
			return "", fmt.Errorf("bad MX preference in %q", data)
		}
		return strconv.FormatUint(pref, 10) + " " + canonicalTarget(f[1], zone), nil
	}
	return Data(typ, data, zone)
}

// checkCanon fails t where the package answers otherwise than before.
func checkCanon(t *testing.T, typ, data, zone string) {
	t.Helper()
	if got, want := RelativeName(data, zone), refRelativeName(data, zone); got != want {
		t.Errorf("RelativeName(%q, %q) = %q, was %q", data, zone, got, want)
	}
	if got, want := AbsoluteName(data, zone), refAbsoluteName(data, zone); got != want {
		t.Errorf("AbsoluteName(%q, %q) = %q, was %q", data, zone, got, want)
	}
	got, err := Data(typ, data, zone)
	want, wantErr := refData(typ, data, zone)
	if got != want || (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
		t.Errorf("Data(%q, %q, %q) = %q, %v; was %q, %v", typ, data, zone, got, err, want, wantErr)
	}
}

var canonCases = []struct{ typ, data, zone string }{
	{"A", "192.0.2.1", "example.com."},
	{"A", " 192.0.2.1 ", "example.com"},
	{"A", "::ffff:192.0.2.1", "example.com."},
	{"A", "2001:db8::1", "example.com."},
	{"A", "192.0.2.01", ""},
	{"AAAA", "2001:db8::1", "example.com."},
	{"AAAA", "2001:DB8:0::1", "example.com."},
	{"AAAA", "::ffff:192.0.2.1", ""},
	{"AAAA", "192.0.2.1", ""},
	{"AAAA", "fe80::1%eth0", ""},
	{"MX", "10 mail.example.com.", "example.com."},
	{"MX", "10 Mail.Example.COM.", "example.com."},
	{"MX", "010 mail.example.com.", "example.com."},
	{"MX", "0 .", "example.com."},
	{"MX", "00 .", "example.com."},
	{"MX", "0 @", "example.com."},
	{"MX", "10 mail", "Example.com."},
	{"MX", "10 mail", ""},
	{"MX", "10  mail.example.com.", ""},
	{"MX", "10\tmail.example.com.", ""},
	{"MX", "10 mail.example.com.\u00a0x", ""},
	{"MX", "10 mail.example.com. x", ""},
	{"MX", "65535 x.", ""},
	{"MX", "65536 x.", ""},
	{"MX", "+1 x.", ""},
	{"MX", "1_0 x.", ""},
	{"MX", " 10 x. ", ""},
	{"MX", "10", ""},
	{"CNAME", "www", "example.com."},
	{"NS", "@", "example.com."},
	{"PTR", "Mail.Example.com.", ""},
	{"TXT", `"a" "b"`, ""},
	{"X", "www.example.com.", "EXAMPLE.com"},
	{"X", "Example.COM.", " example.com. "},
	{"X", "a.example.com.", "example.com.."},
	{"X", "@", "Example.com."},
	{"X", "", "example.com"},
	{"X", "xexample.com.", "example.com."},
	{"X", ".example.com.", "example.com."},
	{"X", "a.b.", "."},
	{"X", "a.b.", ""},
	{"X", "\xe2.example.com.", "\xe2."},
}

func TestCanonAsBefore(t *testing.T) {
	for _, c := range canonCases {
		checkCanon(t, c.typ, c.data, c.zone)
	}
}

// FuzzCanon: the package's answers are those it gave before it learnt to
// skip copies, for any name, data and zone.
func FuzzCanon(f *testing.F) {
	for _, c := range canonCases {
		f.Add(c.typ, c.data, c.zone)
	}
	f.Fuzz(func(t *testing.T, typ, data, zone string) {
		checkCanon(t, typ, data, zone)
	})
}

// TestCanonKeepsCanonical: data and names already canonical come back as
// they are, without a copy.
func TestCanonKeepsCanonical(t *testing.T) {
	for _, c := range []struct{ typ, data string }{
		{"A", "192.0.2.1"}, {"AAAA", "2001:db8::1"}, {"MX", "10 mail.example.com."}, {"MX", "0 ."},
		{"CNAME", "www.example.com."}, {"TXT", "v=spf1 -all"},
	} {
		if n := testing.AllocsPerRun(100, func() {
			if got, err := Data(c.typ, c.data, "example.com."); err != nil || got != c.data {
				t.Fatalf("Data(%s, %q) = %q, %v", c.typ, c.data, got, err)
			}
		}); n != 0 {
			t.Errorf("Data(%s, %q): %v allocations", c.typ, c.data, n)
		}
	}
	if n := testing.AllocsPerRun(100, func() {
		_ = RelativeName("mail.example.com.", "example.com.")
		_ = AbsoluteName("@", "example.com.")
	}); n != 0 {
		t.Errorf("names: %v allocations", n)
	}
}

func BenchmarkCanon(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_, _ = Data("A", "192.0.2.1", "example.com.")
		_, _ = Data("AAAA", "2001:db8::1", "example.com.")
		_, _ = Data("MX", "10 mail.example.com.", "example.com.")
		_ = RelativeName("mail.example.com.", "example.com.")
		_ = AbsoluteName("@", "example.com.")
	}
}
