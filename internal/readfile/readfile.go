// Package readfile reads whole small files with as few system calls as the
// kernel allows. os.ReadFile (and os.Stat then os.Open) costs about ten
// calls a file (the runtime's poller tries each regular file, and fails);
// a run over 100,000 domains reads 200,000 files.
package readfile

import (
	"io/fs"
	"sync/atomic"
)

// Info is what the file was when it was opened.
type Info struct {
	Size int64
	Mode fs.FileMode
	// Dev and Ino identify the file whatever the name it is reached by
	// (0 and 0 where the system does not say).
	Dev, Ino uint64
}

// Regular reports whether the file is a regular file.
func (i Info) Regular() bool { return i.Mode.IsRegular() }

// Read reads the file at path (symlinks followed) whole when it is a
// regular file of at most limit bytes (limit < 0: any size); it reads at
// most limit+1 bytes, so a file that grew past limit while read is seen
// to. It returns the file's Info, and nothing read, when the file is not
// regular (a device, FIFO or directory: on Linux opened without waiting
// and closed unread) or is over limit, and an *fs.PathError as os.Open,
// os.Stat or a read would ("open PATH: no such file or directory"). Four
// system calls on Linux: open, fstat, read, close; a read more only when
// the file is not, when read, the size fstat said.
func Read(path string, limit int64) ([]byte, Info, error) {
	return read(path, limit, nil)
}

// ReadInto is Read into buf when the file fits in its capacity (the bytes
// returned then share buf's array), so that a caller done with one file's
// bytes before it reads the next can read them all into one buffer.
func ReadInto(path string, limit int64, buf []byte) ([]byte, Info, error) {
	return read(path, limit, buf)
}

// direct: see SetDirect.
var direct atomic.Bool

// SetDirect makes Read open, fstat and close each file with raw system
// calls, which the Go scheduler does not see (on Linux; elsewhere it does
// nothing). A run over 100,000 domains makes 600,000 of them, and the
// scheduler's part in each (the system monitor waking every 20 µs to hand
// a thread's processor on, the thread taking it back) cost 12% of its CPU
// time. The price: while the kernel walks a path on a slow or hung file
// system the processor waits with it, and so does a collection that stops
// the world. A one-shot run, with nothing else to do meanwhile, pays it;
// the daemon does not. The read itself, which may wait for the disk, stays
// a plain system call.
func SetDirect(on bool) { direct.Store(on) }
