package journal

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"golang.org/x/sys/unix"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

// LockZone takes the exclusive lock of one provider zone in stateDir, so that
// one maildns at a time reads, plans and writes it (a --once beside the
// daemon). It waits at most wait (0: DefaultLockWait) and never past ctx; a
// zone still held then is a *ZoneLockedError naming the holder's pid. The
// returned function releases the lock.
//
// The lock is an open-file-description lock (F_OFD_SETLK) on the zone's
// slot of the generations file, not a file of its own: a lock file created
// and removed for each zone written made a run writing thousands of zones
// allocate and free as many files in state_dir, which grew the cost of
// every file created there. The kernel drops the lock when its holder
// exits, however it exits. Two zones sharing a slot (one in 65,536) only
// take turns; no one holds two zones' locks at once, so no wait is circular.
func LockZone(ctx context.Context, stateDir, provider, zone string, wait time.Duration) (func(), error) {
	if wait <= 0 {
		wait = DefaultLockWait
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory for the zone lock: %w", err)
	}
	path := filepath.Join(stateDir, generationFile)
	// Its own open file description: OFD locks of two descriptions conflict
	// even within one process (two goroutines, two zones of one slot). A
	// bare descriptor: an *os.File would cost four more system calls a
	// zone (the poller's), for a file only read and written at offsets.
	f, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the lock of zone %s at %s: %w", zone, provider, err)
	}
	slot := generationSlot(provider, zone)
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	poll := 2 * time.Millisecond
	for {
		err := lockSlot(f, slot, unix.F_WRLCK)
		if err == nil {
			// Say who holds it, for the one that waits.
			writePID(f, slot, os.Getpid())
			return func() {
				// A new generation tells a run that read the zone before
				// taking the lock that another maildns may have written it.
				bumpGeneration(f, slot)
				writePID(f, slot, 0)
				_ = lockSlot(f, slot, unix.F_UNLCK)
				_ = unix.Close(f)
			}, nil
		}
		if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EACCES) && !errors.Is(err, unix.EINTR) {
			_ = unix.Close(f)
			return nil, fmt.Errorf("locking zone %s at %s in %s: %w", zone, provider, path, err)
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
			pid := readPID(f, slot)
			_ = unix.Close(f)
			return nil, &ZoneLockedError{Provider: provider, Zone: zone, PID: pid, Err: why}
		}
		poll = min(poll*2, 100*time.Millisecond)
	}
}

// lockSlot sets (F_WRLCK, without waiting) or clears (F_UNLCK) f's lock on
// the generation at off.
func lockSlot(fd int, off int64, typ int16) error {
	lk := unix.Flock_t{Type: typ, Whence: io.SeekStart, Start: off, Len: 8}
	return unix.FcntlFlock(uintptr(fd), unix.F_OFD_SETLK, &lk)
}

// pidOffset is where the pid of the holder of the slot at off is kept:
// after the generations.
func pidOffset(off int64) int64 { return generationSlots*8 + off }

func writePID(fd int, off int64, pid int) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(pid))
	_, _ = unix.Pwrite(fd, b[:], pidOffset(off))
}

func readPID(fd int, off int64) int {
	var b [8]byte
	if n, _ := unix.Pread(fd, b[:], pidOffset(off)); n < 8 {
		return 0
	}
	return int(binary.LittleEndian.Uint64(b[:]))
}

// The zone generations: a count of the times each zone's lock was released,
// so that a run which read a zone without its lock knows, once it holds the
// lock, whether another maildns held it (and may have written the zone) in
// between. The counts live in one file of state_dir, in generationSlots
// 8-byte slots by a hash of the zone (two zones sharing a slot only cost a
// needless read again), followed by as many slots of the holders' pids.
// The locks are on the generation slots.
const (
	generationFile  = "zone-generations"
	generationSlots = 1 << 16
)

func generationSlot(provider, zone string) int64 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(provider + "\x00" + strings.ToLower(zone)))
	return int64(h.Sum32()%generationSlots) * 8
}

// bumpGeneration adds one to the generation at off of f, whose lock the
// caller holds (no two releases lose one).
func bumpGeneration(fd int, off int64) {
	var b [8]byte
	_, _ = unix.Pread(fd, b[:], off)
	binary.LittleEndian.PutUint64(b[:], binary.LittleEndian.Uint64(b[:])+1)
	_, _ = unix.Pwrite(fd, b[:], off)
}

// ZoneGeneration reads the lock generation of a zone without locking it
// (0 when it was never locked); ok is false when it cannot be read.
func ZoneGeneration(stateDir, provider, zone string) (gen uint64, ok bool) {
	// Asked of every zone a run reads: a bare descriptor, three system calls.
	fd, err := unix.Open(filepath.Join(stateDir, generationFile), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return 0, true
	}
	if err != nil {
		return 0, false
	}
	defer unix.Close(fd)
	var b [8]byte // short of the slot (a file not grown to it yet): zero
	if _, err := unix.Pread(fd, b[:], generationSlot(provider, zone)); err != nil {
		return 0, false
	}
	return binary.LittleEndian.Uint64(b[:]), true
}
