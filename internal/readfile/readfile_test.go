package readfile

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

func TestReadMatchesOSReadFile(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{0, 1, 511, 512, 4095, 4096, 4097, 100_000} {
		p := filepath.Join(dir, "f")
		want := bytes.Repeat([]byte("abcdefghij"), size/10+1)[:size]
		if err := os.WriteFile(p, want, 0o644); err != nil {
			t.Fatal(err)
		}
		got, info, err := Read(p, -1)
		if err != nil || !bytes.Equal(got, want) || info.Size != int64(size) || !info.Regular() {
			t.Fatalf("size %d: got %d bytes, info %+v, err %v", size, len(got), info, err)
		}
		got, _, err = Read(p, int64(size))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("size %d, limit %d: got %d bytes, err %v", size, size, len(got), err)
		}
	}
}

func TestReadOverLimitIsNotRead(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(p, make([]byte, 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	got, info, err := Read(p, 999)
	if err != nil || got != nil || info.Size != 1000 {
		t.Fatalf("got %d bytes, info %+v, err %v; want nothing read, size 1000", len(got), info, err)
	}
}

func TestReadErrorsAsOSDoes(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	_, _, err := Read(missing, -1)
	_, osErr := os.Open(missing)
	if !errors.Is(err, fs.ErrNotExist) || err.Error() != osErr.Error() {
		t.Fatalf("missing file: %v; os.Open says %v", err, osErr)
	}
	// A directory and a FIFO are not regular: reported, not read (a FIFO
	// with no writer would block a plain open, and its read).
	_, info, err := Read(dir, -1)
	if err != nil || info.Regular() || !info.Mode.IsDir() {
		t.Fatalf("directory: info %+v, err %v", info, err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	got, info, err := Read(fifo, -1)
	if err != nil || got != nil || info.Mode&fs.ModeNamedPipe == 0 {
		t.Fatalf("fifo: got %q, info %+v, err %v", got, info, err)
	}
	if os.Geteuid() != 0 {
		noread := filepath.Join(dir, "noread")
		if err := os.WriteFile(noread, []byte("x"), 0o000); err != nil {
			t.Fatal(err)
		}
		_, _, err = Read(noread, -1)
		if !errors.Is(err, fs.ErrPermission) || !strings.HasPrefix(err.Error(), "open ") {
			t.Fatalf("unreadable file: %v", err)
		}
	}
}

// BenchmarkRead compares the system calls' cost with os.ReadFile on a
// policy-sized file.
func BenchmarkRead(b *testing.B) {
	p := filepath.Join(b.TempDir(), "f")
	if err := os.WriteFile(p, bytes.Repeat([]byte("x"), 400), 0o644); err != nil {
		b.Fatal(err)
	}
	b.Run("readfile", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := Read(p, 1<<20); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("os", func(b *testing.B) {
		for b.Loop() {
			if _, err := os.Stat(p); err != nil {
				b.Fatal(err)
			}
			if _, err := os.ReadFile(p); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestReadPastTheStatSize reads a file whose stat size is not its length
// (the kernel's files say 0): the read goes on to the end, as a file that
// grew after the stat is read whole.
func TestReadPastTheStatSize(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("a file of stat size 0 with content is Linux's /proc")
	}
	const p = "/proc/self/cmdline"
	got, info, err := Read(p, -1)
	if err != nil || info.Size != 0 || !info.Regular() {
		t.Fatalf("%s: info %+v, err %v; want a regular file of stat size 0", p, info, err)
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 || !bytes.Equal(got, want) {
		t.Fatalf("%s: read %q, want %q", p, got, want)
	}
}

// TestReadInto: a file that fits is read into the buffer given, one that
// does not into a new one; either way, all of it.
func TestReadInto(t *testing.T) {
	dir := t.TempDir()
	buf := make([]byte, 7, 100)
	for _, size := range []int{0, 10, 98, 99, 100, 101, 5000} {
		p := filepath.Join(dir, "f")
		want := bytes.Repeat([]byte("0123456789"), size/10+1)[:size]
		if err := os.WriteFile(p, want, 0o644); err != nil {
			t.Fatal(err)
		}
		got, info, err := ReadInto(p, -1, buf)
		if err != nil || !bytes.Equal(got, want) || info.Size != int64(size) {
			t.Fatalf("size %d: got %q, info %+v, err %v", size, got, info, err)
		}
		// Read asks for one byte past the size: 99 bytes and fewer fit.
		if shared := cap(got) == cap(buf) && &got[:1][0] == &buf[:1][0]; shared != (size < 100) {
			t.Fatalf("size %d: read into the buffer given = %v, want %v", size, shared, size < 100)
		}
	}
}

// TestDirect: with raw system calls, Read reads and fails as it does
// without them, for a path of any length.
func TestDirect(t *testing.T) {
	SetDirect(true)
	t.Cleanup(func() { SetDirect(false) })
	t.Run("MatchesOSReadFile", TestReadMatchesOSReadFile)
	t.Run("OverLimitIsNotRead", TestReadOverLimitIsNotRead)
	t.Run("ErrorsAsOSDoes", TestReadErrorsAsOSDoes)
	t.Run("PastTheStatSize", TestReadPastTheStatSize)
	t.Run("Into", TestReadInto)
	t.Run("PathLengths", func(t *testing.T) {
		dir := t.TempDir()
		// Paths around the 256 bytes (with the NUL) passed from the stack.
		for _, total := range []int{254, 255, 256, 257, 600} {
			p := dir
			for len(p) < total {
				p = filepath.Join(p, strings.Repeat("p", min(200, total-len(p)-1)))
			}
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(p), 0o644); err != nil {
				t.Fatal(err)
			}
			got, _, err := Read(p, -1)
			if err != nil || string(got) != p {
				t.Fatalf("path of %d bytes: got %q, err %v", len(p), got, err)
			}
		}
		for _, p := range []string{"", "a\x00b", dir + "/" + strings.Repeat("q", 300) + "\x00"} {
			_, _, err := Read(p, -1)
			SetDirect(false)
			_, _, plain := Read(p, -1)
			SetDirect(true)
			if err == nil || plain == nil || err.Error() != plain.Error() {
				t.Fatalf("path %q: error %v, without raw calls %v", p, err, plain)
			}
		}
	})
}

// BenchmarkReadMany reads 1,000 policy-sized files from as many goroutines
// as processors, with plain and with raw system calls (SetDirect).
func BenchmarkReadMany(b *testing.B) {
	dir := b.TempDir()
	paths := make([]string, 1000)
	for i := range paths {
		paths[i] = filepath.Join(dir, fmt.Sprintf("policy-%04d.yaml", i))
		if err := os.WriteFile(paths[i], bytes.Repeat([]byte("x"), 400), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for _, direct := range []bool{false, true} {
		name := "plain"
		if direct {
			name = "direct"
		}
		b.Run(name, func(b *testing.B) {
			SetDirect(direct)
			defer SetDirect(false)
			b.RunParallel(func(pb *testing.PB) {
				buf := make([]byte, 0, 1024)
				for i := 0; pb.Next(); i++ {
					if _, _, err := ReadInto(paths[i%len(paths)], 1<<20, buf); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
