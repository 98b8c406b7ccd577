package importer

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// yaml renders the imported policy. Plain scalars where YAML reads them
// back as the same string, quoted otherwise; what the policy does not say
// comes first, as comments.
func (im *domainImport) yaml() []byte {
	var b bytes.Buffer
	d := &im.d
	fmt.Fprintf(&b, "# Imported by maildns import from zone %s at %s.\n", im.z.zone, im.provider)
	if len(im.notes) > 0 {
		b.WriteString("# Not in this policy (maildns leaves these records as they are):\n")
		for _, n := range im.notes {
			fmt.Fprintf(&b, "#   - %s\n", oneLine(n))
		}
	}
	fmt.Fprintf(&b, "domain: %s\nprovider: %s\n", d.Domain, q(d.Provider))
	if d.Zone != d.Domain {
		fmt.Fprintf(&b, "zone: %s\n", d.Zone)
	}
	fmt.Fprintf(&b, "ttl: %d\n", secs(d.TTL))
	if d.Parked {
		b.WriteString("parked: true\n")
		return b.Bytes()
	}
	if len(im.hosts) > 0 {
		b.WriteString("mail_hosts:\n")
		for _, h := range im.hosts {
			fmt.Fprintf(&b, "  - name: %s\n", q(h.Name))
			if len(h.IPv4) > 0 {
				fmt.Fprintf(&b, "    ipv4: %s\n", list(h.IPv4))
			}
			if len(h.IPv6) > 0 {
				fmt.Fprintf(&b, "    ipv6: %s\n", list(h.IPv6))
			}
			if h.TTL != 0 {
				fmt.Fprintf(&b, "    ttl: %d\n", secs(h.TTL))
			}
		}
	}
	if len(im.mx) > 0 {
		b.WriteString("mx:\n")
		for _, m := range im.mx {
			fmt.Fprintf(&b, "  - {host: %s, priority: %d}\n", q(m.Host), m.Priority)
		}
	}
	if s := d.SPF; s != nil {
		fmt.Fprintf(&b, "spf:\n  mail_hosts: %v\n", s.MailHosts)
		if len(s.Mechanisms) > 0 {
			fmt.Fprintf(&b, "  mechanisms: %s\n", list(s.Mechanisms))
		}
		fmt.Fprintf(&b, "  all: %s\n", s.All)
	}
	if len(im.dkim) > 0 {
		b.WriteString("dkim:\n")
		for _, k := range im.dkim {
			fmt.Fprintf(&b, "  - selector: %s\n    key_file: %s\n", q(k.Selector), q(k.KeyFile))
			if k.TTL != 0 {
				fmt.Fprintf(&b, "    ttl: %d\n", secs(k.TTL))
			}
		}
	}
	if m := d.DMARC; m != nil {
		fmt.Fprintf(&b, "dmarc:\n  policy: %s\n", m.Policy)
		if m.SubdomainPolicy != "" {
			fmt.Fprintf(&b, "  subdomain_policy: %s\n", m.SubdomainPolicy)
		}
		if len(m.RUA) > 0 {
			fmt.Fprintf(&b, "  rua: %s\n", list(m.RUA))
		}
		if len(m.RUF) > 0 {
			fmt.Fprintf(&b, "  ruf: %s\n", list(m.RUF))
		}
		if m.ADKIM != "" {
			fmt.Fprintf(&b, "  adkim: %s\n", m.ADKIM)
		}
		if m.ASPF != "" {
			fmt.Fprintf(&b, "  aspf: %s\n", m.ASPF)
		}
		if m.Percent != 100 {
			fmt.Fprintf(&b, "  percent: %d\n", m.Percent)
		}
		if m.FO != "" {
			fmt.Fprintf(&b, "  fo: %s\n", q(m.FO))
		}
		if m.RI != 0 {
			fmt.Fprintf(&b, "  ri: %d\n", m.RI)
		}
	}
	if m := d.MTASTS; m != nil {
		for _, c := range im.mtastsComments {
			fmt.Fprintf(&b, "# %s\n", oneLine(c))
		}
		fmt.Fprintf(&b, "mta_sts:\n  mode: %s\n  max_age: %d\n", m.Mode, m.MaxAge)
		if m.MX != nil {
			fmt.Fprintf(&b, "  mx: %s\n", list(m.MX))
		}
		if m.PolicyDir != "" {
			fmt.Fprintf(&b, "  policy_dir: %s\n", q(m.PolicyDir))
		}
	} else if len(im.mtastsHint) > 0 {
		for _, c := range im.mtastsHint {
			fmt.Fprintf(&b, "# %s\n", oneLine(c))
		}
	}
	if t := d.TLSRPT; t != nil {
		fmt.Fprintf(&b, "tls_rpt:\n  rua: %s\n", list(t.RUA))
	}
	if m := d.BIMI; m != nil {
		fmt.Fprintf(&b, "bimi:\n  selector: %s\n  logo: %s\n", q(m.Selector), q(m.Logo))
		if m.Authority != "" {
			fmt.Fprintf(&b, "  authority: %s\n", q(m.Authority))
		}
	}
	if p := im.ptr; p != nil {
		fmt.Fprintf(&b, "ptr:\n  provider: %s\n  zones: %s\n", q(p.Provider), list(p.Zones))
	}
	return b.Bytes()
}

func secs(d time.Duration) int { return int(d / time.Second) }

// q quotes s (YAML double-quoted, which JSON string syntax is) unless it is
// a plain scalar that reads back as itself.
func q(s string) string {
	if s != "" && !strings.ContainsAny(s, ":#'\"{}[],&*!|>%@`\\ \t\n") && !strings.HasPrefix(s, "-") &&
		!strings.HasPrefix(s, "?") && !isSpecial(s) {
		return s
	}
	return strconv.Quote(s)
}

// isSpecial: words and numbers YAML would not read as a string.
func isSpecial(s string) bool {
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "null", "~", "y", "n":
		return true
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil || strings.HasSuffix(s, ".") && s == "."
}

func list(v []string) string {
	out := make([]string, len(v))
	for i, s := range v {
		out[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(out, ", ") + "]"
}

// oneLine keeps a note on one comment line.
func oneLine(s string) string { return strings.NewReplacer("\n", " ", "\r", " ").Replace(s) }
