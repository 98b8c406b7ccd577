package sync

import (
	gosync "sync"
	"sync/atomic"
)

// forEach calls fn(i) for every i below n on at most limit goroutines, and
// returns when all calls have. A few long-lived workers rather than one
// goroutine per item: each item's goroutine would grow its stack from the
// minimum again (zone parsing and the checks run deep), a tenth of a
// 10,000-zone run's CPU.
func forEach(n, limit int, fn func(i int)) {
	var next atomic.Int64
	var wg gosync.WaitGroup
	for range min(limit, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
}
