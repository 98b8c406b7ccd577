package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// CreateAll writes new entries in dir, as Create does each, and makes them
// durable together: every file is written, then one sync of the file system
// makes them all durable before any is renamed into place, then one more
// makes the names durable. A zone's shares (one entry per domain) cost two
// syncs instead of two per domain. On an error no entry is left.
func CreateAll(dir, run string, entries []*Entry) ([]string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal: %w (nothing was changed)", err)
	}
	paths := make([]string, len(entries))
	taken := map[string]bool{}
	for i, e := range entries {
		path, err := entryPath(dir, run, e, taken)
		if err != nil {
			return nil, fmt.Errorf("journal: %w (nothing was changed)", err)
		}
		taken[path] = true
		paths[i] = path
	}
	if err := WriteAll(paths, entries); err != nil {
		return nil, fmt.Errorf("journal: %w (nothing was changed)", err)
	}
	return paths, nil
}

// WriteAll writes each entry to its path (paths[i] gets entries[i]) as
// WriteFile does, atomically and durably, with the syncs shared by all:
// the contents are on disk before any name points at them (an fsync of
// each file, or for a large batch one syncfs of the file system), and the
// names before it returns (an fsync of the directory). On an error a path
// may hold its old or its new entry, never a part of one; the paths it
// created are removed.
func WriteAll(paths []string, entries []*Entry) (err error) {
	if len(paths) == 0 {
		return nil
	}
	// One syncfs flushes everything waiting on the file system, other
	// processes' data too: worth it only in place of many fsyncs.
	perFile := len(paths) < syncFSBatch
	temps := make([]string, 0, len(paths))
	renamed := 0
	created := make([]bool, len(paths))
	defer func() {
		if err == nil {
			return
		}
		for _, t := range temps[renamed:] {
			_ = os.Remove(t)
		}
		for i := range renamed {
			if created[i] {
				_ = os.Remove(paths[i])
			}
		}
	}()
	for i, path := range paths {
		data, err := json.MarshalIndent(entries[i], "", "  ")
		if err != nil {
			return err
		}
		data = append(data, '\n')
		tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-journal-*")
		if err != nil {
			return err
		}
		temps = append(temps, tmp.Name())
		if _, err = tmp.Write(data); err == nil && Fsync && perFile {
			err = tmp.Sync()
		}
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		if _, serr := os.Lstat(path); errors.Is(serr, os.ErrNotExist) {
			created[i] = true
		}
	}
	if Fsync && !perFile {
		if err := syncContents(temps); err != nil {
			return err
		}
	}
	for i, path := range paths {
		if err := os.Rename(temps[i], path); err != nil {
			return err
		}
		renamed++
	}
	if !Fsync {
		return nil
	}
	return syncDirs(paths)
}

// syncFSBatch is the number of entries from which one syncfs replaces an
// fsync of each.
const syncFSBatch = 8

// syncContents makes the contents of files durable: one syncfs of their
// file system (they are all in state_dir), or an fsync of each where the
// system has no syncfs.
func syncContents(files []string) error {
	d, err := os.Open(filepath.Dir(files[0]))
	if err != nil {
		return err
	}
	defer d.Close()
	if err := syncFS(d); !errors.Is(err, errNoSyncFS) {
		return err
	}
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		err = f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// syncDirs fsyncs each directory of paths: the renames are durable.
func syncDirs(paths []string) error {
	done := map[string]bool{}
	for _, p := range paths {
		dir := filepath.Dir(p)
		if done[dir] {
			continue
		}
		done[dir] = true
		d, err := os.Open(dir)
		if err != nil {
			return err
		}
		err = d.Sync()
		if cerr := d.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

var errNoSyncFS = errors.New("no syncfs")
