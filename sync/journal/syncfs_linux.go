package journal

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// syncFS writes the whole file system holding d to disk (syncfs(2)).
func syncFS(d *os.File) error {
	err := unix.Syncfs(int(d.Fd()))
	if errors.Is(err, unix.ENOSYS) {
		return errNoSyncFS
	}
	return err
}
