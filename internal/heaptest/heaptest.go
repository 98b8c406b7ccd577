// Package heaptest measures the heap for tests of what a run keeps.
package heaptest

import "runtime"

// Live is the heap in use after two full collections, so that what a test
// measures is what is still reachable.
func Live() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
