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
// A daemon asks it of every zone every cycle: it allocates little.
func (p *Provider) ZoneVersion(ctx context.Context, zone string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	path, origin, err := p.ZonePath(zone)
	if err != nil {
		return "", err
	}
	var st syscall.Stat_t
	if err := ignoringEINTR(func() error { return syscall.Stat(path, &st) }); err != nil {
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
	return string(t), nil
}

func ignoringEINTR(f func() error) error {
	for {
		if err := f(); err != syscall.EINTR {
			return err
		}
	}
}
