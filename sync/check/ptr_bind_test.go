package check

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
	"github.com/maildns/maildns/internal/canon"
	"github.com/maildns/maildns/internal/testbind"
	"github.com/maildns/maildns/policy"
	"github.com/miekg/dns"
)

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

// countingResolver counts the questions a check asks.
type countingResolver struct {
	r Resolver
	n atomic.Int64
}

func (c *countingResolver) Lookup(ctx context.Context, name, qtype string) (Answer, error) {
	c.n.Add(1)
	return c.r.Lookup(ctx, name, qtype)
}

// The zones of the BIND tests: the domain, an ISP's IPv4 reverse zone, a /24
// that delegates 0-63 to the customer by RFC 2317 CNAMEs, and an IPv6 one.
var ptrBindZones = []testbind.Zone{
	{Name: "example.com", Content: `$ORIGIN example.com.
$TTL 300
@	SOA	ns.example.com. hostmaster.example.com. 1 3600 600 86400 300
@	NS	ns.example.com.
ns	A	127.0.0.1
mail	A	203.0.113.25
mail	AAAA	2001:db8::25
wrong	A	203.0.113.30
missing	A	203.0.113.31
noback	A	203.0.113.99
cl	A	198.51.100.25
clwrong	A	198.51.100.26
v6missing	AAAA	2001:db8::26
`},
	{Name: "113.0.203.in-addr.arpa", Content: `$ORIGIN 113.0.203.in-addr.arpa.
$TTL 300
@	SOA	ns1.isp.example. hostmaster.isp.example. 1 3600 600 86400 300
@	NS	ns1.isp.example.
25	PTR	mail.example.com.
30	PTR	host-30.isp.example.
32	PTR	noback.example.com.
`},
	{Name: "100.51.198.in-addr.arpa", Content: `$ORIGIN 100.51.198.in-addr.arpa.
$TTL 300
@	SOA	ns1.isp.example. hostmaster.isp.example. 1 3600 600 86400 300
@	NS	ns1.isp.example.
0-63	NS	ns.example.com.
25	CNAME	25.0-63
26	CNAME	26.0-63
`},
	{Name: "0-63.100.51.198.in-addr.arpa", Content: `$ORIGIN 0-63.100.51.198.in-addr.arpa.
$TTL 300
@	SOA	ns.example.com. dns-admin.example.com. 1 3600 600 86400 300
@	NS	ns.example.com.
25	PTR	cl.example.com.
26	PTR	host-26.isp.example.
`},
	{Name: "8.b.d.0.1.0.0.2.ip6.arpa", Content: `$ORIGIN 8.b.d.0.1.0.0.2.ip6.arpa.
$TTL 300
@	SOA	ns1.isp6.example. noc\.team.isp6.example. 1 3600 600 86400 300
@	NS	ns1.isp6.example.
@	NS	ns2.isp6.example.
5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0	PTR	mail.example.com.
`},
}

func TestCheckPTRAgainstBIND(t *testing.T) {
	srv := testbind.Start(t, ptrBindZones...)
	d := &policy.Domain{Domain: "example.com", Provider: "local", Zone: "example.com", MailHosts: []policy.MailHost{
		{Name: "mail", IPv4: []string{"203.0.113.25"}, IPv6: []string{"2001:db8::25"}}, // correct, both families
		{Name: "wrong", IPv4: []string{"203.0.113.30"}},                                // ISP's generic name
		{Name: "missing", IPv4: []string{"203.0.113.31"}},                              // no PTR
		{Name: "noback", IPv4: []string{"203.0.113.32"}},                               // PTR right, A elsewhere
		{Name: "cl", IPv4: []string{"198.51.100.25"}},                                  // RFC 2317, correct
		{Name: "clwrong", IPv4: []string{"198.51.100.26"}},                             // RFC 2317, wrong
		{Name: "v6missing", IPv6: []string{"2001:db8::26"}},                            // IPv6 without PTR
		{Name: "relay.provider.example.", IPv4: []string{"192.0.2.1"}},                 // outside: skipped
	}}
	isp4 := "The reverse zone 113.0.203.in-addr.arpa is served by ns1.isp.example. (contact hostmaster@isp.example)."
	cust := "The reverse zone 0-63.100.51.198.in-addr.arpa is served by ns.example.com. (contact dns-admin@example.com)."
	isp6 := "The reverse zone 8.b.d.0.1.0.0.2.ip6.arpa is served by ns1.isp6.example., ns2.isp6.example. (contact noc.team@isp6.example)."
	action := func(ip, msg, req string) Finding {
		return Finding{Severity: SevAction, Kind: "ptr", Domain: "example.com", Subject: ip, Message: msg, ISPRequest: req}
	}
	wantISP := []Finding{
		action("203.0.113.30",
			"PTR of 203.0.113.30 is host-30.isp.example., want wrong.example.com.; reverse zone 113.0.203.in-addr.arpa at ns1.isp.example.",
			"Please set the reverse DNS (PTR) of 203.0.113.30 to wrong.example.com. (currently: host-30.isp.example.). "+isp4),
		action("203.0.113.31",
			"203.0.113.31 has no PTR, want missing.example.com.; reverse zone 113.0.203.in-addr.arpa at ns1.isp.example.",
			"Please set the reverse DNS (PTR) of 203.0.113.31 to missing.example.com. (currently: none). "+isp4),
	}
	wantTail := []Finding{
		action("198.51.100.26",
			"PTR of 198.51.100.26 is host-26.isp.example., want clwrong.example.com.; reverse zone 0-63.100.51.198.in-addr.arpa at ns.example.com.",
			"Please set the reverse DNS (PTR) of 198.51.100.26 to clwrong.example.com. (currently: host-26.isp.example.). "+cust),
		action("2001:db8::26",
			"2001:db8::26 has no PTR, want v6missing.example.com. (an IPv6 address needs its own PTR, a common omission); reverse zone 8.b.d.0.1.0.0.2.ip6.arpa at ns1.isp6.example., ns2.isp6.example.",
			"Please set the reverse DNS (PTR) of 2001:db8::26 to v6missing.example.com. (currently: none). "+isp6),
	}
	noback := Finding{Severity: SevError, Kind: "ptr", Domain: "example.com", Subject: "203.0.113.32",
		Message: "PTR of 203.0.113.32 is noback.example.com., but noback.example.com. does not resolve to 203.0.113.32 (A: 203.0.113.99) (forward-confirmed reverse DNS fails)"}

	ispHave := map[string]string{"203.0.113.30": "host-30.isp.example.", "198.51.100.26": "host-26.isp.example."}
	ispWant := map[string]string{"203.0.113.30": "wrong.example.com.", "203.0.113.31": "missing.example.com.",
		"198.51.100.26": "clwrong.example.com.", "2001:db8::26": "v6missing.example.com."}

	all := hostSets(d)
	var unmanagedNoback []policy.RRset
	for _, s := range all {
		if s.Name != "noback" {
			unmanagedNoback = append(unmanagedNoback, s)
		}
	}
	tests := []struct {
		name    string
		desired []policy.RRset
		want    []Finding
	}{
		{"noback's A not in the plan: FCrDNS error", unmanagedNoback, append(append(append([]Finding(nil), wantISP...), noback), wantTail...)},
		{"noback's A in the plan: the engine corrects it", all, append(append([]Finding(nil), wantISP...), wantTail...)},
	}
	// Two resolvers: the smallest one, which leaves BIND's unchased RFC 2317
	// CNAME to the check, and the one the engine builds (DNS resolver behind
	// the per-run cache), which chases it itself.
	resolvers := []struct {
		name string
		new  func() Resolver
	}{
		{"direct", func() Resolver { return directResolver{srv.Addr} }},
		{"engine's", func() Resolver { return NewCachingResolver(NewDNSResolver([]string{srv.Addr}, 2*time.Second)) }},
	}
	for _, res := range resolvers {
		for _, tt := range tests {
			t.Run(res.name+"/"+tt.name, func(t *testing.T) {
				checkPTRAgainst(t, d, res.new(), tt.desired, tt.want, ispHave, ispWant)
			})
		}
	}
}

func checkPTRAgainst(t *testing.T, d *policy.Domain, r Resolver, desired []policy.RRset, want []Finding, ispHave, ispWant map[string]string) {
	t.Helper()
	logs := newLogRecorder()
	counter := &countingResolver{r: r}
	env := &Env{Resolver: counter, Live: true, Desired: desired, Logger: slog.New(logs).With("domain", d.Domain)}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	got := CheckPTR(ctx, env, d)
	t.Logf("check of %d addresses took %v and %d lookups", len(ptrTargets(d)), time.Since(start), counter.n.Load())
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	// Every action is logged for the operator's alerting.
	var wantLogs []map[string]string
	for _, f := range got {
		if f.Severity == SevAction {
			wantLogs = append(wantLogs, map[string]string{"domain": "example.com", "ip": f.Subject,
				"have": ispHave[f.Subject], "want": ispWant[f.Subject], "isp_request": f.ISPRequest})
		}
	}
	if len(wantLogs) != 4 {
		t.Errorf("%d action findings, want 4", len(wantLogs))
	}
	if diff := cmp.Diff(wantLogs, logs.isp(t)); diff != "" {
		t.Errorf("\"ptr needs ISP action\" logs (-want +got):\n%s", diff)
	}
}
