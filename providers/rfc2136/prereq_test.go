package rfc2136_test

import (
	"testing"
	"time"

	"github.com/maildns/maildns/internal/testbind"
	"github.com/miekg/dns"
)

// TestServersCompareAsAssumed pins what the provider relies on, on each
// server: prerequisites (RFC 2136 section 2.4) compare TXT string by
// string, ignore TTLs, want the whole RRset, and compare owner names and
// MX targets without case; a delete by value compares TXT string by
// string, and on PowerDNS names in the data with case, against a text no
// transfer shows (the case of a compressed suffix comes from the owner).
// A failed prerequisite applies nothing.
func TestServersCompareAsAssumed(t *testing.T) {
	const z = `$ORIGIN example.com.
$TTL 300
@	IN SOA	ns.example.com. hostmaster.example.com. 1 3600 600 86400 300
@	IN NS	ns.example.com.
ns	IN A	127.0.0.1
@ 300 TXT "v=spf1 a " "~all"
@ 600 TXT "google-site-verification=abc"
@ 300 MX 10 OldMX.Example.COM.
Mail 300 A 203.0.113.25
`
	onEachServer(t, func(t *testing.T, kind string) {
		srv := testbind.StartKind(t, kind, testbind.Zone{Name: zone, Content: z, DisableIntegrityCheck: true})
		key := dns.Fqdn(srv.KeyName)
		rr := func(s string) dns.RR {
			r, err := dns.NewRR(s)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		send := func(what string, want int, build func(m *dns.Msg)) {
			t.Helper()
			m := new(dns.Msg)
			m.SetUpdate(zone)
			build(m)
			m.SetTsig(key, dns.HmacSHA256, 300, time.Now().Unix())
			c := &dns.Client{Net: "tcp", TsigSecret: map[string]string{key: srv.KeySecret}, Timeout: 5 * time.Second}
			r, _, err := c.Exchange(m, srv.Addr)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if r.Rcode != want {
				t.Errorf("%s: %s, want %s", what, dns.RcodeToString[r.Rcode], dns.RcodeToString[want])
			}
		}
		apex := func(ttl string, spf string) []dns.RR {
			return []dns.RR{rr(`example.com. ` + ttl + ` IN TXT ` + spf), rr(`example.com. ` + ttl + ` IN TXT "google-site-verification=abc"`)}
		}
		ok, nx := dns.RcodeSuccess, dns.RcodeNXRrset
		send("TXT as held", ok, func(m *dns.Msg) { m.Used(apex("0", `"v=spf1 a " "~all"`)) })
		send("TXT as held, with TTLs", ok, func(m *dns.Msg) { m.Used(apex("3600", `"v=spf1 a " "~all"`)) })
		send("TXT joined", nx, func(m *dns.Msg) { m.Used(apex("0", `"v=spf1 a ~all"`)) })
		send("part of the RRset", nx, func(m *dns.Msg) { m.Used(apex("0", `"v=spf1 a " "~all"`)[:1]) })
		send("MX target in lower case", ok, func(m *dns.Msg) { m.Used([]dns.RR{rr(`example.com. 0 IN MX 10 oldmx.example.com.`)}) })
		send("owner in upper case", ok, func(m *dns.Msg) { m.Used([]dns.RR{rr(`MAIL.EXAMPLE.COM. 0 IN A 203.0.113.25`)}) })
		send("RRset expected empty, held", dns.RcodeYXRrset, func(m *dns.Msg) {
			m.RRsetNotUsed([]dns.RR{&dns.ANY{Hdr: dns.RR_Header{Name: "example.com.", Rrtype: dns.TypeMX}}})
			m.Insert([]dns.RR{rr(`new.example.com. 300 IN A 192.0.2.1`)})
		})
		if got := served(t, srv, "new."+zone, dns.TypeA); len(got) != 0 {
			t.Errorf("a failed prerequisite applied the update: %q", got)
		}

		send("delete TXT joined", ok, func(m *dns.Msg) { m.Remove([]dns.RR{rr(`example.com. 0 IN TXT "v=spf1 a ~all"`)}) })
		if got := served(t, srv, zone, dns.TypeTXT); len(got) != 2 {
			t.Errorf("a joined TXT deleted the split one: %q", got)
		}
		// The MX as a transfer shows it: PowerDNS spells the target's
		// suffix after the owner's.
		var shown dns.RR
		for _, a := range srv.Query(t, zone, dns.TypeMX).Answer {
			shown = a
		}
		wantKept := kind == testbind.PowerDNS
		send("delete MX as shown", ok, func(m *dns.Msg) { m.Remove([]dns.RR{dns.Copy(shown)}) })
		if got := served(t, srv, zone, dns.TypeMX); (len(got) == 1) != wantKept {
			t.Errorf("after deleting %s as shown: %q (kept: want %v)", shown, got, wantKept)
		}
	})
}
