package testbind

import (
	"net"
	"strconv"
	"testing"

	"github.com/miekg/dns"
)

// TestStartRetriesPortInUse: a port taken between freePort and the
// server's bind (by a client socket or another test's server) makes the
// start try again on another port, on each kind of server.
func TestStartRetriesPortInUse(t *testing.T) {
	for _, kind := range Kinds {
		t.Run(kind, func(t *testing.T) {
			held, _, err := freePort()
			if err != nil {
				t.Fatal(err)
			}
			addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(held))
			tl, err := net.Listen("tcp4", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer tl.Close()
			ul, err := net.ListenPacket("udp4", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer ul.Close()
			picks := 0
			pickPort = func() (int, bool, error) {
				picks++
				if picks == 1 {
					return held, false, nil
				}
				return freePort()
			}
			t.Cleanup(func() { pickPort = freePort })
			s := StartKind(t, kind, Zone{Name: "retry.example"})
			if picks != 2 {
				t.Errorf("ports picked: %d, want 2 (the held one, then another)", picks)
			}
			if s.Addr == addr {
				t.Errorf("server at the held address %s", addr)
			}
			if r := s.Query(t, "retry.example.", dns.TypeSOA); len(r.Answer) != 1 {
				t.Errorf("SOA of retry.example after the retry: %v", r.Answer)
			}
		})
	}
}
