package zonefile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"syscall"
)

// ZoneVersion returns the zone file's size, modification time (in
// nanoseconds), inode and device: a file whose token is unchanged has not
// been written since (maildns's own writes replace the file, a new inode).
// A daemon asks it of every zone every cycle: it allocates little, and a
// plain file no inotify event named since its last stat is not stat'ed
// again (zoneWatch).
func (p *Provider) ZoneVersion(ctx context.Context, zone string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	path, origin, err := p.ZonePath(zone)
	if err != nil {
		return "", err
	}
	token, ok, epoch := p.watch.cached(path)
	if ok {
		return token, nil
	}
	// Lstat first: only a regular file with one link, reached by no
	// symbolic link, is one whose every change the watch sees.
	var st syscall.Stat_t
	err = ignoringEINTR(func() error { return syscall.Lstat(path, &st) })
	plain := err == nil && st.Mode&syscall.S_IFMT == syscall.S_IFREG && st.Nlink == 1
	if err == nil && st.Mode&syscall.S_IFMT == syscall.S_IFLNK {
		err = ignoringEINTR(func() error { return syscall.Stat(path, &st) })
	}
	if err != nil {
		err = &fs.PathError{Op: "stat", Path: path, Err: err}
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("zone %s: zone file %s does not exist: %w", origin, path, err)
		}
		return "", fmt.Errorf("zone %s: %w", origin, err)
	}
	var b [4 * 21]byte
	t := strconv.AppendInt(b[:0], st.Size, 10)
	t = strconv.AppendInt(append(t, '/'), st.Mtim.Nano(), 10)
	t = strconv.AppendUint(append(t, '/'), uint64(st.Ino), 10)
	t = strconv.AppendUint(append(t, '/'), uint64(st.Dev), 10)
	token = string(t)
	if plain {
		p.watch.keep(path, token, epoch)
	}
	return token, nil
}

func ignoringEINTR(f func() error) error {
	for {
		if err := f(); err != syscall.EINTR {
			return err
		}
	}
}
