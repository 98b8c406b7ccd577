//go:build !linux

package journal

import "os"

// syncFS: no syncfs here; the caller fsyncs each file.
func syncFS(*os.File) error { return errNoSyncFS }
