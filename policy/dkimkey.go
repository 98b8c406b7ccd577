package policy

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// dkimKey is the public half of a DKIM key as published in p=.
type dkimKey struct {
	P    string // base64: SubjectPublicKeyInfo (RSA), raw 32 bytes (Ed25519, RFC 8463)
	Type string // rsa | ed25519
	Bits int    // RSA modulus size
}

// parseDKIMPEM reads the first key in PEM data: "PUBLIC KEY", "RSA PUBLIC
// KEY", "PRIVATE KEY" (PKCS #8), "RSA PRIVATE KEY"; RSA or Ed25519. Errors
// never quote the data.
func parseDKIMPEM(data []byte) (dkimKey, error) {
	rest := data
	for {
		blk, r := pem.Decode(rest)
		if blk == nil {
			break
		}
		rest = r
		if strings.Contains(blk.Headers["Proc-Type"], "ENCRYPTED") {
			return dkimKey{}, errors.New("encrypted keys are not supported: give the public key or an unencrypted private key")
		}
		var pub any
		var err error
		switch blk.Type {
		case "PUBLIC KEY":
			pub, err = x509.ParsePKIXPublicKey(blk.Bytes)
		case "RSA PUBLIC KEY":
			pub, err = x509.ParsePKCS1PublicKey(blk.Bytes)
		case "PRIVATE KEY":
			var k any
			k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
			if err == nil {
				if s, ok := k.(crypto.Signer); ok {
					pub = s.Public()
				} else {
					err = fmt.Errorf("unsupported private key type %T", k)
				}
			}
		case "RSA PRIVATE KEY":
			var k *rsa.PrivateKey
			k, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
			if err == nil {
				pub = k.Public()
			}
		case "ENCRYPTED PRIVATE KEY":
			return dkimKey{}, errors.New("encrypted keys are not supported: give the public key or an unencrypted private key")
		case "OPENSSH PRIVATE KEY":
			return dkimKey{}, errors.New("OpenSSH keys are not supported: give a PEM (PKCS #8 or PKCS #1) key")
		default:
			continue
		}
		if err != nil {
			// The parser's ASN.1 detail helps no one: say what is wrong.
			return dkimKey{}, fmt.Errorf("the %s block holds no valid key (damaged or not a key)", blk.Type)
		}
		return publishKey(pub)
	}
	return dkimKey{}, errors.New("no PEM public or private key found (want PUBLIC KEY, RSA PUBLIC KEY, PRIVATE KEY or RSA PRIVATE KEY)")
}

// parseDKIMInline reads a key written inline: base64 SubjectPublicKeyInfo,
// a raw base64 Ed25519 public key, or a PEM block.
func parseDKIMInline(s string) (dkimKey, error) {
	if strings.Contains(s, "-----BEGIN") {
		return parseDKIMPEM([]byte(s))
	}
	clean := s
	if !noFields(s) {
		clean = strings.Join(strings.Fields(s), "")
	}
	der, err := base64.StdEncoding.DecodeString(clean)
	if err != nil {
		return dkimKey{}, errors.New("key is not base64")
	}
	if len(der) == ed25519.PublicKeySize {
		return publishKey(ed25519.PublicKey(der))
	}
	if len(der) == len(ed25519SPKIPrefix)+ed25519.PublicKeySize && bytes.HasPrefix(der, ed25519SPKIPrefix) {
		// What x509.ParsePKIXPublicKey makes of an Ed25519
		// SubjectPublicKeyInfo, without its ASN.1 walk.
		return publishKey(ed25519.PublicKey(der[len(ed25519SPKIPrefix):]))
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return dkimKey{}, errors.New("key is not a base64 SubjectPublicKeyInfo (nor a raw Ed25519 key)")
	}
	return publishKey(pub)
}

// noFields reports whether s is ASCII without white space: one field to
// strings.Fields (which also splits at Unicode spaces), so that joining
// its fields would give s back.
func noFields(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 0x80, c == ' ', c >= '\t' && c <= '\r':
			return false
		}
	}
	return true
}

// ed25519SPKIPrefix is the DER of a SubjectPublicKeyInfo of an Ed25519
// key (RFC 8410) up to the key's 32 bytes.
var ed25519SPKIPrefix = []byte{0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00}

func publishKey(pub any) (dkimKey, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			return dkimKey{}, err
		}
		return dkimKey{P: base64.StdEncoding.EncodeToString(der), Type: "rsa", Bits: k.N.BitLen()}, nil
	case ed25519.PublicKey:
		return dkimKey{P: base64.StdEncoding.EncodeToString(k), Type: "ed25519"}, nil
	default:
		return dkimKey{}, fmt.Errorf("unsupported key type %T: DKIM keys are RSA or Ed25519", pub)
	}
}
