package daemon

import (
	gosync "sync"

	"github.com/maildns/maildns/policy"
)

// compileOnce returns compile remembering each policy's result: a daemon's
// loaded config does not change between runs (a reload builds a new runner),
// so every run after the first reuses the compiled RRsets, which the engine
// only reads.
func compileOnce(compile func(*policy.Domain) ([]policy.RRset, error)) func(*policy.Domain) ([]policy.RRset, error) {
	type result struct {
		sets []policy.RRset
		err  error
	}
	var mu gosync.Mutex
	done := map[*policy.Domain]result{}
	return func(d *policy.Domain) ([]policy.RRset, error) {
		mu.Lock()
		r, ok := done[d]
		mu.Unlock()
		if !ok {
			r.sets, r.err = compile(d)
			mu.Lock()
			done[d] = r
			mu.Unlock()
		}
		return r.sets, r.err
	}
}
