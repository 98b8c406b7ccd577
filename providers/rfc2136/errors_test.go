package rfc2136_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/providers"
	"github.com/maildns/maildns/providers/rfc2136"
	"github.com/miekg/dns"
)

// fakeServer answers every request over TCP with rcode, signing the answer
// when sign is true.
func fakeServer(t *testing.T, rcode int, sign bool) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{
		Listener: l,
		// The default refuses UPDATE with NOTIMP.
		MsgAcceptFunc: func(dns.Header) dns.MsgAcceptAction { return dns.MsgAccept },
		TsigSecret:    map[string]string{"maildns.": goodSecret},
		Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
			m := new(dns.Msg)
			m.SetRcode(r, rcode)
			if ts := r.IsTsig(); ts != nil && sign && w.TsigStatus() == nil {
				m.SetTsig(ts.Hdr.Name, ts.Algorithm, 300, time.Now().Unix())
			}
			_ = w.WriteMsg(m)
		}),
	}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })
	return l.Addr().String()
}

func providerAt(t *testing.T, addr, timeout string) providers.Provider {
	t.Helper()
	return newProvider(t, map[string]string{
		"server": addr, "key_name": "maildns", "key": goodSecret, "timeout": timeout,
	})
}

func TestTransientErrors(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never answers
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close() // nothing listens: connection refused

	tests := []struct {
		name      string
		addr      string
		rcode     int // of the *rfc2136.Error; -1 for none
		temporary bool
		// notApplied: the write certainly did not happen, so a retry
		// need not re-read the zone first.
		notApplied bool
		wantMsg    string
	}{
		{"SERVFAIL", fakeServer(t, dns.RcodeServerFailure, true), dns.RcodeServerFailure, true, true, "SERVFAIL"},
		{"REFUSED", fakeServer(t, dns.RcodeRefused, true), dns.RcodeRefused, false, false, "REFUSED"},
		{"NOTAUTH", fakeServer(t, dns.RcodeNotAuth, true), dns.RcodeNotAuth, false, false, "not authoritative"},
		{"unsigned success", fakeServer(t, dns.RcodeSuccess, false), -1, false, false, "not TSIG-signed"},
		{"timeout", silent.Addr().String(), -1, true, false, "timeout"},
		{"connection refused", closedAddr, -1, true, true, "refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := providerAt(t, tt.addr, "300ms")
			_, err := p.AppendRecords(context.Background(), "example.com", []libdns.Record{
				libdns.RR{Name: "@", Type: "TXT", TTL: time.Hour, Data: "v=spf1 -all"},
			})
			var re *rfc2136.Error
			if !errors.As(err, &re) {
				t.Fatalf("err = %v (%T), want *rfc2136.Error", err, err)
			}
			if re.Rcode != tt.rcode {
				t.Errorf("Rcode = %d, want %d", re.Rcode, tt.rcode)
			}
			if re.Temporary() != tt.temporary {
				t.Errorf("Temporary() = %v, want %v (err: %v)", re.Temporary(), tt.temporary, err)
			}
			if ok, _ := providers.IsTransient(err); ok != tt.temporary {
				t.Errorf("providers.IsTransient = %v, want %v", ok, tt.temporary)
			}
			var te *providers.TransientError
			if got := errors.As(err, &te) && te.NotApplied; got != tt.notApplied {
				t.Errorf("NotApplied = %v, want %v", got, tt.notApplied)
			}
			// The provider wrapper names the zone, once.
			if !strings.Contains(err.Error(), tt.wantMsg) || strings.Contains(err.Error(), `example.com.`) {
				t.Errorf("error %q does not say %q, or names the zone", err, tt.wantMsg)
			}
		})
	}
}

func TestCancelledContextStopsTransfer(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	p := providerAt(t, silent.Addr().String(), "1m")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err = p.GetRecords(ctx, "example.com.")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("GetRecords returned %s after the cancel", d)
	}
	if ok, _ := providers.IsTransient(err); ok {
		t.Error("a cancelled call is transient")
	}
}

func TestBadRecordsFailBeforeSending(t *testing.T) {
	p := providerAt(t, "127.0.0.1:9", "1s") // nothing is sent
	tests := []struct {
		rec     libdns.RR
		wantMsg string
	}{
		{libdns.RR{Name: "@", Type: "BOGUS", Data: "x"}, `unknown record type "BOGUS"`},
		{libdns.RR{Name: "mail", Type: "A", Data: "300.1.1.1"}, "bad address"},
		{libdns.RR{Name: "@", Type: "MX", Data: "mail.example.com."}, "bad MX data"},
		{libdns.RR{Name: "@", Type: "CAA", Data: "0 issue"}, "bad CAA data"},
	}
	for _, tt := range tests {
		_, err := p.AppendRecords(context.Background(), "example.com.", []libdns.Record{tt.rec})
		if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
			t.Errorf("%v: err = %v, want %q", tt.rec, err, tt.wantMsg)
		}
		var re *rfc2136.Error
		if errors.As(err, &re) {
			t.Errorf("%v: reached the network: %v", tt.rec, err)
		}
	}
}
