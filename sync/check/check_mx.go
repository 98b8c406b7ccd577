package check

import (
	"cmp"
	"context"
	"errors"
	"net/netip"
	"strings"

	"github.com/maildns/maildns/internal/canon"
	"github.com/maildns/maildns/policy"
)

// CheckMX checks the domain's MX records, desired and live. Without
// lookups: a target that is an IP address (error, RFC 5321 §5.1); a null
// MX beside other MX records (error, RFC 7505 §3); a null MX with a
// preference other than 0 (warning). With lookups, for each target the
// policy does not itself publish addresses for: a target that is a CNAME
// (error, RFC 5321 §5.1, RFC 2181 §10.3), does not exist or has no A/AAAA
// (error); a failed lookup is a warning (could not verify). The subject is
// the target.
func CheckMX(ctx context.Context, env *Env, d *policy.Domain) []Finding {
	c := newMailCheck(env, d, KindMX)
	type target struct {
		host  string
		where string // "desired", "live" or "desired and live"
	}
	var targets []target
	index := map[string]int{}
	for _, set := range []struct {
		where  string
		values []string
	}{{SubjectDesired, c.desiredValues("mx", "", "MX")}, {SubjectLive, c.liveValues("", "MX")}} {
		null, others := false, 0
		for _, v := range set.values {
			pref, host, ok := strings.Cut(v, " ")
			if !ok {
				continue
			}
			host = strings.ToLower(host)
			if host == "." {
				null = true
				if pref != "0" {
					c.add(SevWarning, ".", "the %s null MX has preference %s: RFC 7505 §3 gives it 0", set.where, pref)
				}
				continue
			}
			others++
			if _, err := parseAddrLike(strings.TrimSuffix(host, ".")); err == nil {
				c.add(SevError, host, "the %s MX target %s is an IP address: an MX names a host (RFC 5321 §5.1), and senders look it up as a name", set.where, strings.TrimSuffix(host, "."))
				continue
			}
			if i, seen := index[host]; seen {
				if targets[i].where != set.where {
					targets[i].where = "desired and live"
				}
				continue
			}
			index[host] = len(targets)
			targets = append(targets, target{host, set.where})
		}
		if null && others > 0 {
			c.add(SevError, ".", "the %s MX records of %s mix a null MX with %d other MX: a null MX must stand alone (RFC 7505 §3)", set.where, d.Domain, others)
		}
	}
	var ask []target
	for _, t := range targets {
		if !c.policyAddresses(t.host) {
			ask = append(ask, t)
		}
	}
	if len(ask) == 0 {
		return c.out
	}
	if !env.Live || env.Resolver == nil {
		c.add(SevInfo, "", SkippedMessage)
		return c.out
	}
	for _, t := range ask {
		c.mxTarget(ctx, t.host, t.where)
	}
	return c.out
}

// parseAddrLike is netip.ParseAddr of what may be an address: an IPv4
// address starts with a digit, an IPv6 one has a colon. A host name (the
// usual MX target) is not parsed: its error alone was an allocation.
func parseAddrLike(s string) (netip.Addr, error) {
	if s == "" || (s[0] < '0' || s[0] > '9') && strings.IndexByte(s, ':') < 0 {
		return netip.Addr{}, errNotAddr
	}
	return netip.ParseAddr(s)
}

var errNotAddr = errors.New("not an IP address")

// policyAddresses reports whether the policy itself publishes A or AAAA at
// host (one of its mail hosts): the engine keeps those in place.
func (c *mailCheck) policyAddresses(host string) bool {
	for _, s := range c.env.Desired {
		if (s.Type == "A" || s.Type == "AAAA") && !s.Absent && len(s.Values) > 0 &&
			absoluteIs(s.Name, cmp.Or(s.Zone, c.zone), host) {
			return true
		}
	}
	return false
}

// absoluteIs is strings.EqualFold(canon.AbsoluteName(name, zone), host)
// without building the name (of ASCII names: Unicode case folding may
// change a name's length).
func absoluteIs(name, zone, host string) bool {
	if !isASCII(name) || !isASCII(zone) || !isASCII(host) {
		return strings.EqualFold(canon.AbsoluteName(name, zone), host)
	}
	if name == "" || name == "@" {
		name = ""
	} else if strings.HasSuffix(name, ".") {
		return strings.EqualFold(name, host)
	}
	zone = strings.TrimSuffix(zone, ".")
	if !strings.HasSuffix(host, ".") {
		return false
	}
	host = host[:len(host)-1]
	if name == "" {
		return strings.EqualFold(zone, host)
	}
	return len(host) == len(name)+1+len(zone) && host[len(name)] == '.' &&
		strings.EqualFold(host[:len(name)], name) && strings.EqualFold(host[len(name)+1:], zone)
}

func (c *mailCheck) mxTarget(ctx context.Context, host, where string) {
	addrs := 0
	nx := false
	for _, qt := range []string{"A", "AAAA"} {
		ans, err := c.env.Resolver.Lookup(ctx, host, qt)
		if err != nil {
			c.add(SevWarning, host, "could not verify the %s MX target %s (%s): %v", where, host, qt, err)
			return
		}
		if len(ans.Records) > 0 && ans.Records[0].Type == "CNAME" && strings.EqualFold(ans.Records[0].Name, host) {
			c.add(SevError, host, "the %s MX target %s is a CNAME (to %s): an MX must name a host with its own A/AAAA records (RFC 5321 §5.1, RFC 2181 §10.3)", where, host, ans.Records[0].Data)
			return
		}
		addrs += countType(ans.Records, qt)
		nx = nx || ans.Rcode == RcodeNXDomain
	}
	switch {
	case nx && addrs == 0:
		c.add(SevError, host, "the %s MX target %s does not exist (NXDOMAIN): mail to %s cannot be delivered there", where, host, c.d.Domain)
	case addrs == 0:
		c.add(SevError, host, "the %s MX target %s has no A or AAAA record: mail to %s cannot be delivered there", where, host, c.d.Domain)
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
