package rfc2136_test

import (
	"strings"
	"testing"
	"time"

	"github.com/maildns/maildns/internal/testbind"
	"github.com/maildns/maildns/providers"
	"github.com/miekg/dns"
)

// directUpdate sends one TSIG-signed UPDATE straight to the server, as a
// tool other than maildns would.
func directUpdate(t *testing.T, srv *testbind.Server, zone string, build func(m *dns.Msg)) {
	t.Helper()
	key := dns.Fqdn(srv.KeyName)
	m := new(dns.Msg)
	m.SetUpdate(zone)
	build(m)
	m.SetTsig(key, dns.HmacSHA256, 300, time.Now().Unix())
	c := &dns.Client{Net: "tcp", TsigSecret: map[string]string{key: srv.KeySecret}, Timeout: 10 * time.Second}
	r, _, err := c.Exchange(m, srv.Addr)
	if err != nil {
		t.Fatalf("direct UPDATE of %s: %v", zone, err)
	}
	if r.Rcode != dns.RcodeSuccess {
		t.Fatalf("direct UPDATE of %s: %s", zone, dns.RcodeToString[r.Rcode])
	}
}

func mustRR(t *testing.T, s string) dns.RR {
	t.Helper()
	rr, err := dns.NewRR(s)
	if err != nil {
		t.Fatal(err)
	}
	return rr
}

// TestZoneVersionServers checks the serial check on each server: one
// signed SOA query over UDP and nothing else, the same token while nothing
// changes, another after an UPDATE made outside maildns.
func TestZoneVersionServers(t *testing.T) {
	for _, kind := range testbind.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			srv := testbind.StartKind(t, kind, testbind.Zone{Name: zone})
			proxy := srv.CountingProxy(t)
			values := srv.Settings()
			values["server"] = proxy.Addr
			p := newProvider(t, values)

			v1, ok, err := providers.ZoneVersion(ctx(t), p, zone)
			if err != nil || !ok {
				t.Fatalf("ZoneVersion: %q, %v, %v", v1, ok, err)
			}
			tr := proxy.Traffic()
			if c := proxy.Counts(); c.Requests != 1 || c.Responses != 1 || c.Conns != 0 || tr.UDPRequests != 1 || tr.ByType["SOA"] != 1 {
				t.Errorf("one serial check: %+v %+v, want one SOA query over UDP and its answer", c, tr)
			}
			t.Logf("%s: serial check %d bytes out, %d bytes back; token %q", kind, tr.RequestBytes, tr.ResponseBytes, v1)
			if !strings.Contains(v1, proxy.Addr) {
				t.Errorf("token %q does not name the server", v1)
			}
			v2, _, err := providers.ZoneVersion(ctx(t), p, zone)
			if err != nil || v2 != v1 {
				t.Errorf("nothing changed, token %q then %q (%v)", v1, v2, err)
			}

			directUpdate(t, srv, zone, func(m *dns.Msg) {
				m.Insert([]dns.RR{mustRR(t, "outside.example.com. 300 IN TXT \"made by hand\"")})
			})
			v3, _, err := providers.ZoneVersion(ctx(t), p, zone)
			if err != nil || v3 == v1 {
				t.Errorf("after an outside UPDATE: token %q, was %q (%v)", v3, v1, err)
			}
			if c := proxy.Counts(); c.Conns != 0 || proxy.Traffic().ByType["AXFR"] != 0 {
				t.Errorf("serial checks made TCP connections or transfers: %+v %+v", c, proxy.Traffic())
			}
		})
	}
}

// TestZoneVersionErrors: a zone the server does not serve, or a key it
// does not know, is an error (the daemon then reads the zone in full),
// never a token.
func TestZoneVersionErrors(t *testing.T) {
	for _, kind := range testbind.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			srv := testbind.StartKind(t, kind, testbind.Zone{Name: zone})
			p := newProvider(t, srv.Settings())
			if v, _, err := providers.ZoneVersion(ctx(t), p, "example.org."); err == nil {
				t.Errorf("a zone the server does not serve: token %q, no error", v)
			} else {
				t.Logf("%s: %v", kind, err)
			}
			values := srv.Settings()
			values["key"] = srv.XferKeySecret // another secret under the same name
			bad := newProvider(t, values)
			v, _, err := providers.ZoneVersion(ctx(t), bad, zone)
			if err == nil {
				t.Errorf("a wrong key: token %q, no error", v)
			} else if strings.Contains(err.Error(), srv.XferKeySecret) || strings.Contains(err.Error(), srv.KeySecret) {
				t.Errorf("the error shows a secret: %v", err)
			} else {
				t.Logf("%s: %v", kind, err)
			}
		})
	}
}
