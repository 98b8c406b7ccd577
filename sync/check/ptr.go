package check

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	gosync "sync"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/internal/canon"
	"github.com/maildns/maildns/policy"
)

// maxCNAMEHops bounds how many CNAMEs a PTR or forward lookup follows when the
// resolver did not follow them itself (an RFC 2317 classless delegation is one).
const maxCNAMEHops = 8

// sameName compares two domain names the way DNS does: case-insensitive,
// with or without the trailing dot.
func sameName(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(b, "."))
}

// fqdn returns name lower case with exactly one trailing dot.
func fqdn(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" || name == "." {
		return "."
	}
	return strings.TrimSuffix(name, ".") + "."
}

// chase looks up name/qtype and follows a CNAME chain the resolver left
// unfollowed. It returns the name that finally owns the answer (the end of the
// chain: where the records are, or should be) and the qtype values there.
func chase(ctx context.Context, r Resolver, name, qtype string) (owner string, values []string, err error) {
	owner = fqdn(name)
	seen := map[string]bool{}
	for hop := 0; ; hop++ {
		seen[owner] = true
		ans, err := r.Lookup(ctx, owner, qtype)
		if err != nil {
			return owner, nil, err
		}
		end, vals := walkAnswer(owner, qtype, ans.Records)
		if len(vals) > 0 || end == owner || seen[end] || hop >= maxCNAMEHops {
			return end, vals, nil
		}
		// The resolver handed back a CNAME without following it.
		owner = end
	}
}

// walkAnswer follows the CNAME chain from qname through records and returns
// its end and the qtype values found there. A resolver that reports records
// under a name other than the chain's end (some do for the answer section of
// a chased CNAME) still has its qtype values taken.
func walkAnswer(qname, qtype string, records []libdns.RR) (string, []string) {
	cur := fqdn(qname)
	for range len(records) + 1 {
		next := ""
		for _, rr := range records {
			if strings.EqualFold(rr.Type, "CNAME") && sameName(rr.Name, cur) {
				next = fqdn(rr.Data)
				break
			}
		}
		if next == "" || next == cur {
			break
		}
		cur = next
	}
	var at, any []string
	for _, rr := range records {
		if !strings.EqualFold(rr.Type, qtype) {
			continue
		}
		v := rr.Data
		if qtype == "PTR" || qtype == "NS" || qtype == "CNAME" {
			v = fqdn(v)
		}
		any = append(any, v)
		if sameName(rr.Name, cur) {
			at = append(at, v)
		}
	}
	if len(at) == 0 {
		at = any
	}
	return cur, dedupe(at)
}

func dedupe(list []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range list {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// addrType is the forward record type of ip: "A" or "AAAA".
func addrType(ip netip.Addr) string {
	if ip.Unmap().Is4() {
		return "A"
	}
	return "AAAA"
}

// lookupAddrs resolves name's A or AAAA (the type of family) through r.
func lookupAddrs(ctx context.Context, r Resolver, name string, family netip.Addr) ([]netip.Addr, error) {
	_, vals, err := chase(ctx, r, name, addrType(family))
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, v := range vals {
		if a, err := netip.ParseAddr(v); err == nil {
			out = append(out, a.Unmap())
		}
	}
	return out, nil
}

func containsAddr(list []netip.Addr, ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, a := range list {
		if a.Unmap() == ip {
			return true
		}
	}
	return false
}

func addrList(list []netip.Addr) string {
	s := make([]string, len(list))
	for i, a := range list {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

// reverseAuthority is who serves the reverse zone that holds a PTR: what the
// ISP request names so that the request reaches someone who can act on it.
type reverseAuthority struct {
	Zone    string   // no trailing dot, e.g. "113.0.203.in-addr.arpa"
	MName   string   // SOA primary, FQDN with dot
	Contact string   // SOA RNAME as a mail address, e.g. "hostmaster@isp.example"
	NS      []string // sorted FQDNs with dot
}

// String is the sentence of the ISP request that names the authority.
func (a *reverseAuthority) String() string {
	servers := a.NS
	if len(servers) == 0 && a.MName != "" {
		servers = []string{a.MName}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "The reverse zone %s", a.Zone)
	if len(servers) > 0 {
		fmt.Fprintf(&b, " is served by %s", strings.Join(servers, ", "))
	} else {
		b.WriteString(" has no name servers listed")
	}
	var notes []string
	if a.MName != "" && len(a.NS) > 0 && !containsName(a.NS, a.MName) {
		notes = append(notes, "primary "+a.MName)
	}
	if a.Contact != "" {
		notes = append(notes, "contact "+a.Contact)
	}
	if len(notes) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(notes, ", "))
	}
	if !strings.HasSuffix(b.String(), ".") {
		b.WriteString(".")
	}
	return b.String()
}

func containsName(list []string, name string) bool {
	for _, n := range list {
		if sameName(n, name) {
			return true
		}
	}
	return false
}

// findReverseAuthority walks up from name (the owner of a PTR, or where it
// should be: the end of the CNAME chain of an RFC 2317 delegation) asking for
// SOA until a zone apex answers, then asks that zone's NS. It stops below
// in-addr.arpa / ip6.arpa: those say nothing about who can set the PTR.
// The questions of the walk are asked a few at a time (an ip6.arpa name has
// up to 32 levels); the answer is the one the walk would stop at.
// It returns nil, nil when no zone was found.
func findReverseAuthority(ctx context.Context, r Resolver, name string) (*reverseAuthority, error) {
	var levels []string
	for cur := fqdn(name); !isReverseRoot(cur); cur = parentName(cur) {
		levels = append(levels, cur)
	}
	type result struct {
		soa *libdns.RR
		err error
	}
	results := make([]result, len(levels))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, authorityWalkParallel)
	var wg gosync.WaitGroup
	for i, level := range levels {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				results[i].err = ctx.Err()
				return
			}
			defer func() { <-sem }()
			ans, err := r.Lookup(ctx, level, "SOA")
			if err != nil {
				results[i].err = fmt.Errorf("looking up SOA of %s: %w", level, err)
				return
			}
			for _, rr := range ans.Records {
				if strings.EqualFold(rr.Type, "SOA") {
					results[i].soa = &rr
					return
				}
			}
		}()
	}
	wg.Wait()
	for i, res := range results {
		if res.err != nil {
			return nil, res.err
		}
		if res.soa == nil {
			continue
		}
		zone := fqdn(res.soa.Name)
		if res.soa.Name == "" || res.soa.Name == "@" {
			zone = levels[i]
		}
		a := &reverseAuthority{Zone: strings.TrimSuffix(zone, ".")}
		if f := strings.Fields(res.soa.Data); len(f) >= 2 {
			a.MName = fqdn(f[0])
			a.Contact = rnameMail(f[1])
		}
		if ns, err := r.Lookup(ctx, zone, "NS"); err == nil {
			_, vals := walkAnswer(zone, "NS", ns.Records)
			sort.Strings(vals)
			a.NS = vals
		}
		return a, nil
	}
	return nil, nil
}

// authorityWalkParallel is how many SOA questions of one walk are in flight.
const authorityWalkParallel = 8

func isReverseRoot(name string) bool {
	switch fqdn(name) {
	case "in-addr.arpa.", "ip6.arpa.", "arpa.", ".":
		return true
	}
	return false
}

// parentName drops the first label of an FQDN ("." stays ".").
func parentName(name string) string {
	name = fqdn(name)
	for i := 0; i < len(name)-1; i++ {
		switch name[i] {
		case '\\':
			i++ // an escaped character, e.g. "\."
		case '.':
			return name[i+1:]
		}
	}
	return "."
}

// rnameMail turns an SOA RNAME ("hostmaster.isp.example.",
// "john\.doe.isp.example.") into the mail address it encodes.
func rnameMail(rname string) string {
	rname = strings.TrimSuffix(strings.TrimSpace(rname), ".")
	if rname == "" {
		return ""
	}
	var local strings.Builder
	for i := 0; i < len(rname); i++ {
		c := rname[i]
		switch {
		case c == '\\' && i+1 < len(rname):
			i++
			local.WriteByte(rname[i])
		case c == '.':
			return local.String() + "@" + strings.ToLower(rname[i+1:])
		default:
			local.WriteByte(c)
		}
	}
	return local.String()
}

// desiredPTR finds the PTR RRset the policy plans for ip, in the delegated
// reverse zone. An RFC 2317 zone ("0-63.113.0.203.in-addr.arpa") holds the
// PTR of 203.0.113.25 at "25" although it is not an ancestor of the reverse
// name; both shapes match.
func desiredPTR(desired []policy.RRset, ip netip.Addr) *policy.RRset {
	rev := policy.ReverseName(ip)
	for i := range desired {
		set := &desired[i]
		if set.Element != policy.ElemPTR || !strings.EqualFold(set.Type, "PTR") {
			continue
		}
		abs := canon.AbsoluteName(set.Name, set.Zone)
		if sameName(abs, rev) {
			return set
		}
		if ip.Unmap().Is4() && classlessMatch(abs, set.Zone, rev) {
			return set
		}
	}
	return nil
}

// classlessMatch reports whether abs (a name in the RFC 2317 zone) is where the
// CNAME of rev ("25.113.0.203.in-addr.arpa.") points by the usual convention:
// the same last octet, in a zone one label below rev's /24 zone whose first
// label is not a plain octet ("0-63", "0/26", "sub"...).
func classlessMatch(abs, zone, rev string) bool {
	zone = fqdn(zone)
	octet, parent, _ := strings.Cut(fqdn(rev), ".")
	if !sameName(parentName(zone), parent) {
		return false
	}
	first, _, _ := strings.Cut(zone, ".")
	if isOctet(first) {
		return false
	}
	return sameName(abs, octet+"."+zone)
}

func isOctet(s string) bool {
	if s == "" || len(s) > 3 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// desiredAddrs returns the addresses of ip's family the policy publishes at
// name (an FQDN), and whether the policy manages that RRset at all.
func desiredAddrs(desired []policy.RRset, name string, family netip.Addr) ([]netip.Addr, bool) {
	typ := addrType(family)
	var out []netip.Addr
	managed := false
	for i := range desired {
		set := &desired[i]
		if !strings.EqualFold(set.Type, typ) || !sameName(canon.AbsoluteName(set.Name, set.Zone), name) {
			continue
		}
		managed = true
		if set.Absent {
			continue
		}
		for _, v := range set.Values {
			if a, err := netip.ParseAddr(v); err == nil {
				out = append(out, a.Unmap())
			}
		}
	}
	return out, managed
}
