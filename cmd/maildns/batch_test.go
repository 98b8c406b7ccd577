package main

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// TestStartHeap: collection stays off under the limit until the first
// collection, which lifts the limit and sets GOGC.
func TestStartHeap(t *testing.T) {
	oldPercent := debug.SetGCPercent(100)
	oldLimit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() {
		debug.SetGCPercent(oldPercent)
		debug.SetMemoryLimit(oldLimit)
	})
	startHeap(1<<40, 137)
	if p := debug.SetGCPercent(-1); p != -1 {
		t.Fatalf("GOGC after startHeap = %d, want -1 (off)", p)
	}
	if l := debug.SetMemoryLimit(-1); l != 1<<40 {
		t.Fatalf("memory limit after startHeap = %d, want %d", l, int64(1<<40))
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC() // finalizers run after the collection, on their own goroutine
		if debug.SetMemoryLimit(-1) == math.MaxInt64 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first collection did not lift the memory limit")
		}
		time.Sleep(time.Millisecond)
	}
	if p := debug.SetGCPercent(-1); p != 137 {
		t.Fatalf("GOGC after the first collection = %d, want 137", p)
	}
}

// TestTuneBatchOnlyInTheProcess: commands run by the tests leave the
// collector of the test process alone.
func TestTuneBatchOnlyInTheProcess(t *testing.T) {
	if tuneProcess {
		t.Fatal("tuneProcess set outside main")
	}
	before := debug.SetGCPercent(-1)
	debug.SetGCPercent(before)
	tuneBatch()
	if p := debug.SetGCPercent(before); p != before {
		t.Fatalf("tuneBatch in a test changed GOGC from %d to %d", before, p)
	}
}
