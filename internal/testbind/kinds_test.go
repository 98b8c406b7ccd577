package testbind

import (
	"testing"

	"github.com/miekg/dns"
)

// TestKindsServe starts each kind of server and checks that it answers for
// its zone with authority.
func TestKindsServe(t *testing.T) {
	for _, kind := range Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			s := StartKind(t, kind, Zone{Name: "example.com"}, Zone{Name: "113.0.203.in-addr.arpa"})
			r := s.Query(t, "ns.example.com", dns.TypeA)
			if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || !r.Authoritative {
				t.Fatalf("%s: ns.example.com A: %v", kind, r)
			}
		})
	}
}
