package daemon

import (
	gosync "sync"

	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/sync"
)

// compileCache remembers each policy's compiled RRsets for a daemon's runs:
// its loaded config does not change between runs (a reload builds a new
// runner), so every run after the first reuses the compiled RRsets, which
// the engine only reads.
//
// A policy is known by its domain and the states its DKIM selectors have
// this run: a rotation hands the engine a copy of the config's policy with
// the states of the day (planRotation), a new value every run, so the copy
// cannot be the key. sweep, after each run, forgets what that run did not
// use, so the cache holds one run's policies whatever the rotations do.
type compileCache struct {
	compile func(*policy.Domain) ([]policy.RRset, error)

	mu   gosync.Mutex
	done map[string]*compiled
}

type compiled struct {
	sets []policy.RRset
	err  error
	used bool // by the run since the last sweep
}

func newCompileCache(compile func(*policy.Domain) ([]policy.RRset, error)) *compileCache {
	return &compileCache{compile: compile, done: map[string]*compiled{}}
}

// compileKey is sync.CompileKey: a run's policy within one config.
func compileKey(d *policy.Domain) string { return sync.CompileKey(d) }

// Compile is the engine's Compile.
func (c *compileCache) Compile(d *policy.Domain) ([]policy.RRset, error) {
	k := compileKey(d)
	c.mu.Lock()
	r, ok := c.done[k]
	if ok {
		r.used = true
	}
	c.mu.Unlock()
	if !ok {
		r = &compiled{used: true}
		r.sets, r.err = c.compile(d)
		c.mu.Lock()
		c.done[k] = r
		c.mu.Unlock()
	}
	return r.sets, r.err
}

// sweep forgets the policies the runs since the last sweep did not compile.
func (c *compileCache) sweep() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, r := range c.done {
		if !r.used {
			delete(c.done, k)
		}
		r.used = false
	}
}

// size is the number of policies kept.
func (c *compileCache) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.done)
}
