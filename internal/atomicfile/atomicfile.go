// Package atomicfile replaces files whole: a reader sees the old content or
// the new, never a part of either, and the new content survives a crash
// once Write has returned.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write replaces path with data, with mode perm: a temporary file in the
// same directory (named by pattern as os.CreateTemp takes it; "" means
// "."+base+".*", a hidden name beside the file), synced, renamed over path,
// then the directory synced so that the rename itself is durable. The
// directory must exist. On failure path is left as it was and the
// temporary file is removed.
func Write(path string, data []byte, perm os.FileMode, pattern string) error {
	dir := filepath.Dir(path)
	if pattern == "" {
		pattern = "." + filepath.Base(path) + ".*"
	}
	tmp, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return err
	}
	// Gone after the rename; removes the temporary file after a failure.
	defer os.Remove(tmp.Name())
	err = tmp.Chmod(perm)
	if err == nil {
		_, err = tmp.Write(data)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
