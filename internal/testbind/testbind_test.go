package testbind

import (
	"testing"

	"github.com/miekg/dns"
)

func TestStartServesZones(t *testing.T) {
	s := Start(t,
		Zone{Name: "example.com.", Content: MinimalZone("example.com") + "www IN A 192.0.2.1\n@ IN TXT \"v=spf1 -all\"\n"},
		Zone{Name: "113.0.203.in-addr.arpa", DisableIntegrityCheck: true},
	)
	r := s.Query(t, "www.example.com", dns.TypeA)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Fatalf("www.example.com A: %v", r)
	}
	if a, ok := r.Answer[0].(*dns.A); !ok || a.A.String() != "192.0.2.1" {
		t.Errorf("www.example.com A = %v, want 192.0.2.1", r.Answer[0])
	}
	r = s.Query(t, "113.0.203.in-addr.arpa.", dns.TypeSOA)
	if r.Rcode != dns.RcodeSuccess || !r.Authoritative {
		t.Errorf("reverse zone SOA: rcode %s aa=%v", dns.RcodeToString[r.Rcode], r.Authoritative)
	}
	r = s.Query(t, "nonexistent.example.com.", dns.TypeA)
	if r.Rcode != dns.RcodeNameError {
		t.Errorf("nonexistent name: rcode %s, want NXDOMAIN", dns.RcodeToString[r.Rcode])
	}
}

func TestTransferNeedsKey(t *testing.T) {
	s := Start(t, Zone{Name: "example.com"})
	tr := new(dns.Transfer)
	m := new(dns.Msg)
	m.SetAxfr("example.com.")
	env, err := tr.In(m, s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	var xfrErr error
	for e := range env {
		if e.Error != nil {
			xfrErr = e.Error
		}
	}
	if xfrErr == nil {
		t.Error("unsigned AXFR succeeded, want it refused")
	}

	tr = &dns.Transfer{TsigSecret: map[string]string{dns.Fqdn(s.KeyName): s.KeySecret}}
	m.SetTsig(dns.Fqdn(s.KeyName), dns.HmacSHA256, 300, 0)
	env, err = tr.In(m, s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for e := range env {
		if e.Error != nil {
			t.Fatalf("signed AXFR: %v", e.Error)
		}
		n += len(e.RR)
	}
	if n != 4 { // SOA NS A SOA
		t.Errorf("signed AXFR: %d records, want 4", n)
	}
}

func TestCountingProxy(t *testing.T) {
	s := Start(t, Zone{Name: "example.com"})
	p := s.CountingProxy(t)
	c := &dns.Client{Net: "tcp"}
	for i := 0; i < 2; i++ {
		m := new(dns.Msg)
		m.SetQuestion("example.com.", dns.TypeSOA)
		if _, _, err := c.Exchange(m, p.Addr); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := p.Counts(), (Counts{Conns: 2, Requests: 2, Responses: 2}); got != want {
		t.Errorf("Counts() = %+v, want %+v", got, want)
	}
	p.Reset()
	if got := p.Counts(); got != (Counts{}) {
		t.Errorf("after Reset: %+v", got)
	}
}

func TestCountingProxyUDPAndTraffic(t *testing.T) {
	s := Start(t, Zone{Name: "example.com"})
	p := s.CountingProxy(t)
	m := new(dns.Msg)
	m.SetQuestion("example.com.", dns.TypeSOA)
	r, _, err := (&dns.Client{Net: "udp"}).Exchange(m, p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Answer) != 1 {
		t.Fatalf("SOA over UDP through the proxy: %d answers", len(r.Answer))
	}
	x := new(dns.Msg)
	x.SetQuestion("example.com.", dns.TypeNS)
	if _, _, err := (&dns.Client{Net: "tcp"}).Exchange(x, p.Addr); err != nil {
		t.Fatal(err)
	}
	if got, want := p.Counts(), (Counts{Conns: 1, Requests: 2, Responses: 2}); got != want {
		t.Errorf("Counts() = %+v, want %+v", got, want)
	}
	tr := p.Traffic()
	if tr.UDPRequests != 1 || tr.ByType["SOA"] != 1 || tr.ByType["NS"] != 1 || tr.AnswerRecords != 2 {
		t.Errorf("Traffic() = %+v, want 1 UDP request, one SOA and one NS question, 2 answer records", tr)
	}
	if tr.RequestBytes < 2*29 || tr.ResponseBytes <= tr.RequestBytes {
		t.Errorf("Traffic() bytes = %d requests, %d responses", tr.RequestBytes, tr.ResponseBytes)
	}
	p.Reset()
	if tr := p.Traffic(); tr.RequestBytes != 0 || len(tr.ByType) != 0 {
		t.Errorf("after Reset: %+v", tr)
	}
}
