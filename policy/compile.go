package policy

import (
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unsafe"
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

func compile(d *Domain) ([]RRset, []*Error) { return compileIn(d, nil, nil) }

// compileIn is compile within a load: the TXT value of a key file's key
// is the one the load made for that file (kc nil: made here), and the sets
// and the strings made are the loader's arena's (nil: allocated). Within
// a load, the strings of d that a record holds verbatim (an inline DKIM
// key, DMARC report URIs, the mail host addresses in the SPF record) are
// made substrings of the record: the policy keeps them once.
func compileIn(d *Domain, kc *keyCache, a *loadArena) ([]RRset, []*Error) {
	var sets *rrsetBlock
	var strs *strArena
	if a != nil {
		sets, strs = &a.sets, &a.strs
	}
	// Room for the sets but PTRs (which may grow it): an RRset is large,
	// growing the slice copies every one, and room left unused is kept as
	// long as the sets, the run.
	out := sets.take(setsWanted(d))
	// The one-value sets (MX of one host, SPF, each DKIM key, DMARC) take
	// their Values from one block.
	var block []string
	one := func(v string) []string {
		if block == nil {
			block = make([]string, 0, 3+len(d.DKIM))
		}
		block = append(block, v)
		return block[len(block)-1 : len(block) : len(block)]
	}
	var errs []*Error
	ttlOr := func(t time.Duration) time.Duration {
		if t > 0 {
			return t
		}
		return d.TTL
	}
	add := func(r RRset) {
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
	// atJoin returns the zone-relative name of label+suffix under the
	// domain ("" = the domain), made in the arena.
	atJoin := func(label, suffix string) string {
		if label == "" && suffix == "" {
			return relName(d.Domain, d.Zone)
		}
		if d.Zone == d.Domain {
			// relName of label.domain in the zone of the domain.
			if suffix == "" {
				return label
			}
			return strs.joined(label, suffix)
		}
		// relName(label.domain, zone): the domain's own relative name
		// (a substring of it) under label.
		if rel := relName(d.Domain, d.Zone); rel != "@" {
			return strs.concat(label, suffix, ".", rel)
		}
		return strs.concat(label, suffix)
	}
	// at returns the zone-relative name of label under the domain ("" = the domain).
	at := func(label string) string {
		if d.Zone == d.Domain && label == "" {
			return "@"
		}
		return atJoin(label, "")
	}

	if d.Parked {
		add(RRset{Name: at(""), Type: "MX", Values: parkedValues[0:1:1], Element: ElemMX, Line: lineOf(d.Pos)})
		add(RRset{Name: at(""), Type: "TXT", Values: parkedValues[1:2:2], Own: OwnPrefix, Element: ElemSPF, Line: lineOf(d.Pos)})
		add(RRset{Name: at("_dmarc"), Type: "TXT", Values: parkedValues[2:3:3], Element: ElemDMARC, Line: lineOf(d.Pos)})
		sortRRsets(out)
		return out, nil
	}

	// Mail hosts: A and AAAA for the hosts in the domain.
	for _, h := range d.MailHosts {
		if h.Outside(d.Domain) {
			continue
		}
		var name string
		if h.Name == "" || h.Name == "@" {
			name = at("")
		} else if !strings.HasSuffix(h.Name, ".") {
			name = at(strings.ToLower(h.Name))
		} else {
			name = relName(strings.TrimSuffix(h.FQDN(d.Domain), "."), d.Zone)
		}
		if len(h.IPv4) > 0 {
			add(RRset{Name: name, Type: "A", TTL: ttlOr(h.TTL), Values: addrValues(h.IPv4), Element: ElemMailHosts, Line: h.Line})
		}
		if len(h.IPv6) > 0 {
			add(RRset{Name: name, Type: "AAAA", TTL: ttlOr(h.TTL), Values: addrValues(h.IPv6), Element: ElemMailHosts, Line: h.Line})
		}
	}

	// MX: as written, or priority 10 for each mail host.
	var mx []string
	var mxLine int32
	if d.MX != nil {
		if len(d.MX) == 1 {
			mx = one(mxValueIn(strs, d.MX[0].Priority, d.MX[0].Host, d.Domain))
		} else {
			for _, m := range d.MX {
				mx = append(mx, mxValueIn(strs, m.Priority, m.Host, d.Domain))
			}
		}
		if len(d.MX) > 0 {
			mxLine = d.MX[0].Line
		}
	} else {
		if len(d.MailHosts) == 1 {
			mx = one(mxValueIn(strs, DefaultMXPriority, d.MailHosts[0].Name, d.Domain))
		} else {
			for _, h := range d.MailHosts {
				mx = append(mx, mxValueIn(strs, DefaultMXPriority, h.Name, d.Domain))
			}
		}
		if len(d.MailHosts) > 0 {
			mxLine = d.MailHosts[0].Line
		}
	}
	if len(mx) > 0 {
		add(RRset{Name: at(""), Type: "MX", Values: mx, Element: ElemMX, Line: mxLine})
	}

	if s := d.SPF; s != nil {
		r := RRset{Name: at(""), Type: "TXT", Own: OwnPrefix, Element: ElemSPF, Line: s.Line}
		if s.State == "absent" {
			r.Absent = true
		} else {
			var buf [256]byte
			var rec string
			if hostAddrs(d) {
				rec = strs.bytes(appendSPF(buf[:0], d))
			} else {
				// The same for every policy that writes s: kept once.
				rec = strs.once(appendSPF(buf[:0], d))
			}
			r.Values = one(rec)
			if a != nil && s.MailHosts {
				for i := range d.MailHosts {
					h := &d.MailHosts[i]
					within(rec, h.IPv4)
					within(rec, h.IPv6)
				}
				for j := range out {
					// The A and AAAA sets of a host of one address share
					// its slice; those of several have their own.
					if out[j].Element == ElemMailHosts && len(out[j].Values) > 1 {
						within(rec, out[j].Values)
					}
				}
			}
		}
		add(r)
	}

	for i, k := range d.DKIM {
		r := RRset{Name: atJoin(k.Selector, "._domainkey"), Type: "TXT", TTL: ttlOr(k.TTL), Element: ElemDKIM, Line: k.Line}
		switch k.State {
		case "absent":
			r.Absent = true
		case "retired":
			r.Values = []string{"v=DKIM1; p="}
		default:
			v, ok := "", false
			if kc != nil && k.KeyFile != "" {
				v, ok = kc.dkimTXT(k.KeyFile, k.KeyType, k.Key)
			}
			if !ok {
				v = dkimTXT(strs, k.KeyType, k.Key)
				if a != nil {
					d.DKIM[i].Key = v[len(v)-len(k.Key):]
				}
			}
			r.Values = one(v)
		}
		add(r)
	}

	if m := d.DMARC; m != nil {
		r := RRset{Name: at("_dmarc"), Type: "TXT", Element: ElemDMARC, Line: m.Line}
		if m.State == "absent" {
			r.Absent = true
		} else {
			rec, shared := "", false
			if a != nil {
				rec, shared = a.shared.dmarcRec[m]
			}
			if rec == "" {
				var buf [256]byte
				rec = strs.bytes(appendDMARC(buf[:0], m))
			}
			r.Values = one(rec)
			switch {
			case shared:
				a.shared.dmarcRec[m] = rec // the record of every policy that shares m
			case a != nil:
				within(rec, m.RUA)
				within(rec, m.RUF)
			}
		}
		add(r)
	}

	if t := d.TLSRPT; t != nil {
		r := RRset{Name: at("_smtp._tls"), Type: "TXT", Element: ElemTLSRPT, Line: lineOf(t.Pos)}
		if t.State == "absent" {
			r.Absent = true
		} else {
			r.Values = []string{TLSRPTRecord(t)}
		}
		add(r)
	}

	if b := d.BIMI; b != nil {
		r := RRset{Name: at(BIMIName(b)), Type: "TXT", Element: ElemBIMI, Line: lineOf(b.Pos)}
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
					errs = append(errs, Errorf(d.At(h.Line), "mail host %s: bad address %q", h.Name, a))
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
				Values: s.values, Element: ElemPTR, Line: lineOf(p.Pos)})
		}
	}
	compileMTASTSTLSA(d, add, at)
	sortRRsets(out)
	if len(out) == 0 {
		out = nil // as before the room was made: nothing wanted is nil
	}
	return out, errs
}

// setsWanted is the number of RRsets compile makes for d, PTRs aside.
func setsWanted(d *Domain) int {
	if d.Parked {
		return 3
	}
	n := len(d.DKIM)
	for _, p := range [...]bool{d.SPF != nil, d.DMARC != nil, d.TLSRPT != nil, d.BIMI != nil, d.MTASTS != nil,
		len(d.MX) > 0 || d.MX == nil && len(d.MailHosts) > 0} {
		if p {
			n++
		}
	}
	for i := range d.MailHosts {
		h := &d.MailHosts[i]
		if h.TLSA != nil {
			n++
		}
		if len(h.IPv4)+len(h.IPv6) == 0 || h.Outside(d.Domain) {
			continue
		}
		if len(h.IPv4) > 0 {
			n++
		}
		if len(h.IPv6) > 0 {
			n++
		}
	}
	return n
}

// parkedValues are the values of a parked domain's MX, SPF and DMARC
// sets, shared by every parked domain (read only, as every set's values).
var parkedValues = [3]string{"0 .", "v=spf1 -all", "v=DMARC1; p=reject; sp=reject"}

// SPFRecord is the SPF TXT value d publishes: "v=spf1", the mail host
// addresses (when spf.mail_hosts), the mechanisms, and the all mechanism.
func SPFRecord(d *Domain) string {
	if d.Parked {
		return "v=spf1 -all"
	}
	if d.SPF == nil {
		return ""
	}
	var buf [256]byte
	return string(appendSPF(buf[:0], d))
}

// appendSPF appends the SPF record of d (which has an spf element) to b.
func appendSPF(b []byte, d *Domain) []byte {
	s := d.SPF
	n := len("v=spf1 -all")
	for _, m := range s.Mechanisms {
		n += 1 + len(m)
	}
	if s.MailHosts {
		for _, h := range d.MailHosts {
			for _, a := range h.IPv4 {
				n += 5 + len(a)
			}
			for _, a := range h.IPv6 {
				n += 5 + len(a)
			}
		}
	}
	b = slices.Grow(b, n)
	b = append(b, "v=spf1"...)
	if s.MailHosts {
		// Each address once: a scan of those written for a few, a set
		// for many.
		type term struct{ prefix, addr string }
		var buf [8]term
		written := buf[:0]
		var seen map[term]bool
		add := func(prefix, a string) {
			t := term{prefix, a}
			if seen != nil {
				if seen[t] {
					return
				}
				seen[t] = true
			} else {
				if slices.Contains(written, t) {
					return
				}
				if written = append(written, t); len(written) > 16 {
					seen = map[term]bool{}
					for _, w := range written {
						seen[w] = true
					}
				}
			}
			b = append(b, ' ')
			b = append(b, prefix...)
			b = append(b, a...)
		}
		for _, h := range d.MailHosts {
			for _, a := range h.IPv4 {
				add("ip4:", a)
			}
			for _, a := range h.IPv6 {
				add("ip6:", a)
			}
		}
	}
	for _, m := range s.Mechanisms {
		b = append(b, ' ')
		b = append(b, m...)
	}
	b = append(b, ' ')
	b = append(b, allQualifier[s.All]...)
	return b
}

// hostAddrs reports whether d's SPF record has its mail hosts'
// addresses.
func hostAddrs(d *Domain) bool {
	if !d.SPF.MailHosts {
		return false
	}
	for i := range d.MailHosts {
		if len(d.MailHosts[i].IPv4)+len(d.MailHosts[i].IPv6) > 0 {
			return true
		}
	}
	return false
}

// within makes each of list that rec holds a substring of rec (equal,
// kept once).
func within(rec string, list []string) {
	for i, v := range list {
		if j := strings.Index(rec, v); j >= 0 && v != "" {
			list[i] = rec[j : j+len(v)]
		}
	}
}

// DMARCRecord is the DMARC TXT value of m, tags in the order v, p, sp,
// adkim, aspf, pct, rua, ruf, fo, ri; defaults are left out.
func DMARCRecord(m *DMARC) string {
	// Built in a buffer on the stack: the record kept is one allocation
	// of its own size.
	var a [256]byte
	return string(appendDMARC(a[:0], m))
}

// appendDMARC appends the DMARC record of m to b.
func appendDMARC(b []byte, m *DMARC) []byte {
	b = append(b, "v=DMARC1; p="...)
	b = append(b, m.Policy...)
	if m.SubdomainPolicy != "" {
		b = append(b, "; sp="...)
		b = append(b, m.SubdomainPolicy...)
	}
	if m.ADKIM == "strict" {
		b = append(b, "; adkim=s"...)
	}
	if m.ASPF == "strict" {
		b = append(b, "; aspf=s"...)
	}
	if m.Percent != 100 {
		b = append(b, "; pct="...)
		b = strconv.AppendInt(b, int64(m.Percent), 10)
	}
	for _, l := range [2]struct {
		tag  string
		uris []string
	}{{"; rua=", m.RUA}, {"; ruf=", m.RUF}} {
		for i, u := range l.uris {
			if i == 0 {
				b = append(b, l.tag...)
			} else {
				b = append(b, ',')
			}
			b = append(b, u...)
		}
	}
	if m.FO != "" {
		b = append(b, "; fo="...)
		b = append(b, m.FO...)
	}
	if m.RI > 0 {
		b = append(b, "; ri="...)
		b = strconv.AppendInt(b, int64(m.RI), 10)
	}
	return b
}

// rrsetBlock hands out the RRset slices of one load's policies from
// blocks of many: alone, a policy's six sets (1,104 bytes) took the next
// size class, 1,152. The sets of a load are kept, and dropped, together.
type rrsetBlock struct{ free []RRset }

// rrsetBlockLen is the number of RRsets in a block: as many as 64 KiB
// hold (a block of that size takes whole pages, nothing rounded up).
const rrsetBlockLen = 64 << 10 / int(unsafe.Sizeof(RRset{}))

// take returns an empty slice with room for n sets (b nil: allocated).
func (b *rrsetBlock) take(n int) []RRset {
	if b == nil {
		return make([]RRset, 0, n)
	}
	return blockRoom(&b.free, n, rrsetBlockLen, rrsetBlockLen/16)
}

// dkimTXT is the TXT value publishing a key of type kt (base64 p), made
// in the arena a (nil: an allocation of its own). It ends with p.
func dkimTXT(a *strArena, kt, p string) string {
	if kt == "" {
		kt = "rsa"
	}
	return a.concat("v=DKIM1; k=", kt, "; p=", p)
}

// rrsetLess orders RRsets by (Provider, Zone, Name, Type).
func rrsetLess(a, b *RRset) bool {
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
}

// mxValueIn is the MX value of host (as written in a policy) at priority,
// built in one piece in the arena a (nil: an allocation of its own).
func mxValueIn(a *strArena, priority int, host, domain string) string {
	var buf [8]byte
	pb := strconv.AppendInt(buf[:0], int64(priority), 10)
	p := unsafe.String(unsafe.SliceData(pb), len(pb))
	switch {
	case host == ".":
		return a.concat(p, " .")
	case strings.HasSuffix(host, "."):
		// The same for every policy that names the host: kept once.
		var b [128]byte
		return a.once(append(append(append(b[:0], p...), ' '), strings.ToLower(host)...))
	case host == "" || host == "@":
		return a.concat(p, " ", domain, ".")
	default:
		return a.concat(p, " ", strings.ToLower(host), ".", domain, ".")
	}
}

// addrValues are the values of a mail host's A or AAAA set: its
// addresses, sorted, each once. One address is shared with the host (the
// full slice expression keeps an append from writing into it).
func addrValues(addrs []string) []string {
	if len(addrs) == 1 {
		return addrs[:1:1]
	}
	return append([]string(nil), addrs...)
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
	if len(rs) <= 12 {
		// A policy's few sets, mostly in order already: an insertion sort
		// (stable) that compares in place and moves only what is out of it.
		for i := 1; i < len(rs); i++ {
			for j := i; j > 0 && rrsetLess(&rs[j], &rs[j-1]); j-- {
				rs[j], rs[j-1] = rs[j-1], rs[j]
			}
		}
		return
	}
	slices.SortStableFunc(rs, func(a, b RRset) int {
		if c := strings.Compare(a.Provider, b.Provider); c != 0 {
			return c
		}
		if c := strings.Compare(a.Zone, b.Zone); c != 0 {
			return c
		}
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Type, b.Type)
	})
}
