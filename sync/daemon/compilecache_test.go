package daemon

import (
	"testing"

	"github.com/maildns/maildns/policy"
)

// A policy is compiled once for all of a daemon's runs, also when a staged
// DKIM rotation hands each run a copy of it; a state that moves is compiled
// anew, and the state no run uses any more is let go.
func TestCompileCacheAcrossRotationCopies(t *testing.T) {
	d := &policy.Domain{Domain: "a.example", DKIM: []policy.DKIM{{Selector: "s1", Key: "x"}, {Selector: "s2", Key: "y"}}}
	plain := &policy.Domain{Domain: "b.example"}
	calls := map[string]int{}
	c := newCompileCache(func(d *policy.Domain) ([]policy.RRset, error) {
		calls[compileKey(d)]++
		return nil, nil
	})
	// run compiles the domains as a run does: d as the rotation leaves it,
	// a new copy each run (policy.WithDKIMStates), and plain itself.
	run := func(s1 string) {
		for _, d := range []*policy.Domain{policy.WithDKIMStates(d, map[string]string{"s1": s1, "s2": "active"}), plain} {
			_, _ = c.Compile(d)
		}
		c.sweep()
	}
	for range 3 {
		run("active")
	}
	if len(calls) != 2 || calls["a.example\x00s1=\x00s2="] != 1 || calls["b.example"] != 1 {
		t.Fatalf("before the retirement: compiled %v, want each policy once", calls)
	}
	for range 3 {
		run("retired")
	}
	if calls["a.example\x00s1=retired\x00s2="] != 1 {
		t.Fatalf("after the retirement: compiled %v, want the retired state once", calls)
	}
	if got := c.size(); got != 2 {
		t.Fatalf("%d policies kept, want 2 (the states before the retirement let go)", got)
	}
}
