package zonefile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// ZoneVersion returns the zone file's size, modification time (in
// nanoseconds), inode and device: a file whose token is unchanged has not
// been written since (maildns's own writes replace the file, a new inode).
func (p *Provider) ZoneVersion(ctx context.Context, zone string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	path, origin, err := p.ZonePath(zone)
	if err != nil {
		return "", err
	}
	info, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("zone %s: zone file %s does not exist: %w", origin, path, err)
		}
		return "", fmt.Errorf("zone %s: %w", origin, err)
	}
	var ino, dev uint64
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		ino, dev = uint64(st.Ino), uint64(st.Dev)
	}
	return fmt.Sprintf("%d/%d/%d/%d", info.Size(), info.ModTime().UnixNano(), ino, dev), nil
}
