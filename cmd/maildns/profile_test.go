package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestStartProfiles(t *testing.T) {
	dir := t.TempDir()
	cpu, mem, tr := filepath.Join(dir, "cpu.prof"), filepath.Join(dir, "mem.prof"), filepath.Join(dir, "run.trace")
	args := []string{"--config", "x.yaml", "--cpuprofile", cpu, "--dry-run", "-memprofile=" + mem, "--trace", tr, "--", "--cpuprofile"}
	rest, stop := startProfiles(args)
	if d := cmp.Diff([]string{"--config", "x.yaml", "--dry-run", "--", "--cpuprofile"}, rest); d != "" {
		t.Errorf("arguments left (-want +got):\n%s", d)
	}
	stop()
	for _, p := range []string{cpu, mem, tr} {
		if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v (size %v), want a profile or trace", p, err, fi)
		}
	}
	// Without the flags the arguments are untouched.
	plain := []string{"--dry-run", "--output", "json"}
	if rest, _ := startProfiles(plain); !cmp.Equal(plain, rest) {
		t.Errorf("arguments %q, want %q", rest, plain)
	}
	// The profiling flags are not part of the usage.
	code, out, _ := e2eRun(t, "--help")
	if code != 0 || !strings.Contains(out, "--dry-run") || (strings.Contains(out, "profile") || strings.Contains(out, "--trace")) {
		t.Errorf("--help (exit %d) mentions the hidden profiling flags, or is not the usage:\n%s", code, out)
	}
}
