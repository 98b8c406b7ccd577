package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// journalCapture runs the built maildns with stderr on one end of a stream
// socket pair, as systemd-cat and a service's StandardError=journal do, with
// JOURNAL_STREAM naming that socket (or, when matching is false, another
// one), and returns stderr's lines and the exit status.
func journalCapture(t *testing.T, bin string, matching bool, args ...string) ([]string, int) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "journal"), os.NewFile(uintptr(fds[1]), "stderr")
	defer ours.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(fds[1], &st); err != nil {
		t.Fatal(err)
	}
	stream := fmt.Sprintf("%d:%d", st.Dev, st.Ino)
	if !matching {
		stream = fmt.Sprintf("%d:%d", st.Dev, st.Ino+1)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "JOURNAL_STREAM="+stream)
	cmd.Stderr = theirs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	theirs.Close()
	var lines []string
	sc := bufio.NewScanner(ours)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	err = cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return lines, code
}

// TestJournalPriorities: under the journal each log line starts with its
// syslog priority: drift (WARN) 4, a failed zone read (ERROR) 3, the run's
// summary (INFO) 6; the line after the prefix is the JSON record as before,
// and maildns's own error lines ("maildns: zone ...") are at 3.
func TestJournalPriorities(t *testing.T) {
	bin := buildMaildns(t, t.TempDir())
	cfg := e2eExample(t)
	// example.net's zone file turns to garbage: reading it fails.
	bad := filepath.Join(filepath.Dir(cfg), "zones", "example.net.zone")
	if err := os.WriteFile(bad, []byte("this is not a zone file {\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lines, code := journalCapture(t, bin, true, "--config", cfg, "--dry-run", "--offline")
	if code != 1 {
		t.Errorf("exit %d, want 1 (a zone could not be read)", code)
	}
	prefix := regexp.MustCompile(`^<([0-7])>(\{.*\})$`)
	want := map[string]string{`"msg":"drift"`: "4", `"msg":"reading zone failed"`: "3", `"msg":"sync finished"`: "6"}
	found := map[string]bool{}
	for _, l := range lines {
		if strings.HasPrefix(l, "<3>maildns: ") {
			continue // maildns's own error lines, at priority 3 too
		}
		m := prefix.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("a line without its priority: %q", l)
			continue
		}
		for msg, prio := range want {
			if strings.Contains(m[2], msg) {
				found[msg] = true
				if m[1] != prio {
					t.Errorf("%s at priority %s, want %s: %s", msg, m[1], prio, l)
				}
			}
		}
		level := regexp.MustCompile(`"level":"([A-Z]+)"`).FindStringSubmatch(m[2])
		if level != nil && m[1] != map[string]string{"DEBUG": "7", "INFO": "6", "WARN": "4", "ERROR": "3"}[level[1]] {
			t.Errorf("level %s at priority %s: %s", level[1], m[1], l)
		}
	}
	if !regexp.MustCompile(`(?m)^<3>maildns: .*example\.net`).MatchString(strings.Join(lines, "\n")) {
		t.Errorf("the failed zone's error line is not at priority 3:\n%s", strings.Join(lines, "\n"))
	}
	for msg := range want {
		if !found[msg] {
			t.Errorf("no %s line in:\n%s", msg, strings.Join(lines, "\n"))
		}
	}

	// A stderr that is not the journal's stream (JOURNAL_STREAM inherited
	// from a parent, stderr redirected): plain JSON, no prefix.
	lines, _ = journalCapture(t, bin, false, "--config", cfg, "--dry-run", "--offline")
	if len(lines) == 0 {
		t.Fatal("no log lines")
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "<") {
			t.Errorf("a priority prefix off the journal: %q", l)
		}
	}
}
