package policy

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
	"unsafe"

	"go.yaml.in/yaml/v3"
)

var policyKeys = []string{"domain", "provider", "zone", "ttl", "mail_hosts", "mx", "spf", "dkim",
	"dmarc", "ptr", "parked", "allow_weakening", "mta_sts"}

// mailSections are the keys a parked domain may not have.
var mailSections = []string{"mail_hosts", "mx", "spf", "dkim", "dmarc", "ptr", "mta_sts"}

const maxTTL = 1<<31 - 1

// domainLoader validates one policy file.
type domainLoader struct {
	*collector
	cfg  *Config
	file string
	d    *Domain
	keys *keyCache // key files read so far by this load
}

// loadDomain reads and validates one policy file. It returns the domain
// (nil when even its name could not be read), whether it is free of
// problems, and then its compiled RRsets.
func (c *collector) loadDomain(cfg *Config, file string, kc *keyCache, s *loadScratch) (*Domain, bool, []RRset) {
	start := len(c.errs)
	data, err := readInfoInto(file, &s.info, s.text)
	s.text = data
	if s.info.Mode.IsDir() {
		return nil, false, nil // not a policy: the globs' check counts it out
	}
	if err != nil {
		c.errorf(Pos{File: file}, "cannot read policy: %v", osErrText(err))
		return nil, false, nil
	}
	// The text without a copy: nothing writes to the buffer while the
	// policy is loaded, and what a Domain keeps of the text is copied
	// (see detacher): the next policy is read into the same buffer.
	s.src = unsafe.String(unsafe.SliceData(data), len(data))
	root, errs := parseYAMLWith(&s.yaml, file, s.src)
	if len(errs) > 0 {
		c.add(errs...)
		return nil, false, nil
	}
	if root == nil {
		c.errorf(Pos{file, 1}, "empty policy: domain is required")
		return nil, false, nil
	}
	entries, ok := c.mapping(node{file, root}, "policy", policyKeys)
	if !ok {
		return nil, false, nil
	}
	l := &domainLoader{collector: c, cfg: cfg, file: file, keys: kc,
		d: &Domain{Pos: Pos{file, root.Line}, TTL: DefaultTTL}}
	d := l.d
	keys := entryList(entries)

	if e, ok := keys.get("domain"); ok {
		d.Pos = e.pos
		if s, ok := l.str(e, file); ok {
			name := normName(s)
			if msg := checkName(name); msg != "" {
				l.errorf(l.at(e), "domain %q is not a valid DNS name: %s", s, msg)
			} else {
				d.Domain = name
			}
		}
	} else {
		l.errorf(d.Pos, "domain is required")
	}
	if e, ok := keys.get("provider"); ok {
		if s, ok := l.str(e, file); ok {
			if _, known := cfg.Providers[s]; !known {
				l.errorf(l.at(e), "unknown provider %q%s", s, suggest(s, providerNames(cfg)))
			} else {
				d.Provider = s
			}
		}
	} else {
		l.errorf(d.Pos, "provider is required")
	}
	d.Zone = d.Domain
	if e, ok := keys.get("zone"); ok {
		if s, ok := l.str(e, file); ok {
			zone := normName(s)
			if msg := checkName(zone); msg != "" {
				l.errorf(l.at(e), "zone %q is not a valid DNS name: %s", s, msg)
			} else {
				d.Zone = zone
				if d.Domain != "" && !inZone(d.Domain, zone) {
					l.errorf(l.at(e), "domain %s is outside zone %s", d.Domain, zone)
				}
			}
		}
	}
	if e, ok := keys.get("ttl"); ok {
		if ttl, ok := l.ttl(e); ok {
			d.TTL = ttl
		}
	}
	if e, ok := keys.get("parked"); ok {
		if b, ok := l.boolean(e, file); ok {
			d.Parked = b
		}
	}
	if e, ok := keys.get("allow_weakening"); ok {
		if b, ok := l.boolean(e, file); ok {
			d.AllowWeakening = &b
		}
	}
	if e, ok := keys.get("enforce"); ok {
		if b, ok := l.boolean(e, file); ok {
			d.Enforce = &b
		}
	}
	// The rest needs a domain name; with none, check structure against a stand-in.
	if d.Domain == "" {
		d.Domain, d.Zone = "domain.invalid", "domain.invalid"
	}
	if d.Parked {
		for _, k := range mailSections {
			if e, ok := keys.get(k); ok {
				l.errorf(e.pos, "%s: a parked domain has no mail section (parked: true publishes null MX, \"v=spf1 -all\" and DMARC p=reject)", k)
			}
		}
	} else {
		if e, ok := keys.get("mail_hosts"); ok {
			l.mailHosts(e)
		}
		if e, ok := keys.get("mx"); ok {
			l.mx(e)
		}
		if e, ok := keys.get("spf"); ok {
			l.spf(e)
		}
		if e, ok := keys.get("dkim"); ok {
			l.dkim(e)
		}
		if e, ok := keys.get("dmarc"); ok {
			l.dmarc(e)
		}
		if e, ok := keys.get("ptr"); ok {
			l.ptr(e)
		}
		if e, ok := keys.get("tls_rpt"); ok {
			l.tlsRPT(e)
		}
		if e, ok := keys.get("bimi"); ok {
			l.bimi(e)
		}
		if e, ok := keys.get("mta_sts"); ok {
			l.mtaSTS(e) // after mail_hosts and mx: its default mx patterns
		}
	}
	dt := newDetacher(s.src, &s.arena.strs, &s.arena.shared)
	dt.domain(d, cfg)
	if len(c.errs) > start {
		dt.reportURIs(d)
		if d.Domain == "domain.invalid" {
			return nil, false, nil
		}
		return d, false, nil
	}
	c.add(checkMailAuth(d)...)
	rrs, cerrs := compileIn(d, kc, &s.arena)
	dt.reportURIs(d)
	c.add(cerrs...)
	return d, len(c.errs) == start, rrs
}

func providerNames(cfg *Config) []string {
	var out []string
	for n := range cfg.Providers {
		out = append(out, n)
	}
	return out
}

// at is the position of an entry's value.
func (l *domainLoader) at(e entry) Pos { return Pos{l.file, e.node.Line} }

func (l *domainLoader) ttl(e entry) (time.Duration, bool) {
	i, ok := l.integer(e, l.file)
	if !ok {
		return 0, false
	}
	if i < 1 || i > maxTTL {
		l.errorf(l.at(e), "%s must be between 1 and %d seconds, not %d", e.key, maxTTL, i)
		return 0, false
	}
	return time.Duration(i) * time.Second, true
}

// items returns the elements of a list node (null: none).
func (l *domainLoader) items(e entry) []*yaml.Node {
	if e.node.Kind == yaml.ScalarNode && e.node.ShortTag() == "!!null" {
		return nil
	}
	if e.node.Kind != yaml.SequenceNode {
		l.errorf(l.at(e), "%s must be a list, not %s", e.key, kindName(e.node))
		return nil
	}
	if len(e.node.Content) > MaxListItems {
		l.errorf(l.at(e), "%s has %d items, at most %d are allowed", e.key, len(e.node.Content), MaxListItems)
		return nil
	}
	return e.node.Content
}

// hostName checks a host name as written in mail_hosts or mx: relative to
// the domain, "@", or an FQDN ending in ".". It returns it lower case.
func (l *domainLoader) hostName(pos Pos, key, s string) (string, bool) {
	name := strings.ToLower(strings.TrimSpace(s))
	switch {
	case name == "":
		l.errorf(pos, "%s must not be empty", key)
		return "", false
	case name == "@":
		return name, true
	}
	if msg := checkName(strings.TrimSuffix(name, ".")); msg != "" {
		l.errorf(pos, "%s %q is not a valid host name: %s", key, s, msg)
		return "", false
	}
	return name, true
}

func (l *domainLoader) mailHosts(e entry) {
	d := l.d
	seen := map[string]int{}
	hosts := []MailHost{}
	for _, it := range l.items(e) {
		fields, ok := l.mapping(node{l.file, it}, "mail_hosts item", []string{"name", "ipv4", "ipv6", "ttl", "tlsa"})
		if !ok {
			continue
		}
		h := MailHost{Line: line32(it.Line)}
		named := false
		for _, f := range fields {
			switch f.key {
			case "name":
				if s, ok := l.str(f, l.file); ok {
					if n, ok := l.hostName(l.at(f), "name", s); ok {
						h.Name = n
						named = true
					}
				}
			case "ipv4", "ipv6":
				list, pos, _ := l.strList(f, l.file)
				var seenBuf [8]netip.Addr
				seenIP := seenBuf[:0] // a host has a few: a scan, no set
				for i, s := range list {
					ip, err := netip.ParseAddr(strings.TrimSpace(s))
					switch {
					case err != nil:
						l.errorf(pos[i], "%s: %q is not an IP address", f.key, s)
						continue
					case ip.Zone() != "":
						l.errorf(pos[i], "%s: %q has a zone index", f.key, s)
						continue
					case f.key == "ipv4" && !ip.Is4():
						l.errorf(pos[i], "ipv4: %q is not an IPv4 address", s)
						continue
					case f.key == "ipv6" && (!ip.Is6() || ip.Is4In6()):
						l.errorf(pos[i], "ipv6: %q is not an IPv6 address", s)
						continue
					case ip.IsUnspecified() || ip.IsMulticast():
						l.errorf(pos[i], "%s: %q is not a unicast host address", f.key, s)
						continue
					}
					if slices.Contains(seenIP, ip) {
						l.errorf(pos[i], "%s: %s is listed twice", f.key, ip)
						continue
					}
					seenIP = append(seenIP, ip)
					if f.key == "ipv4" {
						h.IPv4 = append(h.IPv4, ip.String())
					} else {
						h.IPv6 = append(h.IPv6, ip.String())
					}
				}
			case "ttl":
				if t, ok := l.ttl(f); ok {
					h.TTL = t
				}
			case "tlsa":
				h.TLSA = l.tlsa(f, &h)
			}
		}
		if !named {
			if !hasKey(fields, "name") {
				l.errorf(d.At(h.Line), "mail host: name is required")
			}
			continue
		}
		fq := h.FQDN(d.Domain)
		if first, dup := seen[fq]; dup {
			l.errorf(d.At(h.Line), "mail host %s is listed twice (first at line %d)", h.Name, first)
			continue
		}
		seen[fq] = int(h.Line)
		if h.TLSA != nil && !inZone(strings.TrimSuffix(fq, "."), d.Zone) {
			l.errorf(h.TLSA.Pos, "mail host %s: tlsa needs the host in zone %s (its TLSA records live at %s)", h.Name, d.Zone, TLSAName(fq))
		}
		if !h.Outside(d.Domain) && len(h.IPv4)+len(h.IPv6) == 0 && !l.hadErrorAt(l.file, it) {
			l.errorf(d.At(h.Line), "mail host %s is in %s and needs an ipv4 or ipv6 address", h.Name, d.Domain)
		}
		hosts = append(hosts, h)
	}
	d.MailHosts = hosts
}

// hadErrorAt reports whether an error was already reported inside n.
func (l *domainLoader) hadErrorAt(file string, n *yaml.Node) bool {
	lo, hi := n.Line, lastLine(n)
	for _, e := range l.errs {
		if e.Pos.File == file && e.Pos.Line >= lo && e.Pos.Line <= hi {
			return true
		}
	}
	return false
}

func lastLine(n *yaml.Node) int {
	m := n.Line
	for _, c := range n.Content {
		if l := lastLine(c); l > m {
			m = l
		}
	}
	return m
}

func hasKey(es []entry, k string) bool {
	for _, e := range es {
		if e.key == k {
			return true
		}
	}
	return false
}

func (l *domainLoader) mx(e entry) {
	d := l.d
	d.MX = []MX{}
	seen := map[string]int{}
	items := l.items(e)
	for _, it := range items {
		fields, ok := l.mapping(node{l.file, it}, "mx item", []string{"host", "priority"})
		if !ok {
			continue
		}
		m := MX{Line: line32(it.Line), Priority: DefaultMXPriority}
		good := true
		for _, f := range fields {
			switch f.key {
			case "host":
				s, ok := l.str(f, l.file)
				if !ok {
					good = false
					continue
				}
				if strings.TrimSpace(s) == "." {
					if len(items) > 1 {
						l.errorf(l.at(f), "mx: a null MX (host \".\") must be the only MX")
						good = false
					}
					m.Host = "."
					continue
				}
				if n, ok := l.hostName(l.at(f), "mx host", s); ok {
					m.Host = n
				} else {
					good = false
				}
			case "priority":
				i, ok := l.integer(f, l.file)
				if !ok {
					good = false
					continue
				}
				if i < 0 || i > 65535 {
					l.errorf(l.at(f), "mx priority must be 0..65535, not %d", i)
					good = false
					continue
				}
				m.Priority = int(i)
			}
		}
		if !hasKey(fields, "host") {
			l.errorf(d.At(m.Line), "mx: host is required")
			continue
		}
		if !good {
			continue
		}
		target := mxTarget(m.Host, d.Domain)
		if first, dup := seen[target]; dup {
			l.errorf(d.At(m.Line), "mx host %s is listed twice (first at line %d)", m.Host, first)
			continue
		}
		seen[target] = int(m.Line)
		d.MX = append(d.MX, m)
	}
}

// mxTarget is the MX target of host, fully qualified with a trailing dot.
func mxTarget(host, domain string) string {
	if host == "." {
		return "."
	}
	return MailHost{Name: host}.FQDN(domain)
}

func (l *domainLoader) spf(e entry) {
	fields, ok := l.mapping(node{l.file, e.node}, "spf", []string{"mail_hosts", "mechanisms", "all", "state"})
	if !ok {
		return
	}
	s := &SPF{Line: line32(e.pos.Line), MailHosts: true, All: "fail"}
	for _, f := range fields {
		switch f.key {
		case "mail_hosts":
			if b, ok := l.boolean(f, l.file); ok {
				s.MailHosts = b
			}
		case "mechanisms":
			list, pos, _ := l.strList(f, l.file)
			for i, m := range list {
				m = strings.TrimSpace(m)
				switch {
				case m == "":
					l.errorf(pos[i], "spf mechanism must not be empty")
				case strings.ContainsAny(m, " \t\r\n"):
					l.errorf(pos[i], "spf mechanism %q contains a space: give one mechanism per item", m)
				case strings.EqualFold(strings.TrimLeft(m, "+-~?"), "all"):
					l.errorf(pos[i], "spf mechanism %q: write the all mechanism with the all: key", m)
				case strings.HasPrefix(strings.ToLower(m), "v=spf1"):
					l.errorf(pos[i], "spf mechanism %q: the version is added by maildns", m)
				default:
					s.Mechanisms = append(s.Mechanisms, m)
				}
			}
		case "all":
			if v, ok := l.str(f, l.file); ok && l.oneOf(l.at(f), "spf all", v, []string{"fail", "softfail", "neutral"}) {
				s.All = v
			}
		case "state":
			if v, ok := l.state(f, []string{"present", "absent"}); ok {
				s.State = v
			}
		}
	}
	l.d.SPF = s
}

// state reads a state: key; "present"/"active" is stored as "".
func (l *domainLoader) state(f entry, valid []string) (string, bool) {
	v, ok := l.str(f, l.file)
	if !ok || !l.oneOf(l.at(f), f.key, v, valid) {
		return "", false
	}
	if v == "present" || v == "active" {
		v = ""
	}
	return v, true
}

func (l *domainLoader) dkim(e entry) {
	seen := map[string]int{}
	for _, it := range l.items(e) {
		fields, ok := l.mapping(node{l.file, it}, "dkim item", dkimKeys)
		if !ok {
			continue
		}
		k := DKIM{Line: line32(it.Line)}
		var keyFileE, keyE entry // kept by value: a pointer to a copy costs an allocation
		var keyFile, key *entry
		good := true
		for _, f := range fields {
			switch f.key {
			case "selector":
				s, ok := l.str(f, l.file)
				if !ok {
					good = false
					continue
				}
				sel := strings.ToLower(strings.TrimSpace(s))
				if msg := checkName(sel); msg != "" || strings.HasSuffix(s, ".") {
					if msg == "" {
						msg = "a selector is relative"
					}
					l.errorf(l.at(f), "dkim selector %q is not valid: %s", s, msg)
					good = false
					continue
				}
				k.Selector = sel
			case "key_file":
				keyFileE = f
				keyFile = &keyFileE
			case "key":
				keyE = f
				key = &keyE
			case "state":
				if v, ok := l.state(f, []string{"next", "active", "retired", "absent"}); ok {
					k.State = v
				} else {
					good = false
				}
			case "ttl":
				if t, ok := l.ttl(f); ok {
					k.TTL = t
				}
			case "active_from", "retire_at", "remove_at":
				good = l.dkimDate(f, &k) && good
			}
		}
		good = l.dkimDates(&k) && good
		if !hasKey(fields, "selector") {
			l.errorf(l.d.At(k.Line), "dkim: selector is required")
			continue
		}
		switch {
		case keyFile != nil && key != nil:
			l.errorf(key.pos, "dkim %s: give key_file or key, not both", k.Selector)
			good = false
		case keyFile == nil && key == nil && (k.State == "" || k.State == "next" || !k.dates().RetireAt.IsZero()):
			l.errorf(l.d.At(k.Line), "dkim %s: key_file or key is required", k.Selector)
			good = false
		case keyFile != nil:
			s, ok := l.str(*keyFile, l.file)
			if !ok {
				good = false
				break
			}
			if s == "" {
				l.errorf(l.at(*keyFile), "dkim %s: key_file must not be empty", k.Selector)
				good = false
				break
			}
			ck := l.keys.named(filepath.Dir(l.file), s)
			k.KeyFile = ck.path
			if ck.readErr != nil {
				// A relative key_file is read beside the policy file, not the
				// working directory: the error shows where it was looked for.
				shown := s
				if !filepath.IsAbs(s) {
					shown = fmt.Sprintf("%s (relative to the policy file: %s)", s, k.KeyFile)
				}
				l.errorf(l.at(*keyFile), "dkim %s: cannot read key_file %s: %v", k.Selector, shown, osErrText(ck.readErr))
				good = false
				break
			}
			if ck.err != nil {
				l.errorf(l.at(*keyFile), "dkim %s: key_file %s: %v", k.Selector, s, ck.err)
				good = false
				break
			}
			pk := ck.key
			k.Key, k.KeyType, k.KeyBits = pk.P, pk.Type, pk.Bits
		case key != nil:
			s, ok := l.str(*key, l.file)
			if !ok {
				good = false
				break
			}
			pk, err := parseDKIMInline(s)
			if err != nil {
				l.errorf(l.at(*key), "dkim %s: %v", k.Selector, err)
				good = false
				break
			}
			k.Key, k.KeyType, k.KeyBits = pk.P, pk.Type, pk.Bits
		}
		if !good || k.Selector == "" {
			continue
		}
		if first, dup := seen[k.Selector]; dup {
			l.errorf(l.d.At(k.Line), "dkim selector %s is listed twice (first at line %d)", k.Selector, first)
			continue
		}
		seen[k.Selector] = int(k.Line)
		l.d.DKIM = append(l.d.DKIM, k)
	}
}

// dkimKeys are the keys of a dkim item, dkimDateKeys among them (a
// literal: the reference test of cmd/maildns reads it).
var dkimKeys = []string{"selector", "key_file", "key", "state", "ttl", "active_from", "retire_at", "remove_at"}

var foRE = regexp.MustCompile(`^[01ds](:[01ds])*$`)

func (l *domainLoader) dmarc(e entry) {
	fields, ok := l.mapping(node{l.file, e.node}, "dmarc", []string{"policy", "subdomain_policy", "rua", "ruf",
		"adkim", "aspf", "percent", "fo", "ri", "state"})
	if !ok {
		return
	}
	m := &DMARC{Line: line32(e.pos.Line), Percent: DefaultDMARCPercent}
	policies := []string{"none", "quarantine", "reject"}
	for _, f := range fields {
		switch f.key {
		case "policy":
			if v, ok := l.str(f, l.file); ok && l.oneOf(l.at(f), "dmarc policy", v, policies) {
				m.Policy = v
			}
		case "subdomain_policy":
			if v, ok := l.str(f, l.file); ok && l.oneOf(l.at(f), "dmarc subdomain_policy", v, policies) {
				m.SubdomainPolicy = v
			}
		case "rua", "ruf":
			list, pos, _ := l.strList(f, l.file)
			var uris []string
			for i, u := range list {
				u = strings.TrimSpace(u)
				if msg := checkReportURI(u); msg != "" {
					l.errorf(pos[i], "dmarc %s: %q %s", f.key, u, msg)
					continue
				}
				uris = append(uris, u)
			}
			if f.key == "rua" {
				m.RUA = uris
			} else {
				m.RUF = uris
			}
		case "adkim", "aspf":
			if v, ok := l.str(f, l.file); ok && l.oneOf(l.at(f), "dmarc "+f.key, v, []string{"relaxed", "strict"}) {
				if f.key == "adkim" {
					m.ADKIM = v
				} else {
					m.ASPF = v
				}
			}
		case "percent":
			if i, ok := l.integer(f, l.file); ok {
				if i < 0 || i > 100 {
					l.errorf(l.at(f), "dmarc percent must be 0..100, not %d", i)
				} else {
					m.Percent = int32(i)
				}
			}
		case "fo":
			if v, ok := l.str(f, l.file); ok {
				if !foRE.MatchString(v) {
					l.errorf(l.at(f), "dmarc fo %q is not valid: options 0, 1, d, s separated by ':'", v)
				} else {
					m.FO = v
				}
			}
		case "ri":
			if i, ok := l.integer(f, l.file); ok {
				if i < 1 || i > maxTTL {
					l.errorf(l.at(f), "dmarc ri must be a positive number of seconds, not %d", i)
				} else {
					m.RI = uint32(i)
				}
			}
		case "state":
			if v, ok := l.state(f, []string{"present", "absent"}); ok {
				m.State = v
			}
		}
	}
	if m.Policy == "" && m.State == "" && !hasKey(fields, "policy") {
		l.errorf(e.pos, "dmarc: policy is required (none, quarantine or reject)")
	}
	l.d.DMARC = m
}

// checkReportURI says what is wrong with a DMARC report URI, or "".
func checkReportURI(u string) string {
	if !strings.HasPrefix(strings.ToLower(u), "mailto:") {
		return "is not a mailto: URI"
	}
	addr := u[len("mailto:"):]
	if i := strings.LastIndexByte(addr, '!'); i >= 0 {
		addr = addr[:i] // size limit, e.g. !10m
	}
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return "has no address"
	}
	if strings.ContainsAny(u, ",; \t") {
		return "contains ',', ';' or a space (escape them as %2C, %3B)"
	}
	return ""
}

func (l *domainLoader) ptr(e entry) {
	fields, ok := l.mapping(node{l.file, e.node}, "ptr", []string{"provider", "zone", "zones", "mode"})
	if !ok {
		return
	}
	p := &PTR{Pos: e.pos}
	good := true
	zone := func(pos Pos, s string) {
		z := normName(s)
		// RFC 2317 classless zones name their range with '/' ("0/26.…").
		first, rest, _ := strings.Cut(z, ".")
		switch msg := checkName(strings.Replace(first, "/", "-", 1) + "." + rest); {
		case msg != "":
			l.errorf(pos, "ptr zone %q is not a valid DNS name: %s", s, msg)
			good = false
		case !inZone(z, "in-addr.arpa") && !inZone(z, "ip6.arpa"):
			l.errorf(pos, "ptr zone %s is not a reverse zone (under in-addr.arpa or ip6.arpa)", z)
			good = false
		case contains(p.Zones, z):
			l.errorf(pos, "ptr zone %s is listed twice", z)
			good = false
		default:
			p.Zones = append(p.Zones, z)
		}
	}
	for _, f := range fields {
		switch f.key {
		case "provider":
			if s, ok := l.str(f, l.file); ok {
				if _, known := l.cfg.Providers[s]; !known {
					l.errorf(l.at(f), "unknown provider %q%s", s, suggest(s, providerNames(l.cfg)))
					good = false
				}
				p.Provider = s
			}
		case "zone":
			if hasKey(fields, "zones") {
				l.errorf(f.pos, "ptr: give zone or zones, not both")
				good = false
				continue
			}
			if s, ok := l.str(f, l.file); ok {
				zone(l.at(f), s)
			}
		case "zones":
			list, pos, _ := l.strList(f, l.file)
			for i, s := range list {
				zone(pos[i], s)
			}
			if len(list) == 0 {
				l.errorf(f.pos, "ptr: zones is empty")
				good = false
			}
		case "mode":
			if s, ok := l.str(f, l.file); ok && l.oneOf(l.at(f), "ptr mode", s, []string{"check", "off"}) {
				if s == "check" {
					s = ""
				}
				p.Mode = s
			}
		}
	}
	if len(p.Zones) > 0 {
		p.Zone = p.Zones[0]
	}
	if (p.Provider == "") != (len(p.Zones) == 0) && good {
		l.errorf(e.pos, "ptr: give provider and zone together (a delegated reverse zone) or neither")
	}
	if p.Mode == "off" && (p.Provider != "" || len(p.Zones) > 0) {
		l.errorf(e.pos, "ptr: mode off with provider/zone: remove one or the other")
	}
	if p.Mode == "off" && p.Provider == "" && p.Zone == "" && p.Zones == nil {
		// `mode: off` alone, as most policies that say anything of PTR
		// have it: one shared value, read only (nothing compiles from
		// it, so its place is not kept), not 96 bytes a policy.
		p = &ptrOff
	}
	l.d.PTR = p
}

// ptrOff is the PTR element of every policy with `ptr: {mode: off}` alone.
var ptrOff = PTR{Mode: "off"}

// loadedSets are the RRsets the load compiled for d (nil: none).
func (d *Domain) loadedSets() []RRset {
	switch {
	case d.compiledFor != d:
		return nil
	case d.nCompiled == 0:
		return []RRset{}
	}
	return unsafe.Slice(d.compiled, d.nCompiled)
}

// keepSets records sets as the RRsets the load compiled for d.
func (d *Domain) keepSets(sets []RRset) {
	d.compiled, d.nCompiled, d.compiledFor = unsafe.SliceData(sets), uint32(len(sets)), d
}

// checkClaims reports two policies wanting the same RRset.
func (c *collector) checkClaims(domains []*Domain) {
	// Two policies can want the same RRset only in a zone both have sets
	// in: find those zones first, with a lookup per zone of each policy
	// rather than one per RRset (100,000 policies in as many zones want
	// half a million RRsets and share none), counting the sets in each so
	// that a shared zone's claims go to a map made to size once (100,000
	// policies in one zone: growing it cost more than the claims).
	type place struct{ provider, zone string }
	type spread struct {
		first  string // the first domain with sets there
		sets   int    // of every domain
		shared bool
	}
	places := make(map[place]spread, len(domains))
	nShared := 0
	forRuns := func(d *Domain, each func(p place, run []RRset)) {
		rrs := d.loadedSets()
		for i := 0; i < len(rrs); { // sets are sorted by provider and zone
			p := place{rrs[i].Provider, rrs[i].Zone}
			j := i + 1
			for j < len(rrs) && rrs[j].Provider == p.provider && rrs[j].Zone == p.zone {
				j++
			}
			each(p, rrs[i:j])
			i = j
		}
	}
	for _, d := range domains {
		forRuns(d, func(p place, run []RRset) {
			s, ok := places[p]
			switch {
			case !ok:
				s.first = d.Domain
			case s.first != d.Domain && !s.shared:
				s.shared = true
				nShared++
			}
			s.sets += len(run)
			places[p] = s
		})
	}
	if nShared == 0 {
		return
	}
	type nameType struct{ name, typ string }
	type claim struct { // the first RRset's domain and place, not the whole RRset
		domain string
		pos    Pos
	}
	owners := make(map[place]map[nameType]claim, nShared)
	for p, s := range places {
		if s.shared {
			owners[p] = make(map[nameType]claim, s.sets)
		}
	}
	for _, d := range domains {
		forRuns(d, func(p place, run []RRset) {
			owner := owners[p]
			if owner == nil {
				return
			}
			for i := range run {
				r := &run[i]
				k := nameType{r.Name, r.Type}
				if prev, dup := owner[k]; dup {
					if prev.domain != d.Domain {
						c.errorf(r.PosIn(d), "%s %s in zone %s (provider %s) is also wanted by domain %s at %s",
							r.Name, r.Type, r.Zone, r.Provider, prev.domain, prev.pos)
					}
					continue
				}
				owner[k] = claim{d.Domain, r.PosIn(d)}
			}
		})
	}
}
