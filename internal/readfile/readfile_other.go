//go:build !linux

package readfile

import (
	"io"
	"os"
)

func read(path string, limit int64, _ []byte) ([]byte, Info, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, Info{}, err
	}
	info := Info{Size: fi.Size(), Mode: fi.Mode()}
	if !info.Regular() || (limit >= 0 && info.Size > limit) {
		return nil, info, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, info, err
	}
	defer f.Close()
	var r io.Reader = f
	if limit >= 0 {
		r = io.LimitReader(f, limit+1)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, info, err
	}
	return b, info, nil
}
