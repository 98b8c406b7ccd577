package policy

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// benchTree writes a config and n policies like scripts/benchgen's: one in
// five parked, the others with a mail host, SPF, DMARC and a DKIM key (one
// in four from a key file shared by many policies, the rest inline Ed25519).
func benchTree(b *testing.B, n int) string {
	b.Helper()
	dir := b.TempDir()
	write := func(name, content string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	write("maildns.yaml", "policies: [\"policies/*.yaml\"]\nproviders:\n  local: {type: zonefile, directory: zones}\n")
	for k := range 8 {
		pemText, _ := rsaPEM(b, 2048, int64(k))
		write(fmt.Sprintf("keys/rsa%02d.pem", k), pemText)
	}
	for i := range n {
		domain := fmt.Sprintf("d%05d.example", i)
		if i%5 == 1 {
			write("policies/"+domain+".yaml", "domain: "+domain+"\nprovider: local\nparked: true\n")
			continue
		}
		keyLine := fmt.Sprintf("key_file: ../keys/rsa%02d.pem", i%8)
		if i%4 != 0 {
			pub, _, err := ed25519.GenerateKey(nil)
			if err != nil {
				b.Fatal(err)
			}
			der, _ := x509.MarshalPKIXPublicKey(pub)
			keyLine = "key: " + base64.StdEncoding.EncodeToString(der)
		}
		write("policies/"+domain+".yaml", fmt.Sprintf(`domain: %s
provider: local
ttl: 3600
mail_hosts:
  - {name: mail, ipv4: [198.18.%d.%d], ipv6: ["2001:db8:%x::25"]}
spf: {mail_hosts: true, all: fail}
dkim:
  - selector: s1
    %s
dmarc: {policy: reject, rua: ["mailto:dmarc@%s"]}
ptr: {mode: "off"}
`, domain, (i/250)%250, i%250+1, i, keyLine, domain))
	}
	return filepath.Join(dir, "maildns.yaml")
}

// BenchmarkLoadConfig loads a config of 1,000 policies: read, parse,
// validate and compile each (the load of every run of maildns).
func BenchmarkLoadConfig(b *testing.B) {
	path := benchTree(b, 1000)
	b.ReportAllocs()
	for b.Loop() {
		cfg, err := LoadConfig(path)
		if err != nil {
			b.Fatal(err)
		}
		if len(cfg.Domains) != 1000 {
			b.Fatalf("%d domains", len(cfg.Domains))
		}
	}
	b.StopTimer()
	b.ReportMetric(retainedPerDomain(b, path), "retained-B/domain")
}

// BenchmarkLoadRetained loads 10,000 policies like BenchmarkLoadConfig's
// and reports what the loaded config keeps per domain: at 1,000, the
// unused tails of the load's last blocks (RRsets, strings) move that
// figure by 100 bytes and more.
func BenchmarkLoadRetained(b *testing.B) {
	path := benchTree(b, 10000)
	var r float64
	for b.Loop() {
		r = retainedPerDomain(b, path)
	}
	b.ReportMetric(r, "retained-B/domain")
}

// retainedPerDomain is the heap a loaded config of path keeps (its Domain
// values and compiled RRsets) per domain: what a run holds until it ends.
func retainedPerDomain(b *testing.B, path string) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	cfg, err := LoadConfig(path)
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	n := len(cfg.Domains)
	runtime.KeepAlive(cfg)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
}

// BenchmarkCompile compiles one typical policy (mail host A/AAAA, MX, SPF,
// DKIM, DMARC) into its RRsets.
func BenchmarkCompile(b *testing.B) {
	cfg, err := LoadConfig(benchTree(b, 1))
	if err != nil {
		b.Fatal(err)
	}
	d := cfg.Domains[0]
	b.ReportAllocs()
	for b.Loop() {
		rrs, err := Compile(d)
		if err != nil || len(rrs) != 6 {
			b.Fatalf("%d RRsets, %v", len(rrs), err)
		}
	}
}

// BenchmarkCheckClaims checks 10,000 compiled policies for two wanting the
// same RRset (none do): each in its own zone, and all in one zone (where
// every RRset is looked up).
func BenchmarkCheckClaims(b *testing.B) {
	for _, shape := range []struct {
		name    string
		oneZone bool
	}{{"zone-each", false}, {"one-zone", true}} {
		b.Run(shape.name, func(b *testing.B) {
			var domains []*Domain
			for i := range 10000 {
				name := fmt.Sprintf("d%05d.example", i)
				d := &Domain{Domain: name, Zone: name, Provider: "local", TTL: DefaultTTL,
					MailHosts: []MailHost{{Name: "mail", IPv4: []string{fmt.Sprintf("198.18.%d.%d", i/250%250, i%250+1)}, IPv6: []string{"2001:db8::25"}}},
					SPF:       &SPF{MailHosts: true, All: "fail"}, DMARC: &DMARC{Policy: "reject", Percent: 100}}
				if shape.oneZone {
					d.Zone = "example"
				}
				rrs, err := Compile(d)
				if err != nil {
					b.Fatal(err)
				}
				domains = append(domains, d)
				d.keepSets(rrs)
			}
			b.ReportAllocs()
			for b.Loop() {
				c := &collector{}
				c.checkClaims(domains)
				if len(c.errs) != 0 {
					b.Fatal(c.err())
				}
			}
		})
	}
}
