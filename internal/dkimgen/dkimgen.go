// Package dkimgen makes DKIM key pairs: the private key as PEM PKCS #8 in a
// file only its owner can read, the public half as the p= of a DKIM record.
package dkimgen

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
)

// Algorithms are the accepted --algorithm values, the default first.
var Algorithms = []string{"rsa-2048", "rsa-3072", "ed25519"}

// Key is a generated key pair.
type Key struct {
	Algorithm string // one of Algorithms
	Type      string // k= of the record: rsa | ed25519
	PEM       []byte // the private key, PEM "PRIVATE KEY" (PKCS #8)
	P         string // p= of the record (base64)
}

// Record is the TXT value the key publishes.
func (k *Key) Record() string { return "v=DKIM1; k=" + k.Type + "; p=" + k.P }

// Generate makes a key pair of algorithm alg, reading randomness from r
// (nil: crypto/rand).
func Generate(alg string, r io.Reader) (*Key, error) {
	if r == nil {
		r = rand.Reader
	}
	var priv crypto.Signer
	k := &Key{Algorithm: alg}
	switch alg {
	case "rsa-2048", "rsa-3072":
		bits := 2048
		if alg == "rsa-3072" {
			bits = 3072
		}
		rk, err := rsa.GenerateKey(r, bits)
		if err != nil {
			return nil, fmt.Errorf("generating an RSA key: %w", err)
		}
		der, err := x509.MarshalPKIXPublicKey(rk.Public())
		if err != nil {
			return nil, err
		}
		priv, k.Type, k.P = rk, "rsa", base64.StdEncoding.EncodeToString(der)
	case "ed25519":
		pub, ek, err := ed25519.GenerateKey(r)
		if err != nil {
			return nil, fmt.Errorf("generating an Ed25519 key: %w", err)
		}
		// RFC 8463: p= is the raw 32-byte public key, not a SubjectPublicKeyInfo.
		priv, k.Type, k.P = ek, "ed25519", base64.StdEncoding.EncodeToString(pub)
	default:
		return nil, fmt.Errorf("unknown algorithm %q (want rsa-2048, rsa-3072 or ed25519)", alg)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	k.PEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	return k, nil
}

// selectorRE is a DKIM selector (RFC 6376 3.1): dot-separated labels.
var selectorRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`)

// CheckSelector says why s is not a valid selector, or "".
func CheckSelector(s string) string {
	switch {
	case s == "":
		return "a selector is required"
	case len(s) > 200 || !selectorRE.MatchString(s):
		return fmt.Sprintf("selector %q is not valid: letters, digits and hyphens in dot-separated labels", s)
	}
	return ""
}

// ErrExists is returned by Write when the key file is already there.
var ErrExists = errors.New("key file exists")

// Write writes k's private key to dir/SELECTOR.pem with mode 0600, creating
// dir (0700) when needed. It never replaces a file: a key in use must not
// be lost by a second run. The file is written whole or not at all.
func Write(dir, selector string, k *Key) (string, error) {
	if msg := CheckSelector(selector); msg != "" {
		return "", errors.New(msg)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, selector+".pem")
	tmp, err := os.CreateTemp(dir, "."+selector+".pem.*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return "", err
	}
	if _, err := tmp.Write(k.PEM); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	// A hard link fails when path exists: no check-then-write race.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return "", fmt.Errorf("%s: %w; choose another selector or move it away", path, ErrExists)
		}
		return "", err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return path, nil
}
