package policy

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"sync"
	"testing"
)

var (
	testKeysOnce sync.Once
	testRSA      = map[int]string{}
	testEd       string
	testEdSPKI   string
)

// testKeys makes RSA keys of 512, 1024 and 2048 bits and an Ed25519 key,
// once, as published in p=.
func testKeys(t testing.TB) {
	testKeysOnce.Do(func() {
		for _, bits := range []int{512, 1024, 2048} {
			// Only the public half is published and parsed: a random odd
			// modulus of the right size will do (crypto/rsa refuses to
			// generate keys under 1024 bits).
			n, err := rand.Prime(rand.Reader, bits)
			if err != nil {
				panic(err)
			}
			der, _ := x509.MarshalPKIXPublicKey(&rsa.PublicKey{N: n, E: 65537})
			testRSA[bits] = base64.StdEncoding.EncodeToString(der)
		}
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		testEd = base64.StdEncoding.EncodeToString(pub)
		der, _ := x509.MarshalPKIXPublicKey(pub)
		testEdSPKI = base64.StdEncoding.EncodeToString(der)
	})
}

func TestParseDKIMKey(t *testing.T) {
	testKeys(t)
	split := testRSA[2048][:100] + " " + testRSA[2048][100:]
	cases := []struct {
		rec     string
		ok      bool
		bits    int
		revoked bool
		warns   int
	}{
		{"v=DKIM1; k=rsa; p=" + testRSA[2048], true, 2048, false, 0},
		{"v=DKIM1; p=" + testRSA[1024], true, 1024, false, 0},
		{"k=rsa; p=" + testRSA[512], true, 512, false, 0},
		{"v=DKIM1; k=rsa; p=" + split, true, 2048, false, 0},
		{"v=DKIM1; k=ed25519; p=" + testEd, true, 256, false, 0},
		{"v=DKIM1; p=", true, 0, true, 0},
		{"v=DKIM1; k=rsa; h=sha256; s=email; t=s; n=note; p=" + testRSA[2048], true, 2048, false, 0},
		{"v=DKIM1; t=y:s; p=" + testRSA[2048], true, 2048, false, 1},
		{"v=DKIM1; x_unknown=1; p=" + testRSA[2048], true, 2048, false, 0},
		{"v=DKIM1; k=rsa; h=sha1; p=" + testRSA[2048], false, 0, false, 0},
		{"v=DKIM1; s=tlsrpt; p=" + testRSA[2048], false, 0, false, 0},
		{"v=DKIM1; k=ed25519; p=" + testEdSPKI, false, 0, false, 0},
		{"v=DKIM1; k=rsa; p=" + testEd, false, 0, false, 0},
		{"v=DKIM1; k=dsa; p=" + testRSA[2048], false, 0, false, 0},
		{"k=rsa; v=DKIM1; p=" + testRSA[2048], false, 0, false, 0},
		{"v=DKIM2; p=" + testRSA[2048], false, 0, false, 0},
		{"v=DKIM1; k=rsa", false, 0, false, 0},
		{"v=DKIM1; p=!!notbase64", false, 0, false, 0},
		{"v=DKIM1; p=a; p=b", false, 0, false, 0},
		{"V=DKIM1; p=", true, 0, true, 0}, // tags are case-sensitive: V is an unknown tag
	}
	for _, c := range cases {
		k, err := ParseDKIMKey(c.rec)
		if (err == nil) != c.ok {
			t.Errorf("ParseDKIMKey(%.40q) error = %v, want ok=%v", c.rec, err, c.ok)
			continue
		}
		if err != nil {
			continue
		}
		if k.Bits != c.bits || k.Revoked != c.revoked || len(k.Warnings) != c.warns {
			t.Errorf("ParseDKIMKey(%.40q) = bits %d revoked %v warnings %q; want %d %v %d", c.rec, k.Bits, k.Revoked, k.Warnings, c.bits, c.revoked, c.warns)
		}
	}
}

func TestDKIMKeyStrength(t *testing.T) {
	cases := []struct {
		kt   string
		bits int
		want string
	}{
		{"rsa", 512, "error"}, {"rsa", 1023, "error"}, {"rsa", 1024, "warning"},
		{"rsa", 2047, "warning"}, {"rsa", 2048, ""}, {"rsa", 4096, ""}, {"ed25519", 256, ""},
	}
	for _, c := range cases {
		if got, _ := DKIMKeyStrength(c.kt, c.bits); got != c.want {
			t.Errorf("DKIMKeyStrength(%s, %d) = %q, want %q", c.kt, c.bits, got, c.want)
		}
	}
}

func TestCheckMailAuth(t *testing.T) {
	testKeys(t)
	pos := Pos{File: "p.yaml", Line: 7}
	cases := []struct {
		name string
		d    Domain
		want []string // substrings of each error, in order
	}{
		{"clean", Domain{
			Domain: "example.com",
			SPF:    &SPF{Line: 7, Mechanisms: []string{"include:_spf.example.net", "a", "mx/24", "ptr", "exists:%{i}.x.example", "exp=e.example.com"}},
			DKIM:   []DKIM{{Line: 7, Selector: "s1", Key: testRSA[2048], KeyType: "rsa", KeyBits: 2048}, {Line: 7, Selector: "s2", Key: testRSA[1024], KeyType: "rsa"}},
			DMARC:  &DMARC{Line: 7, Policy: "reject", RUA: []string{"mailto:d@example.com!10m"}},
			MX:     []MX{{Line: 7, Host: "mail", Priority: 10}, {Line: 7, Host: "mx.example.net.", Priority: 20}},
		}, nil},
		{"spf", Domain{SPF: &SPF{Line: 7, Mechanisms: []string{"include:", "a:foo", "+all", "redirect=x.example", "ip4:10.0.0.1/33", "exp=a.example", "exp=b.example"}}},
			[]string{"mechanisms[0]", "mechanisms[1]", "mechanisms[2] \"+all\": write the all", "mechanisms[3]", "mechanisms[4]", "mechanisms[6] \"exp=b.example\": exp= appears twice"}},
		{"spf absent", Domain{SPF: &SPF{Line: 7, State: "absent", Mechanisms: []string{"include:"}}}, nil},
		{"dkim weak", Domain{DKIM: []DKIM{{Line: 7, Selector: "old", Key: testRSA[512], KeyType: "rsa", KeyBits: 512}, {Line: 7, Selector: "gone", Key: testRSA[512], State: "retired"}}},
			[]string{"dkim old: RSA key of 512 bits"}},
		{"dmarc", Domain{DMARC: &DMARC{Line: 7, Policy: "none", RUA: []string{"https://example.com/r"}, RUF: []string{"mailto:x"}}},
			[]string{"dmarc rua: \"https://example.com/r\" is not a mailto", "dmarc ruf"}},
		{"mx", Domain{MX: []MX{{Line: 7, Host: "192.0.2.1", Priority: 10}, {Line: 7, Host: "2001:db8::1", Priority: 20}}},
			[]string{"\"192.0.2.1\" is an IP address", "\"2001:db8::1\" is an IP address"}},
		{"null mx", Domain{MX: []MX{{Line: 7, Host: ".", Priority: 5}, {Line: 7, Host: "mail", Priority: 10}}},
			[]string{"has priority 0", "must stand alone"}},
	}
	for _, c := range cases {
		c.d.Pos = Pos{File: pos.File, Line: 1} // the elements' file is the domain's
		errs := checkMailAuth(&c.d)
		if len(errs) != len(c.want) {
			t.Errorf("%s: %d errors %v, want %d", c.name, len(errs), errs, len(c.want))
			continue
		}
		for i, e := range errs {
			if !strings.Contains(e.Error(), c.want[i]) {
				t.Errorf("%s: error %d = %q, want it to contain %q", c.name, i, e.Error(), c.want[i])
			}
			if e.Pos != pos {
				t.Errorf("%s: error %d at %v, want %v", c.name, i, e.Pos, pos)
			}
		}
	}
}

// TestInlineEd25519KeyAsX509Reads: an Ed25519 SubjectPublicKeyInfo read
// without x509 gives what x509 gives.
func TestInlineEd25519KeyAsX509Reads(t *testing.T) {
	for range 20 {
		pub, _, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := x509.ParsePKIXPublicKey(der)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := publishKey(parsed)
		got, err := parseDKIMInline(base64.StdEncoding.EncodeToString(der))
		if err != nil || got != want {
			t.Fatalf("got %+v %v, want %+v", got, err, want)
		}
	}
}

// TestParseDKIMKeyIntoIsParseDKIMKey: records parsed into one reused
// ParsedDKIMKey, after each of the others, read as their own parse (tag
// lists with empty and trailing items too).
func TestParseDKIMKeyIntoIsParseDKIMKey(t *testing.T) {
	testKeys(t)
	recs := []string{
		"v=DKIM1; k=rsa; p=" + testRSA[2048], "v=DKIM1; k=ed25519; p=" + testEd, "v=DKIM1; p=",
		"v=DKIM1; k=rsa; h=sha256; s=email; t=y:s; n=note; p=" + testRSA[1024], "v=DKIM1; p=a; p=b",
		"v=DKIM1; k=ed25519; p=" + testEd + ";", "v=DKIM1; k=ed25519; p=" + testEd + "; ;", "v=DKIM1;; p=" + testEd,
		"", ";", "v=DKIM1; k=rsa", " ; p=" + testEd,
	}
	checkParseInto(t, recs, nil, ParseDKIMKey, ParseDKIMKeyInto, nil)
}
