package testdns

import (
	"testing"
	"time"

	"github.com/miekg/dns"
)

func ask(t *testing.T, s *Server, netw, name string, qt uint16) (*dns.Msg, error) {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qt)
	c := &dns.Client{Net: netw, Timeout: 200 * time.Millisecond}
	r, _, err := c.Exchange(m, s.Addr)
	return r, err
}

func TestServer(t *testing.T) {
	s := Start(t,
		`a.example. 60 IN A 192.0.2.1`,
		`c.example. IN CNAME a.example.`,
		`d.e.example. IN TXT "x"`,
	)
	s.Fail("slow.example.", "", Timeout)
	s.Fail("sf.example.", "A", ServFail)
	s.Fail("a.example.", "TXT", Refused)
	s.Fail("d.e.example.", "TXT", Truncate)

	cases := []struct {
		netw    string
		name    string
		qt      uint16
		rcode   int
		answers int
		tc      bool
	}{
		{"udp", "a.example.", dns.TypeA, dns.RcodeSuccess, 1, false},
		{"tcp", "A.EXAMPLE.", dns.TypeA, dns.RcodeSuccess, 1, false},
		{"udp", "c.example.", dns.TypeA, dns.RcodeSuccess, 2, false},
		{"udp", "c.example.", dns.TypeCNAME, dns.RcodeSuccess, 1, false},
		{"udp", "a.example.", dns.TypeAAAA, dns.RcodeSuccess, 0, false},
		{"udp", "e.example.", dns.TypeA, dns.RcodeSuccess, 0, false},
		{"udp", "x.example.", dns.TypeA, dns.RcodeNameError, 0, false},
		{"udp", "sf.example.", dns.TypeA, dns.RcodeServerFailure, 0, false},
		{"udp", "a.example.", dns.TypeTXT, dns.RcodeRefused, 0, false},
		{"udp", "d.e.example.", dns.TypeTXT, dns.RcodeSuccess, 0, true},
		{"tcp", "d.e.example.", dns.TypeTXT, dns.RcodeSuccess, 1, false},
	}
	for _, c := range cases {
		r, err := ask(t, s, c.netw, c.name, c.qt)
		if err != nil {
			t.Errorf("%s %s %d: %v", c.netw, c.name, c.qt, err)
			continue
		}
		if r.Rcode != c.rcode || len(r.Answer) != c.answers || r.Truncated != c.tc {
			t.Errorf("%s %s %d: rcode %d answers %d tc %v, want %d %d %v", c.netw, c.name, c.qt, r.Rcode, len(r.Answer), r.Truncated, c.rcode, c.answers, c.tc)
		}
	}
	if _, err := ask(t, s, "udp", "slow.example.", dns.TypeA); err == nil {
		t.Error("a scripted timeout answered")
	}
	if got := s.QueryCount(); got != len(cases)+1 {
		t.Errorf("QueryCount = %d, want %d", got, len(cases)+1)
	}
	if q := s.Queries()[1]; q.Name != "a.example." || q.Type != "A" || q.Net != "tcp" {
		t.Errorf("second query = %+v", q)
	}
}
