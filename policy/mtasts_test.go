package policy

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const mailHost = "mail_hosts:\n  - name: mail\n    ipv4: [203.0.113.25]\n"

func TestMTASTSLoadErrors(t *testing.T) {
	tests := []struct {
		name, policy string
		want         []string
	}{
		{"bad mode", head + mailHost + "mta_sts:\n  mode: enforcing\n",
			[]string{`example.com.yaml:7: mta_sts mode: "enforcing" is not one of "enforce", "testing", "none"`}},
		{"no mode", head + mailHost + "mta_sts:\n  max_age: 86400\n",
			[]string{`example.com.yaml:6: mta_sts: mode is required`}},
		{"max_age over a year", head + mailHost + "mta_sts:\n  mode: enforce\n  max_age: 31557601\n",
			[]string{`example.com.yaml:8: mta_sts max_age must be 0..31557600 seconds`}},
		{"max_age negative", head + mailHost + "mta_sts: {mode: testing, max_age: -1}\n",
			[]string{`example.com.yaml:6: mta_sts max_age must be 0..31557600 seconds`}},
		{"max_age not a number", head + mailHost + "mta_sts: {mode: testing, max_age: week}\n",
			[]string{`example.com.yaml:6: max_age must be a whole number, not a string`}},
		{"mx patterns", head + mailHost + "mta_sts:\n  mode: enforce\n  mx:\n    - mail.example.com\n    - \"*.*.example.com\"\n    - \"mx*.example.com\"\n    - \"*.com\"\n    - 192.0.2.1\n    - bad_host.example.com\n    - Mail.Example.com.\n",
			[]string{
				`example.com.yaml:10: mta_sts mx "*.*.example.com" is not a valid pattern: a wildcard is allowed only as the whole leftmost label`,
				`example.com.yaml:11: mta_sts mx "mx*.example.com" is not a valid pattern: a wildcard is allowed only as the whole leftmost label`,
				`example.com.yaml:12: mta_sts mx "*.com" is not a valid pattern: a wildcard needs at least two labels`,
				`example.com.yaml:13: mta_sts mx "192.0.2.1" is not a valid pattern: an MX pattern is a host name, not an IP address`,
				`example.com.yaml:14: mta_sts mx "bad_host.example.com" is not a valid pattern: invalid character '_'`,
				`example.com.yaml:15: mta_sts mx "Mail.Example.com." is listed twice`,
			}},
		{"unknown key", head + mailHost + "mta_sts:\n  mode: enforce\n  polcy_dir: www\n",
			[]string{`example.com.yaml:8: unknown key "polcy_dir" in mta_sts (did you mean "policy_dir"?)`}},
		{"null MX", head + "mx:\n  - {host: \".\", priority: 0}\nmta_sts: {mode: enforce}\n",
			[]string{`example.com.yaml:5: mta_sts: the domain has a null MX`}},
		{"parked", head + "parked: true\nmta_sts: {mode: enforce}\n",
			[]string{`example.com.yaml:4: mta_sts: a parked domain has no mail section`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, cfg := writeTree(t, map[string]string{"policies/example.com.yaml": tt.policy})
			_, err := LoadConfig(cfg)
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			got := errorLines(t, err, dir)
			for _, w := range tt.want {
				found := false
				for _, g := range got {
					if strings.HasPrefix(g, "policies/"+w) {
						found = true
					}
				}
				if !found {
					t.Errorf("no error %q in\n%s", w, strings.Join(got, "\n"))
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("%d errors, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
		})
	}
}

func TestMTASTSCompile(t *testing.T) {
	dir, cfg := writeTree(t, map[string]string{"policies/example.com.yaml": head + mailHost +
		"mx:\n  - {host: mail, priority: 10}\n  - {host: backup.example.net., priority: 20}\n" +
		"mta_sts:\n  mode: enforce\n  max_age: 86400\n  policy_dir: ../www\n"})
	c, err := LoadConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	d := c.Domains[0]
	text := MTASTSPolicyText(d)
	want := "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: backup.example.net\r\nmax_age: 86400\r\n"
	if text != want {
		t.Fatalf("policy text %q, want %q", text, want)
	}
	if got, w := MTASTSPolicyFile(d), filepath.Join(dir, "www", "example.com", ".well-known", "mta-sts.txt"); got != w {
		t.Errorf("policy file %s, want %s", got, w)
	}
	mode, mx, age, err := ParseMTASTSPolicy(text)
	if err != nil || mode != "enforce" || age != 86400 || !cmp.Equal(mx, []string{"mail.example.com", "backup.example.net"}) {
		t.Errorf("ParseMTASTSPolicy = %s %v %d %v", mode, mx, age, err)
	}
	sets, err := Compile(d)
	if err != nil {
		t.Fatal(err)
	}
	var rec string
	for _, s := range sets {
		if s.Name == "_mta-sts" && s.Type == "TXT" {
			rec = s.Values[0]
			if s.Element != ElemMTASTS || s.Own != OwnAll {
				t.Errorf("element %q own %v", s.Element, s.Own)
			}
		}
	}
	id, ok := ParseMTASTSRecord(rec)
	if !ok || len(id) != 32 {
		t.Fatalf("record %q: id %q (ok %v), want 32 alphanumerics", rec, id, ok)
	}
	// A changed policy always gets a new id.
	d.MTASTS.Mode = "testing"
	if id2 := MTASTSID(MTASTSPolicyText(d)); id2 == id {
		t.Errorf("the id stayed %s when the mode changed", id)
	}
	d.MTASTS.Mode = "enforce"
	d.MTASTS.MaxAge = 86401
	if id2 := MTASTSID(MTASTSPolicyText(d)); id2 == id {
		t.Errorf("the id stayed %s when max_age changed", id)
	}
}

func TestMTASTSMatch(t *testing.T) {
	for _, tt := range []struct {
		pattern, host string
		want          bool
	}{
		{"mail.example.com", "mail.example.com.", true},
		{"mail.example.com", "MAIL.example.com", true},
		{"mail.example.com", "mx.example.com", false},
		{"*.example.com", "mx1.example.com", true},
		{"*.example.com", "a.b.example.com", false}, // one label only
		{"*.example.com", "example.com", false},
	} {
		if got := MTASTSMatch(tt.pattern, tt.host); got != tt.want {
			t.Errorf("MTASTSMatch(%q, %q) = %v", tt.pattern, tt.host, got)
		}
	}
	for _, bad := range []string{"", "version: STSv1\nmode: enforce\nmax_age: 1\n", "version: STSv2\nmode: none\nmax_age: 1\n",
		"version: STSv1\nmode: strict\nmx: a\nmax_age: 1\n", "version: STSv1\nmode: none\nmax_age: 99999999999\n"} {
		if _, _, _, err := ParseMTASTSPolicy(bad); err == nil {
			t.Errorf("ParseMTASTSPolicy(%q) accepted it", bad)
		}
	}
	for _, bad := range []string{"v=STSv1", "v=STSv1; id=", "v=STSv1; id=abc-def", "v=STSv1; id=" + strings.Repeat("a", 33), "v=STSv2; id=abc"} {
		if _, ok := ParseMTASTSRecord(bad); ok {
			t.Errorf("ParseMTASTSRecord(%q) accepted it", bad)
		}
	}
}

// testCertPEM returns a self-signed certificate and its private key (PKCS
// #8) in PEM, and the hex SHA-256 of its SubjectPublicKeyInfo.
func testCertPEM(t *testing.T, key any) (certPEM, keyPEM []byte, spki string) {
	t.Helper()
	signer := key.(crypto.Signer)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mail.example.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, signer.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	p8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := x509.MarshalPKIXPublicKey(signer.Public())
	sum := sha256.Sum256(pub)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), hex.EncodeToString(sum[:])
}

func TestTLSA(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, edk, _ := ed25519.GenerateKey(rand.Reader)
	ecCert, ecKey, ecSum := testCertPEM(t, ec)
	_, _, rsaSum := testCertPEM(t, rk)
	edCert, _, edSum := testCertPEM(t, edk)
	ecDER, _ := x509.MarshalECPrivateKey(ec)
	files := map[string]string{
		"certs/ec.pem":      string(ecCert),
		"certs/ec.key":      string(ecKey),
		"certs/ec-sec1.key": string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER})),
		"certs/rsa.key":     string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)})),
		"certs/ed.pem":      string(edCert),
		"certs/junk.pem":    "not a certificate\n",
		"certs/broken.pem":  string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("garbage")})),
	}
	// Every form of the same key gives the same hash.
	for _, f := range []string{"certs/ec.pem", "certs/ec.key", "certs/ec-sec1.key"} {
		if got, err := SPKIHashPEM([]byte(files[f])); err != nil || got != ecSum {
			t.Errorf("%s: %s %v, want %s", f, got, err, ecSum)
		}
	}
	if got, _ := SPKIHashPEM([]byte(files["certs/rsa.key"])); got != rsaSum {
		t.Errorf("RSA PKCS #1 key: %s, want %s", got, rsaSum)
	}

	pol := head + "mail_hosts:\n  - name: mail\n    ipv4: [203.0.113.25]\n    tlsa:\n      cert_file: ../certs/ec.pem\n      next_cert_file: ../certs/ed.pem\n"
	files["policies/example.com.yaml"] = pol
	_, cfg := writeTree(t, files)
	c, err := LoadConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sets, err := Compile(c.Domains[0])
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range sets {
		if s.Type == "TLSA" {
			if s.Name != "_25._tcp.mail" || s.Element != ElemTLSA {
				t.Errorf("TLSA at %s element %s", s.Name, s.Element)
			}
			got = s.Values
		}
	}
	want := []string{"3 1 1 " + ecSum, "3 1 1 " + edSum}
	if !cmp.Equal(got, sortedUnique(want)) {
		t.Errorf("TLSA %v, want %v", got, want)
	}

	// Bad input: file:line, and a private key's bytes never in the message.
	for _, tt := range []struct{ file, want string }{
		{"../certs/junk.pem", `example.com.yaml:7: tlsa cert_file ../certs/junk.pem: not a certificate or key`},
		{"../certs/broken.pem", `example.com.yaml:7: tlsa cert_file ../certs/broken.pem: the CERTIFICATE block holds no valid certificate or key`},
		{"../certs/missing.pem", `example.com.yaml:7: tlsa cert_file: cannot read ../certs/missing.pem`},
	} {
		files["policies/example.com.yaml"] = strings.Replace(pol, "../certs/ec.pem", tt.file, 1)
		dir, cfg := writeTree(t, files)
		_, err := LoadConfig(cfg)
		if err == nil {
			t.Fatalf("%s: no error", tt.file)
		}
		lines := errorLines(t, err, dir)
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "policies/"+tt.want) {
			t.Errorf("%s: errors %q, want %q", tt.file, lines, tt.want)
		}
	}
	files["policies/example.com.yaml"] = head + "mail_hosts:\n  - name: mail.example.net.\n    tlsa: {next_cert_file: ../certs/ec.key}\n"
	dir, cfg := writeTree(t, files)
	_, err = LoadConfig(cfg)
	got = errorLines(t, err, dir)
	wantErrs := []string{`policies/example.com.yaml:5: tlsa: cert_file is required`}
	if len(got) != 1 || !strings.HasPrefix(got[0], wantErrs[0]) {
		t.Errorf("errors %q, want %q", got, wantErrs)
	}
	for _, e := range got {
		if strings.Contains(e, "PRIVATE") || strings.Contains(e, string(ecKey[30:60])) {
			t.Errorf("an error shows key material: %s", e)
		}
	}
}
