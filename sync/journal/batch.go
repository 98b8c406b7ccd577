package journal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// A journal file holds the entries of one provider zone in one write of a
// run: one entry per domain share. A file of one entry is the indented JSON
// object every file was before; a file of several is one JSON object a
// line, so that a zone shared by thousands of domains costs one file and
// one fsync, not one per domain. ReadAll reads both.
//
// What the writes did is appended to the file, never written over it: an
// outcome line (AppendOutcome) holds the result of each entry and the
// entries dropped, and the last whole one counts. The entries, written once
// and synced before any zone is touched, are never rewritten, so no crash
// can cost the before state; and a result costs no new file, rename or
// directory sync (a temporary file and a rename each time made every
// journaled zone write allocate and free a file in state_dir).

// CreateFile writes entries (the shares of one zone, in that order) to one
// new file in dir, named by run (see entryPath; several entries: by the
// zone alone) and returns its path. The file is durable (the file and
// the directory synced) before it returns; on an error no file is left.
func CreateFile(dir, run string, entries []*Entry) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("journal: %w (nothing was changed)", err)
	}
	path, err := entryPath(dir, run, entries)
	if err != nil {
		return "", fmt.Errorf("journal: %w (nothing was changed)", err)
	}
	if err := WriteEntries(path, entries); err != nil {
		return "", fmt.Errorf("journal: %w (nothing was changed)", err)
	}
	return path, nil
}

// WriteEntries writes entries to path atomically and durably: a temporary
// file in the same directory, fsync, rename over path, fsync of the
// directory. On an error path holds its old contents or none, never a part
// of the new ones.
func WriteEntries(path string, entries []*Entry) (err error) {
	data, err := encodeEntries(entries)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-journal-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err == nil && Fsync {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if !Fsync {
		return nil
	}
	return syncDir(filepath.Dir(path))
}

// encodeEntries is the text of a journal file of entries.
func encodeEntries(entries []*Entry) ([]byte, error) {
	if len(entries) == 1 {
		data, err := json.MarshalIndent(entries[0], "", "  ")
		if err != nil {
			return nil, err
		}
		return append(data, '\n'), nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf) // one compact object and a newline each
	for _, e := range entries {
		if err := enc.Encode(e); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// syncDir fsyncs dir: a rename in it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// outcomeLine is what AppendOutcome appends: the result of each entry of
// the file, in the file's order (null: none yet), and the indexes of the
// entries dropped (opened for a write that wrote nothing).
type outcomeLine struct {
	Results []*Result `json:"results"`
	Dropped []int     `json:"dropped,omitempty"`
}

// outcomeStart is how every outcome line starts (Results is its first field).
const outcomeStart = `{"results":`

// AppendOutcome appends to the file at path (CreateFile's, of entries) the
// results entries now carry and the entries dropped (dropped[i]: entries[i]
// wrote nothing and is no longer part of the file), synced. ReadAll applies
// the last whole outcome line to the entries it reads, so an append cut
// short by a crash leaves the outcome as it was before it. On an error the
// file is cut back to where it was.
func AppendOutcome(path string, entries []*Entry, dropped []bool) (err error) {
	line := outcomeLine{Results: make([]*Result, len(entries))}
	for i, e := range entries {
		if i < len(dropped) && dropped[i] {
			line.Dropped = append(line.Dropped, i)
			continue
		}
		line.Results[i] = e.Result
	}
	data, err := json.Marshal(line)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	// On its own line, whatever the entries end with.
	if _, err = f.Write(append(append([]byte{'\n'}, data...), '\n')); err == nil && Fsync {
		err = f.Sync()
	}
	if err != nil {
		_ = f.Truncate(info.Size())
	}
	return err
}

// scanFile reads a journal file's data: entry decodes each entry in turn
// (from dec, which it must advance by one value), and the last whole
// outcome line after them is returned (nil: none). Entries must be whole;
// after them come only outcome lines, any of which may be cut short or
// zeroed by a crash during its append (it is then not JSON, and ignored).
// Anything else is an error. Strict: the entries' decoder refuses unknown fields.
func scanFile(data []byte, strict bool, entry func(dec *json.Decoder) error) (n int, out *outcomeLine, err error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if strict {
		dec.DisallowUnknownFields()
	}
	rest := func() []byte { return bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n") }
	for {
		tail := rest()
		if len(tail) == 0 || (n > 0 && outcomeTail(tail)) {
			data = tail
			break
		}
		if err := entry(dec); err != nil {
			return n, nil, err
		}
		n++
	}
	if n == 0 {
		return 0, nil, errors.New("no entry")
	}
	for len(data) > 0 {
		line, next, _ := bytes.Cut(data, []byte{'\n'})
		data = next
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if !json.Valid(line) {
			continue // an append cut short (each starts on a line of its own)
		}
		var o outcomeLine
		d := json.NewDecoder(bytes.NewReader(line))
		d.DisallowUnknownFields()
		if err := d.Decode(&o); err != nil || !o.fits(n) {
			return n, nil, fmt.Errorf("outcome line %q: not an outcome of %d entries", cutShort(line), n)
		}
		out = &o
	}
	return n, out, nil
}

// outcomeTail reports whether what follows the entries of a file is its
// outcome lines: it starts as an outcome line does, or is the start of one
// cut short, or zeros (an append a crash left unwritten).
func outcomeTail(tail []byte) bool {
	if tail[0] == 0 {
		return true
	}
	k := min(len(tail), len(outcomeStart))
	return string(tail[:k]) == outcomeStart[:k]
}

// fits reports whether o is an outcome of a file of n entries.
func (o *outcomeLine) fits(n int) bool {
	if len(o.Results) != n {
		return false
	}
	for _, i := range o.Dropped {
		if i < 0 || i >= n || o.Results[i] != nil {
			return false
		}
	}
	return len(o.Dropped) < n
}

// dropped reports whether o drops entry i.
func (o *outcomeLine) dropped(i int) bool { return o != nil && slices.Contains(o.Dropped, i) }

// cutShort is the start of a long line, for an error.
func cutShort(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "..."
	}
	return string(b)
}
