package policy

import (
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"
)

// DKIM key records (RFC 6376 §3.6.1, RFC 8463 for Ed25519).

// DKIM key strength limits (RFC 8301 §3.2: verifiers must accept 1024 to
// 4096 bits; signers should use at least 2048).
const (
	DKIMMinRSABits  = 1024 // below: an error
	DKIMGoodRSABits = 2048 // below: a warning
)

// ParsedDKIMKey is a parsed DKIM key record.
type ParsedDKIMKey struct {
	Tags     []DMARCTag // in record order, names as written (case-sensitive)
	Version  string     // v; "" when absent
	KeyType  string     // k; "rsa" when absent
	Hashes   []string   // h; nil when absent (all allowed)
	Services []string   // s; ["*"] when absent
	Flags    []string   // t
	Notes    string     // n
	Key      string     // p, base64 with whitespace removed; "" when revoked
	Revoked  bool       // p is empty
	Bits     int        // RSA modulus size; 256 for Ed25519; 0 when revoked
	Warnings []string
}

// ParseDKIMKey parses the TXT value of a DKIM key record and decodes its
// public key. Unknown tags are ignored (§3.6.1); a known tag with a bad
// value, a v other than DKIM1 or not first, a missing p, an unknown k, or a
// key that does not decode are errors.
func ParseDKIMKey(record string) (*ParsedDKIMKey, error) { return ParseDKIMKeyInto(nil, record) }

// ParseDKIMKeyInto is ParseDKIMKey into k (nil: a new one), reusing its
// array of tags: a caller that parses record after record (the checks,
// a domain each) makes none once it is large enough. It returns k, or nil
// and the error (k's contents are then undefined).
func ParseDKIMKeyInto(k *ParsedDKIMKey, record string) (*ParsedDKIMKey, error) {
	var buf []DMARCTag
	if k != nil {
		buf = k.Tags
	}
	tags, err := parseTagListInto(buf, record, false)
	if err != nil {
		return nil, err
	}
	if k == nil {
		k = &ParsedDKIMKey{}
	}
	*k = ParsedDKIMKey{Tags: tags, KeyType: "rsa", Services: dkimAnyService[:1:1]}
	haveP := false
	for i, t := range tags {
		v := t.Value
		switch t.Name {
		case "v":
			if i != 0 {
				return nil, fmt.Errorf("v= must be the first tag")
			}
			if v != "DKIM1" {
				return nil, fmt.Errorf("v=%q, want DKIM1", v)
			}
			k.Version = v
		case "k":
			if v != "rsa" && v != "ed25519" {
				return nil, fmt.Errorf("k=%q: key type is rsa or ed25519", v)
			}
			k.KeyType = v
		case "h":
			k.Hashes = dkimList(v)
			known := false
			for _, h := range k.Hashes {
				if h == "sha256" {
					known = true
				}
			}
			if !known {
				return nil, fmt.Errorf("h=%q: no usable hash algorithm (sha256; sha1 is no longer allowed, RFC 8301)", v)
			}
		case "s":
			k.Services = dkimList(v)
			ok := false
			for _, s := range k.Services {
				if s == "*" || s == "email" {
					ok = true
				}
			}
			if !ok {
				return nil, fmt.Errorf("s=%q: the key is not usable for email (want * or email)", v)
			}
		case "t":
			k.Flags = dkimList(v)
			for _, f := range k.Flags {
				if f == "y" {
					k.Warnings = append(k.Warnings, "t=y: the domain is testing DKIM; receivers treat signatures as unsigned")
				}
			}
		case "n":
			k.Notes = v
		case "p":
			haveP = true
			k.Key = v
			if !noFields(v) {
				k.Key = strings.Join(strings.Fields(v), "")
			}
		}
	}
	if !haveP {
		return nil, fmt.Errorf("p= (the public key) is missing")
	}
	if k.Key == "" {
		k.Revoked = true
		return k, nil
	}
	bits, err := DKIMKeyBits(k.KeyType, k.Key)
	if err != nil {
		return nil, err
	}
	k.Bits = bits
	return k, nil
}

// DKIMKeyBits decodes the base64 p= value of a key of type keyType (rsa:
// SubjectPublicKeyInfo or RSAPublicKey; ed25519: the raw 32-byte key of RFC
// 8463) and returns its size in bits.
func DKIMKeyBits(keyType, p string) (int, error) {
	der, err := base64.StdEncoding.DecodeString(p)
	if err != nil {
		return 0, fmt.Errorf("p= is not valid base64")
	}
	switch keyType {
	case "", "rsa":
		if pub, err := x509.ParsePKIXPublicKey(der); err == nil {
			rk, ok := pub.(*rsa.PublicKey)
			if !ok {
				return 0, fmt.Errorf("p= holds a %s key, but k=rsa", keyKind(pub))
			}
			return rk.N.BitLen(), nil
		}
		if rk, err := x509.ParsePKCS1PublicKey(der); err == nil {
			return rk.N.BitLen(), nil
		}
		return 0, fmt.Errorf("p= is not an RSA public key")
	case "ed25519":
		if len(der) == ed25519.PublicKeySize {
			return 256, nil
		}
		if pub, err := x509.ParsePKIXPublicKey(der); err == nil {
			if _, ok := pub.(ed25519.PublicKey); ok {
				return 0, fmt.Errorf("p= holds an Ed25519 SubjectPublicKeyInfo; RFC 8463 publishes the raw 32-byte key")
			}
		}
		return 0, fmt.Errorf("p= is %d bytes, an Ed25519 key is %d", len(der), ed25519.PublicKeySize)
	}
	return 0, fmt.Errorf("unknown key type %q", keyType)
}

// DKIMKeyStrength judges a key: "error" for RSA under DKIMMinRSABits,
// "warning" under DKIMGoodRSABits, "" otherwise (Ed25519 is always fine).
func DKIMKeyStrength(keyType string, bits int) (severity, msg string) {
	if keyType == "ed25519" || bits == 0 {
		return "", ""
	}
	switch {
	case bits < DKIMMinRSABits:
		return "error", fmt.Sprintf("RSA key of %d bits: receivers reject keys under %d bits (RFC 8301 §3.2)", bits, DKIMMinRSABits)
	case bits < DKIMGoodRSABits:
		return "warning", fmt.Sprintf("RSA key of %d bits: use %d bits or more (RFC 8301 §3.2)", bits, DKIMGoodRSABits)
	}
	return "", ""
}

func keyKind(pub any) string {
	switch pub.(type) {
	case ed25519.PublicKey:
		return "Ed25519"
	case *rsa.PublicKey:
		return "RSA"
	}
	return fmt.Sprintf("%T", pub)
}

// dkimAnyService is s= when absent, shared (a ParsedDKIMKey is only read).
var dkimAnyService = []string{"*"}

func dkimList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ":") {
		out = append(out, strings.TrimSpace(p))
	}
	return out
}
