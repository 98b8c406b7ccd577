package policy

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// rsaPEM returns a PEM public key of an RSA modulus of the given size (only
// the public half is parsed: a random odd modulus will do).
func rsaPEM(t testing.TB, bits int, seed int64) (pemText, p string) {
	t.Helper()
	n := new(big.Int).Lsh(big.NewInt(1), uint(bits-1))
	n.Add(n, big.NewInt(2*seed+1))
	der, err := x509.MarshalPKIXPublicKey(&rsa.PublicKey{N: n, E: 65537})
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), base64.StdEncoding.EncodeToString(der)
}

// Policy files are loaded several at once: the problems must still come in
// the order of the files (and of the lines in each), as a sequential load
// reports them; a key file shared by many policies gives each its key; a
// missing key file is reported for each policy naming it.
func TestLoadManyPoliciesInOrder(t *testing.T) {
	keyPEM, keyP := rsaPEM(t, 2048, 7)
	files := map[string]string{"keys/shared.pem": keyPEM}
	var want []string
	const n = 60
	for i := range n {
		name := fmt.Sprintf("policies/p%03d.yaml", i)
		body := fmt.Sprintf("domain: d%03d.example\nprovider: local\ndkim:\n  - selector: s1\n    key_file: ../keys/shared.pem\n", i)
		switch i % 7 {
		case 3:
			body = fmt.Sprintf("domain: d%03d.example\nprovider: nope\nttl: -1\n", i)
			want = append(want,
				fmt.Sprintf(`%s:2: unknown provider "nope"`, name),
				fmt.Sprintf(`%s:3: ttl must be between 1 and 2147483647 seconds, not -1`, name))
		case 5:
			body = fmt.Sprintf("domain: d%03d.example\nprovider: local\ndkim:\n  - selector: s1\n    key_file: ../keys/missing.pem\n", i)
			want = append(want, fmt.Sprintf(`%s:5: dkim s1: cannot read key_file ../keys/missing.pem (relative to the policy file: keys/missing.pem): open: no such file or directory`, name))
		}
		files[name] = body
	}
	// The same domain twice: reported at the later file.
	files["policies/p999.yaml"] = "domain: d000.example\nprovider: local\n"
	want = append(want, `policies/p999.yaml:1: domain d000.example is also defined in policies/p000.yaml:1`)

	dir, cfgPath := writeTree(t, files)
	_, err := LoadConfig(cfgPath)
	if err == nil {
		t.Fatal("LoadConfig: no error")
	}
	if d := cmp.Diff(want, errorLines(t, err, dir)); d != "" {
		t.Errorf("problems (-want +got), in the order of the files:\n%s", d)
	}

	// Without the bad files, every policy has the shared key.
	for name := range files {
		if name != "keys/shared.pem" && name != "maildns.yaml" {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := range n {
		name := fmt.Sprintf("policies/p%03d.yaml", i)
		body := fmt.Sprintf("domain: d%03d.example\nprovider: local\ndkim:\n  - selector: s1\n    key_file: ../keys/shared.pem\n", i)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := LoadConfig(cfgPath)
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if len(cfg.Domains) != n {
		t.Fatalf("%d domains, want %d", len(cfg.Domains), n)
	}
	for i, d := range cfg.Domains {
		if want := fmt.Sprintf("d%03d.example", i); d.Domain != want {
			t.Errorf("domain %d is %s, want %s", i, d.Domain, want)
		}
		if len(d.DKIM) != 1 || d.DKIM[0].Key != keyP || d.DKIM[0].KeyBits != 2048 || d.DKIM[0].KeyFile != filepath.Join(dir, "keys/shared.pem") {
			t.Errorf("%s: dkim %+v, want the shared 2048-bit key", d.Domain, d.DKIM)
		}
	}
}
