package zonefile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// zoneLocks holds one lock per zone file path for the whole process, so that
// two Providers pointing at the same directory still take turns. A lock is a
// channel with room for one token so that waiting can give up on ctx.
var zoneLocks sync.Map // absolute path -> chan struct{}

// lockPollMin and lockPollMax bound the sleeps between attempts to take the
// file lock held by another process.
const (
	lockPollMin = 2 * time.Millisecond
	lockPollMax = 50 * time.Millisecond
)

// lockZone takes the in-process lock and then the exclusive file lock on
// path+".lock" for a read-modify-write of the zone file at path. It waits
// until both are held or ctx is done. The returned function releases both.
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

	f, err := flockExclusive(ctx, path+".lock")
	if err != nil {
		release()
		return nil, err
	}
	return func() {
		// Closing the descriptor drops the flock.
		_ = f.Close()
		release()
	}, nil
}

// flockExclusive opens (creating it if needed) the lock file and takes an
// exclusive flock on it, polling with growing sleeps until ctx is done. The
// lock file is never removed: removing it would let two processes lock two
// different files of the same name.
func flockExclusive(ctx context.Context, lockPath string) (*os.File, error) {
	f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening lock file: %w", err)
	}
	wait := lockPollMin
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			_ = f.Close()
			return nil, fmt.Errorf("locking %s: %w", lockPath, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			_ = f.Close()
			return nil, fmt.Errorf("waiting for the lock on %s held by another process: %w", lockPath, ctx.Err())
		case <-t.C:
		}
		wait = min(wait*2, lockPollMax)
	}
}

// writeFileAtomic replaces path with data: a temporary file in the same
// directory is written, synced, given the mode (and, when running as root,
// the owner) of the file it replaces, renamed over it, and the directory is
// synced so that the rename survives a crash.
func writeFileAtomic(path string, data []byte, old os.FileInfo) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if old != nil {
		if err := tmp.Chmod(old.Mode().Perm()); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
		if st, ok := old.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
			if err := tmp.Chown(int(st.Uid), int(st.Gid)); err != nil {
				return fmt.Errorf("writing %s: %w", path, err)
			}
		}
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
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
