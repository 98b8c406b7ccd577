package rfc2136

import (
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/internal/testbind"
	"github.com/maildns/maildns/providers"
	"github.com/miekg/dns"
)

// TestZoneVersionOverTCP: a server whose UDP answers never arrive (a
// firewall that passes only TCP) is asked again over TCP.
func TestZoneVersionOverTCP(t *testing.T) {
	old := udpTries
	udpTries = []time.Duration{50 * time.Millisecond}
	t.Cleanup(func() { udpTries = old })

	srv := testbind.Start(t, testbind.Zone{Name: "example.com"})
	// A TCP port whose UDP twin is free too (held by a sink that answers
	// nothing); another process may hold the twin, so try a few ports.
	var l net.Listener
	var sink net.PacketConn
	for try := 0; sink == nil; try++ {
		var err error
		if l, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if sink, err = net.ListenPacket("udp", l.Addr().String()); err != nil {
			l.Close()
			if try == 20 {
				t.Fatalf("no UDP port beside a TCP one in 20 tries: %v", err)
			}
		}
	}
	t.Cleanup(func() { l.Close(); sink.Close() })
	var dropped atomic.Int32
	go func() {
		buf := make([]byte, 512)
		for {
			if _, _, err := sink.ReadFrom(buf); err != nil {
				return
			}
			dropped.Add(1)
		}
	}()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", srv.Addr)
			if err != nil {
				c.Close()
				continue
			}
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()

	values := srv.Settings()
	values["server"] = l.Addr().String()
	p, err := New(&providers.Settings{Name: "bind", Values: values, Secret: map[string]bool{"key": true}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := p.(*Provider).ZoneVersion(ctx, "example.com")
	if err != nil {
		t.Fatalf("ZoneVersion with UDP dropped: %v", err)
	}
	if dropped.Load() != 1 {
		t.Errorf("%d UDP queries sent, want 1 before TCP", dropped.Load())
	}
	t.Logf("token over TCP: %q", v)
}

// TestIXFRNotChained: differences that do not apply to the copy kept (here
// a copy that lost the record the UPDATE deletes) are not applied: the
// zone is transferred whole, and the read is the server's.
func TestIXFRNotChained(t *testing.T) {
	old := ixfrMinRecords
	ixfrMinRecords = 1
	t.Cleanup(func() { ixfrMinRecords = old })
	const zone = "example.com."
	// Big enough that BIND sends differences rather than the whole zone
	// (max-ixfr-ratio).
	content := testbind.MinimalZone(zone) + "old 300 IN TXT \"gone soon\"\n"
	for i := range 50 {
		content += fmt.Sprintf("www 300 IN A 192.0.2.%d\n", i)
	}
	srv := testbind.Start(t, testbind.Zone{Name: zone, Content: content})
	proxy := srv.CountingProxy(t)
	values := srv.Settings()
	values["server"] = proxy.Addr
	pp, err := New(&providers.Settings{Name: "bind", Values: values, Secret: map[string]bool{"key": true}})
	if err != nil {
		t.Fatal(err)
	}
	p := pp.(*Provider)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := p.ZoneVersion(ctx, zone); err != nil {
		t.Fatal(err)
	}
	if _, err := p.GetRecords(ctx, zone); err != nil {
		t.Fatal(err)
	}
	// The copy loses the TXT record the UPDATE below deletes.
	b := p.bases[zone]
	recs, err := b.records()
	if err != nil {
		t.Fatal(err)
	}
	recs = slices.DeleteFunc(recs, func(rr dns.RR) bool { return rr.Header().Rrtype == dns.TypeTXT })
	p.bases[zone] = newBase(b.serial, recs)

	m := new(dns.Msg)
	m.SetUpdate(zone)
	m.RemoveRRset([]dns.RR{&dns.ANY{Hdr: dns.RR_Header{Name: "old." + zone, Rrtype: dns.TypeTXT}}})
	key := dns.Fqdn(srv.KeyName)
	m.SetTsig(key, dns.HmacSHA256, 300, time.Now().Unix())
	c := &dns.Client{Net: "tcp", TsigSecret: map[string]string{key: srv.KeySecret}, Timeout: 5 * time.Second}
	if r, _, err := c.Exchange(m, srv.Addr); err != nil || r.Rcode != dns.RcodeSuccess {
		t.Fatalf("UPDATE: %v %v", r, err)
	}
	if _, err := p.ZoneVersion(ctx, zone); err != nil {
		t.Fatal(err)
	}
	proxy.Reset()
	got, err := p.GetRecords(ctx, zone)
	if err != nil {
		t.Fatal(err)
	}
	if tr := proxy.Traffic(); tr.ByType["IXFR"] != 1 || tr.ByType["AXFR"] != 1 {
		t.Errorf("read: %v, want an IXFR, then an AXFR", tr.ByType)
	}
	if len(got) != 52 || slices.ContainsFunc(got, func(r libdns.Record) bool { return r.RR().Type == "TXT" }) {
		t.Errorf("%d records read (TXT among them?), want 52 without the TXT", len(got))
	}
}

// tcpRelay relays TCP on a loopback port to addr; nothing listens for UDP
// on that port.
func tcpRelay(t *testing.T, addr string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", addr)
			if err != nil {
				c.Close()
				continue
			}
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
	return l.Addr().String()
}

// TestZoneVersionUDPUnreachable: a port closed for UDP (ICMP unreachable)
// sends the serial check over TCP at once, without waiting for a UDP
// answer that cannot come.
func TestZoneVersionUDPUnreachable(t *testing.T) {
	srv := testbind.Start(t, testbind.Zone{Name: "example.com"})
	values := srv.Settings()
	values["server"] = tcpRelay(t, srv.Addr)
	p, err := New(&providers.Settings{Name: "bind", Values: values, Secret: map[string]bool{"key": true}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := p.(*Provider).ZoneVersion(context.Background(), "example.com"); err != nil {
		t.Fatalf("ZoneVersion: %v", err)
	}
	if d := time.Since(start); d >= udpTries[0] {
		t.Errorf("the serial check took %s: it waited for UDP", d)
	}
}

// TestZoneVersionConcurrent: serial checks of many zones at once share one
// UDP socket, each gets its own zone's answer, and the socket closes once
// idle.
func TestZoneVersionConcurrent(t *testing.T) {
	old := udpIdle
	udpIdle = 100 * time.Millisecond
	t.Cleanup(func() { udpIdle = old })
	var zones []testbind.Zone
	for i := range 40 {
		zones = append(zones, testbind.Zone{Name: fmt.Sprintf("z%02d.example", i),
			Content: strings.Replace(testbind.MinimalZone(fmt.Sprintf("z%02d.example", i)), " 1 3600 ", fmt.Sprintf(" %d 3600 ", 100+i), 1)})
	}
	srv := testbind.Start(t, zones...)
	proxy := srv.CountingProxy(t)
	values := srv.Settings()
	values["server"] = proxy.Addr
	pp, err := New(&providers.Settings{Name: "bind", Values: values, Secret: map[string]bool{"key": true}})
	if err != nil {
		t.Fatal(err)
	}
	p := pp.(*Provider)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg gosync.WaitGroup
	errs := make(chan error, 5*len(zones))
	for range 5 {
		for i, z := range zones {
			wg.Go(func() {
				v, err := p.ZoneVersion(ctx, z.Name)
				if err == nil && !strings.Contains(v, fmt.Sprintf(" %d 3600 ", 100+i)) {
					err = fmt.Errorf("zone %s: token %q", z.Name, v)
				}
				if err != nil {
					errs <- err
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if tr := proxy.Traffic(); tr.UDPRequests != 5*len(zones) || proxy.Counts().Conns != 0 {
		t.Errorf("%d queries over UDP, %d TCP connections; want %d and 0", tr.UDPRequests, proxy.Counts().Conns, 5*len(zones))
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		p.udp.mu.Lock()
		open, waiting := p.udp.conn != nil, len(p.udp.waiting)
		p.udp.mu.Unlock()
		if !open && waiting == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the UDP socket is still open (%d waiting) long after the last check", waiting)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
