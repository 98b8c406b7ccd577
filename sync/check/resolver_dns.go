package check

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/internal/canon"
	"github.com/miekg/dns"
)

// LookupCounter is implemented by the resolvers of this package: Lookups
// counts the questions a resolver passed on (see each type).
type LookupCounter interface {
	Lookups() int64
}

// DefaultResolverTimeout is the time one server gets to answer one question.
const DefaultResolverTimeout = 5 * time.Second

// resolvConf is where the system's resolvers are read when none are configured.
var resolvConf = "/etc/resolv.conf"

// DNSResolver asks recursive resolvers: UDP with EDNS0, again over TCP when
// the answer is truncated. Servers are tried in order; a timeout, SERVFAIL
// or REFUSED from every server is an error.
type DNSResolver struct {
	servers []string
	timeout time.Duration
	err     error // why there are no servers
	lookups atomic.Int64
}

var _ Resolver = (*DNSResolver)(nil)

// NewDNSResolver returns a resolver that asks servers ("host:port", or a
// bare host for port 53); with none, those of /etc/resolv.conf. timeout is
// per server and question (0: DefaultResolverTimeout). A resolv.conf that
// cannot be read makes every Lookup fail with the reason.
func NewDNSResolver(servers []string, timeout time.Duration) Resolver {
	r := &DNSResolver{timeout: timeout}
	if r.timeout <= 0 {
		r.timeout = DefaultResolverTimeout
	}
	if len(servers) == 0 {
		cfg, err := dns.ClientConfigFromFile(resolvConf)
		if err != nil {
			r.err = fmt.Errorf("no resolvers configured and %s: %w", resolvConf, err)
			return r
		}
		for _, s := range cfg.Servers {
			servers = append(servers, net.JoinHostPort(s, cfg.Port))
		}
		if len(servers) == 0 {
			r.err = fmt.Errorf("no resolvers configured and no nameserver in %s", resolvConf)
		}
	}
	for _, s := range servers {
		if _, _, err := net.SplitHostPort(s); err != nil {
			s = net.JoinHostPort(strings.Trim(s, "[]"), "53")
		}
		r.servers = append(r.servers, s)
	}
	return r
}

// Lookups returns how many questions were sent (one per Lookup, and one per
// CNAME target the server's answer did not complete).
func (r *DNSResolver) Lookups() int64 { return r.lookups.Load() }

// Lookup asks for name (fully qualified) and qtype.
func (r *DNSResolver) Lookup(ctx context.Context, name, qtype string) (Answer, error) {
	if r.err != nil {
		return Answer{}, r.err
	}
	qt, ok := dns.StringToType[strings.ToUpper(qtype)]
	if !ok {
		return Answer{}, fmt.Errorf("looking up %s: unknown type %q", name, qtype)
	}
	name = strings.ToLower(dns.Fqdn(name))
	var ans Answer
	cur := name
	seen := map[string]bool{}
	for hop := 0; hop < 8; hop++ {
		if seen[cur] {
			return Answer{}, fmt.Errorf("looking up %s %s: CNAME loop at %s", name, qtype, cur)
		}
		seen[cur] = true
		msg, err := r.exchange(ctx, cur, qt)
		if err != nil {
			return Answer{}, fmt.Errorf("looking up %s %s: %w", cur, qtype, err)
		}
		ans.Rcode = msg.Rcode
		next, recs, err := dnsFollowCNAMEs(msg.Answer, cur, qt)
		if err != nil {
			return Answer{}, fmt.Errorf("looking up %s %s: %w", name, qtype, err)
		}
		ans.Records = append(ans.Records, recs...)
		if next == "" || msg.Rcode != dns.RcodeSuccess {
			return ans, nil
		}
		cur = next // the chain ends at a CNAME the server did not follow
	}
	return Answer{}, fmt.Errorf("looking up %s %s: CNAME chain too long", name, qtype)
}

// dnsFollowCNAMEs follows the CNAME chain from name through the answer section and
// returns its records in order; next is the CNAME target still to be asked
// when the chain ends at a name with no data in the answer.
func dnsFollowCNAMEs(answer []dns.RR, name string, qt uint16) (next string, recs []libdns.RR, err error) {
	cur := name
	for hop := 0; hop < 16; hop++ {
		var cname string
		found := false
		for _, rr := range answer {
			h := rr.Header()
			if !strings.EqualFold(h.Name, cur) {
				continue
			}
			switch {
			case h.Rrtype == qt:
				rec, err := dnsToLibdns(rr)
				if err != nil {
					return "", nil, err
				}
				recs = append(recs, rec)
				found = true
			case h.Rrtype == dns.TypeCNAME && cname == "":
				cname = strings.ToLower(rr.(*dns.CNAME).Target)
				rec, err := dnsToLibdns(rr)
				if err != nil {
					return "", nil, err
				}
				recs = append(recs, rec)
			}
		}
		if found || cname == "" || qt == dns.TypeCNAME {
			return "", recs, nil
		}
		cur = cname
		if !dnsHasName(answer, cur) {
			return cur, recs, nil
		}
	}
	return "", nil, errors.New("CNAME chain too long")
}

func dnsHasName(answer []dns.RR, name string) bool {
	for _, rr := range answer {
		if strings.EqualFold(rr.Header().Name, name) {
			return true
		}
	}
	return false
}

// exchange asks each server in turn until one gives a usable answer
// (NOERROR or NXDOMAIN).
func (r *DNSResolver) exchange(ctx context.Context, name string, qt uint16) (*dns.Msg, error) {
	r.lookups.Add(1)
	m := new(dns.Msg)
	m.SetQuestion(name, qt)
	m.RecursionDesired = true
	m.SetEdns0(1232, false)
	var errs []error
	for _, srv := range r.servers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		resp, err := r.ask(ctx, "udp", m, srv)
		if err == nil && resp.Truncated {
			resp, err = r.ask(ctx, "tcp", m, srv)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", srv, err))
			continue
		}
		switch resp.Rcode {
		case dns.RcodeSuccess, dns.RcodeNameError:
			return resp, nil
		default:
			errs = append(errs, fmt.Errorf("%s answered %s", srv, dnsRcodeName(resp.Rcode)))
		}
	}
	return nil, errors.Join(errs...)
}

func (r *DNSResolver) ask(ctx context.Context, netw string, m *dns.Msg, srv string) (*dns.Msg, error) {
	c := &dns.Client{Net: netw, Timeout: r.timeout, UDPSize: 1232}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	resp, _, err := c.ExchangeContext(ctx, m, srv)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("timed out after %s (%s)", r.timeout, netw)
		}
		return nil, err
	}
	if resp.Id != m.Id {
		return nil, errors.New("answer with the wrong id")
	}
	return resp, nil
}

func dnsRcodeName(rc int) string {
	if s, ok := dns.RcodeToString[rc]; ok {
		return s
	}
	return "rcode " + strconv.Itoa(rc)
}

// dnsToLibdns converts an answer record to the canonical form with an absolute name.
func dnsToLibdns(rr dns.RR) (libdns.RR, error) {
	h := rr.Header()
	typ := dns.TypeToString[h.Rrtype]
	var raw string
	switch v := rr.(type) {
	case *dns.A:
		raw = v.A.String()
	case *dns.AAAA:
		raw = v.AAAA.String()
	case *dns.MX:
		raw = strconv.Itoa(int(v.Preference)) + " " + v.Mx
	case *dns.CNAME:
		raw = v.Target
	case *dns.PTR:
		raw = v.Ptr
	case *dns.NS:
		raw = v.Ns
	case *dns.TXT:
		var b strings.Builder
		for _, s := range v.Txt {
			b.WriteString(dnsUnescapeTXT(s))
		}
		return libdns.RR{Name: strings.ToLower(h.Name), Type: typ, TTL: time.Duration(h.Ttl) * time.Second, Data: b.String()}, nil
	default:
		raw = strings.TrimSpace(strings.TrimPrefix(rr.String(), h.String()))
	}
	data, err := canon.Data(typ, raw, "")
	if err != nil {
		return libdns.RR{}, fmt.Errorf("%s %s: %w", h.Name, typ, err)
	}
	return libdns.RR{Name: strings.ToLower(h.Name), Type: typ, TTL: time.Duration(h.Ttl) * time.Second, Data: data}, nil
}

// dnsUnescapeTXT undoes the escapes miekg/dns puts in TXT strings (\" \\ \DDD).
func dnsUnescapeTXT(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		if i+3 < len(s) && dnsIsDigit3(s[i+1:i+4]) {
			v, _ := strconv.Atoi(s[i+1 : i+4])
			b.WriteByte(byte(v))
			i += 3
			continue
		}
		b.WriteByte(s[i+1])
		i++
	}
	return b.String()
}

func dnsIsDigit3(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	v, _ := strconv.Atoi(s)
	return v < 256
}
