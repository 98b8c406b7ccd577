package rfc2136_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
	"github.com/maildns/maildns/internal/testbind"
	"github.com/maildns/maildns/providers"
	"github.com/maildns/maildns/providers/rfc2136"
	"github.com/miekg/dns"
)

var _ providers.Replacer = (*rfc2136.Provider)(nil)

// servedTTLs returns the TTL of each value the server answers for name and qtype.
func servedTTLs(t *testing.T, srv *testbind.Server, name string, qtype uint16) []uint32 {
	t.Helper()
	var out []uint32
	for _, rr := range srv.Query(t, name, qtype).Answer {
		if rr.Header().Rrtype == qtype {
			out = append(out, rr.Header().Ttl)
		}
	}
	return out
}

// ReplaceRecords is one UPDATE message, which BIND applies whole or not at
// all: no query sees two SPF or two DMARC records, and an MX to a new
// in-zone host comes with that host's address.
func TestReplaceRecordsIsOneAtomicUpdate(t *testing.T) {
	srv, _ := startExample(t)
	proxy := srv.CountingProxy(t)
	values := srv.Settings()
	values["server"] = proxy.Addr
	p := newProvider(t, values).(providers.Replacer)
	pp := p.(providers.Provider)
	if _, err := pp.AppendRecords(ctx(t), zone, []libdns.Record{txt("@", "v=spf1 mx -all"), txt("_dmarc", "v=DMARC1; p=none")}); err != nil {
		t.Fatal(err)
	}
	if _, err := pp.GetRecords(ctx(t), zone); err != nil {
		t.Fatal(err)
	}
	proxy.Reset()

	remove := []libdns.Record{txt("@", "v=spf1 mx -all"), txt("_dmarc", "v=DMARC1; p=none")}
	add := []libdns.Record{
		txt("@", "v=spf1 ip4:192.0.2.25 -all"),
		txt("_dmarc", "v=DMARC1; p=reject"),
		libdns.RR{Name: "@", Type: "MX", TTL: time.Hour, Data: "10 mail.example.com."},
		libdns.RR{Name: "mail", Type: "A", TTL: time.Hour, Data: "192.0.2.25"},
	}
	if _, err := p.ReplaceRecords(ctx(t), zone, remove, add); err != nil {
		t.Fatal(err)
	}
	if c := proxy.Counts(); c != (testbind.Counts{Conns: 1, Requests: 1, Responses: 1}) {
		t.Errorf("ReplaceRecords of 4 RRsets: %+v, want one connection, request and response", c)
	}
	wantApex := append(slices.Clone(foreignTXT), "v=spf1 ip4:192.0.2.25 -all")
	if diff := cmp.Diff(wantApex, served(t, srv, zone, dns.TypeTXT)); diff != "" {
		t.Errorf("served apex TXT (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]uint32{3600, 3600, 3600, 3600}, servedTTLs(t, srv, zone, dns.TypeTXT)); diff != "" {
		t.Errorf("served apex TXT TTLs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"v=DMARC1; p=reject"}, served(t, srv, "_dmarc."+zone, dns.TypeTXT)); diff != "" {
		t.Errorf("served _dmarc TXT (-want +got):\n%s", diff)
	}

	// A TTL-only change: the value is removed and added again in the same
	// message, and never missing.
	if _, err := pp.GetRecords(ctx(t), zone); err != nil {
		t.Fatal(err)
	}
	proxy.Reset()
	if _, err := p.ReplaceRecords(ctx(t), zone, []libdns.Record{txt("_dmarc", "v=DMARC1; p=reject")},
		[]libdns.Record{libdns.RR{Name: "_dmarc", Type: "TXT", TTL: 600 * time.Second, Data: "v=DMARC1; p=reject"}}); err != nil {
		t.Fatal(err)
	}
	if c := proxy.Counts(); c.Requests != 1 {
		t.Errorf("TTL-only ReplaceRecords: %+v, want one request", c)
	}
	if diff := cmp.Diff([]uint32{600}, servedTTLs(t, srv, "_dmarc."+zone, dns.TypeTXT)); diff != "" {
		t.Errorf("served _dmarc TTLs (-want +got):\n%s", diff)
	}

	// A refused update removes nothing either.
	_, err := p.ReplaceRecords(ctx(t), zone, []libdns.Record{txt("@", "v=spf1 ip4:192.0.2.25 -all")},
		[]libdns.Record{libdns.RR{Name: "www.example.org.", Type: "A", TTL: time.Hour, Data: "192.0.2.99"}})
	var re *rfc2136.Error
	if !errors.As(err, &re) || re.Rcode != dns.RcodeNotZone {
		t.Fatalf("ReplaceRecords with an out-of-zone name: err = %v, want NOTZONE", err)
	}
	if diff := cmp.Diff(wantApex, served(t, srv, zone, dns.TypeTXT)); diff != "" {
		t.Errorf("served apex TXT after the refused update (-want +got):\n%s", diff)
	}

	// Never a wildcard: nothing is sent.
	proxy.Reset()
	if _, err := p.ReplaceRecords(ctx(t), zone, []libdns.Record{libdns.RR{Name: "@", Type: "TXT"}}, nil); err == nil {
		t.Error("ReplaceRecords with an empty value to remove: no error")
	}
	if c := proxy.Counts(); c.Requests != 0 {
		t.Errorf("a refused ReplaceRecords sent %d requests", c.Requests)
	}
}
