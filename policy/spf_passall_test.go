package policy

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
)

func TestPassesEveryone(t *testing.T) {
	for rec, want := range map[string]bool{
		"v=spf1 ip4:0.0.0.0/0 ip6:::/0 -all":              true,
		"v=spf1 ip4:0.0.0.0/1 ip4:128.0.0.0/1 -all":       true,
		"v=spf1 ip4:0.0.0.0/1 ip4:128.0.0.0/2 -all":       false,
		"v=spf1 ip6:::/1 ip6:8000::/1 ~all":               true,
		"v=spf1 ip4:0.0.0.0/1 -all ip4:128.0.0.0/1":       false,
		"v=spf1 -ip4:0.0.0.0/0 -all":                      false,
		"v=spf1 a/0 -all":                                 true,
		"v=spf1 mx:example.com//0 -all":                   true,
		"v=spf1 ip4:203.0.113.0/24 ip4:198.51.100.7 -all": false,
		"v=spf1 ip4:0.0.0.0/2 ip4:64.0.0.0/2 ip4:128.0.0.0/2 ip4:192.0.0.0/3 ip4:224.0.0.0/3 -all": true,
		"v=spf1 ip4:0.0.0.0/2 ip4:64.0.0.0/2 ip4:128.0.0.0/2 ip4:192.0.0.0/3 ip4:224.0.0.0/4 -all": false,
		// As many addresses as there are, but one half twice: not all.
		"v=spf1 ip4:0.0.0.0/1 ip4:0.0.0.0/1 -all":                                false,
		"v=spf1 ip6:::/1 ip6:::/2 ip6:4000::/2 ip4:10.0.0.0/8 -all":              false,
		"v=spf1 ip4:10.0.0.0/8 ip6:::/1 ip6:::/2 ip6:4000::/2 ip6:8000::/1 -all": true,
	} {
		p, err := ParseSPF(rec)
		if err != nil {
			t.Fatalf("%s: %v", rec, err)
		}
		if got := passesEveryone(p) != ""; got != want {
			t.Errorf("%s: passes everyone %v, want %v (%q)", rec, got, want, passesEveryone(p))
		}
		errs := 0
		for _, is := range LintSPF(p, rec) {
			if is.Severity == "error" {
				errs++
			}
		}
		if (errs > 0) != want {
			t.Errorf("%s: %d lint errors, want error %v", rec, errs, want)
		}
	}
}

// TestPassesEveryoneRandom: the sum of the terms' sizes, which
// passesEveryone reads first, never hides a record whose networks cover
// every address (prefixesCover over all of them).
func TestPassesEveryoneRandom(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		rec := "v=spf1"
		var nets []netip.Prefix
		for range 1 + rnd.IntN(6) {
			bits := rnd.IntN(4)
			a := netip.AddrFrom4([4]byte{byte(rnd.IntN(4) << 6)})
			p := netip.PrefixFrom(a, bits).Masked()
			nets = append(nets, p)
			rec += fmt.Sprintf(" ip4:%s", p)
		}
		rec += " -all"
		p, err := ParseSPF(rec)
		if err != nil {
			t.Fatalf("%s: %v", rec, err)
		}
		want := prefixesCover(netip.MustParsePrefix("0.0.0.0/0"), nets)
		if got := passesEveryone(p) != ""; got != want {
			t.Fatalf("%s: passes everyone %v, want %v", rec, got, want)
		}
	}
}
