package policy

import "testing"

func TestRRsetOwnsSPFPrefix(t *testing.T) {
	spf := RRset{Own: OwnPrefix}
	for value, want := range map[string]bool{
		"v=spf1 -all":                true,
		"V=SPF1 ip4:192.0.2.1 -all":  true,
		"v=spf1":                     true,
		"v=spf10 -all":               false,
		"v=spf1-all":                 false,
		"google-site-verification=x": false,
		"":                           false,
	} {
		if got := spf.Owns(value); got != want {
			t.Errorf("Owns(%q) = %v, want %v", value, got, want)
		}
	}
	whole := RRset{Own: OwnAll}
	if !whole.Owns("anything") {
		t.Error("an OwnAll RRset owns every value")
	}
}
