package journal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// A journal file holds the entries of one provider zone in one write of a
// run: one entry per domain share. A file of one entry is the indented JSON
// object every file was before; a file of several is one JSON object a
// line, so that a zone shared by thousands of domains costs one file and
// one fsync, not one per domain. ReadAll reads both.

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
