// Command benchgen writes a synthetic maildns setup of N domains for the
// benchmarks: a config, one policy per domain, DKIM keys, and a zone file per
// domain (or per -domains-per-zone domains) holding the mail records, foreign
// records, and (for one domain in ten) drift.
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
	perZone := flag.Int("domains-per-zone", 1, "domains sharing one zone (each a subdomain of it)")
	flag.Parse()
	if *dir == "" {
		log.Fatal("benchgen: -dir is required")
	}
	for _, d := range []string{"policies", "zones", "keys"} {
		if err := os.MkdirAll(filepath.Join(*dir, d), 0o755); err != nil {
			log.Fatal(err)
		}
	}
	// max_changes counts per provider zone: a zone shared by many domains
	// may take two changes from each drifting domain (MX and SPF) in one run.
	maxChanges := max(10, 2**perZone)
	must(os.WriteFile(filepath.Join(*dir, "maildns.yaml"), []byte(fmt.Sprintf(`schedule: "@every 15m"
policies: ["policies/*.yaml"]
state_dir: state
log: {level: info, format: json}
safety: {max_changes: %d}
providers:
  local: {type: zonefile, directory: zones}
`, maxChanges)), 0o644))

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

	// Domains share zones when perZone > 1: domain j of zone z is
	// m<j>.z<z>.example (zone: z<z>.example), else each domain d<i>.example
	// has its zone. Either way each zone has one file.
	zones := map[string]*strings.Builder{}
	var zoneOrder []string
	for i := 0; i < *n; i++ {
		domain := fmt.Sprintf("d%05d.example", i)
		zoneName, label := domain, ""
		if *perZone > 1 {
			zoneName = fmt.Sprintf("z%05d.example", i / *perZone)
			label = fmt.Sprintf("m%d", i%*perZone)
			domain = label + "." + zoneName
		}
		// rel is a name under the domain, relative to its zone.
		rel := func(name string) string {
			switch {
			case label == "":
				return name
			case name == "@":
				return label
			}
			return name + "." + label
		}
		zone := zones[zoneName]
		if zone == nil {
			zone = &strings.Builder{}
			zones[zoneName] = zone
			zoneOrder = append(zoneOrder, zoneName)
			fmt.Fprintf(zone, "$ORIGIN %s.\n$TTL 3600\n@ IN SOA ns1.%s. hostmaster.%s. 2026010101 7200 3600 1209600 3600\n@ IN NS ns1.%s.\nns1 IN A 192.0.2.53\n", zoneName, zoneName, zoneName, zoneName)
		}
		var policy strings.Builder
		// Foreign records for every domain.
		fmt.Fprintf(zone, "%s IN A 192.0.2.80\n%s IN AAAA 2001:db8::80\n%s IN TXT \"google-site-verification=bench%05d\"\n%s IN TXT \"token-%05d\"\n%s IN CNAME www.%s.\n",
			rel("www"), rel("www"), rel("@"), i, rel("_acme-challenge"), i, rel("blog"), domain)
		zoneLine := ""
		if label != "" {
			zoneLine = "zone: " + zoneName + "\n"
		}
		drifting := *drift > 0 && i%*drift == 0
		if *parked > 0 && i%*parked == 1 {
			fmt.Fprintf(&policy, "domain: %s\nprovider: local\n%sparked: true\n", domain, zoneLine)
			fmt.Fprintf(zone, "%s IN MX 0 .\n%s IN TXT \"v=DMARC1; p=reject; sp=reject\"\n", rel("@"), rel("_dmarc"))
			if drifting {
				fmt.Fprintf(zone, "%s IN TXT \"v=spf1 ~all\"\n", rel("@"))
			} else {
				fmt.Fprintf(zone, "%s IN TXT \"v=spf1 -all\"\n", rel("@"))
			}
		} else {
			v4 := fmt.Sprintf("198.18.%d.%d", (i/250)%250, i%250+1)
			v6 := fmt.Sprintf("2001:db8:%x::25", i)
			if i > 0xffff { // a group holds 16 bits
				v6 = fmt.Sprintf("2001:db8:%x:%x::25", i>>16, i&0xffff)
			}
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
%sttl: 3600
mail_hosts:
  - {name: mail, ipv4: [%s], ipv6: ["%s"]}
spf: {mail_hosts: true, all: fail}
dkim:
  - selector: s1
    %s
dmarc: {policy: reject, rua: ["mailto:dmarc@%s"]}
ptr: {mode: "off"}
`, domain, zoneLine, v4, v6, keyLine, domain)
			mx, spfAll := "10 mail."+domain+".", "-all"
			if drifting {
				mx, spfAll = "10 oldmail."+domain+".", "~all"
			}
			fmt.Fprintf(zone, "%s IN A %s\n%s IN AAAA %s\n%s IN MX %s\n%s IN TXT \"v=spf1 ip4:%s ip6:%s %s\"\n",
				rel("mail"), v4, rel("mail"), v6, rel("@"), mx, rel("@"), v4, v6, spfAll)
			fmt.Fprintf(zone, "%s IN TXT %s\n", rel("s1._domainkey"), quoteTXT(dkimValue))
			fmt.Fprintf(zone, "%s IN TXT \"v=DMARC1; p=reject; rua=mailto:dmarc@%s\"\n", rel("_dmarc"), domain)
		}
		must(os.WriteFile(filepath.Join(*dir, "policies", domain+".yaml"), []byte(policy.String()), 0o644))
	}
	for _, z := range zoneOrder {
		must(os.WriteFile(filepath.Join(*dir, "zones", z+".zone"), []byte(zones[z].String()), 0o644))
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
