package policy

import "testing"

func TestEnforced(t *testing.T) {
	yes, no := true, false
	for _, c := range []struct {
		name   string
		cfg    bool
		domain *bool
		want   bool
	}{
		{"default", true, nil, true},
		{"config watches", false, nil, false},
		{"policy watches", true, &no, false},
		{"policy enforces under a watching config", false, &yes, true},
	} {
		cfg := &Config{Watch: !c.cfg}
		if got := cfg.Enforced(&Domain{Enforce: c.domain}); got != c.want {
			t.Errorf("%s: Enforced = %v, want %v", c.name, got, c.want)
		}
	}
}
