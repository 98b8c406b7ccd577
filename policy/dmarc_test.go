package policy

import (
	"reflect"
	"strings"
	"testing"
)

// dmarcCases are records from RFC 7489 (appendix B, §6, §7) and the edges of
// the §6.4 ABNF with the verdict this parser gives (see the choices at the
// top of dmarc.go).
var dmarcCases = []struct {
	rec     string
	ok      bool
	policy  string // when ok
	warns   int    // when ok
	errTag  string // when !ok: the tag the error names ("" for the record)
	ruaLen  int
	ruaDest string // domain of the first rua, when ok
}{
	// Appendix B.2.1 - B.2.4.
	{"v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com", true, "none", 0, "", 1, "example.com"},
	{"v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com; ruf=mailto:auth-reports@thirdparty.example.net", true, "none", 0, "", 1, "example.com"},
	{"v=DMARC1; p=quarantine; rua=mailto:dmarc-feedback@example.com,mailto:tld-test@thirdparty.example.net!10m; pct=25", true, "quarantine", 0, "", 2, "example.com"},
	{"v=DMARC1; p=quarantine; sp=none; rua=mailto:dmarc-feedback@example.com", true, "quarantine", 0, "", 1, "example.com"},
	{"v=DMARC1; p=reject; aspf=r; rua=mailto:dmarc-feedback@example.com", true, "reject", 0, "", 1, "example.com"},
	// §7.1: the authorisation record.
	{"v=DMARC1", false, "", 0, "p", 0, ""},
	// Plain shapes.
	{"v=DMARC1; p=reject", true, "reject", 0, "", 0, ""},
	{"v=DMARC1;p=reject;", true, "reject", 0, "", 0, ""},
	{"v=DMARC1 ; p = reject ; ", true, "reject", 0, "", 0, ""},
	{"v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=s; pct=0; fo=0:1:d:s; rf=afrf; ri=3600", true, "reject", 0, "", 0, ""},
	{"v=DMARC1; p=none; rua=mailto:a@example.com , mailto:b@example.org!50k", true, "none", 0, "", 2, "example.com"},
	{"v=DMARC1; p=none; rua=mailto:a@example.com!5", true, "none", 0, "", 1, "example.com"},
	{"v=DMARC1; p=none; foo=bar", true, "none", 1, "", 0, ""},
	{"v=DMARC1; sp=none; p=reject", true, "reject", 1, "", 0, ""},
	// §6.6.3: no valid p, but a valid rua: treated as p=none.
	{"v=DMARC1; rua=mailto:dmarc@example.com", true, "none", 1, "", 1, "example.com"},
	{"v=DMARC1; p=bogus; rua=mailto:dmarc@example.com", true, "none", 1, "", 1, "example.com"},
	// Errors.
	{"", false, "", 0, "", 0, ""},
	{"p=reject; v=DMARC1", false, "", 0, "", 0, ""},
	{"v=dmarc1; p=reject", false, "", 0, "v", 0, ""},
	{"v=DMARC2; p=reject", false, "", 0, "v", 0, ""},
	{"v=DMARC1 p=reject", false, "", 0, "v", 0, ""},
	{"v=DMARC1; p=bogus", false, "", 0, "p", 0, ""},
	{"v=DMARC1; p=Reject", false, "", 0, "p", 0, ""},
	{"v=DMARC1; p=none; pct=101", false, "", 0, "pct", 0, ""},
	{"v=DMARC1; p=none; pct=-1", false, "", 0, "pct", 0, ""},
	{"v=DMARC1; p=none; pct=abc", false, "", 0, "pct", 0, ""},
	{"v=DMARC1; p=none; adkim=x", false, "", 0, "adkim", 0, ""},
	{"v=DMARC1; p=none; aspf=relaxed", false, "", 0, "aspf", 0, ""},
	{"v=DMARC1; p=none; sp=all", false, "", 0, "sp", 0, ""},
	{"v=DMARC1; p=none; fo=2", false, "", 0, "fo", 0, ""},
	{"v=DMARC1; p=none; fo=1:", false, "", 0, "fo", 0, ""},
	{"v=DMARC1; p=none; ri=-5", false, "", 0, "ri", 0, ""},
	{"v=DMARC1; p=none; rua=dmarc@example.com", false, "", 0, "rua", 0, ""},
	{"v=DMARC1; p=none; rua=mailto:", false, "", 0, "rua", 0, ""},
	{"v=DMARC1; p=none; rua=mailto:a@example.com!10x", false, "", 0, "rua", 0, ""},
	{"v=DMARC1; p=none; rua=mailto:a@example.com,", false, "", 0, "rua", 0, ""},
	{"v=DMARC1; p=none; ruf=mailto:nobody", false, "", 0, "ruf", 0, ""},
	{"v=DMARC1; p=none; p=reject", false, "", 0, "", 0, ""},
	{"v=DMARC1; p=none; pct", false, "", 0, "", 0, ""},
	{"v=DMARC1;; p=none", false, "", 0, "", 0, ""},
}

func TestParseDMARCTable(t *testing.T) {
	if len(dmarcCases) < 25 {
		t.Fatalf("only %d DMARC cases", len(dmarcCases))
	}
	for _, c := range dmarcCases {
		r, err := ParseDMARC(c.rec)
		if (err == nil) != c.ok {
			t.Errorf("ParseDMARC(%q) error = %v, want ok=%v", c.rec, err, c.ok)
			continue
		}
		if err != nil {
			de, ok := err.(*DMARCError)
			if !ok {
				t.Errorf("ParseDMARC(%q) error type %T", c.rec, err)
			} else if de.Tag != c.errTag {
				t.Errorf("ParseDMARC(%q) error at tag %q, want %q (%v)", c.rec, de.Tag, c.errTag, err)
			}
			continue
		}
		if r.Policy != c.policy || len(r.Warnings) != c.warns || len(r.RUA) != c.ruaLen {
			t.Errorf("ParseDMARC(%q) = p %q warnings %q rua %d; want p %q, %d warnings, %d rua", c.rec, r.Policy, r.Warnings, len(r.RUA), c.policy, c.warns, c.ruaLen)
		}
		if c.ruaDest != "" && r.RUA[0].Domain() != c.ruaDest {
			t.Errorf("ParseDMARC(%q) rua domain %q, want %q", c.rec, r.RUA[0].Domain(), c.ruaDest)
		}
		r2, err := ParseDMARC(r.String())
		if err != nil || !reflect.DeepEqual(r, r2) {
			t.Errorf("ParseDMARC(%q): print %q reparses to %+v, %v", c.rec, r.String(), r2, err)
		}
	}
}

func TestDMARCFields(t *testing.T) {
	r, err := ParseDMARC("v=DMARC1; p=quarantine; rua=mailto:dmarc-feedback@example.com,mailto:tld-test@thirdparty.example.net!10m; pct=25; fo=1:d")
	if err != nil {
		t.Fatal(err)
	}
	if r.Percent != 25 || r.ADKIM != "r" || r.RI != 86400 || strings.Join(r.FO, ":") != "1:d" {
		t.Errorf("fields: %+v", r)
	}
	u := r.RUA[1]
	if u.URI != "mailto:tld-test@thirdparty.example.net" || u.Size != 10 || u.Unit != "m" || u.Domain() != "thirdparty.example.net" || u.String() != "mailto:tld-test@thirdparty.example.net!10m" {
		t.Errorf("rua[1] = %+v", u)
	}
	if !IsDMARC("v=DMARC1; p=none") || IsDMARC("v=DMARC10; p=none") || IsDMARC("v=spf1 -all") {
		t.Error("IsDMARC wrong")
	}
	if _, err := ParseDMARCURI("https://example.com/r"); err == nil {
		t.Error("https URI accepted as a report address")
	}
}

// FuzzParseDMARC: parsing never panics, and a parsed record prints to text
// that parses to the same record.
func FuzzParseDMARC(f *testing.F) {
	for _, c := range dmarcCases {
		f.Add(c.rec)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseDMARC(s)
		if err != nil {
			return
		}
		out := r.String()
		r2, err := ParseDMARC(out)
		if err != nil {
			t.Fatalf("%q parsed, its print %q does not: %v", s, out, err)
		}
		if !reflect.DeepEqual(r, r2) {
			t.Fatalf("%q: reparse of %q differs:\n%+v\n%+v", s, out, r, r2)
		}
	})
}
