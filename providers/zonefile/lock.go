package zonefile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// zoneLocks holds one lock per zone file path for the whole process, so that
// two Providers pointing at the same directory still take turns. A lock is a
// channel with room for one token so that waiting can give up on ctx.
var zoneLocks sync.Map // absolute path -> chan struct{}

// beforeRename, when set (by tests), runs between writing the temporary
// file and renaming it over the zone file.
var beforeRename func()

// lockPollMin and lockPollMax bound the sleeps between attempts to take the
// file lock held by another process.
const (
	lockPollMin = 2 * time.Millisecond
	lockPollMax = 50 * time.Millisecond
)

// lockZone takes the in-process lock and then an exclusive flock on the
// zone file at path itself, for a read-modify-write of it. It waits until
// both are held or ctx is done. The returned function releases both.
//
// Locking the zone file leaves no lock file behind. A write replaces the
// file by a rename, so a process that waited on the old file's lock may get
// it after the file was replaced: having the lock, it checks that the path
// still names the file it locked, and starts over on the new one when not.
// Exactly one process at a time holds the lock of the file the path names.
func lockZone(ctx context.Context, path string) (func(), error) {
	key, err := filepath.Abs(path)
	if err != nil {
		key = filepath.Clean(path)
	}
	v, _ := zoneLocks.LoadOrStore(key, make(chan struct{}, 1))
	sem := v.(chan struct{})
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the lock on %s: %w", path, ctx.Err())
	}
	release := func() { <-sem }

	f, err := flockFile(ctx, path)
	if err != nil {
		release()
		return nil, err
	}
	removeLegacyLock(path + ".lock")
	return func() {
		// Closing the descriptor drops the flock.
		_ = f.Close()
		release()
	}, nil
}

// flockFile opens path and takes an exclusive flock on it, polling with
// growing sleeps until ctx is done, and returns once the locked file is the
// one path names.
func flockFile(ctx context.Context, path string) (*os.File, error) {
	wait := lockPollMin
	for {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		for {
			err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
			if err == nil {
				break
			}
			if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
				_ = f.Close()
				return nil, fmt.Errorf("locking %s: %w", path, err)
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				_ = f.Close()
				return nil, fmt.Errorf("waiting for the lock on %s held by another process: %w", path, ctx.Err())
			case <-t.C:
			}
			wait = min(wait*2, lockPollMax)
		}
		locked, err1 := f.Stat()
		current, err2 := os.Stat(path)
		if err1 == nil && err2 == nil && os.SameFile(locked, current) {
			return f, nil
		}
		// Replaced (or removed) while we waited: lock what the path names now.
		_ = f.Close()
		if err2 != nil {
			return nil, fmt.Errorf("locking %s: %w", path, err2)
		}
	}
}

// removeLegacyLock removes the <zone file>.lock that earlier versions left
// beside each zone, when no process holds it.
func removeLegacyLock(lockPath string) {
	f, err := os.Open(lockPath)
	if err != nil {
		return
	}
	defer f.Close()
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
		_ = os.Remove(lockPath)
	}
}

// tempPrefix is the name prefix of the temporary files of the zone file
// named base; os.CreateTemp appends digits to it.
func tempPrefix(base string) string { return "." + base + ".tmp-" }

// staleTemps removes the temporary files killed writers left beside the
// zone files. Each directory is listed once per provider, on its first
// write there: listing it on every write made a run that writes 10,000
// zones of one directory read 10,000 names 10,000 times. A writer killed
// later leaves its file to the next process.
type staleTemps struct {
	mu    sync.Mutex
	byDir map[string]map[string][]string // directory -> zone file name -> temporary files
}

// remove removes the temporary files of the zone file at path. Only a
// writer holding the zone's lock creates them, and it renames or removes
// its own before releasing the lock, so when the caller holds the lock
// every one that exists is stale.
func (s *staleTemps) remove(path string) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	s.mu.Lock()
	if s.byDir == nil {
		s.byDir = map[string]map[string][]string{}
	}
	bases, ok := s.byDir[dir]
	if !ok {
		bases = scanTemps(dir)
		s.byDir[dir] = bases
	}
	names := bases[base]
	delete(bases, base)
	s.mu.Unlock()
	for _, name := range names {
		_ = os.Remove(filepath.Join(dir, name))
	}
}

// scanTemps lists the temporary files in dir by the zone file they were
// to replace: "." + base + ".tmp-" + digits (tempPrefix and os.CreateTemp).
func scanTemps(dir string) map[string][]string {
	out := map[string][]string{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return out
	}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, ".") || !e.Type().IsRegular() {
			continue
		}
		i := strings.LastIndex(name, ".tmp-")
		if i < 1 {
			continue
		}
		rest := name[i+len(".tmp-"):]
		if rest == "" || strings.Trim(rest, "0123456789") != "" {
			continue // another file's, such as the zone "<this zone>.tmp-x"
		}
		base := name[1:i]
		out[base] = append(out[base], name)
	}
	return out
}

// writeFileAtomic replaces path with data: a temporary file in the same
// directory is written, synced, given the mode (and, when running as root,
// the owner) of the file it replaces, renamed over it, and the directory is
// synced so that the rename survives a crash.
func writeFileAtomic(path string, data []byte, old os.FileInfo) error {
	tmp, err := writeTemp(path, data, old)
	if err != nil {
		return err
	}
	return installTemp(tmp, path)
}

// writeTemp writes data to a new temporary file beside path, with the mode
// and owner of old (when given), synced to disk, and returns its name. On
// an error no file is left.
func writeTemp(path string, data []byte, old os.FileInfo) (name string, err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, tempPrefix(base)+"*")
	if err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if old != nil {
		if err := tmp.Chmod(old.Mode().Perm()); err != nil {
			return "", fmt.Errorf("writing %s: %w", path, err)
		}
		if st, ok := old.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
			if err := tmp.Chown(int(st.Uid), int(st.Gid)); err != nil {
				return "", fmt.Errorf("writing %s: %w", path, err)
			}
		}
	}
	if _, err := tmp.Write(data); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return tmp.Name(), nil
}

// installTemp renames the temporary file tmp (writeTemp's) over path and
// syncs the directory; on an error tmp is removed.
func installTemp(tmp, path string) error {
	if beforeRename != nil {
		beforeRename()
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing directory of %s: %w", path, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing directory of %s: %w", path, err)
	}
	return nil
}
