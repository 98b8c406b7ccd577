// Package testdns runs a small recursive-resolver look-alike on loopback for
// tests: it serves a fixed set of records over UDP and TCP on one port of
// 127.0.0.1, follows CNAME chains inside its data as a resolver would, and
// can be told to fail chosen questions (no reply, SERVFAIL, REFUSED, or a
// truncated UDP answer that makes the client retry over TCP).
package testdns

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Failure is a scripted misbehaviour for a question.
type Failure int

const (
	// Timeout: the server never answers.
	Timeout Failure = iota + 1
	// ServFail: the answer has rcode SERVFAIL.
	ServFail
	// Refused: the answer has rcode REFUSED.
	Refused
	// Truncate: over UDP the answer has the TC bit and no records; over TCP
	// it is answered in full.
	Truncate
)

// Query is one question the server received.
type Query struct {
	Name string // lower case, fully qualified
	Type string // "TXT", "A", ...
	Net  string // "udp" | "tcp"
}

type key struct {
	name  string
	qtype uint16
}

// Server is a running test DNS server. Its methods are safe for concurrent use.
type Server struct {
	// Addr is "127.0.0.1:port", the same port for UDP and TCP.
	Addr string

	mu      sync.Mutex
	records map[string][]dns.RR // by lower-case FQDN
	fail    map[key]Failure     // qtype 0: every type at the name
	queries []Query
	udp     *dns.Server
	tcp     *dns.Server
}

// Start starts a server serving records (presentation format, one RR a
// string, e.g. `_spf.example.com. 300 IN TXT "v=spf1 -all"`; a missing TTL
// is 3600) and stops it when the test ends.
func Start(t testing.TB, records ...string) *Server {
	t.Helper()
	s := &Server{records: map[string][]dns.RR{}, fail: map[key]Failure{}}
	s.Add(t, records...)
	var pc net.PacketConn
	var ln net.Listener
	var err error
	for range 20 {
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("testdns: listen udp: %v", err)
		}
		ln, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
	}
	if err != nil {
		t.Fatalf("testdns: listen tcp: %v", err)
	}
	s.Addr = pc.LocalAddr().String()
	h := dns.HandlerFunc(s.serve)
	s.udp = &dns.Server{PacketConn: pc, Handler: h}
	s.tcp = &dns.Server{Listener: ln, Handler: h}
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go func() { _ = srv.ActivateAndServe() }()
		select {
		case <-started:
		case <-time.After(5 * time.Second):
			t.Fatal("testdns: server did not start")
		}
	}
	t.Cleanup(func() {
		_ = s.udp.Shutdown()
		_ = s.tcp.Shutdown()
	})
	return s
}

// Add adds records (presentation format).
func (s *Server) Add(t testing.TB, records ...string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, line := range records {
		rr, err := dns.NewRR(line)
		if err != nil || rr == nil {
			t.Fatalf("testdns: bad record %q: %v", line, err)
		}
		name := strings.ToLower(rr.Header().Name)
		s.records[name] = append(s.records[name], rr)
	}
}

// Fail scripts a failure for questions about name (fully qualified) of
// qtype; qtype "" or "*" fails every type.
func (s *Server) Fail(name, qtype string, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[key{strings.ToLower(dns.Fqdn(name)), typeCode(qtype)}] = f
}

// Queries returns the questions received so far, in order.
func (s *Server) Queries() []Query {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Query(nil), s.queries...)
}

// QueryCount returns how many questions were received.
func (s *Server) QueryCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queries)
}

func typeCode(qtype string) uint16 {
	if qtype == "" || qtype == "*" {
		return 0
	}
	return dns.StringToType[strings.ToUpper(qtype)]
}

func (s *Server) serve(w dns.ResponseWriter, r *dns.Msg) {
	if len(r.Question) != 1 {
		m := new(dns.Msg)
		m.SetRcode(r, dns.RcodeFormatError)
		_ = w.WriteMsg(m)
		return
	}
	q := r.Question[0]
	name := strings.ToLower(q.Name)
	_, isUDP := w.RemoteAddr().(*net.UDPAddr)
	netw := "tcp"
	if isUDP {
		netw = "udp"
	}
	s.mu.Lock()
	s.queries = append(s.queries, Query{Name: name, Type: dns.TypeToString[q.Qtype], Net: netw})
	f, ok := s.fail[key{name, q.Qtype}]
	if !ok {
		f = s.fail[key{name, 0}]
	}
	m := new(dns.Msg)
	m.SetReply(r)
	m.RecursionAvailable = true
	switch f {
	case Timeout:
		s.mu.Unlock()
		return
	case ServFail:
		m.Rcode = dns.RcodeServerFailure
	case Refused:
		m.Rcode = dns.RcodeRefused
	case Truncate:
		if isUDP {
			m.Truncated = true
			break
		}
		fallthrough
	default:
		s.answer(m, name, q.Qtype)
	}
	s.mu.Unlock()
	_ = w.WriteMsg(m)
}

// answer fills m as a recursive resolver would; s.mu is held.
func (s *Server) answer(m *dns.Msg, name string, qtype uint16) {
	for range 10 {
		rrs, exists := s.records[name], s.exists(name)
		if !exists {
			m.Rcode = dns.RcodeNameError
			return
		}
		var cname *dns.CNAME
		for _, rr := range rrs {
			if rr.Header().Rrtype == qtype {
				m.Answer = append(m.Answer, dns.Copy(rr))
			}
			if c, ok := rr.(*dns.CNAME); ok {
				cname = c
			}
		}
		if len(m.Answer) > 0 && m.Answer[len(m.Answer)-1].Header().Rrtype == qtype || cname == nil || qtype == dns.TypeCNAME {
			return
		}
		m.Answer = append(m.Answer, dns.Copy(cname))
		name = strings.ToLower(cname.Target)
	}
}

// exists reports whether name holds records or has names below it.
func (s *Server) exists(name string) bool {
	if len(s.records[name]) > 0 {
		return true
	}
	for n := range s.records {
		if strings.HasSuffix(n, "."+name) {
			return true
		}
	}
	return false
}

// SPFIncludeChain returns the records of a chain of n+1 SPF records under
// domain: s0 includes s1, ..., s(n-1) includes sn, and sn ends the chain.
// An SPF that includes s0 needs n+1 DNS lookups.
func SPFIncludeChain(domain string, n int) []string {
	var recs []string
	for i := 0; i < n; i++ {
		recs = append(recs, fmt.Sprintf(`s%d.%s. 300 IN TXT "v=spf1 include:s%d.%s. -all"`, i, domain, i+1, domain))
	}
	return append(recs, fmt.Sprintf(`s%d.%s. 300 IN TXT "v=spf1 ip4:192.0.2.1 -all"`, n, domain))
}
