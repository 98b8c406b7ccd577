package policy

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// TLSA is a mail host's tlsa: element (DANE for SMTP, RFC 7672): TLSA
// "3 1 1" records (DANE-EE, the SubjectPublicKeyInfo, SHA-256) at
// _25._tcp.<host> for the current key and the next one, so that a key
// rollover is published before the host uses the new key.
type TLSA struct {
	Pos          Pos
	CertFile     string // absolute
	NextCertFile string // absolute; "": none
	Current      string // hex SHA-256 of the current SubjectPublicKeyInfo
	Next         string // "" when no next_cert_file
}

// Values returns the TLSA values the element publishes.
func (t *TLSA) Values() []string {
	out := []string{"3 1 1 " + t.Current}
	if t.Next != "" && t.Next != t.Current {
		out = append(out, "3 1 1 "+t.Next)
	}
	return out
}

// TLSAName is the owner of a host's SMTP TLSA records (RFC 7672 §2.2),
// fully qualified: "_25._tcp." + host.
func TLSAName(hostFQDN string) string {
	return "_25._tcp." + strings.ToLower(strings.TrimSuffix(hostFQDN, ".")) + "."
}

// tlsa reads a mail host's tlsa: mapping. It returns nil on an error.
func (l *domainLoader) tlsa(f entry, h *MailHost) *TLSA {
	fields, ok := l.mapping(node{l.file, f.node}, "tlsa", []string{"cert_file", "next_cert_file"})
	if !ok {
		return nil
	}
	t := &TLSA{Pos: f.pos}
	good := true
	for _, g := range fields {
		s, ok := l.str(g, l.file)
		if !ok {
			good = false
			continue
		}
		if strings.TrimSpace(s) == "" {
			l.errorf(l.at(g), "tlsa %s must not be empty", g.key)
			good = false
			continue
		}
		path := resolvePath(filepath.Dir(l.file), s)
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
		data, err := readFile(path)
		if err != nil {
			l.errorf(l.at(g), "tlsa %s: cannot read %s: %v", g.key, s, osErrText(err))
			good = false
			continue
		}
		sum, err := SPKIHashPEM(data)
		if err != nil {
			l.errorf(l.at(g), "tlsa %s %s: %v", g.key, s, err)
			good = false
			continue
		}
		if g.key == "cert_file" {
			t.CertFile, t.Current = path, sum
		} else {
			t.NextCertFile, t.Next = path, sum
		}
	}
	if !hasKey(fields, "cert_file") {
		l.errorf(f.pos, "tlsa: cert_file is required (the certificate or key the host presents now)")
		good = false
	}
	if !good {
		return nil
	}
	return t
}

// SPKIHashPEM returns the hex SHA-256 of the SubjectPublicKeyInfo of the
// first certificate or key in PEM data: CERTIFICATE, PUBLIC KEY, RSA
// PUBLIC KEY, PRIVATE KEY (PKCS #8), RSA PRIVATE KEY or EC PRIVATE KEY.
// Errors never quote the data (it may hold a private key).
func SPKIHashPEM(data []byte) (string, error) {
	rest := data
	for {
		blk, r := pem.Decode(rest)
		if blk == nil {
			break
		}
		rest = r
		if strings.Contains(blk.Headers["Proc-Type"], "ENCRYPTED") || blk.Type == "ENCRYPTED PRIVATE KEY" {
			return "", errors.New("encrypted keys are not supported: give the certificate, the public key or an unencrypted private key")
		}
		var spki []byte
		var err error
		switch blk.Type {
		case "CERTIFICATE":
			var c *x509.Certificate
			if c, err = x509.ParseCertificate(blk.Bytes); err == nil {
				spki = c.RawSubjectPublicKeyInfo
			}
		case "PUBLIC KEY":
			if _, err = x509.ParsePKIXPublicKey(blk.Bytes); err == nil {
				spki = blk.Bytes
			}
		case "RSA PUBLIC KEY":
			var k *rsa.PublicKey
			if k, err = x509.ParsePKCS1PublicKey(blk.Bytes); err == nil {
				spki, err = x509.MarshalPKIXPublicKey(k)
			}
		case "PRIVATE KEY":
			var k any
			if k, err = x509.ParsePKCS8PrivateKey(blk.Bytes); err == nil {
				spki, err = publicSPKI(k)
			}
		case "RSA PRIVATE KEY":
			var k *rsa.PrivateKey
			if k, err = x509.ParsePKCS1PrivateKey(blk.Bytes); err == nil {
				spki, err = publicSPKI(k)
			}
		case "EC PRIVATE KEY":
			var k any
			if k, err = x509.ParseECPrivateKey(blk.Bytes); err == nil {
				spki, err = publicSPKI(k)
			}
		default:
			continue
		}
		if err != nil || spki == nil {
			return "", fmt.Errorf("the %s block holds no valid certificate or key (damaged)", blk.Type)
		}
		sum := sha256.Sum256(spki)
		return hex.EncodeToString(sum[:]), nil
	}
	return "", errors.New("not a certificate or key: no PEM CERTIFICATE, PUBLIC KEY or PRIVATE KEY block found")
}

func publicSPKI(k any) ([]byte, error) {
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported private key type %T", k)
	}
	return x509.MarshalPKIXPublicKey(s.Public())
}

// SPKIHash returns the hex SHA-256 of a certificate's SubjectPublicKeyInfo
// (what a TLSA 3 1 1 record holds).
func SPKIHash(c *x509.Certificate) string {
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:])
}

// compileMTASTSTLSA adds the _mta-sts TXT and each mail host's TLSA RRset.
func compileMTASTSTLSA(d *Domain, add func(RRset), at func(string) string) {
	if m := d.MTASTS; m != nil {
		add(RRset{Name: at("_mta-sts"), Type: "TXT", Values: []string{MTASTSRecord(MTASTSPolicyText(d))}, Element: ElemMTASTS, Line: lineOf(m.Pos)})
	}
	for _, h := range d.MailHosts {
		if h.TLSA == nil {
			continue
		}
		name := relName(strings.TrimSuffix(TLSAName(h.FQDN(d.Domain)), "."), d.Zone)
		add(RRset{Name: name, Type: "TLSA", Values: h.TLSA.Values(), Element: ElemTLSA, Line: lineOf(h.TLSA.Pos)})
	}
}
