//go:build linux

package readfile

import (
	"io/fs"
	"slices"
	"strings"
	"syscall"
	"unsafe"
)

func read(path string, limit int64, dst []byte) ([]byte, Info, error) {
	// Opened, then fstat: one walk of the path, not two (stat, then open),
	// a tenth of a run's time in the system. O_NONBLOCK: a FIFO's open
	// does not wait for a writer; O_NOCTTY: a terminal is not taken as
	// the process's own. What is not a regular file is closed unread.
	var fd int
	raw := direct.Load()
	err := ignoringEINTR(func() (err error) {
		if raw {
			fd, err = rawOpen(path, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NONBLOCK|syscall.O_NOCTTY)
		} else {
			fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
		}
		if err == syscall.EAGAIN {
			// A regular file under another process's lease: wait for
			// it as a plain open would.
			fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NOCTTY, 0)
		}
		return err
	})
	if err != nil {
		return nil, Info{}, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	var st syscall.Stat_t
	if err := ignoringEINTR(func() error { return fstat(raw, fd, &st) }); err != nil {
		closeFD(raw, fd)
		return nil, Info{}, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	info := Info{Size: st.Size, Mode: fileMode(st.Mode), Dev: uint64(st.Dev), Ino: st.Ino}
	if !info.Regular() || (limit >= 0 && info.Size > limit) {
		closeFD(raw, fd)
		return nil, info, nil
	}
	defer closeFD(raw, fd)
	// One byte more than the size, so that a file that grew since the
	// fstat is read on (up to limit+1 bytes: the caller sees it is over).
	want := info.Size + 1
	if limit >= 0 && want > limit+1 {
		want = limit + 1
	}
	buf := dst[:0]
	if int64(cap(buf)) < want {
		buf = make([]byte, 0, want)
	}
	for {
		if limit >= 0 && int64(len(buf)) > limit {
			return buf, info, nil
		}
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, 4096)
		}
		end := cap(buf)
		if limit >= 0 && int64(end) > limit+1 {
			end = int(limit + 1)
		}
		n, err := syscall.Read(fd, buf[len(buf):end])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, info, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return buf, info, nil
		}
		buf = buf[:len(buf)+n]
		if int64(len(buf)) == info.Size && len(buf) < end {
			// As long as fstat said, and the read stopped short of the
			// byte past it: the end (a file that grew by then would have
			// filled that byte). The read that would return nothing is
			// saved: it was a fifth of a run's system calls.
			return buf, info, nil
		}
	}
}

// rawOpen is syscall.Open (at the working directory) as a raw system call;
// a path of up to 255 bytes is passed from the stack, not copied to the
// heap.
func rawOpen(path string, mode int) (int, error) {
	var stack [256]byte
	var p *byte
	if len(path) < len(stack) {
		if strings.IndexByte(path, 0) >= 0 {
			return -1, syscall.EINVAL
		}
		copy(stack[:], path)
		p = &stack[0]
	} else {
		var err error
		if p, err = syscall.BytePtrFromString(path); err != nil {
			return -1, err
		}
	}
	r, _, e := syscall.RawSyscall6(syscall.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(p)), uintptr(mode), 0, 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// atFDCWD is AT_FDCWD (-100) as the system call takes it.
var atFDCWD = func() uintptr { v := -100; return uintptr(v) }()

func fstat(raw bool, fd int, st *syscall.Stat_t) error {
	if !raw {
		return syscall.Fstat(fd, st)
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_FSTAT, uintptr(fd), uintptr(unsafe.Pointer(st)), 0); e != 0 {
		return e
	}
	return nil
}

func closeFD(raw bool, fd int) {
	if raw {
		syscall.RawSyscall(syscall.SYS_CLOSE, uintptr(fd), 0, 0)
		return
	}
	syscall.Close(fd)
}

func ignoringEINTR(f func() error) error {
	for {
		if err := f(); err != syscall.EINTR {
			return err
		}
	}
}

// fileMode is os.Stat's mode of a stat_t mode: the type bits and the
// permission bits (the rest, setuid and the like, are not needed here).
func fileMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & syscall.S_IFMT {
	case syscall.S_IFDIR:
		mode |= fs.ModeDir
	case syscall.S_IFLNK:
		mode |= fs.ModeSymlink
	case syscall.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case syscall.S_IFSOCK:
		mode |= fs.ModeSocket
	case syscall.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case syscall.S_IFBLK:
		mode |= fs.ModeDevice
	}
	return mode
}
