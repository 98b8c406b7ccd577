package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/maildns/maildns/policy"
)

// The acceptance round trip: after --once the example's MTA-STS policy
// file is under www/; import given that directory writes a real mta_sts
// section, and the imported policies validate and dry-run with no change.
func TestImportExampleMTASTSDir(t *testing.T) {
	cfg := e2eExample(t)
	dir := filepath.Dir(cfg)
	if code, out, errOut := e2eRun(t, "--config", cfg, "--once"); code != 0 {
		t.Fatalf("--once: exit %d\n%s%s", code, out, errOut)
	}
	files := e2eSnapshot(t, dir)
	www := filepath.Join(dir, "www")
	out := filepath.Join(dir, "imported")
	for _, z := range []string{"example.com", "example.net"} {
		if code, o, e := e2eRun(t, "import", "--config", cfg, "--provider", "local", "--zone", z, "--out", out, "--mta-sts-dir", www); code != 0 {
			t.Fatalf("import %s: exit %d\n%s%s", z, code, o, e)
		}
	}
	com, _ := os.ReadFile(filepath.Join(out, "example.com.yaml"))
	want := "mta_sts:\n  mode: enforce\n  max_age: 604800\n  policy_dir: " + www + "\n"
	if !strings.Contains(string(com), want) {
		t.Fatalf("imported example.com lacks %q:\n%s", want, com)
	}
	// The text is maildns's own: the record is reproduced exactly, nothing
	// to explain, and mx is left to its default (the MX hosts).
	for _, bad := range []string{"_mta-sts", "  mx:", "# mta_sts"} {
		if strings.Contains(string(com), bad) {
			t.Errorf("imported example.com holds %q:\n%s", bad, com)
		}
	}
	policyFile := filepath.Join(www, "example.com", ".well-known", "mta-sts.txt")
	text, _ := os.ReadFile(policyFile)
	roundTrip(t, importedConfig(t, cfg, "imported"))
	if diff := cmp.Diff(files, e2eSnapshot(t, dir)); diff != "" {
		t.Errorf("import or the dry run changed a zone file:\n%s", diff)
	}
	if after, _ := os.ReadFile(policyFile); len(text) == 0 || string(after) != string(text) {
		t.Errorf("policy file %q, after import and the dry run %q", text, after)
	}
}

// stsZone is a zone with two mail domains announcing MTA-STS: sts.example
// serves exactly the text maildns writes (id derived from it), and
// other.sts.example an LF policy with a wildcard mx, an extra field and a
// date as its id, as hand-written policies are.
const (
	stsExact = "version: STSv1\r\nmode: testing\r\nmx: mx1.sts.example\r\nmx: mx2.sts.example\r\nmax_age: 86400\r\n"
	stsOther = "version: STSv1\nmode: enforce\nmx: *.other.sts.example\nmax_age: 1209600\nlocation: rack4\n"
)

func stsTree(t *testing.T) string {
	return writeTree(t, map[string]string{
		"maildns.yaml":   "policies: [\"policies/*.yaml\"]\nstate_dir: state\nlive_checks: false\nproviders:\n  local: {type: zonefile, directory: zones}\n",
		"policies/.keep": "",
		"zones/sts.example.zone": `$ORIGIN sts.example.
$TTL 3600
@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300
@ IN NS ns1
ns1 IN A 192.0.2.53
@ IN MX 10 mx1
@ IN MX 20 MX2
mx1 IN A 192.0.2.25
mx2 IN A 192.0.2.26
_mta-sts IN TXT "v=STSv1; " "id=` + policy.MTASTSID(stsExact) + `"
other IN MX 10 in.other
in.other IN A 192.0.2.27
_mta-sts.other IN TXT "v=STSv1; id=20261201"
`,
	})
}

// tlsFor issues a self-signed certificate for names and the pool that
// trusts it.
func tlsFor(t *testing.T, names ...string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

// stsServer serves the policies of stsTree over TLS on loopback with cert,
// and points importHTTPClient at it (whatever host is asked for), trusting
// pool only.
func stsServer(t *testing.T, cert tls.Certificate, pool *x509.CertPool) {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		switch r.Host {
		case "mta-sts.sts.example":
			w.Write([]byte(stsExact))
		case "mta-sts.other.sts.example":
			w.Write([]byte(stsOther))
		default:
			http.NotFound(w, r)
		}
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	importHTTPClient = &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			},
		},
	}
	t.Cleanup(func() { importHTTPClient = nil })
}

// Over HTTPS from a loopback server with a certificate that validates: the
// domain serving maildns's own text round-trips with no change; the
// hand-written policy is imported as far as a policy can say it, with a
// comment on what differs and the one change the first run makes.
func TestImportMTASTSHTTPS(t *testing.T) {
	dir := stsTree(t)
	cert, pool := tlsFor(t, "mta-sts.sts.example", "mta-sts.other.sts.example")
	stsServer(t, cert, pool)
	cfg := filepath.Join(dir, "maildns.yaml")
	code, out, errOut := e2eRun(t, "import", "--config", cfg, "--provider", "local", "--zone", "sts.example",
		"--domain", "sts.example", "--out", filepath.Join(dir, "policies"), "--mta-sts-https",
		"--mta-sts-dir", filepath.Join(dir, "empty")) // the directory lacks it: fetched
	if code != 0 {
		t.Fatalf("import: exit %d\n%s%s", code, out, errOut)
	}
	pol, _ := os.ReadFile(filepath.Join(dir, "policies", "sts.example.yaml"))
	if want := "mta_sts:\n  mode: testing\n  max_age: 86400\n"; !strings.Contains(string(pol), want) ||
		strings.Contains(string(pol), "policy_dir") || strings.Contains(string(pol), "_mta-sts") || strings.Contains(string(pol), "  mx:") {
		t.Fatalf("imported sts.example: want %q, no policy_dir, no mx, no note:\n%s", want, pol)
	}
	roundTrip(t, cfg)

	code, out, errOut = e2eRun(t, "import", "--config", cfg, "--provider", "local", "--zone", "sts.example",
		"--domain", "other.sts.example", "--out", filepath.Join(dir, "other"), "--mta-sts-https")
	if code != 0 {
		t.Fatalf("import other: exit %d\n%s%s", code, out, errOut)
	}
	other, _ := os.ReadFile(filepath.Join(dir, "other", "other.sts.example.yaml"))
	d := policy.Domain{Domain: "other.sts.example", MTASTS: &policy.MTASTS{Mode: "enforce", MaxAge: 1209600, MX: []string{"*.other.sts.example"}}}
	newRec := policy.MTASTSRecord(policy.MTASTSPolicyText(&d))
	for _, want := range []string{
		"mta_sts:\n  mode: enforce\n  max_age: 1209600\n  mx: [\"*.other.sts.example\"]\n",
		"differs from what maildns writes (LF line ends, not CRLF; lines maildns does not write: [\"location: rack4\"])",
		"the live id 20261201 is not that",
		newRec,
		"cannot be reproduced exactly",
		"the live check reports it as differing",
	} {
		if !strings.Contains(string(other), want) {
			t.Errorf("imported other.sts.example lacks %q:\n%s", want, other)
		}
	}
	// It loads, and the one change is the record the comment announces.
	ocfg := importedConfig(t, cfg, "other")
	if code, out, errOut := e2eRun(t, "--config", ocfg, "--validate"); code != 0 {
		t.Fatalf("--validate: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = e2eRun(t, "--config", ocfg, "--dry-run", "--domain", "other.sts.example")
	if code != 2 || !strings.Contains(out, "· 1 change (") || !strings.Contains(out, newRec) {
		t.Errorf("--dry-run of other.sts.example: exit %d, want 2 and the one change to %q\n%s%s", code, newRec, out, errOut)
	}
}

// A certificate that does not validate for the name gives no policy text:
// the section stays a comment, the record is left as is, the import
// succeeds.
func TestImportMTASTSHTTPSBadCertificate(t *testing.T) {
	dir := stsTree(t)
	cert, _ := tlsFor(t, "mta-sts.sts.example")
	_, otherPool := tlsFor(t, "mta-sts.sts.example") // trusts another key
	stsServer(t, cert, otherPool)
	cfg := filepath.Join(dir, "maildns.yaml")
	code, out, errOut := e2eRun(t, "import", "--config", cfg, "--provider", "local", "--zone", "sts.example",
		"--domain", "sts.example", "--out", filepath.Join(dir, "policies"), "--mta-sts-https")
	if code != 0 {
		t.Fatalf("import: exit %d\n%s%s", code, out, errOut)
	}
	pol, _ := os.ReadFile(filepath.Join(dir, "policies", "sts.example.yaml"))
	for _, want := range []string{"MTA-STS policy at https://mta-sts.sts.example/.well-known/mta-sts.txt could not be read", "certificate",
		"TXT _mta-sts at _mta-sts.sts.example left as is", "# mta_sts:\n#   mode: enforce"} {
		if !strings.Contains(string(pol), want) {
			t.Errorf("imported policy lacks %q:\n%s", want, pol)
		}
	}
	if strings.Contains(string(pol), "\nmta_sts:") {
		t.Errorf("an mta_sts section from a policy fetched without a valid certificate:\n%s", pol)
	}
	roundTrip(t, cfg)
}

// From a directory: a policy text that does not parse, and a domain the
// directory does not hold, leave the record as is with the section as a
// comment, and the round trip still shows no change.
func TestImportMTASTSDirUnusable(t *testing.T) {
	dir := stsTree(t)
	www := filepath.Join(dir, "www")
	path := filepath.Join(www, "sts.example", ".well-known", "mta-sts.txt")
	os.MkdirAll(filepath.Dir(path), 0o755)
	os.WriteFile(path, []byte("version: STSv1\nmode: enforce\nmx: mx1.sts.example\n"), 0o644) // no max_age
	cfg := filepath.Join(dir, "maildns.yaml")
	code, out, errOut := e2eRun(t, "import", "--config", cfg, "--provider", "local", "--zone", "sts.example",
		"--out", filepath.Join(dir, "policies"), "--mta-sts-dir", www)
	if code != 0 {
		t.Fatalf("import: exit %d\n%s%s", code, out, errOut)
	}
	for file, wants := range map[string][]string{
		"sts.example.yaml":       {"MTA-STS policy " + path + " does not parse: no max_age line"},
		"other.sts.example.yaml": {"MTA-STS policy " + filepath.Join(www, "other.sts.example", ".well-known", "mta-sts.txt") + " does not exist"},
	} {
		pol, _ := os.ReadFile(filepath.Join(dir, "policies", file))
		for _, want := range append(wants, "left as is (no MTA-STS policy text read)", "# mta_sts:\n#   mode: enforce") {
			if !strings.Contains(string(pol), want) {
				t.Errorf("%s lacks %q:\n%s", file, want, pol)
			}
		}
		if strings.Contains(string(pol), "\nmta_sts:") {
			t.Errorf("%s has an mta_sts section:\n%s", file, pol)
		}
	}
	roundTrip(t, cfg)
}
