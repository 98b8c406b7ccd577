package check

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"slices"
	"strings"
	"time"

	"github.com/maildns/maildns/internal/canon"
	"github.com/maildns/maildns/policy"
)

// KindTLSA is the finding kind of the DANE checks.
const KindTLSA = "tlsa"

// smtpCheckTimeout bounds one SMTP STARTTLS probe.
const smtpCheckTimeout = 20 * time.Second

// CheckTLSA checks DANE for SMTP (RFC 7672) of each mail host with a tlsa
// element. Without lookups: the zone must be DNSSEC-signed, which maildns
// knows from the zone as read from the provider (a DNSKEY RRset at its
// apex; a provider that hides DNSSEC records from its API reads as
// unsigned): else an error, since senders ignore TLSA records they cannot
// validate (RFC 7672 §2.2). With lookups, it connects to the host's port
// 25, asks for STARTTLS and compares the certificate it presents with the
// TLSA records live in the zone: no STARTTLS or no match is an error (DANE
// senders will not deliver), a host that cannot be reached a warning
// (could not verify), a match on the next key an info.
func CheckTLSA(ctx context.Context, env *Env, d *policy.Domain) []Finding {
	var hosts []policy.MailHost
	for _, h := range d.MailHosts {
		if h.TLSA != nil {
			hosts = append(hosts, h)
		}
	}
	if len(hosts) == 0 {
		return nil
	}
	c := newMailCheck(env, d, KindTLSA)
	signed := len(env.Values("@", "DNSKEY")) > 0
	c.checkSecure(ctx, signed)
	for _, h := range hosts {
		host := strings.TrimSuffix(h.FQDN(d.Domain), ".")
		name := policy.TLSAName(host)
		rel := canon.RelativeName(name, c.zone)
		live := env.Values(rel, "TLSA")
		if !env.Live {
			c.add(SevInfo, host, SkippedMessage)
			continue
		}
		certHash, fullHash, err := probeSTARTTLS(ctx, env, host)
		var noTLS errNoSTARTTLS
		switch {
		case errors.As(err, &noTLS):
			c.add(SevError, host, "%s does not offer STARTTLS on port 25: DANE senders will not deliver to it", host)
			continue
		case err != nil:
			c.add(SevWarning, host, "could not verify the certificate %s presents on port 25: %v", host, err)
			continue
		}
		matched := slices.ContainsFunc(live, func(v string) bool {
			return v == "3 1 1 "+certHash || v == "3 0 1 "+fullHash
		})
		if !matched {
			if len(live) == 0 {
				c.add(SevError, host, "%s presents a key (SPKI SHA-256 %s) but no TLSA is published at %s", host, certHash, name)
			} else {
				c.add(SevError, host, "the certificate %s presents on port 25 (SPKI SHA-256 %s) matches no TLSA at %s (%s): DANE senders will not deliver to it", host, certHash, name, strings.Join(live, " | "))
			}
			continue
		}
		if h.TLSA.Next != "" && certHash == h.TLSA.Next && certHash != h.TLSA.Current {
			c.add(SevInfo, host, "%s presents the next key (next_cert_file): make it cert_file and retire the old one", host)
		}
	}
	return c.out
}

type errNoSTARTTLS struct{}

func (errNoSTARTTLS) Error() string { return "no STARTTLS" }

// probeSTARTTLS connects to host's SMTP port, says EHLO, starts TLS and
// returns the SHA-256 of the presented certificate's SubjectPublicKeyInfo
// and of the whole certificate (hex). DANE-EE ignores names and dates, so
// the certificate is not validated here: it is compared with the TLSA.
func probeSTARTTLS(ctx context.Context, env *Env, host string) (spki, full string, err error) {
	ctx, cancel := context.WithTimeout(ctx, smtpCheckTimeout)
	defer cancel()
	var conn net.Conn
	if env.DialSMTP != nil {
		conn, err = env.DialSMTP(ctx, host)
	} else {
		conn, err = dialResolved(ctx, env.Resolver, host, "25")
	}
	if err != nil {
		return "", "", err
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	cl, err := smtp.NewClient(conn, host)
	if err != nil {
		return "", "", fmt.Errorf("SMTP greeting: %w", err)
	}
	defer cl.Close()
	if err := cl.Hello("maildns.invalid"); err != nil {
		return "", "", fmt.Errorf("EHLO: %w", err)
	}
	if ok, _ := cl.Extension("STARTTLS"); !ok {
		return "", "", errNoSTARTTLS{}
	}
	// #nosec: DANE-EE authenticates the key by the TLSA record, not by a CA.
	if err := cl.StartTLS(&tls.Config{ServerName: host, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}); err != nil {
		return "", "", fmt.Errorf("STARTTLS: %w", err)
	}
	st, ok := cl.TLSConnectionState()
	if !ok || len(st.PeerCertificates) == 0 {
		return "", "", errors.New("no certificate after STARTTLS")
	}
	cert := st.PeerCertificates[0]
	sum := sha256.Sum256(cert.Raw)
	_ = cl.Quit()
	return policy.SPKIHash(cert), hex.EncodeToString(sum[:]), nil
}

// checkSecure reports a zone senders cannot validate. signed: the zone as
// read has a DNSKEY at its apex. With lookups, the DS at the parent
// decides: none means validating senders see the zone as unsigned (an
// island), and a DS for a zone whose provider hides its DNSKEY records
// means it is signed after all.
func (c *mailCheck) checkSecure(ctx context.Context, signed bool) {
	unsigned := func() {
		c.add(SevError, c.zone, "zone %s is not DNSSEC-signed (no DNSKEY at its apex as read from provider %s): senders ignore TLSA records without DNSSEC (RFC 7672 §2.2), so DANE protects nothing", c.zone, c.d.Provider)
	}
	if !c.env.Live || c.env.Resolver == nil {
		if !signed {
			unsigned()
		}
		return
	}
	ans, err := c.env.Resolver.Lookup(ctx, c.zone+".", "DS")
	hasDS := false
	for _, r := range ans.Records {
		hasDS = hasDS || r.Type == "DS"
	}
	switch {
	case err != nil && signed:
		c.add(SevWarning, c.zone, "could not verify the DS of zone %s at its parent (without it validating senders ignore the TLSA records): %v", c.zone, err)
	case err != nil || (!signed && !hasDS):
		unsigned()
	case signed && !hasDS:
		c.add(SevError, c.zone, "zone %s is signed but its parent publishes no DS for it: validating senders see it as unsigned and ignore the TLSA records (RFC 7672 §2.2); publish the DS at the registrar", c.zone)
	}
}
