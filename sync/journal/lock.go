package journal

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// DefaultLockWait bounds how long a run waits for another maildns to release
// a zone before it reports that zone as locked and goes on with the others.
const DefaultLockWait = 30 * time.Second

// ErrZoneLocked is wrapped by the error of a zone another maildns holds.
var ErrZoneLocked = errors.New("zone locked by another maildns")

// ZoneLockedError says which process holds a zone's lock.
type ZoneLockedError struct {
	Provider, Zone string
	PID            int // 0: unknown
	Err            error
}

func (e *ZoneLockedError) Error() string {
	pid := "pid unknown"
	if e.PID > 0 {
		pid = "pid " + strconv.Itoa(e.PID)
	}
	return fmt.Sprintf("zone %s at %s: zone locked by another maildns (%s): %v", e.Zone, e.Provider, pid, e.Err)
}

func (e *ZoneLockedError) Unwrap() []error { return []error{ErrZoneLocked, e.Err} }

// lockPath is the lock file of one provider zone in stateDir.
func lockPath(stateDir, provider, zone string) string {
	return filepath.Join(stateDir, "lock-"+fileSafe(provider)+"-"+fileSafe(zone)+".lock")
}

// fileSafe keeps letters, digits, '.', '-' and '_' of s and replaces the rest.
func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}

// LockZone takes the exclusive lock of one provider zone in stateDir, so that
// one maildns at a time reads, plans and writes it (a --once beside the
// daemon). It waits at most wait (0: DefaultLockWait) and never past ctx; a
// zone still held then is a *ZoneLockedError naming the holder's pid. The
// returned function releases the lock and removes its file: a run leaves no
// lock file behind. A process that locked a file its holder removed before
// releasing it sees the path gone or another file there, and locks again.
func LockZone(ctx context.Context, stateDir, provider, zone string, wait time.Duration) (func(), error) {
	if wait <= 0 {
		wait = DefaultLockWait
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory for the zone lock: %w", err)
	}
	path := lockPath(stateDir, provider, zone)
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	poll := 2 * time.Millisecond
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("opening the lock of zone %s at %s: %w", zone, provider, err)
		}
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			if !samePath(f, path) {
				// Released and removed by its holder since we opened it.
				_ = f.Close()
				continue
			}
			// Say who holds it, for the one that waits.
			writeLockFile(f)
			return func() {
				// A new generation tells a run that read the zone before
				// taking the lock that another maildns may have written it.
				bumpGeneration(stateDir, provider, zone)
				_ = os.Remove(path)
				_ = f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			_ = f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		t := time.NewTimer(poll)
		var why error
		select {
		case <-ctx.Done():
			why = ctx.Err()
		case <-deadline.C:
			why = fmt.Errorf("still held after %v", wait)
		case <-t.C:
		}
		t.Stop()
		if why != nil {
			pid := readPID(f)
			_ = f.Close()
			return nil, &ZoneLockedError{Provider: provider, Zone: zone, PID: pid, Err: why}
		}
		_ = f.Close()
		poll = min(poll*2, 100*time.Millisecond)
	}
}

// samePath reports whether the open file f is still the file at path.
func samePath(f *os.File, path string) bool {
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	pi, err := os.Stat(path)
	return err == nil && os.SameFile(fi, pi)
}

func writeLockFile(f *os.File) {
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
}

// The zone generations: a count of the times each zone's lock was released,
// so that a run which read a zone without its lock knows, once it holds the
// lock, whether another maildns held it (and may have written the zone) in
// between. The counts live in one file of state_dir (the lock files are
// removed on release), in generationSlots 8-byte slots by a hash of the
// zone: two zones sharing a slot only cost a needless read again.
const (
	generationFile  = "zone-generations"
	generationSlots = 1 << 16
)

func generationSlot(provider, zone string) int64 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(provider + "\x00" + strings.ToLower(zone)))
	return int64(h.Sum32()%generationSlots) * 8
}

// bumpGeneration adds one to a zone's generation, under a lock of the
// generations file (two releases never lose one).
func bumpGeneration(stateDir, provider, zone string) {
	f, err := os.OpenFile(filepath.Join(stateDir, generationFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return
	}
	off := generationSlot(provider, zone)
	var b [8]byte
	_, _ = f.ReadAt(b[:], off)
	binary.LittleEndian.PutUint64(b[:], binary.LittleEndian.Uint64(b[:])+1)
	_, _ = f.WriteAt(b[:], off)
}

// ZoneGeneration reads the lock generation of a zone without locking it
// (0 when it was never locked); ok is false when it cannot be read.
func ZoneGeneration(stateDir, provider, zone string) (gen uint64, ok bool) {
	f, err := os.Open(filepath.Join(stateDir, generationFile))
	if errors.Is(err, os.ErrNotExist) {
		return 0, true
	}
	if err != nil {
		return 0, false
	}
	defer f.Close()
	var b [8]byte
	if n, err := f.ReadAt(b[:], generationSlot(provider, zone)); err != nil && n < 8 && !errors.Is(err, io.EOF) {
		return 0, false
	}
	return binary.LittleEndian.Uint64(b[:]), true
}

func readPID(f *os.File) int {
	b := make([]byte, 64)
	n, _ := f.ReadAt(b, 0)
	first, _, _ := strings.Cut(string(b[:n]), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		return 0
	}
	return pid
}
