package policy

import (
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Compile returns the RRsets d wants, in canonical form, sorted by
// (Provider, Zone, Name, Type). An error (errors.Join of *Error) means the
// policy cannot be compiled as written, e.g. a PTR name outside ptr.zone.
func Compile(d *Domain) ([]RRset, error) {
	rrs, errs := compile(d)
	c := collector{errs: errs}
	return rrs, c.err()
}

var allQualifier = map[string]string{"fail": "-all", "softfail": "~all", "neutral": "?all", "": "-all"}

func compile(d *Domain) ([]RRset, []*Error) {
	// Room for the usual sets (MX, SPF, DMARC, each DKIM key, each mail
	// host's A and AAAA; PTRs may grow it): an RRset is large, and growing
	// the slice copies every one. The sets live as long as the run.
	out := make([]RRset, 0, 3+len(d.DKIM)+2*len(d.MailHosts))
	var errs []*Error
	ttlOr := func(t time.Duration) time.Duration {
		if t > 0 {
			return t
		}
		return d.TTL
	}
	add := func(r RRset) {
		if r.Domain == "" {
			r.Domain = d.Domain
		}
		if r.Provider == "" {
			r.Provider = d.Provider
		}
		if r.Zone == "" {
			r.Zone = d.Zone
		}
		if r.TTL == 0 {
			r.TTL = d.TTL
		}
		r.Values = sortedUnique(r.Values)
		out = append(out, r)
	}
	// at returns the zone-relative name of label under the domain ("" = the domain).
	at := func(label string) string {
		fq := d.Domain
		if label != "" {
			fq = label + "." + d.Domain
		}
		return relName(fq, d.Zone)
	}

	if d.Parked {
		add(RRset{Name: at(""), Type: "MX", Values: []string{"0 ."}, Element: "mx", Pos: d.Pos})
		add(RRset{Name: at(""), Type: "TXT", Values: []string{"v=spf1 -all"}, Own: OwnPrefix, Prefix: "v=spf1", Element: "spf", Pos: d.Pos})
		add(RRset{Name: at("_dmarc"), Type: "TXT", Values: []string{"v=DMARC1; p=reject; sp=reject"}, Element: "dmarc", Pos: d.Pos})
		sortRRsets(out)
		return out, nil
	}

	// Mail hosts: A and AAAA for the hosts in the domain.
	for _, h := range d.MailHosts {
		if h.Outside(d.Domain) {
			continue
		}
		name := relName(strings.TrimSuffix(h.FQDN(d.Domain), "."), d.Zone)
		if len(h.IPv4) > 0 {
			add(RRset{Name: name, Type: "A", TTL: ttlOr(h.TTL), Values: append([]string(nil), h.IPv4...), Element: "mail_hosts", Pos: h.Pos})
		}
		if len(h.IPv6) > 0 {
			add(RRset{Name: name, Type: "AAAA", TTL: ttlOr(h.TTL), Values: append([]string(nil), h.IPv6...), Element: "mail_hosts", Pos: h.Pos})
		}
	}

	// MX: as written, or priority 10 for each mail host.
	var mx []string
	var mxPos Pos
	if d.MX != nil {
		for _, m := range d.MX {
			mx = append(mx, strconv.Itoa(m.Priority)+" "+mxTarget(m.Host, d.Domain))
		}
		if len(d.MX) > 0 {
			mxPos = d.MX[0].Pos
		}
	} else {
		for _, h := range d.MailHosts {
			mx = append(mx, strconv.Itoa(DefaultMXPriority)+" "+h.FQDN(d.Domain))
		}
		if len(d.MailHosts) > 0 {
			mxPos = d.MailHosts[0].Pos
		}
	}
	if len(mx) > 0 {
		add(RRset{Name: at(""), Type: "MX", Values: mx, Element: "mx", Pos: mxPos})
	}

	if s := d.SPF; s != nil {
		r := RRset{Name: at(""), Type: "TXT", Own: OwnPrefix, Prefix: "v=spf1", Element: "spf", Pos: s.Pos}
		if s.State == "absent" {
			r.Absent = true
		} else {
			r.Values = []string{SPFRecord(d)}
		}
		add(r)
	}

	for _, k := range d.DKIM {
		r := RRset{Name: at(k.Selector + "._domainkey"), Type: "TXT", TTL: ttlOr(k.TTL), Element: "dkim", Pos: k.Pos}
		switch k.State {
		case "absent":
			r.Absent = true
		case "retired":
			r.Values = []string{"v=DKIM1; p="}
		default:
			kt := k.KeyType
			if kt == "" {
				kt = "rsa"
			}
			r.Values = []string{"v=DKIM1; k=" + kt + "; p=" + k.Key}
		}
		add(r)
	}

	if m := d.DMARC; m != nil {
		r := RRset{Name: at("_dmarc"), Type: "TXT", Element: "dmarc", Pos: m.Pos}
		if m.State == "absent" {
			r.Absent = true
		} else {
			r.Values = []string{DMARCRecord(m)}
		}
		add(r)
	}

	if t := d.TLSRPT; t != nil {
		r := RRset{Name: at("_smtp._tls"), Type: "TXT", Element: "tls_rpt", Pos: t.Pos}
		if t.State == "absent" {
			r.Absent = true
		} else {
			r.Values = []string{TLSRPTRecord(t)}
		}
		add(r)
	}

	if b := d.BIMI; b != nil {
		r := RRset{Name: at(BIMIName(b)), Type: "TXT", Element: "bimi", Pos: b.Pos}
		if b.State == "absent" {
			r.Absent = true
		} else {
			r.Values = []string{BIMIRecord(b)}
		}
		add(r)
	}

	if p := d.PTR; p != nil && p.Provider != "" && p.Mode != "off" {
		zones := p.Zones
		if len(zones) == 0 && p.Zone != "" {
			zones = []string{p.Zone}
		}
		type ptrSet struct {
			zone, name string
			ttl        time.Duration
			values     []string
		}
		sets := map[string]*ptrSet{}
		var keys []string
		for _, h := range d.MailHosts {
			if h.Outside(d.Domain) {
				continue
			}
			for _, a := range append(append([]string(nil), h.IPv4...), h.IPv6...) {
				ip, err := netip.ParseAddr(a)
				if err != nil {
					errs = append(errs, Errorf(h.Pos, "mail host %s: bad address %q", h.Name, a))
					continue
				}
				rev := strings.TrimSuffix(ReverseName(ip), ".")
				zone, family := "", false
				for _, z := range zones {
					if ip.Is4() == inZone(z, "in-addr.arpa") {
						family = true
						if inZone(rev, z) && len(z) > len(zone) {
							zone = z
						}
						if classlessHolds(z, ip) && len(z) > len(zone) {
							zone = z
						}
					}
				}
				if !family {
					// No reverse zone of this address family is delegated:
					// that PTR is left to the live check.
					continue
				}
				if zone == "" {
					errs = append(errs, Errorf(p.Pos, "ptr: the reverse name of %s (%s.) is outside ptr zone %s", a, rev, strings.Join(zones, ", ")))
					continue
				}
				key := zone + " " + rev
				s := sets[key]
				if s == nil {
					name := relName(rev, zone)
					if !inZone(rev, zone) {
						// An RFC 2317 classless zone: the PTR sits at the
						// last octet, which the ISP's CNAME points to.
						name = strconv.Itoa(int(ip.As4()[3]))
					}
					s = &ptrSet{zone: zone, name: name, ttl: ttlOr(h.TTL)}
					sets[key] = s
					keys = append(keys, key)
				}
				s.values = append(s.values, h.FQDN(d.Domain))
			}
		}
		for _, k := range keys {
			s := sets[k]
			add(RRset{Provider: p.Provider, Zone: s.zone, Name: s.name, Type: "PTR", TTL: s.ttl,
				Values: s.values, Element: "ptr", Pos: p.Pos})
		}
	}
	compileMTASTSTLSA(d, add, at)
	sortRRsets(out)
	if len(out) == 0 {
		out = nil // as before the room was made: nothing wanted is nil
	}
	return out, errs
}

// SPFRecord is the SPF TXT value d publishes: "v=spf1", the mail host
// addresses (when spf.mail_hosts), the mechanisms, and the all mechanism.
func SPFRecord(d *Domain) string {
	if d.Parked {
		return "v=spf1 -all"
	}
	s := d.SPF
	if s == nil {
		return ""
	}
	parts := []string{"v=spf1"}
	seen := map[string]bool{}
	if s.MailHosts {
		for _, h := range d.MailHosts {
			for _, a := range h.IPv4 {
				if t := "ip4:" + a; !seen[t] {
					seen[t] = true
					parts = append(parts, t)
				}
			}
			for _, a := range h.IPv6 {
				if t := "ip6:" + a; !seen[t] {
					seen[t] = true
					parts = append(parts, t)
				}
			}
		}
	}
	parts = append(parts, s.Mechanisms...)
	parts = append(parts, allQualifier[s.All])
	return strings.Join(parts, " ")
}

// DMARCRecord is the DMARC TXT value of m, tags in the order v, p, sp,
// adkim, aspf, pct, rua, ruf, fo, ri; defaults are left out.
func DMARCRecord(m *DMARC) string {
	parts := []string{"v=DMARC1", "p=" + m.Policy}
	if m.SubdomainPolicy != "" {
		parts = append(parts, "sp="+m.SubdomainPolicy)
	}
	if m.ADKIM == "strict" {
		parts = append(parts, "adkim=s")
	}
	if m.ASPF == "strict" {
		parts = append(parts, "aspf=s")
	}
	if m.Percent != 100 {
		parts = append(parts, "pct="+strconv.Itoa(m.Percent))
	}
	if len(m.RUA) > 0 {
		parts = append(parts, "rua="+strings.Join(m.RUA, ","))
	}
	if len(m.RUF) > 0 {
		parts = append(parts, "ruf="+strings.Join(m.RUF, ","))
	}
	if m.FO != "" {
		parts = append(parts, "fo="+m.FO)
	}
	if m.RI > 0 {
		parts = append(parts, "ri="+strconv.Itoa(m.RI))
	}
	return strings.Join(parts, "; ")
}

func sortedUnique(v []string) []string {
	if len(v) == 0 {
		return nil
	}
	sort.Strings(v)
	out := v[:1]
	for _, s := range v[1:] {
		if s != out[len(out)-1] {
			out = append(out, s)
		}
	}
	return out
}

func sortRRsets(rs []RRset) {
	sort.SliceStable(rs, func(i, j int) bool {
		a, b := rs[i], rs[j]
		if a.Provider != b.Provider {
			return a.Provider < b.Provider
		}
		if a.Zone != b.Zone {
			return a.Zone < b.Zone
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Type < b.Type
	})
}
