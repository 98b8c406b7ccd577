package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// badCorpus is policy/testdata/bad, relative to this package.
const badCorpus = "../../policy/testdata/bad"

// badTree copies configs/example to a new directory and returns it.
func badTree(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	src := "../../configs/example"
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if rel == "state" || strings.HasPrefix(rel, "state"+string(filepath.Separator)) {
			return filepath.SkipDir
		}
		out := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// badHashes hashes every file under dir (symlinks by their target name).
func badHashes(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			out[p] = "-> " + target
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		h := sha256.Sum256(b)
		out[p] = hex.EncodeToString(h[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func badCopy(t *testing.T, name, dstDir string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(badCorpus, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dstDir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBadInputs puts each bad input of the corpus beside the example's
// policies and runs every one-shot mode: each must exit 1 with an error that
// names the file (and line where there is one), not panic, and write nothing
// (zone files byte for byte, no journal, no state directory).
func TestBadInputs(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, policies string)
		want  []string // in stderr
	}{
		{"truncated YAML", func(t *testing.T, p string) { badCopy(t, "truncated.yaml", p) }, []string{"truncated.yaml:5:", "invalid YAML"}},
		{"binary garbage", func(t *testing.T, p string) { badCopy(t, "binary.yaml", p) }, []string{"binary.yaml:1:", "not a YAML text file"}},
		{"invalid UTF-8", func(t *testing.T, p string) { badCopy(t, "invalid-utf8.yaml", p) }, []string{"invalid-utf8.yaml:4:", "UTF-8"}},
		{"NUL bytes", func(t *testing.T, p string) { badCopy(t, "nul-bytes.yaml", p) }, []string{"nul-bytes.yaml:2:", "NUL"}},
		{"50 MB file", func(t *testing.T, p string) {
			f, err := os.Create(filepath.Join(p, "huge.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			line := bytes.Repeat([]byte("# padding padding padding padding padding padding\n"), 1<<10)
			for written := 0; written < 50<<20; written += len(line) {
				if _, err := f.Write(line); err != nil {
					t.Fatal(err)
				}
			}
		}, []string{"huge.yaml", "limit"}},
		{"symlink loop", func(t *testing.T, p string) {
			if err := os.Symlink("loop.yaml", filepath.Join(p, "loop.yaml")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("ping.yaml", filepath.Join(p, "pong.yaml")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("pong.yaml", filepath.Join(p, "ping.yaml")); err != nil {
				t.Fatal(err)
			}
		}, []string{"loop.yaml", "ping.yaml", "pong.yaml"}},
		{"duplicate domain", func(t *testing.T, p string) { badCopy(t, "duplicate-domain.yaml", p) }, []string{"duplicate-domain.yaml:2", "example.com"}},
		{"two policies claim one record", func(t *testing.T, p string) { badCopy(t, "same-record.yaml", p) }, []string{"same-record.yaml:7:", "mail A", "example.com.yaml:"}},
		{"key file that is not a key", func(t *testing.T, p string) {
			badCopy(t, "not-a-key.yaml", p)
			badCopy(t, "not-a-key.pem", p)
		}, []string{"not-a-key.yaml:6:", "not-a-key.pem"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := badTree(t)
			cfg := filepath.Join(dir, "maildns.yaml")
			tc.setup(t, filepath.Join(dir, "policies"))
			before := badHashes(t, dir)
			for _, mode := range []string{"--validate", "--dry-run", "--once"} {
				args := []string{"--config", cfg, mode}
				if mode != "--validate" {
					args = append(args, "--offline")
				}
				var stdout, stderr bytes.Buffer
				start := time.Now()
				code := run(args, &stdout, &stderr)
				if d := time.Since(start); d > 10*time.Second {
					t.Errorf("%s took %v", mode, d)
				}
				if code != exitFailed {
					t.Errorf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", mode, code, exitFailed, stdout.String(), stderr.String())
				}
				for _, w := range append(tc.want, "nothing was changed") {
					if !strings.Contains(stderr.String(), w) {
						t.Errorf("%s: stderr lacks %q:\n%s", mode, w, stderr.String())
					}
				}
				if strings.Contains(stderr.String(), "panic") || strings.Contains(stderr.String(), "goroutine ") {
					t.Errorf("%s: stderr:\n%s", mode, stderr.String())
				}
			}
			after := badHashes(t, dir)
			for p, h := range before {
				if after[p] != h {
					t.Errorf("%s changed", p)
				}
			}
			for p := range after {
				if _, ok := before[p]; !ok {
					t.Errorf("%s was written", p)
				}
			}
		})
	}
}

// TestLongLists: 10,000-element lists (mail host addresses, SPF includes)
// load quickly without a panic, and are refused with an error: by the loader
// (file and line), or else by the sync, which never writes a record no name
// server could serve. Nothing is written either way.
func TestLongLists(t *testing.T) {
	dir := badTree(t)
	cfg := filepath.Join(dir, "maildns.yaml")
	badCopy(t, "long-list.yaml", filepath.Join(dir, "policies"))
	zone := "$ORIGIN long.example.\n$TTL 3600\n@ IN SOA ns1.long.example. hostmaster.long.example. 1 7200 3600 1209600 3600\n@ IN NS ns1.long.example.\n"
	if err := os.WriteFile(filepath.Join(dir, "zones", "long.example.zone"), []byte(zone), 0o644); err != nil {
		t.Fatal(err)
	}
	before := badHashes(t, dir)
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := run([]string{"--config", cfg, "--validate"}, &stdout, &stderr)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("--validate took %v", d)
	}
	loaderRefuses := code == exitFailed
	if loaderRefuses && !strings.Contains(stderr.String(), "long-list.yaml:") {
		t.Errorf("the error does not name the file and line:\n%s", stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	code = run([]string{"--config", cfg, "--once", "--offline", "--force", "--domain", "long.example"}, &stdout, &stderr)
	if code != exitFailed {
		t.Errorf("--once: exit %d, want %d\n%s\n%s", code, exitFailed, stdout.String(), stderr.String())
	}
	if !loaderRefuses && !strings.Contains(stdout.String(), "cannot be published") {
		t.Errorf("--once did not refuse the records:\n%s", stdout.String())
	}
	after := badHashes(t, dir)
	for p, h := range before {
		if after[p] != h {
			t.Errorf("%s changed", p)
		}
	}
	for p := range after {
		// The zone's lock file is all the sync may leave: no journal entry.
		if _, ok := before[p]; !ok && !strings.HasPrefix(filepath.Base(p), "lock-") {
			t.Errorf("%s was written", p)
		}
	}
}
