package sync

import (
	"context"
	"fmt"
	"strings"
	gosync "sync"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/internal/canon"
	"github.com/maildns/maildns/sync/check"
	"github.com/miekg/dns"
)

// The resolvers of the engine's tests that reach the checks (as in the
// check package's own tests).

// directResolver asks one authoritative server, without recursion, the way
// the check's resolver asks the network. It is the smallest Resolver that
// speaks real DNS; CNAMEs the server does not chase are left to the check.
type directResolver struct {
	addr string
}

func (r directResolver) Lookup(ctx context.Context, name, qtype string) (Answer, error) {
	t, ok := dns.StringToType[qtype]
	if !ok {
		return Answer{}, fmt.Errorf("unknown type %q", qtype)
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), t)
	m.RecursionDesired = false
	c := &dns.Client{Timeout: 2 * time.Second}
	in, _, err := c.ExchangeContext(ctx, m, r.addr)
	if err == nil && in.Truncated {
		c.Net = "tcp"
		in, _, err = c.ExchangeContext(ctx, m, r.addr)
	}
	if err != nil {
		return Answer{}, fmt.Errorf("%s %s at %s: %w", name, qtype, r.addr, err)
	}
	switch in.Rcode {
	case dns.RcodeSuccess, dns.RcodeNameError:
	default:
		return Answer{}, fmt.Errorf("%s %s at %s: %s", name, qtype, r.addr, dns.RcodeToString[in.Rcode])
	}
	ans := Answer{Rcode: in.Rcode}
	for _, rr := range in.Answer {
		h := rr.Header()
		typ := dns.TypeToString[h.Rrtype]
		data, err := canon.Data(typ, strings.TrimPrefix(rr.String(), h.String()), "")
		if err != nil {
			return Answer{}, err
		}
		ans.Records = append(ans.Records, libdns.RR{Name: strings.ToLower(h.Name), Type: typ,
			TTL: time.Duration(h.Ttl) * time.Second, Data: data})
	}
	return ans, nil
}

// mapResolver answers from a fixed table, like a resolver in front of a
// handful of authoritative zones. Missing names are NXDOMAIN.
type mapResolver struct {
	records map[string][]libdns.RR // key: "name TYPE", name FQDN lower case
	fail    map[string]error       // key: "name TYPE"
	noChase bool                   // hand back CNAMEs without following them

	mu    gosync.Mutex
	asked []string
}

func (m *mapResolver) add(name, typ, data string) {
	if m.records == nil {
		m.records = map[string][]libdns.RR{}
	}
	k := testFQDN(name) + " " + typ
	m.records[k] = append(m.records[k], libdns.RR{Name: testFQDN(name), Type: typ, TTL: time.Hour, Data: data})
}

func (m *mapResolver) Lookup(ctx context.Context, name, qtype string) (Answer, error) {
	m.mu.Lock()
	m.asked = append(m.asked, name+" "+qtype)
	m.mu.Unlock()
	name = testFQDN(name)
	var out []libdns.RR
	for hop := 0; hop < 10; hop++ {
		if err := m.fail[name+" "+qtype]; err != nil {
			return Answer{}, err
		}
		if rrs := m.records[name+" "+qtype]; len(rrs) > 0 {
			return Answer{Records: append(out, rrs...)}, nil
		}
		cn := m.records[name+" CNAME"]
		if len(cn) == 0 {
			break
		}
		out = append(out, cn[0])
		if m.noChase {
			break
		}
		name = testFQDN(cn[0].Data)
	}
	if len(out) > 0 || m.exists(name) {
		return Answer{Records: out}, nil
	}
	return Answer{Rcode: check.RcodeNXDomain}, nil
}

func (m *mapResolver) exists(name string) bool {
	for k := range m.records {
		if n, _, _ := strings.Cut(k, " "); n == name || strings.HasSuffix(n, "."+name) {
			return true
		}
	}
	return false
}

// ispZone is the usual reverse zone of the tests, served by an ISP.
func ispZone(r *mapResolver) {
	r.add("113.0.203.in-addr.arpa.", "SOA", "ns1.isp.example. hostmaster.isp.example. 2026010101 3600 600 86400 300")
	r.add("113.0.203.in-addr.arpa.", "NS", "ns2.isp.example.")
	r.add("113.0.203.in-addr.arpa.", "NS", "ns1.isp.example.")
}

// testFQDN is name lower case with one trailing dot.
func testFQDN(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" || name == "." {
		return "."
	}
	return strings.TrimSuffix(name, ".") + "."
}
