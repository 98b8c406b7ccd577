package check

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
)

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
	k := fqdn(name) + " " + typ
	m.records[k] = append(m.records[k], libdns.RR{Name: fqdn(name), Type: typ, TTL: time.Hour, Data: data})
}

func (m *mapResolver) Lookup(ctx context.Context, name, qtype string) (Answer, error) {
	m.mu.Lock()
	m.asked = append(m.asked, name+" "+qtype)
	m.mu.Unlock()
	name = fqdn(name)
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
		name = fqdn(cn[0].Data)
	}
	if len(out) > 0 || m.exists(name) {
		return Answer{Records: out}, nil
	}
	return Answer{Rcode: RcodeNXDomain}, nil
}

func (m *mapResolver) exists(name string) bool {
	for k := range m.records {
		if n, _, _ := strings.Cut(k, " "); n == name || strings.HasSuffix(n, "."+name) {
			return true
		}
	}
	return false
}

// logRecorder keeps the records a check logs.
type logRecorder struct {
	mu      *gosync.Mutex
	records *[]slog.Record
	attrs   []slog.Attr // from With, as the engine's per-domain logger has
}

func newLogRecorder() *logRecorder {
	return &logRecorder{mu: &gosync.Mutex{}, records: &[]slog.Record{}}
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	r = r.Clone()
	with := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	with.AddAttrs(l.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		with.AddAttrs(a)
		return true
	})
	*l.records = append(*l.records, with)
	return nil
}
func (l *logRecorder) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logRecorder{mu: l.mu, records: l.records, attrs: append(append([]slog.Attr(nil), l.attrs...), attrs...)}
}
func (l *logRecorder) WithGroup(string) slog.Handler { return l }

// isp returns the "ptr needs ISP action" records as key=value maps; a key
// given twice fails the test.
func (l *logRecorder) isp(t *testing.T) []map[string]string {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]string
	for _, r := range *l.records {
		if r.Message != "ptr needs ISP action" || r.Level != slog.LevelWarn {
			continue
		}
		m := map[string]string{}
		r.Attrs(func(a slog.Attr) bool {
			if _, dup := m[a.Key]; dup {
				t.Errorf("log %q has key %q twice", r.Message, a.Key)
			}
			m[a.Key] = a.Value.String()
			return true
		})
		out = append(out, m)
	}
	return out
}

// ispZone is the usual reverse zone of the tests, served by an ISP.
func ispZone(r *mapResolver) {
	r.add("113.0.203.in-addr.arpa.", "SOA", "ns1.isp.example. hostmaster.isp.example. 2026010101 3600 600 86400 300")
	r.add("113.0.203.in-addr.arpa.", "NS", "ns2.isp.example.")
	r.add("113.0.203.in-addr.arpa.", "NS", "ns1.isp.example.")
}

func mailDomain(ptr *policy.PTR, hosts ...policy.MailHost) *policy.Domain {
	if len(hosts) == 0 {
		hosts = []policy.MailHost{{Name: "mail", IPv4: []string{"203.0.113.25"}}}
	}
	return &policy.Domain{Domain: "example.com", Provider: "local", Zone: "example.com", MailHosts: hosts, PTR: ptr}
}

// hostSets is what the policy compiles the mail hosts to (A/AAAA only).
func hostSets(d *policy.Domain) []policy.RRset {
	var out []policy.RRset
	for _, h := range d.MailHosts {
		if h.Outside(d.Domain) {
			continue
		}
		name := h.Name
		for typ, vals := range map[string][]string{"A": h.IPv4, "AAAA": h.IPv6} {
			if len(vals) > 0 {
				out = append(out, policy.RRset{Provider: d.Provider, Zone: d.Zone, Name: name, Type: typ,
					TTL: time.Hour, Values: vals, Element: policy.ElemMailHosts})
			}
		}
	}
	return out
}

func ptrSet(zone, name string, values ...string) policy.RRset {
	return policy.RRset{Provider: "rev", Zone: zone, Name: name, Type: "PTR", TTL: time.Hour,
		Values: values, Element: policy.ElemPTR}
}

func TestCheckPTR(t *testing.T) {
	mail4 := policy.MailHost{Name: "mail", IPv4: []string{"203.0.113.25"}}
	dual := policy.MailHost{Name: "mail", IPv4: []string{"203.0.113.25"}, IPv6: []string{"2001:db8::25"}}
	ispReq := "The reverse zone 113.0.203.in-addr.arpa is served by ns1.isp.example., ns2.isp.example. (contact hostmaster@isp.example)."
	tests := []struct {
		name     string
		domain   *policy.Domain
		setup    func(r *mapResolver)
		noLive   bool
		nilRes   bool
		desired  func(d *policy.Domain) []policy.RRset
		want     []Finding
		wantLogs []map[string]string
	}{{
		name:   "correct PTR, forward confirmed",
		domain: mailDomain(nil, mail4),
		setup: func(r *mapResolver) {
			r.add("25.113.0.203.in-addr.arpa.", "PTR", "MAIL.Example.COM")
			r.add("mail.example.com.", "A", "203.0.113.25")
		},
	}, {
		name:   "wrong PTR",
		domain: mailDomain(&policy.PTR{}, mail4),
		setup: func(r *mapResolver) {
			ispZone(r)
			r.add("25.113.0.203.in-addr.arpa.", "PTR", "host-25.isp.example.")
			r.add("mail.example.com.", "A", "203.0.113.25")
		},
		want: []Finding{{Severity: SevAction, Kind: "ptr", Domain: "example.com", Subject: "203.0.113.25",
			Message:    "PTR of 203.0.113.25 is host-25.isp.example., want mail.example.com.; reverse zone 113.0.203.in-addr.arpa at ns1.isp.example., ns2.isp.example.",
			ISPRequest: "Please set the reverse DNS (PTR) of 203.0.113.25 to mail.example.com. (currently: host-25.isp.example.). " + ispReq}},
		wantLogs: []map[string]string{{"domain": "example.com", "ip": "203.0.113.25", "have": "host-25.isp.example.", "want": "mail.example.com.",
			"isp_request": "Please set the reverse DNS (PTR) of 203.0.113.25 to mail.example.com. (currently: host-25.isp.example.). " + ispReq}},
	}, {
		name:   "missing PTR (NXDOMAIN), IPv6 called out",
		domain: mailDomain(nil, dual),
		setup: func(r *mapResolver) {
			ispZone(r)
			r.add("25.113.0.203.in-addr.arpa.", "PTR", "mail.example.com.")
			r.add("mail.example.com.", "A", "203.0.113.25")
			r.add("mail.example.com.", "AAAA", "2001:db8::25")
			r.add("8.b.d.0.1.0.0.2.ip6.arpa.", "SOA", "ns.v6.example. noc\\.team.v6.example. 1 2 3 4 5")
		},
		want: []Finding{{Severity: SevAction, Kind: "ptr", Domain: "example.com", Subject: "2001:db8::25",
			Message:    "2001:db8::25 has no PTR, want mail.example.com. (an IPv6 address needs its own PTR, a common omission); reverse zone 8.b.d.0.1.0.0.2.ip6.arpa at ns.v6.example.",
			ISPRequest: "Please set the reverse DNS (PTR) of 2001:db8::25 to mail.example.com. (currently: none). The reverse zone 8.b.d.0.1.0.0.2.ip6.arpa is served by ns.v6.example. (contact noc.team@v6.example)."}},
		wantLogs: []map[string]string{{"domain": "example.com", "ip": "2001:db8::25", "have": "", "want": "mail.example.com.",
			"isp_request": "Please set the reverse DNS (PTR) of 2001:db8::25 to mail.example.com. (currently: none). The reverse zone 8.b.d.0.1.0.0.2.ip6.arpa is served by ns.v6.example. (contact noc.team@v6.example)."}},
	}, {
		name:   "PTR names the host, forward lacks the address, not managed: error",
		domain: mailDomain(nil, mail4),
		setup: func(r *mapResolver) {
			r.add("25.113.0.203.in-addr.arpa.", "PTR", "mail.example.com.")
			r.add("mail.example.com.", "A", "203.0.113.99")
		},
		desired: func(*policy.Domain) []policy.RRset { return nil },
		want: []Finding{{Severity: SevError, Kind: "ptr", Domain: "example.com", Subject: "203.0.113.25",
			Message: "PTR of 203.0.113.25 is mail.example.com., but mail.example.com. does not resolve to 203.0.113.25 (A: 203.0.113.99) (forward-confirmed reverse DNS fails)"}},
	}, {
		name:   "PTR names the host, forward lacks the address, the policy fixes it: nothing",
		domain: mailDomain(nil, mail4),
		setup: func(r *mapResolver) {
			r.add("25.113.0.203.in-addr.arpa.", "PTR", "mail.example.com.")
			r.add("mail.example.com.", "A", "203.0.113.99")
		},
	}, {
		name:   "PTR names the host, host has no AAAA at all, not managed: error",
		domain: mailDomain(nil, policy.MailHost{Name: "mail", IPv6: []string{"2001:db8::25"}}),
		setup: func(r *mapResolver) {
			r.add("5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", "PTR", "mail.example.com.")
			r.add("mail.example.com.", "A", "203.0.113.25")
		},
		desired: func(*policy.Domain) []policy.RRset { return nil },
		want: []Finding{{Severity: SevError, Kind: "ptr", Domain: "example.com", Subject: "2001:db8::25",
			Message: "PTR of 2001:db8::25 is mail.example.com., but mail.example.com. has no AAAA record (forward-confirmed reverse DNS fails)"}},
	}, {
		name:   "two PTR values, one right: warning",
		domain: mailDomain(nil, mail4),
		setup: func(r *mapResolver) {
			r.add("25.113.0.203.in-addr.arpa.", "PTR", "host-25.isp.example.")
			r.add("25.113.0.203.in-addr.arpa.", "PTR", "mail.example.com.")
			r.add("mail.example.com.", "A", "203.0.113.25")
		},
		want: []Finding{{Severity: SevWarning, Kind: "ptr", Domain: "example.com", Subject: "203.0.113.25",
			Message: "203.0.113.25 has 2 PTR records (host-25.isp.example., mail.example.com.); many receivers use only the first, keep one"}},
	}, {
		name:   "resolver failure: could not verify, never missing",
		domain: mailDomain(nil, mail4),
		setup: func(r *mapResolver) {
			r.fail = map[string]error{"25.113.0.203.in-addr.arpa. PTR": errors.New("SERVFAIL from 127.0.0.1:53")}
		},
		want: []Finding{{Severity: SevWarning, Kind: "ptr", Domain: "example.com", Subject: "203.0.113.25",
			Message: "could not verify PTR of 203.0.113.25: SERVFAIL from 127.0.0.1:53"}},
	}, {
		name:   "forward lookup failure",
		domain: mailDomain(nil, mail4),
		setup: func(r *mapResolver) {
			r.add("25.113.0.203.in-addr.arpa.", "PTR", "mail.example.com.")
			r.fail = map[string]error{"mail.example.com. A": errors.New("i/o timeout")}
		},
		want: []Finding{{Severity: SevWarning, Kind: "ptr", Domain: "example.com", Subject: "203.0.113.25",
			Message: "could not verify that mail.example.com. resolves to 203.0.113.25: i/o timeout"}},
	}, {
		name:   "authority lookup failure still asks the ISP",
		domain: mailDomain(nil, mail4),
		setup: func(r *mapResolver) {
			r.fail = map[string]error{"113.0.203.in-addr.arpa. SOA": errors.New("timeout")}
		},
		want: []Finding{{Severity: SevAction, Kind: "ptr", Domain: "example.com", Subject: "203.0.113.25",
			Message:    "203.0.113.25 has no PTR, want mail.example.com.",
			ISPRequest: "Please set the reverse DNS (PTR) of 203.0.113.25 to mail.example.com. (currently: none)."}},
		wantLogs: []map[string]string{{"domain": "example.com", "ip": "203.0.113.25", "have": "", "want": "mail.example.com.",
			"isp_request": "Please set the reverse DNS (PTR) of 203.0.113.25 to mail.example.com. (currently: none)."}},
	}, {
		name:   "RFC 2317 classless delegation followed by the resolver",
		domain: mailDomain(nil, mail4),
		setup: func(r *mapResolver) {
			r.add("25.113.0.203.in-addr.arpa.", "CNAME", "25.0-63.113.0.203.in-addr.arpa.")
			r.add("25.0-63.113.0.203.in-addr.arpa.", "PTR", "mail.example.com.")
			r.add("mail.example.com.", "A", "203.0.113.25")
		},
	}, {
		name:   "RFC 2317 classless delegation the resolver did not follow, wrong PTR names the classless zone",
		domain: mailDomain(nil, mail4),
		setup: func(r *mapResolver) {
			r.noChase = true
			ispZone(r)
			r.add("25.113.0.203.in-addr.arpa.", "CNAME", "25.0/26.113.0.203.in-addr.arpa.")
			r.add("25.0/26.113.0.203.in-addr.arpa.", "PTR", "old.example.net.")
			r.add("0/26.113.0.203.in-addr.arpa.", "SOA", "ns.customer.example. dns.customer.example. 1 2 3 4 5")
		},
		want: []Finding{{Severity: SevAction, Kind: "ptr", Domain: "example.com", Subject: "203.0.113.25",
			Message:    "PTR of 203.0.113.25 is old.example.net., want mail.example.com.; reverse zone 0/26.113.0.203.in-addr.arpa at ns.customer.example.",
			ISPRequest: "Please set the reverse DNS (PTR) of 203.0.113.25 to mail.example.com. (currently: old.example.net.). The reverse zone 0/26.113.0.203.in-addr.arpa is served by ns.customer.example. (contact dns@customer.example)."}},
		wantLogs: []map[string]string{{"domain": "example.com", "ip": "203.0.113.25", "have": "old.example.net.", "want": "mail.example.com.",
			"isp_request": "Please set the reverse DNS (PTR) of 203.0.113.25 to mail.example.com. (currently: old.example.net.). The reverse zone 0/26.113.0.203.in-addr.arpa is served by ns.customer.example. (contact dns@customer.example)."}},
	}, {
		name: "outside hosts are skipped, shared addresses accept either host",
		domain: mailDomain(nil,
			policy.MailHost{Name: "mx.provider.example.", IPv4: []string{"192.0.2.1"}},
			policy.MailHost{Name: "mail", IPv4: []string{"203.0.113.25"}},
			policy.MailHost{Name: "smtp", IPv4: []string{"203.0.113.25"}}),
		setup: func(r *mapResolver) {
			r.add("25.113.0.203.in-addr.arpa.", "PTR", "smtp.example.com.")
			r.add("smtp.example.com.", "A", "203.0.113.25")
		},
	}, {
		name:   "mode off",
		domain: mailDomain(&policy.PTR{Mode: "off"}, mail4),
	}, {
		name:   "live checks off: one info finding",
		domain: mailDomain(nil, dual),
		noLive: true,
		nilRes: true,
		want: []Finding{{Severity: SevInfo, Kind: "ptr", Domain: "example.com", Subject: "203.0.113.25 2001:db8::25",
			Message: "skipped: live checks are off"}},
	}, {
		name:   "parked: no mail hosts, nothing",
		domain: &policy.Domain{Domain: "example.com", Parked: true},
	}, {
		name:   "managed, planned PTR confirmed by the policy's A: nothing, no lookups",
		domain: mailDomain(&policy.PTR{Provider: "rev", Zone: "113.0.203.in-addr.arpa"}, mail4),
		noLive: true,
		nilRes: true,
		desired: func(d *policy.Domain) []policy.RRset {
			return append(hostSets(d), ptrSet("113.0.203.in-addr.arpa", "25", "mail.example.com."))
		},
	}, {
		name:   "managed in an RFC 2317 zone",
		domain: mailDomain(&policy.PTR{Provider: "rev", Zone: "0-63.113.0.203.in-addr.arpa"}, mail4),
		noLive: true,
		nilRes: true,
		desired: func(d *policy.Domain) []policy.RRset {
			return append(hostSets(d), ptrSet("0-63.113.0.203.in-addr.arpa", "25", "mail.example.com."))
		},
	}, {
		name:   "managed, planned PTR names a host the policy gives another address: error",
		domain: mailDomain(&policy.PTR{Provider: "rev", Zone: "113.0.203.in-addr.arpa"}, mail4),
		desired: func(d *policy.Domain) []policy.RRset {
			return []policy.RRset{
				{Zone: "example.com", Name: "mail", Type: "A", Values: []string{"203.0.113.26"}, Element: policy.ElemMailHosts},
				ptrSet("113.0.203.in-addr.arpa", "25", "mail.example.com."),
			}
		},
		want: []Finding{{Severity: SevError, Kind: "ptr", Domain: "example.com", Subject: "203.0.113.25",
			Message: "PTR of 203.0.113.25 is planned as mail.example.com., but the policy publishes no A 203.0.113.25 at mail.example.com. (forward-confirmed reverse DNS would fail)"}},
	}, {
		name:   "managed, planned PTR names an unmanaged name that does not resolve back: error",
		domain: mailDomain(&policy.PTR{Provider: "rev", Zone: "113.0.203.in-addr.arpa"}, mail4),
		setup: func(r *mapResolver) {
			r.add("relay.example.net.", "A", "198.51.100.7")
		},
		desired: func(d *policy.Domain) []policy.RRset {
			return append(hostSets(d), ptrSet("113.0.203.in-addr.arpa", "25", "mail.example.com.", "relay.example.net."))
		},
		want: []Finding{
			{Severity: SevWarning, Kind: "ptr", Domain: "example.com", Subject: "203.0.113.25",
				Message: "PTR of 203.0.113.25 is planned with 2 names (mail.example.com., relay.example.net.); many receivers use only the first"},
			{Severity: SevError, Kind: "ptr", Domain: "example.com", Subject: "203.0.113.25",
				Message: "PTR of 203.0.113.25 is planned as relay.example.net., but relay.example.net. does not resolve to 203.0.113.25 (A: 198.51.100.7)"},
		},
	}, {
		name:   "managed IPv4 zone, the IPv6 address outside it is checked live",
		domain: mailDomain(&policy.PTR{Provider: "rev", Zone: "113.0.203.in-addr.arpa"}, dual),
		setup: func(r *mapResolver) {
			r.add("mail.example.com.", "AAAA", "2001:db8::25")
		},
		desired: func(d *policy.Domain) []policy.RRset {
			return append(hostSets(d), ptrSet("113.0.203.in-addr.arpa", "25", "mail.example.com."))
		},
		want: []Finding{{Severity: SevAction, Kind: "ptr", Domain: "example.com", Subject: "2001:db8::25",
			Message:    "2001:db8::25 has no PTR, want mail.example.com. (an IPv6 address needs its own PTR, a common omission)",
			ISPRequest: "Please set the reverse DNS (PTR) of 2001:db8::25 to mail.example.com. (currently: none)."}},
		wantLogs: []map[string]string{{"domain": "example.com", "ip": "2001:db8::25", "have": "", "want": "mail.example.com.",
			"isp_request": "Please set the reverse DNS (PTR) of 2001:db8::25 to mail.example.com. (currently: none)."}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &mapResolver{}
			if tt.setup != nil {
				tt.setup(r)
			}
			logs := newLogRecorder()
			env := &Env{Resolver: r, Live: !tt.noLive, Logger: slog.New(logs).With("domain", tt.domain.Domain), Desired: hostSets(tt.domain)}
			if tt.nilRes {
				env.Resolver = nil
			}
			if tt.desired != nil {
				env.Desired = tt.desired(tt.domain)
			}
			got := CheckPTR(context.Background(), env, tt.domain)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantLogs, logs.isp(t)); diff != "" {
				t.Errorf("\"ptr needs ISP action\" logs (-want +got):\n%s", diff)
			}
			if tt.nilRes && len(r.asked) > 0 {
				t.Errorf("lookups made without a resolver: %v", r.asked)
			}
		})
	}
}

func TestCheckPTRRegistered(t *testing.T) {
	n := 0
	for _, c := range All() {
		if c.Name == "ptr" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("check \"ptr\" registered %d times, want 1", n)
	}
}

func TestRnameMail(t *testing.T) {
	for in, want := range map[string]string{
		"hostmaster.isp.example.":   "hostmaster@isp.example",
		"HostMaster.ISP.Example":    "HostMaster@isp.example",
		`john\.doe.isp.example.`:    "john.doe@isp.example",
		"root.":                     "root",
		"":                          "",
		`noc\.team\.v6.v6.example.`: "noc.team.v6@v6.example",
	} {
		if got := rnameMail(in); got != want {
			t.Errorf("rnameMail(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReverseAuthorityString(t *testing.T) {
	tests := []struct {
		a    reverseAuthority
		want string
	}{
		{reverseAuthority{Zone: "113.0.203.in-addr.arpa", MName: "ns1.isp.example.", Contact: "hostmaster@isp.example", NS: []string{"ns1.isp.example."}},
			"The reverse zone 113.0.203.in-addr.arpa is served by ns1.isp.example. (contact hostmaster@isp.example)."},
		{reverseAuthority{Zone: "113.0.203.in-addr.arpa", MName: "hidden.isp.example.", Contact: "dns@isp.example", NS: []string{"a.isp.example.", "b.isp.example."}},
			"The reverse zone 113.0.203.in-addr.arpa is served by a.isp.example., b.isp.example. (primary hidden.isp.example., contact dns@isp.example)."},
		{reverseAuthority{Zone: "113.0.203.in-addr.arpa", MName: "ns1.isp.example."},
			"The reverse zone 113.0.203.in-addr.arpa is served by ns1.isp.example."},
		{reverseAuthority{Zone: "113.0.203.in-addr.arpa"},
			"The reverse zone 113.0.203.in-addr.arpa has no name servers listed."},
	}
	for _, tt := range tests {
		if got := tt.a.String(); got != tt.want {
			t.Errorf("%+v: got %q, want %q", tt.a, got, tt.want)
		}
	}
}

func TestDesiredPTRMatch(t *testing.T) {
	ip := netip.MustParseAddr("203.0.113.25")
	tests := []struct {
		set  policy.RRset
		want bool
	}{
		{ptrSet("113.0.203.in-addr.arpa", "25", "mail.example.com."), true},
		{ptrSet("0.203.in-addr.arpa", "25.113", "mail.example.com."), true},
		{ptrSet("25.113.0.203.in-addr.arpa", "@", "mail.example.com."), true},
		{ptrSet("0-63.113.0.203.in-addr.arpa", "25", "mail.example.com."), true},
		{ptrSet("0/26.113.0.203.in-addr.arpa", "25", "mail.example.com."), true},
		{ptrSet("113.0.203.in-addr.arpa", "26", "mail.example.com."), false},
		{ptrSet("0-63.112.0.203.in-addr.arpa", "25", "mail.example.com."), false},
		{ptrSet("7.113.0.203.in-addr.arpa", "25", "mail.example.com."), false},
		{policy.RRset{Zone: "113.0.203.in-addr.arpa", Name: "25", Type: "PTR", Element: policy.ElemMailHosts}, false},
	}
	for _, tt := range tests {
		got := desiredPTR([]policy.RRset{tt.set}, ip) != nil
		if got != tt.want {
			t.Errorf("desiredPTR(%s in %s) = %v, want %v", tt.set.Name, tt.set.Zone, got, tt.want)
		}
	}
}

// reverseNameTable is what `dig -x ADDR` (BIND 9.18) puts in the question;
// TestReverseNameDig checks it against the dig installed, when there is one.
var reverseNameTable = []struct{ ip, want string }{
	{"203.0.113.25", "25.113.0.203.in-addr.arpa."},
	{"0.0.0.0", "0.0.0.0.in-addr.arpa."},
	{"255.255.255.255", "255.255.255.255.in-addr.arpa."},
	{"10.1.2.3", "3.2.1.10.in-addr.arpa."},
	{"192.0.2.1", "1.2.0.192.in-addr.arpa."},
	{"2001:db8::25", "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa."},
	{"::1", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa."},
	{"::", "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa."},
	{"fe80::1", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.e.f.ip6.arpa."},
	{"2a00:1450:4001:82a::200e", "e.0.0.2.0.0.0.0.0.0.0.0.0.0.0.0.a.2.8.0.1.0.0.4.0.5.4.1.0.0.a.2.ip6.arpa."},
	{"2001:DB8:ABCD:12:FFFF:EEEE:DDDD:CCCC", "c.c.c.c.d.d.d.d.e.e.e.e.f.f.f.f.2.1.0.0.d.c.b.a.8.b.d.0.1.0.0.2.ip6.arpa."},
}

func TestReverseName(t *testing.T) {
	for _, tt := range reverseNameTable {
		if got := policy.ReverseName(netip.MustParseAddr(tt.ip)); got != tt.want {
			t.Errorf("ReverseName(%s) = %q, want %q", tt.ip, got, tt.want)
		}
	}
	// An IPv4-mapped IPv6 address is the IPv4 address (dig would give its
	// ip6.arpa form; receivers look up the in-addr.arpa one).
	if got, want := policy.ReverseName(netip.MustParseAddr("::ffff:203.0.113.25")), "25.113.0.203.in-addr.arpa."; got != want {
		t.Errorf("ReverseName(::ffff:203.0.113.25) = %q, want %q", got, want)
	}
}

// TestReverseNameDig asks the installed dig for the reverse names. dig prints
// its question (+qr) before sending it; the query goes to a loopback port
// nobody listens on, so nothing leaves the machine.
func TestReverseNameDig(t *testing.T) {
	dig, err := exec.LookPath("dig")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("dig is needed in CI (bind9-dnsutils): %v", err)
		}
		t.Logf("dig not installed; the reverse names were checked against the table only")
		return
	}
	port := closedUDPPort(t)
	args := []string{"@127.0.0.1", "-p", port, "+noall", "+qr", "+question", "+tries=1", "+time=1"}
	for _, tt := range reverseNameTable {
		args = append(args, "-x", tt.ip)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, dig, args...).Output() // exits 9: no server answered
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) == 3 && strings.HasPrefix(f[0], ";") && f[2] == "PTR" {
			names = append(names, strings.TrimPrefix(f[0], ";"))
		}
	}
	if len(names) != len(reverseNameTable) {
		t.Fatalf("dig printed %d questions, want %d:\n%s", len(names), len(reverseNameTable), out)
	}
	for i, tt := range reverseNameTable {
		if got := policy.ReverseName(netip.MustParseAddr(tt.ip)); got != names[i] {
			t.Errorf("ReverseName(%s) = %q, dig -x says %q", tt.ip, got, names[i])
		}
	}
}

// closedUDPPort returns a loopback UDP port that nothing listens on.
func closedUDPPort(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(c.LocalAddr().String())
	c.Close()
	return port
}

func TestFindReverseAuthority(t *testing.T) {
	const v6 = "6.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa."
	boom := errors.New("SERVFAIL")
	tests := []struct {
		name  string
		setup func(r *mapResolver)
		want  *reverseAuthority
		err   bool
	}{{
		name: "deepest zone wins",
		setup: func(r *mapResolver) {
			r.add("8.b.d.0.1.0.0.2.ip6.arpa.", "SOA", "ns.isp.example. noc.isp.example. 1 2 3 4 5")
			r.add("0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", "SOA", "ns.customer.example. dns.customer.example. 1 2 3 4 5")
			r.add("0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", "NS", "ns.customer.example.")
		},
		want: &reverseAuthority{Zone: "0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", MName: "ns.customer.example.",
			Contact: "dns@customer.example", NS: []string{"ns.customer.example."}},
	}, {
		name: "a failure above the zone does not matter",
		setup: func(r *mapResolver) {
			r.add("8.b.d.0.1.0.0.2.ip6.arpa.", "SOA", "ns.isp.example. noc.isp.example. 1 2 3 4 5")
			r.fail = map[string]error{"0.1.0.0.2.ip6.arpa. SOA": boom}
		},
		want: &reverseAuthority{Zone: "8.b.d.0.1.0.0.2.ip6.arpa", MName: "ns.isp.example.", Contact: "noc@isp.example"},
	}, {
		name: "a failure below the zone is an error",
		setup: func(r *mapResolver) {
			r.add("8.b.d.0.1.0.0.2.ip6.arpa.", "SOA", "ns.isp.example. noc.isp.example. 1 2 3 4 5")
			r.fail = map[string]error{"0.0.8.b.d.0.1.0.0.2.ip6.arpa. SOA": boom}
		},
		err: true,
	}, {
		name:  "no zone below ip6.arpa",
		setup: func(r *mapResolver) { r.add("ip6.arpa.", "SOA", "a.root. b.root. 1 2 3 4 5") },
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &mapResolver{}
			tt.setup(r)
			got, err := findReverseAuthority(context.Background(), r, v6)
			if (err != nil) != tt.err {
				t.Fatalf("error %v, want error: %v", err, tt.err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("authority (-want +got):\n%s", diff)
			}
			for _, q := range r.asked {
				if strings.HasPrefix(q, "ip6.arpa.") || strings.HasPrefix(q, "arpa.") {
					t.Errorf("asked above the reverse tree: %s", q)
				}
			}
		})
	}
}
