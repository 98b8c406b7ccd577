package main

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/maildns/maildns/policy"
)

// openssl finds openssl (scripts/test-deps.sh installs it); without it the
// cross-check fails under CI and is skipped elsewhere.
func openssl(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("openssl is needed in CI (scripts/test-deps.sh): %v", err)
		}
		t.Skip("no openssl")
	}
	return p
}

// The key keygen writes loads through the policy's key_file and compiles to
// the record its public half makes; openssl reads the same public key.
func TestDKIMKeygen(t *testing.T) {
	ossl := openssl(t)
	for _, c := range []struct {
		alg, k string
		bits   int
	}{{"rsa-2048", "rsa", 2048}, {"rsa-3072", "rsa", 3072}, {"ed25519", "ed25519", 0}} {
		t.Run(c.alg, func(t *testing.T) {
			dir := writeTree(t, map[string]string{
				"maildns.yaml":    "policies: [\"policies/*.yaml\"]\nproviders:\n  local: {type: zonefile, directory: zones}\n",
				"zones/.keep":     "",
				"policies/.keep0": "",
			})
			keys := filepath.Join(dir, "keys")
			code, out, errOut := e2eRun(t, "dkim", "keygen", "--selector", "s2027", "--algorithm", c.alg, "--out", keys)
			if code != 0 {
				t.Fatalf("exit %d\n%s%s", code, out, errOut)
			}
			file := filepath.Join(keys, "s2027.pem")
			st, err := os.Stat(file)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
			}
			data, _ := os.ReadFile(file)
			blk, rest := pem.Decode(data)
			if blk == nil || blk.Type != "PRIVATE KEY" || len(bytes.TrimSpace(rest)) != 0 {
				t.Fatalf("not one PEM PRIVATE KEY block:\n%s", data)
			}
			priv, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
			if err != nil {
				t.Fatalf("not PKCS #8: %v", err)
			}
			var wantP string
			switch k := priv.(type) {
			case ed25519.PrivateKey:
				wantP = base64.StdEncoding.EncodeToString(k.Public().(ed25519.PublicKey))
			default:
				der, err := x509.MarshalPKIXPublicKey(priv.(crypto.Signer).Public())
				if err != nil {
					t.Fatal(err)
				}
				wantP = base64.StdEncoding.EncodeToString(der)
			}
			want := "v=DKIM1; k=" + c.k + "; p=" + wantP

			// openssl's view of the same file.
			der, err := exec.Command(ossl, "pkey", "-in", file, "-pubout", "-outform", "DER").Output()
			if err != nil {
				t.Fatalf("openssl pkey: %v", err)
			}
			osslP := base64.StdEncoding.EncodeToString(der)
			if c.k == "ed25519" {
				osslP = base64.StdEncoding.EncodeToString(der[len(der)-ed25519.PublicKeySize:])
			}
			if osslP != wantP {
				t.Errorf("openssl's public key %s, want %s", osslP, wantP)
			}
			if c.bits > 0 {
				txt, err := exec.Command(ossl, "pkey", "-in", file, "-noout", "-text").Output()
				if err != nil || !strings.Contains(string(txt), "("+strconv.Itoa(c.bits)+" bit") {
					t.Errorf("openssl does not see a %d-bit key (%v): %.80s", c.bits, err, txt)
				}
			}

			// The printed lines, pasted under dkim:, make a valid policy
			// that publishes exactly that record.
			if !strings.Contains(out, want) {
				t.Errorf("output does not show the record %q:\n%s", want, out)
			}
			pol := "domain: example.com\nprovider: local\ndkim:\n" + out
			if err := os.WriteFile(filepath.Join(dir, "policies", "example.com.yaml"), []byte(pol), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, err := policy.LoadConfig(filepath.Join(dir, "maildns.yaml"))
			if err != nil {
				t.Fatalf("the printed lines do not load:\n%s\n%v", pol, err)
			}
			sets, err := policy.Compile(cfg.Domains[0])
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range sets {
				if s.Element == policy.ElemDKIM {
					got = append(got, s.Name+" "+strings.Join(s.Values, "|"))
				}
			}
			if len(got) != 1 || got[0] != "s2027._domainkey "+want {
				t.Errorf("compiled DKIM %q, want %q", got, "s2027._domainkey "+want)
			}

			// A second keygen never replaces the key.
			code, _, errOut = e2eRun(t, "dkim", "keygen", "--selector", "s2027", "--algorithm", c.alg, "--out", keys)
			if again, _ := os.ReadFile(file); code != 1 || !bytes.Equal(again, data) || !strings.Contains(errOut, "exists") {
				t.Errorf("second keygen: exit %d, file kept %v\n%s", code, bytes.Equal(again, data), errOut)
			}
			if ents, _ := os.ReadDir(keys); len(ents) != 1 {
				t.Errorf("key directory holds %d files, want 1", len(ents))
			}
		})
	}
}

func TestDKIMKeygenBadArgs(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"dkim"}, "usage: maildns dkim keygen"},
		{[]string{"dkim", "keygen", "--out", dir}, "a selector is required"},
		{[]string{"dkim", "keygen", "--selector", "../etc", "--out", dir}, "not valid"},
		{[]string{"dkim", "keygen", "--selector", "s1", "--algorithm", "dsa", "--out", dir}, `--algorithm "dsa"`},
		{[]string{"dkim", "keygen", "--selector", "s1"}, "--out DIR is required"},
		{[]string{"dkim", "keygen", "--selector", "s1", "--out", dir, "extra"}, `unexpected argument "extra"`},
	} {
		code, _, errOut := e2eRun(t, c.args...)
		if code != 1 || !strings.Contains(errOut, c.want) {
			t.Errorf("%q: exit %d, stderr %q, want 1 and %q", c.args, code, errOut, c.want)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("bad arguments wrote %d files", len(ents))
	}
}
