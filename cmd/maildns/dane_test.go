package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/maildns/maildns/internal/testbind"
	"github.com/maildns/maildns/internal/testdns"
	"github.com/maildns/maildns/internal/testsmtp"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/sync"
	"github.com/miekg/dns"
)

// TestDANEExample runs configs/dane against a BIND that signs the zone
// inline: --once converges (TLSA, SPF, DMARC written through RFC 2136 and
// signed by BIND), the next --dry-run exits 0, and the TLSA check passes
// against an SMTP server on loopback presenting the example's certificate,
// then the next one (a rollover), and fails on a certificate not published.
func TestDANEExample(t *testing.T) {
	src := filepath.Join("..", "..", "configs", "dane")
	zone, err := os.ReadFile(filepath.Join(src, "zones", "example.com.zone"))
	if err != nil {
		t.Fatal(err)
	}
	srv := testbind.Start(t, testbind.Zone{Name: "example.com", Content: string(zone), Signed: true})
	key := waitSigned(t, srv)
	// The resolver the live checks ask: the parent's DS of the zone's key,
	// so the chain of trust is complete.
	parent := testdns.Start(t, key.ToDS(dns.SHA256).String())

	dst := t.TempDir()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dst, "maildns.yaml")
	data, _ := os.ReadFile(cfg)
	text := regexp.MustCompile(`server: "[^"]*"`).ReplaceAllString(string(data), `server: "`+srv.Addr+`"`)
	text = strings.Replace(text, "key_name: maildns", "key_name: "+srv.KeyName, 1)
	text += "\nresolvers: [\"" + parent.Addr + "\"]\n" // loopback only, never the internet
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MAILDNS_TSIG_KEY", srv.KeySecret)

	code, out, errOut := e2eRun(t, "--config", cfg, "--dry-run")
	if code != 2 || !strings.Contains(out, "+ _25._tcp.mail  TLSA") {
		t.Fatalf("first --dry-run exit %d, want 2 with the TLSA to create:\n%s%s", code, out, errOut)
	}
	if strings.Contains(out, "not DNSSEC-signed") {
		t.Errorf("the signed zone reads as unsigned:\n%s", out)
	}
	if code, out, errOut = e2eRun(t, "--config", cfg, "--once"); code != 0 {
		t.Fatalf("--once exit %d:\n%s%s", code, out, errOut)
	}
	code, out, errOut = e2eRun(t, "--config", cfg, "--dry-run")
	if code != 0 || !strings.Contains(out, "· 0 changes (") {
		t.Fatalf("--dry-run after --once exit %d:\n%s%s", code, out, errOut)
	}

	// BIND serves the TLSA signed.
	cur, _ := os.ReadFile(filepath.Join(src, "certs", "mail.pem"))
	next, _ := os.ReadFile(filepath.Join(src, "certs", "mail-next.pem"))
	curSum, err1 := policy.SPKIHashPEM(cur)
	nextSum, err2 := policy.SPKIHashPEM(next)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	var got []string
	signed := false
	deadline := time.Now().Add(15 * time.Second)
	for {
		m := new(dns.Msg)
		m.SetQuestion("_25._tcp.mail.example.com.", dns.TypeTLSA)
		m.SetEdns0(4096, true)
		c := &dns.Client{Net: "tcp", Timeout: 2 * time.Second}
		r, _, err := c.Exchange(m, srv.Addr)
		got, signed = nil, false
		if err == nil {
			for _, rr := range r.Answer {
				switch v := rr.(type) {
				case *dns.TLSA:
					got = append(got, strings.ToLower(v.Certificate))
				case *dns.RRSIG:
					signed = signed || v.TypeCovered == dns.TypeTLSA
				}
			}
		}
		if (signed && len(got) == 2) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	slices.Sort(got)
	want := []string{curSum, nextSum}
	slices.Sort(want)
	if !signed || !slices.Equal(got, want) {
		t.Fatalf("BIND serves TLSA %v (signed %v), want %v signed", got, signed, want)
	}

	// The live check against an SMTP server presenting the certificates.
	loaded, err := policy.LoadConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	provs, err := sync.BuildProviders(loaded)
	if err != nil {
		t.Fatal(err)
	}
	smtp := testsmtp.Start(t)
	e := &sync.Engine{Config: loaded, Providers: provs, DialSMTP: func(ctx context.Context, host string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", smtp.Addr)
	}}
	tlsaFindings := func(certFile string) []sync.Finding {
		t.Helper()
		pair, err := tls.LoadX509KeyPair(certFile, certFile)
		if err != nil {
			t.Fatal(err)
		}
		smtp.Present(&pair)
		plan, err := e.Run(context.Background(), sync.Options{Mode: sync.ModeDryRun})
		if err != nil {
			t.Fatal(err)
		}
		var out []sync.Finding
		for _, f := range plan.Findings {
			if f.Kind == sync.KindTLSA {
				out = append(out, f)
			}
		}
		return out
	}
	if fs := tlsaFindings(filepath.Join(src, "certs", "mail.pem")); len(fs) != 0 {
		t.Errorf("current certificate: findings %+v, want none", fs)
	}
	if fs := tlsaFindings(filepath.Join(src, "certs", "mail-next.pem")); len(fs) != 1 || fs[0].Severity != sync.SevInfo || !strings.Contains(fs[0].Message, "presents the next key") {
		t.Errorf("next certificate: findings %+v, want the rollover info", fs)
	}
	other := filepath.Join(t.TempDir(), "other.pem")
	writeSelfSigned(t, other)
	if fs := tlsaFindings(other); len(fs) != 1 || fs[0].Severity != sync.SevError || !strings.Contains(fs[0].Message, "matches no TLSA") {
		t.Errorf("unpublished certificate: findings %+v, want an error", fs)
	}
}

// waitSigned waits until BIND serves the zone's DNSKEY (it signs it after
// loading) and returns it.
func waitSigned(t *testing.T, srv *testbind.Server) *dns.DNSKEY {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		r, err := srv.Exchange(context.Background(), "example.com.", dns.TypeDNSKEY)
		if err == nil {
			for _, rr := range r.Answer {
				if k, ok := rr.(*dns.DNSKEY); ok {
					return k
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("BIND did not sign example.com within 20 s:\n%s", srv.Log())
	return nil
}

// starttlsServer is a tiny SMTP server on loopback offering STARTTLS with
// the certificate last set.
// writeSelfSigned writes a new self-signed certificate and its key to path.
func writeSelfSigned(t *testing.T, path string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "mail.example.com"},
		DNSNames: []string{"mail.example.com"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	p8, _ := x509.MarshalPKCS8PrivateKey(key)
	out := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})...)
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}
