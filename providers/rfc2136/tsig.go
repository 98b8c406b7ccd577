package rfc2136

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"hash"
	"log/slog"
	"strings"

	"github.com/miekg/dns"
)

// algorithms are the TSIG algorithms we sign with, by their setting names.
var algorithms = map[string]struct {
	wire string // the algorithm's name in a TSIG record
	hash func() hash.Hash
}{
	"hmac-sha1":   {dns.HmacSHA1, sha1.New},
	"hmac-sha224": {dns.HmacSHA224, sha256.New224},
	"hmac-sha256": {dns.HmacSHA256, sha256.New},
	"hmac-sha384": {dns.HmacSHA384, sha512.New384},
	"hmac-sha512": {dns.HmacSHA512, sha512.New},
}

// algorithmNames lists the supported algorithms for error messages.
const algorithmNames = "hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384, hmac-sha512"

// secret is key material. It prints and logs as a redaction.
type secret []byte

func (secret) String() string               { return "[redacted]" }
func (secret) GoString() string             { return "[redacted]" }
func (secret) LogValue() slog.Value         { return slog.StringValue("[redacted]") }
func (secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

// tsigKey signs and verifies messages (a dns.TsigProvider).
type tsigKey struct {
	name   string // fully qualified, lower case
	alg    string // the setting name, e.g. hmac-sha256
	wire   string // fully qualified algorithm name
	hash   func() hash.Hash
	secret secret
}

var errSig = errors.New("the answer's TSIG signature does not verify")

func (k *tsigKey) mac(msg []byte) []byte {
	h := hmac.New(k.hash, k.secret)
	h.Write(msg)
	return h.Sum(nil)
}

// Generate implements dns.TsigProvider.
func (k *tsigKey) Generate(msg []byte, t *dns.TSIG) ([]byte, error) {
	if !strings.EqualFold(t.Hdr.Name, k.name) || !strings.EqualFold(t.Algorithm, k.wire) {
		return nil, dns.ErrKeyAlg
	}
	return k.mac(msg), nil
}

// Verify implements dns.TsigProvider.
func (k *tsigKey) Verify(msg []byte, t *dns.TSIG) error {
	if !strings.EqualFold(t.Hdr.Name, k.name) || !strings.EqualFold(t.Algorithm, k.wire) {
		return errSig
	}
	got, err := hex.DecodeString(t.MAC)
	if err != nil || !hmac.Equal(got, k.mac(msg)) {
		return errSig
	}
	return nil
}
