package zonefile

import (
	"bytes"
	"sync"

	"github.com/libdns/libdns"
)

// writtenZones holds, for each zone file this provider wrote and nobody
// has read since, the bytes it wrote and the records a parse of them gives
// (checkText found them one for one in those bytes before the rename).
// The read that follows a write (the engine's read back) reads the file
// as always and, when it holds exactly those bytes, returns the records
// without parsing the text again: the same bytes parse to the same
// records, so the read still proves what is on disk. Any other content is
// parsed as usual. Each is used once.
type writtenZones struct {
	mu sync.Mutex
	m  map[string]writtenZone // by ZonePath's path
}

type writtenZone struct {
	text []byte
	recs []libdns.Record
}

// put records what a write to path wrote; recs nil forgets path.
func (w *writtenZones) put(path string, text []byte, recs []libdns.Record) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if recs == nil {
		delete(w.m, path)
		return
	}
	if w.m == nil {
		w.m = map[string]writtenZone{}
	}
	w.m[path] = writtenZone{text: text, recs: recs}
}

// take returns the records of path's last write when data, the file as
// just read, is what it wrote; either way that write is forgotten.
func (w *writtenZones) take(path string, data []byte) ([]libdns.Record, bool) {
	w.mu.Lock()
	z, ok := w.m[path]
	if ok {
		delete(w.m, path)
	}
	w.mu.Unlock()
	if !ok || !bytes.Equal(z.text, data) {
		return nil, false
	}
	return z.recs, true
}
