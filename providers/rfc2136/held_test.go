package rfc2136

import (
	"testing"
	"time"
)

// A read is kept for the next write of its zone for heldFor only, and a
// daemon does not keep every zone it ever read.
func TestHeldExpires(t *testing.T) {
	p := &Provider{}
	fresh := newHeld()
	old := newHeld()
	old.at = time.Now().Add(-heldFor - time.Second)
	p.remember("old.example.", old)
	if p.recall("old.example.") != nil {
		t.Error("a read older than heldFor is used for a write")
	}
	p.pruned = time.Now().Add(-heldFor - time.Second)
	p.remember("fresh.example.", fresh)
	if p.recall("fresh.example.") != fresh {
		t.Error("a fresh read is not kept")
	}
	if _, ok := p.held["old.example."]; ok {
		t.Error("an expired read is still held after pruning")
	}
	p.forget("fresh.example.")
	if p.recall("fresh.example.") != nil {
		t.Error("a read is kept after a write")
	}
}
