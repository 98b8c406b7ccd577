// Command benchgen writes a synthetic maildns setup of N domains for the
// benchmarks: a config, one policy per domain, DKIM keys, and a zone file per
// domain holding the mail records, foreign records, and (for one domain in
// ten) drift.
//
//	go run ./scripts/benchgen -n 10000 -dir /tmp/bench
package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	n := flag.Int("n", 1000, "number of domains")
	dir := flag.String("dir", "", "output directory (created)")
	drift := flag.Int("drift-every", 10, "every k-th domain drifts")
	parked := flag.Int("parked-every", 5, "every k-th domain is parked")
	rsaKeys := flag.Int("rsa-keys", 8, "RSA keys in the shared pool (the rest use Ed25519)")
	flag.Parse()
	if *dir == "" {
		log.Fatal("benchgen: -dir is required")
	}
	for _, d := range []string{"policies", "zones", "keys"} {
		if err := os.MkdirAll(filepath.Join(*dir, d), 0o755); err != nil {
			log.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(*dir, "maildns.yaml"), []byte(`schedule: "@every 15m"
policies: ["policies/*.yaml"]
state_dir: state
log: {level: info, format: json}
safety: {max_changes: 10}
providers:
  local: {type: zonefile, directory: zones}
`), 0o644))

	// A small pool of RSA keys (slow to generate), shared by many domains.
	rsaPub := make([]string, *rsaKeys)
	for i := range rsaPub {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		must(err)
		der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
		must(err)
		name := fmt.Sprintf("keys/rsa%02d.pem", i)
		must(os.WriteFile(filepath.Join(*dir, name), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644))
		rsaPub[i] = base64.StdEncoding.EncodeToString(der)
	}

	for i := 0; i < *n; i++ {
		domain := fmt.Sprintf("d%05d.example", i)
		var policy, zone strings.Builder
		fmt.Fprintf(&zone, "$ORIGIN %s.\n$TTL 3600\n@ IN SOA ns1.%s. hostmaster.%s. 2026010101 7200 3600 1209600 3600\n@ IN NS ns1.%s.\nns1 IN A 192.0.2.53\n", domain, domain, domain, domain)
		// Foreign records in every zone.
		fmt.Fprintf(&zone, "www IN A 192.0.2.80\nwww IN AAAA 2001:db8::80\n@ IN TXT \"google-site-verification=bench%05d\"\n_acme-challenge IN TXT \"token-%05d\"\nblog IN CNAME www.%s.\n", i, i, domain)
		drifting := *drift > 0 && i%*drift == 0
		if *parked > 0 && i%*parked == 1 {
			fmt.Fprintf(&policy, "domain: %s\nprovider: local\nparked: true\n", domain)
			fmt.Fprintf(&zone, "@ IN MX 0 .\n_dmarc IN TXT \"v=DMARC1; p=reject; sp=reject\"\n")
			if drifting {
				fmt.Fprintf(&zone, "@ IN TXT \"v=spf1 ~all\"\n")
			} else {
				fmt.Fprintf(&zone, "@ IN TXT \"v=spf1 -all\"\n")
			}
		} else {
			v4 := fmt.Sprintf("198.18.%d.%d", (i/250)%250, i%250+1)
			v6 := fmt.Sprintf("2001:db8:%x::25", i)
			var dkimValue, keyLine string
			if i%4 == 0 {
				k := i % len(rsaPub)
				dkimValue = "v=DKIM1; k=rsa; p=" + rsaPub[k]
				keyLine = fmt.Sprintf("key_file: ../keys/rsa%02d.pem", k)
			} else {
				pub, _, err := ed25519.GenerateKey(rand.Reader)
				must(err)
				b := base64.StdEncoding.EncodeToString(pub)
				dkimValue = "v=DKIM1; k=ed25519; p=" + b
				der, err := x509.MarshalPKIXPublicKey(pub)
				must(err)
				keyLine = "key: " + base64.StdEncoding.EncodeToString(der)
			}
			fmt.Fprintf(&policy, `domain: %s
provider: local
ttl: 3600
mail_hosts:
  - {name: mail, ipv4: [%s], ipv6: ["%s"]}
spf: {mail_hosts: true, all: fail}
dkim:
  - selector: s1
    %s
dmarc: {policy: reject, rua: ["mailto:dmarc@%s"]}
ptr: {mode: "off"}
`, domain, v4, v6, keyLine, domain)
			mx, spfAll := "10 mail."+domain+".", "-all"
			if drifting {
				mx, spfAll = "10 oldmail."+domain+".", "~all"
			}
			fmt.Fprintf(&zone, "mail IN A %s\nmail IN AAAA %s\n@ IN MX %s\n@ IN TXT \"v=spf1 ip4:%s ip6:%s %s\"\n", v4, v6, mx, v4, v6, spfAll)
			fmt.Fprintf(&zone, "s1._domainkey IN TXT %s\n", quoteTXT(dkimValue))
			fmt.Fprintf(&zone, "_dmarc IN TXT \"v=DMARC1; p=reject; rua=mailto:dmarc@%s\"\n", domain)
		}
		must(os.WriteFile(filepath.Join(*dir, "policies", domain+".yaml"), []byte(policy.String()), 0o644))
		must(os.WriteFile(filepath.Join(*dir, "zones", domain+".zone"), []byte(zone.String()), 0o644))
	}
}

func quoteTXT(s string) string {
	var parts []string
	for len(s) > 255 {
		parts = append(parts, `"`+s[:255]+`"`)
		s = s[255:]
	}
	return strings.Join(append(parts, `"`+s+`"`), " ")
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
