package policy

import (
	"strings"
	"unsafe"
)

// loadArena is where one loader puts what the policies it loads keep for
// the run: their compiled RRsets and their strings. A policy's strings
// are many and small (a name, an address, a record of 50 bytes): each its
// own allocation, they cost their size class and the allocator's work,
// copied into blocks they cost their length. The strings and sets of a
// load are kept, and dropped, together.
type loadArena struct {
	sets   rrsetBlock
	strs   strArena
	shared elemIntern // the elements policies share
}

// strArena hands out strings from blocks of bytes (never written again
// once handed out). A nil arena allocates each string on its own.
type strArena struct {
	buf    []byte
	shared map[string]string // see once
}

// strBlockLen is the size of a block of strings: small enough that a
// load of a few policies wastes little, large enough that its unused tail
// (a string longer than the room left starts a new block) is a small part.
const strBlockLen = 8 << 10

// room returns where n bytes go: the tail of the current block, or a new
// one (n over an eighth of a block: an allocation of its own).
func (a *strArena) room(n int) []byte {
	if a == nil {
		return make([]byte, 0, n)
	}
	return blockRoom(&a.buf, n, strBlockLen, strBlockLen/8)
}

// blockRoom returns an empty slice with room for exactly n elements, cut
// from the block *free (a new block of blockLen when it has too little
// left; n over most: an allocation of its own). The full-slice cap keeps
// an append by the caller from running into the next one's room.
func blockRoom[T any](free *[]T, n, blockLen, most int) []T {
	if n > most {
		return make([]T, 0, n)
	}
	if cap(*free)-len(*free) < n {
		*free = make([]T, 0, blockLen)
	}
	i := len(*free)
	*free = (*free)[:i+n]
	return (*free)[i : i : i+n]
}

// bytes returns b as a string of the arena.
func (a *strArena) bytes(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	r := append(a.room(len(b)), b...)
	return unsafe.String(unsafe.SliceData(r), len(r))
}

// str returns a copy of s in the arena (nil: strings.Clone).
func (a *strArena) str(s string) string {
	if a == nil {
		return strings.Clone(s)
	}
	if s == "" {
		return ""
	}
	r := append(a.room(len(s)), s...)
	return unsafe.String(unsafe.SliceData(r), len(r))
}

// concat returns the parts joined, in the arena.
func (a *strArena) concat(parts ...string) string {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	if n == 0 {
		return ""
	}
	r := a.room(n)
	for _, p := range parts {
		r = append(r, p...)
	}
	return unsafe.String(unsafe.SliceData(r), len(r))
}

// joined returns x+y in the arena, one string for every call with the
// same x+y: the names most policies have ("s1._domainkey") are kept once.
func (a *strArena) joined(x, y string) string {
	if a == nil {
		return x + y
	}
	var buf [64]byte
	return a.once(append(append(buf[:0], x...), y...))
}

// once returns b as a string of the arena, one string for every call
// with the same b (a nil arena: an allocation each).
func (a *strArena) once(b []byte) string {
	if a == nil {
		return string(b)
	}
	if s, ok := a.shared[string(b)]; ok {
		return s
	}
	s := a.bytes(b)
	if a.shared == nil {
		a.shared = map[string]string{}
	}
	a.shared[s] = s
	return s
}
