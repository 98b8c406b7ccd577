package policy

import (
	"os"
	"path/filepath"
	"sync"
)

// workDir makes paths absolute against the working directory, asked of the
// system once: filepath.Abs asks for every relative path (a getcwd and
// stats), once per key file of every policy at 10,000 policies.
type workDir struct {
	once sync.Once
	dir  string
	err  error
}

// abs returns p made absolute, or p when the working directory is unknown
// (as filepath.Abs would fail).
func (w *workDir) abs(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	w.once.Do(func() { w.dir, w.err = os.Getwd() })
	if w.err != nil {
		return p
	}
	return filepath.Join(w.dir, p)
}
