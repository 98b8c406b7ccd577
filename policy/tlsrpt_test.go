package policy

import "testing"

// TLS-RPT records: RFC 8460 §3 and its examples, and checkdmarc's
// tests/test_smtp_tls_reporting.py.
func TestParseTLSRPT(t *testing.T) {
	cases := []struct {
		rec   string
		ok    bool
		rua   int
		warns int
	}{
		{"v=TLSRPTv1; rua=mailto:reports@example.com", true, 1, 0},                   // RFC 8460 §3
		{"v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt", true, 1, 0},      // RFC 8460 §3
		{"v=TLSRPTv1;rua=mailto:a@example.com,https://r.example.net/x;", true, 2, 0}, // final ';'
		{"v=TLSRPTv1; rua=mailto:a@example.com , mailto:b@example.org", true, 2, 0},
		{"v=TLSRPTv1; rua=mailto:a@example.com; ext_1=value", true, 1, 1}, // extensions are ignored
		{"v=TLSRPTv1; rua=mailto:tlsrpt@example.com", true, 1, 0},         // checkdmarc
		{"v=TLSRPTv1; rua=https://tlsrpt.example.com/report", true, 1, 0}, // checkdmarc
		{"v=TLSRPTv1; xyz=foo", false, 0, 0},                              // checkdmarc: no rua
		{"v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com", false, 0, 0},
		{"v=spf1 -all", false, 0, 0},
		{"v=TLSRPTv1; rua=not_a_valid_uri", false, 0, 0},
		{"v=TLSRPTv1", false, 0, 0},
		{"v=tlsrptv1; rua=mailto:a@example.com", false, 0, 0}, // %s: case-sensitive
		{" v=TLSRPTv1; rua=mailto:a@example.com", false, 0, 0},
		{"v=TLSRPTv1; rua=ftp://example.com/r", false, 0, 0},
		{"v=TLSRPTv1; rua=http://example.com/r", false, 0, 0},
		{"v=TLSRPTv1;; rua=mailto:a@example.com", false, 0, 0},
		{"v=TLSRPTv1; rua=mailto:a@example.com,", false, 0, 0},
		{"v=TLSRPTv1; rua=mailto:a@example.com; ext=a b", false, 0, 0},
		{"v=TLSRPTv1; rua=mailto:a@example.com; ext=\u00e9", false, 0, 0},
	}
	for _, c := range cases {
		r, err := ParseTLSRPT(c.rec)
		if (err == nil) != c.ok {
			t.Errorf("ParseTLSRPT(%q) = %v, want ok=%v", c.rec, err, c.ok)
			continue
		}
		if err == nil && (len(r.RUA) != c.rua || len(r.Warnings) != c.warns) {
			t.Errorf("ParseTLSRPT(%q) = %+v, want %d rua, %d warnings", c.rec, r, c.rua, c.warns)
		}
	}
	rec := TLSRPTRecord(&TLSRPT{RUA: []string{"mailto:t@example.com", "https://r.example.net/t"}})
	if rec != "v=TLSRPTv1; rua=mailto:t@example.com,https://r.example.net/t" {
		t.Errorf("TLSRPTRecord = %q", rec)
	}
	if _, err := ParseTLSRPT(rec); err != nil {
		t.Errorf("the compiled record does not parse: %v", err)
	}
}

// BIMI records, after checkdmarc's tests/test_bimi.py shapes.
func TestParseBIMI(t *testing.T) {
	cases := []struct {
		rec string
		ok  bool
	}{
		{"v=BIMI1; l=https://example.com/logo.svg; a=https://example.com/vmc.pem", true},
		{"v=BIMI1; l=https://example.com/logo.svg; a=", true},
		{"v=BIMI1; l=https://example.com/logo.svg", true},
		{"v=BIMI1; l=; a=", true}, // a declination to publish
		{"v=BIMI1;l=https://example.com/logo.svg;", true},
		{"v=BIMI1; l=http://example.com/logo.svg", false},
		{"v=BIMI1; l=https://example.com/logo.svg; a=http://example.com/vmc.pem", false},
		{"v=BIMI1; l=https://a.example/l.svg; l=https://b.example/l.svg", false},
		{"v=BIMI2; l=https://example.com/logo.svg", false},
		{"l=https://example.com/logo.svg; v=BIMI1", false},
	}
	for _, c := range cases {
		if _, err := ParseBIMI(c.rec); (err == nil) != c.ok {
			t.Errorf("ParseBIMI(%q) = %v, want ok=%v", c.rec, err, c.ok)
		}
	}
	b := &BIMI{Selector: "default", Logo: "https://example.com/l.svg", Authority: "https://example.com/a.pem"}
	if got := BIMIRecord(b); got != "v=BIMI1; l=https://example.com/l.svg; a=https://example.com/a.pem" || BIMIName(b) != "default._bimi" {
		t.Errorf("BIMIRecord = %q at %s", got, BIMIName(b))
	}
}

// FuzzParseTLSRPT: parsing never panics, and what parses has a rua of
// mailto: and https: URIs only, which make a record that parses again.
func FuzzParseTLSRPT(f *testing.F) {
	f.Add("v=TLSRPTv1; rua=mailto:reports@example.com")
	f.Add("v=TLSRPTv1;rua=mailto:a@example.com,https://r.example.net/x; ext=1;")
	f.Add("v=TLSRPTv1; rua=ftp://example.com/r")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseTLSRPT(s)
		if err != nil {
			return
		}
		if len(r.RUA) == 0 {
			t.Fatalf("%q parsed without a rua", s)
		}
		if _, err := ParseTLSRPT(TLSRPTRecord(&TLSRPT{RUA: r.RUA})); err != nil {
			t.Fatalf("%q: its rua %q makes a record that does not parse: %v", s, r.RUA, err)
		}
	})
}
