package zonefile

import (
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"unsafe"
)

// zoneWatch spares the daemon a stat of every zone file every cycle (10,000
// zones: 10,000 stats, a third of a quiet cycle's CPU time). An inotify
// watch on the zone directory reports every name written, truncated,
// replaced, removed or whose attributes changed; a zone file's version
// token is taken again (stat) only when its name was reported since.
//
// Only a plain file is answered from the watch: a regular file with one
// link, not a symbolic link, in a directory on a local file system. A
// change through another name (a link elsewhere, a symlink's target) or
// made on another host (NFS, CIFS, FUSE) raises no event here, so such a
// file is stat'ed every time, as is every file where inotify is not to be
// had. What the watch cannot see either way (a write through a shared
// memory map) is found by the full read of full_read_every.
//
// Events are read once per cycle: when a zone asked for before is asked
// again (the daemon asks each zone once a cycle), the events queued since
// are read first. A token is thus as of the start of the cycle at worst,
// which is what a stat taken then would say. The directory's path is
// stat'ed then too: when it leads to another directory (a release
// symlink swapped, as deployment tools and Kubernetes volumes do), the
// watch starts again there.
type zoneWatch struct {
	mu    sync.Mutex
	state int8     // watchUnset, watchOn or watchOff
	file  *os.File // the inotify instance; closed with the provider by the collector
	dir   string   // the directory watched
	// dev and ino identify the directory watched: the one dir led to.
	dev, ino uint64
	buf      []byte
	// gen counts the reads of events; drains counts those that found any.
	gen, drains uint64
	tokens      map[string]watchedToken // by file name in dir
	// stats counts the stats ZoneVersion made (tests).
	stats int
}

const (
	watchUnset int8 = iota
	watchOn
	watchOff
)

type watchedToken struct {
	token string
	gen   uint64 // the read of events it was last answered after
}

// watchMask is every event after which a file's stat may differ.
const watchMask = syscall.IN_MODIFY | syscall.IN_ATTRIB | syscall.IN_CLOSE_WRITE |
	syscall.IN_MOVED_FROM | syscall.IN_MOVED_TO | syscall.IN_CREATE | syscall.IN_DELETE |
	syscall.IN_DELETE_SELF | syscall.IN_MOVE_SELF

// localFS is the file systems (statfs f_type) on which every change to a
// file raises its inotify events: a change cannot come from another host.
var localFS = map[int64]bool{
	0xEF53:     true, // ext2, ext3, ext4
	0x58465342: true, // xfs
	0x9123683E: true, // btrfs
	0x01021994: true, // tmpfs
	0xF2F52010: true, // f2fs
	0x2FC12FC1: true, // zfs
}

// cached returns the token of the zone file at path as last stat'ed when
// no event has named it since; ok is false when it must be stat'ed. epoch
// is what keep needs to keep the new token.
func (w *zoneWatch) cached(path string) (token string, ok bool, epoch uint64) {
	dir, name := filepath.Split(path)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state == watchUnset {
		w.start(dir)
	}
	t, found := w.tokens[name]
	if found && t.gen == w.gen && w.state == watchOn {
		// Asked again since the last read of events: a new cycle.
		w.drain()
		if w.state == watchUnset {
			w.start(dir) // the path leads to another directory now
		}
		t, found = w.tokens[name]
	}
	if !found || w.state != watchOn || dir != w.dir {
		w.stats++
		return "", false, w.drains
	}
	t.gen = w.gen
	w.tokens[name] = t
	return t.token, true, 0
}

// keep remembers the token of the plain file at path, stat'ed after cached
// said epoch, unless events were read in between (one may have named it).
func (w *zoneWatch) keep(path, token string, epoch uint64) {
	dir, name := filepath.Split(path)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state != watchOn || dir != w.dir || w.drains != epoch {
		return
	}
	w.tokens[name] = watchedToken{token: token, gen: w.gen}
}

// start sets the watch on dir up, or decides there is none.
func (w *zoneWatch) start(dir string) {
	w.state = watchOff
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err != nil || !localFS[int64(fs.Type)] {
		return
	}
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	if err != nil {
		return
	}
	// The directory is stat'ed before and after the watch is added: the
	// same both times, it is the one watched.
	var before, after syscall.Stat_t
	if err := syscall.Stat(dir, &before); err != nil {
		syscall.Close(fd)
		return
	}
	if _, err := syscall.InotifyAddWatch(fd, dir, watchMask|syscall.IN_ONLYDIR); err != nil {
		syscall.Close(fd)
		return
	}
	if err := syscall.Stat(dir, &after); err != nil || before.Dev != after.Dev || before.Ino != after.Ino {
		syscall.Close(fd)
		return
	}
	w.file = os.NewFile(uintptr(fd), "inotify "+dir)
	w.dir, w.state = dir, watchOn
	w.dev, w.ino = uint64(after.Dev), after.Ino
	w.buf = make([]byte, 64<<10)
	w.tokens = map[string]watchedToken{}
}

// drain reads the events queued and forgets the tokens of the names they
// give; an overflow of the queue forgets them all, and the directory
// moved or removed ends the watch.
func (w *zoneWatch) drain() {
	w.gen++
	var st syscall.Stat_t
	if err := syscall.Stat(w.dir, &st); err != nil || uint64(st.Dev) != w.dev || st.Ino != w.ino {
		// The path leads elsewhere (or nowhere): watch anew from the
		// next question, and stat until then.
		w.stop()
		w.state = watchUnset
		return
	}
	rc, err := w.file.SyscallConn()
	if err != nil {
		w.stop()
		return
	}
	for {
		var n int
		var rerr error
		if err := rc.Read(func(fd uintptr) bool {
			n, rerr = syscall.Read(int(fd), w.buf)
			return rerr != syscall.EINTR
		}); err != nil {
			w.stop()
			return
		}
		if rerr == syscall.EAGAIN {
			return
		}
		if rerr != nil || n <= 0 {
			w.stop()
			return
		}
		w.drains++
		if !w.forget(w.buf[:n]) {
			w.stop()
			return
		}
	}
}

// forget applies a buffer of inotify events to the tokens; false: the
// watch is over (its directory went, or the events made no sense).
func (w *zoneWatch) forget(b []byte) bool {
	const head = syscall.SizeofInotifyEvent
	for len(b) > 0 {
		if len(b) < head {
			return false
		}
		ev := (*syscall.InotifyEvent)(unsafe.Pointer(&b[0]))
		end := head + int(ev.Len)
		if end > len(b) {
			return false
		}
		switch {
		case ev.Mask&syscall.IN_Q_OVERFLOW != 0:
			clear(w.tokens)
		case ev.Mask&(syscall.IN_IGNORED|syscall.IN_DELETE_SELF|syscall.IN_MOVE_SELF|syscall.IN_UNMOUNT) != 0:
			return false
		case ev.Len > 0:
			name := b[head:end]
			for len(name) > 0 && name[len(name)-1] == 0 {
				name = name[:len(name)-1]
			}
			delete(w.tokens, string(name))
		}
		b = b[end:]
	}
	return true
}

// stop ends the watch: every zone file is stat'ed from now on.
func (w *zoneWatch) stop() {
	w.state = watchOff
	clear(w.tokens)
	if w.file != nil {
		w.file.Close()
		w.file = nil
	}
}
