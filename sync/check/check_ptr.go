package check

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"

	"github.com/maildns/maildns/policy"
)

// KindPTR is the finding kind of the reverse-DNS check.
const KindPTR = "ptr"

// ptrTarget is one address of the domain's own mail hosts and the names its
// PTR may carry (several hosts may share an address; any of them will do).
type ptrTarget struct {
	ip    netip.Addr
	hosts []string // FQDNs with trailing dot, in policy order
}

// ptrTargets lists every address of every in-domain mail host, in policy
// order. Outside hosts are someone else's to keep.
func ptrTargets(d *policy.Domain) []ptrTarget {
	var out []ptrTarget
	index := map[netip.Addr]int{}
	for _, h := range d.MailHosts {
		if h.Outside(d.Domain) {
			continue
		}
		name := h.FQDN(d.Domain)
		for _, s := range append(append([]string(nil), h.IPv4...), h.IPv6...) {
			ip, err := netip.ParseAddr(s)
			if err != nil {
				continue // policy validation reports it
			}
			ip = ip.Unmap()
			if i, ok := index[ip]; ok {
				if !containsName(out[i].hosts, name) {
					out[i].hosts = append(out[i].hosts, name)
				}
				continue
			}
			index[ip] = len(out)
			out = append(out, ptrTarget{ip: ip, hosts: []string{name}})
		}
	}
	return out
}

// CheckPTR verifies forward-confirmed reverse DNS of every address of the
// domain's mail hosts.
//
// Managed mode (ptr.provider set): the engine plans the PTR RRsets of the
// delegated reverse zone like any other; what differs in the zone is drift it
// corrects, not a finding. The check only makes sure the planned PTR confirms
// forward: the name it gives resolves back to the address. An address the
// policy plans no PTR for (outside the delegated zone, often the IPv6 one) is
// checked live as below.
//
// Checked mode: the PTR is looked up through the resolvers (following an RFC
// 2317 CNAME); a missing or wrong one is an `action` finding with a request to
// send to whoever serves the reverse zone; a right one whose forward lookup
// misses the address is an `error` (the operator's own A/AAAA is wrong) unless
// the policy publishes that address and the engine is about to fix it.
func CheckPTR(ctx context.Context, env *Env, d *policy.Domain) []Finding {
	if d.PTR != nil && d.PTR.Mode == "off" {
		return nil
	}
	targets := ptrTargets(d)
	if len(targets) == 0 {
		return nil
	}
	c := &ptrCheck{env: env, domain: d.Domain, log: env.Logger}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	managed := d.PTR != nil && d.PTR.Provider != ""
	var out []Finding
	var live []ptrTarget
	for _, t := range targets {
		if managed {
			if set := desiredPTR(env.Desired, t.ip); set != nil {
				out = append(out, c.managed(ctx, t, set.Values, set.Absent)...)
				continue
			}
		}
		live = append(live, t)
	}
	if len(live) == 0 {
		return out
	}
	if !env.Live {
		ips := make([]string, len(live))
		for i, t := range live {
			ips[i] = t.ip.String()
		}
		return append(out, c.finding(SevInfo, strings.Join(ips, " "), "skipped: live checks are off"))
	}
	for _, t := range live {
		out = append(out, c.checked(ctx, t)...)
	}
	return out
}

type ptrCheck struct {
	env    *Env
	domain string
	log    *slog.Logger
}

func (c *ptrCheck) finding(sev, subject, format string, args ...any) Finding {
	return Finding{Severity: sev, Kind: KindPTR, Domain: c.domain, Subject: subject, Message: fmt.Sprintf(format, args...)}
}

// managed verifies the PTR values the policy plans for t.ip.
func (c *ptrCheck) managed(ctx context.Context, t ptrTarget, planned []string, absent bool) []Finding {
	if absent || len(planned) == 0 {
		return nil
	}
	ip := t.ip.String()
	var out []Finding
	if len(planned) > 1 {
		out = append(out, c.finding(SevWarning, ip,
			"PTR of %s is planned with %d names (%s); many receivers use only the first",
			ip, len(planned), strings.Join(planned, ", ")))
	}
	for _, name := range planned {
		name = fqdn(name)
		if addrs, ok := desiredAddrs(c.env.Desired, name, t.ip); ok {
			if !containsAddr(addrs, t.ip) {
				out = append(out, c.finding(SevError, ip,
					"PTR of %s is planned as %s, but the policy publishes no %s %s at %s (forward-confirmed reverse DNS would fail)",
					ip, name, addrType(t.ip), ip, name))
			}
			continue
		}
		// A name the policy does not publish: ask, when there is anyone to ask
		// (the zone resolver answers zones read this run even offline).
		if c.env.Resolver == nil {
			continue
		}
		addrs, err := lookupAddrs(ctx, c.env.Resolver, name, t.ip)
		switch {
		case err != nil && c.env.Live:
			out = append(out, c.finding(SevWarning, ip,
				"could not verify that %s resolves to %s: %v", name, ip, err))
		case err != nil:
			c.log.DebugContext(ctx, "ptr forward check skipped offline", "ip", ip, "name", name, "error", err)
		case !containsAddr(addrs, t.ip):
			out = append(out, c.finding(SevError, ip,
				"PTR of %s is planned as %s, but %s", ip, name, describeForward(name, t.ip, addrs)))
		}
	}
	return out
}

// checked looks the PTR of t.ip up live and confirms it forward.
func (c *ptrCheck) checked(ctx context.Context, t ptrTarget) []Finding {
	ip := t.ip.String()
	r := c.env.Resolver
	if r == nil {
		return []Finding{c.finding(SevWarning, ip, "could not verify PTR of %s: no resolver", ip)}
	}
	owner, have, err := chase(ctx, r, policy.ReverseName(t.ip), "PTR")
	if err != nil {
		return []Finding{c.finding(SevWarning, ip, "could not verify PTR of %s: %v", ip, err)}
	}
	match := ""
	for _, h := range have {
		if containsName(t.hosts, h) {
			match = fqdn(h)
			break
		}
	}
	var out []Finding
	if match == "" {
		out = append(out, c.ispAction(ctx, t, owner, have))
	}
	if len(have) > 1 {
		out = append(out, c.finding(SevWarning, ip,
			"%s has %d PTR records (%s); many receivers use only the first, keep one",
			ip, len(have), strings.Join(have, ", ")))
	}
	if match == "" {
		return out
	}
	addrs, err := lookupAddrs(ctx, r, match, t.ip)
	if err != nil {
		return append(out, c.finding(SevWarning, ip,
			"could not verify that %s resolves to %s: %v", match, ip, err))
	}
	if containsAddr(addrs, t.ip) {
		return out
	}
	if want, ok := desiredAddrs(c.env.Desired, match, t.ip); ok && containsAddr(want, t.ip) {
		// The policy publishes the address at the host: the engine corrects
		// the forward record as drift, which the plan shows.
		return out
	}
	return append(out, c.finding(SevError, ip,
		"PTR of %s is %s, but %s (forward-confirmed reverse DNS fails)", ip, match, describeForward(match, t.ip, addrs)))
}

// ispAction builds the `action` finding for a missing or wrong PTR, with the
// request to send to whoever serves the reverse zone, and logs it.
func (c *ptrCheck) ispAction(ctx context.Context, t ptrTarget, owner string, have []string) Finding {
	ip := t.ip.String()
	want := t.hosts[0]
	wantText := strings.Join(t.hosts, " or ")
	var msg string
	if len(have) == 0 {
		msg = fmt.Sprintf("%s has no PTR, want %s", ip, wantText)
		if t.ip.Is6() {
			msg += " (an IPv6 address needs its own PTR, a common omission)"
		}
	} else {
		msg = fmt.Sprintf("PTR of %s is %s, want %s", ip, strings.Join(have, ", "), wantText)
	}
	current := "none"
	if len(have) > 0 {
		current = strings.Join(have, ", ")
	}
	req := fmt.Sprintf("Please set the reverse DNS (PTR) of %s to %s (currently: %s).", ip, want, current)

	auth, err := findReverseAuthority(ctx, c.env.Resolver, owner)
	switch {
	case err != nil:
		c.log.DebugContext(ctx, "reverse zone authority not found", "ip", ip, "error", err)
	case auth != nil:
		req += " " + auth.String()
		servers := auth.NS
		if len(servers) == 0 && auth.MName != "" {
			servers = []string{auth.MName}
		}
		msg += fmt.Sprintf("; reverse zone %s", auth.Zone)
		if len(servers) > 0 {
			msg += " at " + strings.Join(servers, ", ")
		}
	}
	// SPEC §5: domain ip have want isp_request. The engine's logger for a
	// domain's checks already carries domain (as the first key).
	c.log.WarnContext(ctx, "ptr needs ISP action",
		"ip", ip, "have", strings.Join(have, ","), "want", want, "isp_request", req)
	f := c.finding(SevAction, ip, "%s", msg)
	f.ISPRequest = req
	return f
}

// describeForward says what name resolves to, for a message about ip.
func describeForward(name string, ip netip.Addr, addrs []netip.Addr) string {
	typ := addrType(ip)
	if len(addrs) == 0 {
		return fmt.Sprintf("%s has no %s record", name, typ)
	}
	return fmt.Sprintf("%s does not resolve to %s (%s: %s)", name, ip, typ, addrList(addrs))
}
