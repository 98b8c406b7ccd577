package policy

import "testing"

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
