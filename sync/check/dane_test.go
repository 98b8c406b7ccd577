package check

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/internal/testsmtp"
	"github.com/maildns/maildns/policy"
)

func TestCheckTLSA(t *testing.T) {
	ca := newTestCA(t)
	cur, curPEM := ca.leaf(t, "mail.example.com")
	next, nextPEM := ca.leaf(t, "mail.example.com")
	other, _ := ca.leaf(t, "mail.example.com")
	curSum, _ := policy.SPKIHashPEM(curPEM)
	nextSum, _ := policy.SPKIHashPEM(nextPEM)
	if curSum != policy.SPKIHash(cur.Leaf) {
		t.Fatal("SPKIHashPEM and SPKIHash disagree")
	}
	srv := testsmtp.Start(t)
	dial := func(ctx context.Context, host string) (net.Conn, error) {
		if host != "mail.example.com" {
			t.Errorf("dialled %q", host)
		}
		var d net.Dialer
		return d.DialContext(ctx, "tcp", srv.Addr)
	}
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedAddr := closed.Addr().String()
	closed.Close()
	dialClosed := func(ctx context.Context, host string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", closedAddr)
	}

	d := &policy.Domain{Domain: "example.com", Zone: "example.com", Provider: "mem",
		MailHosts: []policy.MailHost{{Name: "mail", IPv4: []string{"203.0.113.25"},
			TLSA: &policy.TLSA{Current: curSum, Next: nextSum}}}}
	dnskey := libdns.RR{Name: "@", Type: "DNSKEY", TTL: time.Hour, Data: "257 3 13 AAAA"}
	tlsa := func(sums ...string) []libdns.RR {
		out := []libdns.RR{dnskey}
		for _, s := range sums {
			out = append(out, libdns.RR{Name: "_25._tcp.mail", Type: "TLSA", TTL: time.Hour, Data: "3 1 1 " + s})
		}
		return out
	}
	for _, tc := range []struct {
		name string
		cert *tls.Certificate
		zone []libdns.RR
		dial func(context.Context, string) (net.Conn, error)
		live bool
		want []maWant
	}{
		{"matches", &cur, tlsa(curSum, nextSum), dial, true, nil},
		{"does not match", &other, tlsa(curSum, nextSum), dial, true,
			[]maWant{{SevError, "mail.example.com", "matches no TLSA at _25._tcp.mail.example.com."}}},
		{"rolled over to the published next key", &next, tlsa(curSum, nextSum), dial, true,
			[]maWant{{SevInfo, "mail.example.com", "presents the next key"}}},
		{"rolled over before the next key was published", &next, tlsa(curSum), dial, true,
			[]maWant{{SevError, "mail.example.com", "matches no TLSA"}}},
		{"no TLSA published", &cur, tlsa(), dial, true,
			[]maWant{{SevError, "mail.example.com", "no TLSA is published at _25._tcp.mail.example.com."}}},
		{"no STARTTLS", nil, tlsa(curSum), dial, true,
			[]maWant{{SevError, "mail.example.com", "does not offer STARTTLS"}}},
		{"unreachable", &cur, tlsa(curSum), dialClosed, true,
			[]maWant{{SevWarning, "mail.example.com", "could not verify"}}},
		{"unsigned zone", &cur, tlsa(curSum)[1:], dial, true,
			[]maWant{{SevError, "example.com", "is not DNSSEC-signed"}}},
		{"offline", &cur, tlsa(curSum)[1:], dial, false,
			[]maWant{{SevError, "example.com", "is not DNSSEC-signed"}, {SevInfo, "mail.example.com", SkippedMessage}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.Present(tc.cert)
			env := &Env{Live: tc.live, Zone: tc.zone, DialSMTP: tc.dial}
			maCheck(t, tc.name, CheckTLSA(context.Background(), env, d), tc.want)
		})
	}
}

// TestCheckTLSAChainOfTrust: with lookups, the parent's DS decides whether
// validating senders see the zone as signed.
func TestCheckTLSAChainOfTrust(t *testing.T) {
	d := &policy.Domain{Domain: "example.com", Zone: "example.com", Provider: "mem",
		MailHosts: []policy.MailHost{{Name: "mail", TLSA: &policy.TLSA{Current: "aa"}}}}
	dnskey := libdns.RR{Name: "@", Type: "DNSKEY", TTL: time.Hour, Data: "257 3 13 AAAA"}
	refused := func(context.Context, string) (net.Conn, error) { return nil, errors.New("connection refused") }
	withDS := &mapResolver{}
	withDS.add("example.com.", "DS", "40085 13 2 ABCD")
	failing := &mapResolver{fail: map[string]error{"example.com. DS": errors.New("timeout")}}
	for _, tc := range []struct {
		name string
		zone []libdns.RR
		r    Resolver
		want []maWant
	}{
		{"signed, DS at the parent", []libdns.RR{dnskey}, withDS, nil},
		{"signed, no DS: an island", []libdns.RR{dnskey}, &mapResolver{}, []maWant{{SevError, "example.com", "publishes no DS"}}},
		{"signed, DS lookup fails", []libdns.RR{dnskey}, failing, []maWant{{SevWarning, "example.com", "could not verify the DS"}}},
		{"DNSKEY hidden by the provider, DS at the parent", nil, withDS, nil},
		{"unsigned, no DS", nil, &mapResolver{}, []maWant{{SevError, "example.com", "is not DNSSEC-signed"}}},
		{"unsigned, DS lookup fails", nil, failing, []maWant{{SevError, "example.com", "is not DNSSEC-signed"}}},
	} {
		env := &Env{Live: true, Resolver: tc.r, Zone: tc.zone, DialSMTP: refused}
		var got []Finding
		for _, f := range CheckTLSA(context.Background(), env, d) {
			if f.Subject == "example.com" {
				got = append(got, f)
			}
		}
		maCheck(t, tc.name, got, tc.want)
	}
}

// TestZoneResolverAsksParentForDS: a zone's DS lives in its parent, so the
// zone resolver does not answer it from the zone.
func TestZoneResolverAsksParentForDS(t *testing.T) {
	next := &mapResolver{}
	next.add("example.com.", "DS", "40085 13 2 ABCD")
	r := NewZoneResolver(map[string][]libdns.RR{"example.com": {{Name: "@", Type: "DNSKEY", TTL: time.Hour, Data: "257 3 13 AAAA"}}}, next)
	ans, err := r.Lookup(context.Background(), "example.com.", "DS")
	if err != nil || len(ans.Records) != 1 || ans.FromZone {
		t.Errorf("DS at the apex: %+v %v, want the parent's", ans, err)
	}
	if ans, err := r.Lookup(context.Background(), "example.com.", "DNSKEY"); err != nil || !ans.FromZone || len(ans.Records) != 1 {
		t.Errorf("DNSKEY at the apex: %+v %v, want the zone's", ans, err)
	}
}
