package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	gosync "sync"
	"testing"

	"golang.org/x/sys/unix"
)

// TestHelpOnStdout: --help, -h, help and a command's --help print the usage
// on stdout with exit 0, nothing on stderr, flags spelled --flag.
func TestHelpOnStdout(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"restore", "--help"}, {"help", "restore"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, out, errOut := e2eRun(t, args...)
			if code != 0 || errOut != "" || !strings.Contains(out, "Usage:") || !strings.Contains(out, "--dry-run") {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
			}
			// No long flag written with one dash, as the old usage did.
			if m := regexp.MustCompile(`(?m)(^|\s)-[a-z][a-z-]+`).FindString(out); m != "" {
				t.Errorf("help spells a flag with one dash: %q\n%s", m, out)
			}
		})
	}
	code, out, _ := e2eRun(t, "--help")
	for _, want := range []string{"--config FILE", "--once", "--validate", "--version", "--output FORMAT",
		"--log-level LEVEL", "--domain NAME", "--force", "--allow-weakening", "--offline", "restore", "completion"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("--help lacks %q:\n%s", want, out)
		}
	}
}

// TestHelpThroughHead is `maildns --help | head` on the built binary.
func TestHelpThroughHead(t *testing.T) {
	bin := buildMaildns(t, t.TempDir())
	out, err := exec.Command("sh", "-c", strconv.Quote(bin)+" --help | head -n 20").Output()
	if err != nil || !strings.Contains(string(out), "Usage:") && !strings.Contains(string(out), "--dry-run") {
		t.Fatalf("maildns --help | head: %v\n%s", err, out)
	}
	if !strings.HasPrefix(string(out), "maildns keeps") {
		t.Errorf("the usage does not start the output:\n%s", out)
	}
}

// TestUsageErrors: one error line and a pointer to --help, exit 1, no usage.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		line string
		help string
	}{
		{[]string{"--no-such-flag"}, "maildns: unknown flag: --no-such-flag", "Run 'maildns --help' for usage."},
		{[]string{"--dry-run", "--output", "yaml"}, `maildns: --output "yaml": want text, json or markdown`, "Run 'maildns --help' for usage."},
		{[]string{"--dry-run", "--log-level", "loud"}, `maildns: --log-level "loud": want debug, info, warn or error`, "Run 'maildns --help' for usage."},
		{[]string{"frobnicate"}, `maildns: unknown command "frobnicate" for "maildns"`, "Run 'maildns --help' for usage."},
		{[]string{"restor", "x.json"}, `maildns: unknown command "restor" for "maildns" (did you mean restore?)`, "Run 'maildns --help' for usage."},
		{[]string{"restore"}, "maildns: usage: maildns restore JOURNAL_FILE | --run ID | --last [--domain D] [--dry-run]", "Run 'maildns restore --help' for usage."},
		{[]string{"journal"}, "maildns: usage: maildns journal list", "Run 'maildns journal --help' for usage."},
		{[]string{"restore", "--run", "x", "--last"}, "maildns: restore: --run and --last exclude each other", "Run 'maildns restore --help' for usage."},
		{[]string{"restore", "a.json", "--bogus"}, "maildns: unknown flag: --bogus", "Run 'maildns restore --help' for usage."},
		{[]string{"--config"}, "maildns: flag needs an argument: --config", "Run 'maildns --help' for usage."},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := e2eRun(t, tc.args...)
			want := tc.line + "\n" + tc.help + "\n"
			if code != 1 || out != "" || errOut != want {
				t.Errorf("exit %d\nstdout: %q\nstderr: %q\nwant stderr %q", code, out, errOut, want)
			}
		})
	}
}

// TestSingleDashFlags: the long flags keep working with one dash, as the
// standard flag package took them.
func TestSingleDashFlags(t *testing.T) {
	code, out, errOut := e2eRun(t, "-version")
	if code != 0 || !strings.HasPrefix(out, "maildns ") {
		t.Errorf("-version: exit %d, %q %q", code, out, errOut)
	}
	f, err := parseFlags([]string{"-dry-run", "-config=x.yaml", "-domain", "a.example"}, io.Discard)
	if err != nil || !f.dryRun || f.config != "x.yaml" || strings.Join(f.domains, ",") != "a.example" {
		t.Errorf("flags %+v, err %v", f, err)
	}
}

// TestMissingConfigHint: with no config where maildns looks, the error says
// how to name one.
func TestMissingConfigHint(t *testing.T) {
	t.Setenv("MAILDNS_CONFIG", filepath.Join(t.TempDir(), "none.yaml"))
	for _, args := range [][]string{{"--dry-run"}, {"--validate"}, {"--once"}} {
		code, _, errOut := e2eRun(t, args...)
		if code != 1 || !strings.Contains(errOut, "none.yaml") || !strings.Contains(errOut, "--config FILE or MAILDNS_CONFIG") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
	// A config that exists but is wrong gets no such hint.
	cfg := filepath.Join(t.TempDir(), "maildns.yaml")
	os.WriteFile(cfg, []byte("polices: []\n"), 0o644)
	if _, _, errOut := e2eRun(t, "--config", cfg, "--validate"); strings.Contains(errOut, "MAILDNS_CONFIG") {
		t.Errorf("hint on an existing config: %q", errOut)
	}
}

// TestEmptyConfigInvalid: a config with no policies is not "valid: 0 policies".
func TestEmptyConfigInvalid(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "maildns.yaml")
	for _, body := range []string{"providers: {local: {type: zonefile, directory: zones}}\n",
		"policies: [\"policies/*.yaml\"]\nproviders: {local: {type: zonefile, directory: zones}}\n"} {
		os.WriteFile(cfg, []byte(body), 0o644)
		code, out, errOut := e2eRun(t, "--config", cfg, "--validate")
		if code != 1 || out != "" || !regexp.MustCompile(`no policies|matches no file`).MatchString(errOut) {
			t.Errorf("%q: exit %d\nstdout: %s\nstderr: %s", body, code, out, errOut)
		}
	}
}

// TestValidateDomain: --validate --domain lists only that domain, and an
// unknown --domain is an error.
func TestValidateDomain(t *testing.T) {
	cfg := e2eExample(t)
	code, out, errOut := e2eRun(t, "--config", cfg, "--validate", "--domain", "example.net")
	if code != 0 || !strings.Contains(out, "1 policy (example.net)") || strings.Contains(out, "example.com") {
		t.Errorf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	code, out, _ = e2eRun(t, "--config", cfg, "--validate")
	if code != 0 || !strings.Contains(out, "example.com, example.net") {
		t.Errorf("without --domain: exit %d, %s", code, out)
	}
	if code, _, errOut := e2eRun(t, "--config", cfg, "--validate", "--domain", "nope.example"); code != 1 || !strings.Contains(errOut, "nope.example") {
		t.Errorf("unknown --domain: exit %d, %s", code, errOut)
	}
}

// TestKeyFileResolvedPath: a relative key_file that is missing is reported
// with the path it was looked for at, beside the policy file.
func TestKeyFileResolvedPath(t *testing.T) {
	cfg := e2eExample(t)
	dir := filepath.Dir(cfg)
	os.Rename(filepath.Join(dir, "keys"), filepath.Join(dir, "keys.old"))
	code, _, errOut := e2eRun(t, "--config", cfg, "--validate")
	// The policy says ../keys/s2026.pem: read beside the policy file.
	want := "key_file ../keys/s2026.pem (relative to the policy file: " + filepath.Join(dir, "keys", "s2026.pem") + "): open: no such file or directory"
	if code != 1 || !strings.Contains(errOut, want) {
		t.Errorf("exit %d, stderr:\n%s\nwant %s", code, errOut, want)
	}
}

// openPTY opens a pseudo-terminal pair; reading the master collects what is
// written to the terminal.
func openPTY(t *testing.T) (master, tty *os.File, read func() string) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("no pseudo-terminal: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	var mu gosync.Mutex
	var buf bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		b := make([]byte, 4096)
		for {
			n, err := m.Read(b)
			mu.Lock()
			buf.Write(b[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { s.Close(); m.Close() })
	return m, s, func() string {
		s.Close() // the master reads EOF/EIO once the terminal side is closed
		<-done
		mu.Lock()
		defer mu.Unlock()
		return buf.String()
	}
}

// TestColourRespectsTermAndNoColor: the text plan on a terminal is coloured,
// but not with TERM=dumb or NO_COLOR.
func TestColourRespectsTermAndNoColor(t *testing.T) {
	cfg := e2eExample(t)
	for _, tc := range []struct {
		term, noColor string
		colour        bool
	}{{"xterm-256color", "", true}, {"dumb", "", false}, {"xterm-256color", "1", false}} {
		t.Run("TERM="+tc.term+" NO_COLOR="+tc.noColor, func(t *testing.T) {
			t.Setenv("TERM", tc.term)
			t.Setenv("NO_COLOR", tc.noColor)
			_, tty, read := openPTY(t)
			var stderr bytes.Buffer
			code := run([]string{"--config", cfg, "--dry-run", "--offline"}, tty, &stderr)
			out := read()
			if code != 2 || !strings.Contains(out, "example.com") {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, stderr.String())
			}
			if got := strings.Contains(out, "\x1b["); got != tc.colour {
				t.Errorf("colour %v, want %v:\n%q", got, tc.colour, out)
			}
		})
	}
}

// TestOneShotLogsOnTerminal: on a terminal, --dry-run logs no drift lines
// (the plan says it), only errors; --log-level brings them back; off a
// terminal the log is as before.
func TestOneShotLogsOnTerminal(t *testing.T) {
	cfg := e2eExample(t)
	_, tty, read := openPTY(t)
	var stdout bytes.Buffer
	code := run([]string{"--config", cfg, "--dry-run", "--offline"}, &stdout, tty)
	logs := read()
	if code != 2 || !strings.Contains(stdout.String(), "example.com") {
		t.Fatalf("exit %d, plan %s", code, stdout.String())
	}
	if strings.Contains(logs, "drift") || strings.Contains(logs, "level=INFO") || strings.Contains(logs, "level=WARN") {
		t.Errorf("a dry run on a terminal logged more than errors:\n%s", logs)
	}

	_, tty, read = openPTY(t)
	stdout.Reset()
	run([]string{"--config", cfg, "--dry-run", "--offline", "--log-level", "warn"}, &stdout, tty)
	if logs := read(); !strings.Contains(logs, "level=WARN msg=drift") || strings.Contains(logs, "level=INFO") {
		t.Errorf("--log-level warn on a terminal:\n%s", logs)
	}

	var stderr bytes.Buffer
	stdout.Reset()
	run([]string{"--config", cfg, "--dry-run", "--offline"}, &stdout, &stderr)
	if !strings.Contains(stderr.String(), `"msg":"drift"`) || !strings.Contains(stderr.String(), `"msg":"sync finished"`) {
		t.Errorf("off a terminal the log lost its lines:\n%s", stderr.String())
	}
}

// TestCompletionAndDocs: cobra's completion command and the hidden gendocs
// write scripts and man pages made from the command definitions.
func TestCompletionAndDocs(t *testing.T) {
	for _, sh := range []string{"bash", "zsh", "fish"} {
		code, out, errOut := e2eRun(t, "completion", sh)
		if code != 0 || !strings.Contains(out, "maildns") || errOut != "" {
			t.Errorf("completion %s: exit %d, %d bytes, stderr %q", sh, code, len(out), errOut)
		}
	}
	// The shell asks the binary for candidates: flags, then their values.
	code, out, _ := e2eRun(t, "__complete", "--out")
	if code != 0 || !strings.Contains(out, "--output") {
		t.Errorf("__complete --out: %d %q", code, out)
	}
	code, out, _ = e2eRun(t, "__complete", "--output", "")
	if code != 0 || !strings.Contains(out, "json") {
		t.Errorf("__complete --output '': %d %q", code, out)
	}
	dir := t.TempDir()
	if code, _, errOut := e2eRun(t, "gendocs", dir); code != 0 {
		t.Fatalf("gendocs: exit %d: %s", code, errOut)
	}
	man, err := os.ReadFile(filepath.Join(dir, "man", "maildns.1"))
	if err != nil || !bytes.Contains(man, []byte(`.TH "MAILDNS" "1"`)) || !bytes.Contains(man, []byte(`--dry-run`)) {
		t.Errorf("maildns.1: %v\n%s", err, man)
	}
	if _, err := os.Stat(filepath.Join(dir, "man", "maildns-restore.1")); err != nil {
		t.Error(err)
	}
	for _, f := range []string{"maildns.bash", "_maildns", "maildns.fish"} {
		if b, err := os.ReadFile(filepath.Join(dir, "completions", f)); err != nil || !bytes.Contains(b, []byte("maildns")) {
			t.Errorf("%s: %v", f, err)
		}
	}
	// gendocs is not part of the help.
	if _, out, _ := e2eRun(t, "--help"); strings.Contains(out, "gendocs") {
		t.Error("--help lists the hidden gendocs")
	}
}

// parseFlags parses args as run does and returns the flags, running nothing.
func parseFlags(args []string, stderr io.Writer) (*flags, error) {
	var got *flags
	code := execute(context.Background(), args, io.Discard, stderr, func(_ context.Context, f *flags) int {
		got = f
		return exitOK
	})
	if code != exitOK {
		return nil, fmt.Errorf("exit status %d", code)
	}
	return got, nil
}
