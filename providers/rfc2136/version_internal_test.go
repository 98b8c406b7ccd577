package rfc2136

import (
	"context"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/maildns/maildns/internal/testbind"
	"github.com/maildns/maildns/providers"
)

// TestZoneVersionOverTCP: a server whose UDP answers never arrive (a
// firewall that passes only TCP) is asked again over TCP.
func TestZoneVersionOverTCP(t *testing.T) {
	old := udpTries
	udpTries = []time.Duration{50 * time.Millisecond}
	t.Cleanup(func() { udpTries = old })

	srv := testbind.Start(t, testbind.Zone{Name: "example.com"})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	sink, err := net.ListenPacket("udp", l.Addr().String())
	if err != nil {
		t.Skipf("no UDP port beside the TCP one: %v", err)
	}
	t.Cleanup(func() { sink.Close() })
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
