package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestOwnCommandsHelp: import, status and dkim keygen are in the command
// tree: listed by --help, their help on stdout with exit 0, spelled --flag,
// listing their own flags and not the run flags they do not take.
func TestOwnCommandsHelp(t *testing.T) {
	_, out, _ := e2eRun(t, "--help")
	for _, want := range []string{"\n  import ", "\n  status ", "\n  dkim "} {
		if !strings.Contains(out, want) {
			t.Errorf("--help does not list %q:\n%s", strings.TrimSpace(want), out)
		}
	}
	for _, c := range []struct {
		args       []string
		want, deny []string
	}{
		{[]string{"import", "--help"}, []string{"--provider NAME", "--zone ZONE", "--out DIR", "--domain NAME", "--force", "--config FILE", "--mta-sts-dir DIR", "--mta-sts-https"}, []string{"--offline", "--log-level", "--output", "--allow-weakening"}},
		{[]string{"help", "import"}, []string{"--provider NAME"}, nil},
		{[]string{"status", "-h"}, []string{"--config FILE", "--output FORMAT", "Exit 0 all well"}, []string{"--domain", "--force", "--offline"}},
		{[]string{"dkim", "--help"}, []string{"keygen"}, []string{"--offline", "--output"}},
		{[]string{"dkim", "help"}, []string{"keygen"}, []string{"--offline", "--output"}},
		{[]string{"dkim", "keygen", "--help"}, []string{"--selector S", "--algorithm ALG", "--out DIR", "ed25519"}, []string{"--offline", "--domain", "--force", "--output"}},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			code, out, errOut := e2eRun(t, c.args...)
			if code != 0 || errOut != "" || !strings.Contains(out, "Usage:") {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("help lacks %q:\n%s", w, out)
				}
			}
			for _, d := range c.deny {
				if strings.Contains(out, d) {
					t.Errorf("help lists %q, which this command does not take:\n%s", d, out)
				}
			}
			if m := regexp.MustCompile(`(?m)(^|\s)-[a-z][a-z-]+`).FindString(out); m != "" {
				t.Errorf("help spells a flag with one dash: %q\n%s", m, out)
			}
		})
	}
}

// TestOwnCommandsUsageErrors: a bad flag of import, status or dkim keygen
// is one error line and a pointer to that command's --help, exit 1, and
// nothing written.
func TestOwnCommandsUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		line string
		help string
	}{
		{[]string{"import", "--bogus"}, "maildns: unknown flag: --bogus", "Run 'maildns import --help' for usage."},
		{[]string{"import", "--provider", "p", "--zone", "z", "--out", dir, "--offline"}, "maildns: import does not take --offline", "Run 'maildns import --help' for usage."},
		{[]string{"import", "--zone"}, "maildns: flag needs an argument: --zone", "Run 'maildns import --help' for usage."},
		{[]string{"status", "--log-level", "warn"}, "maildns: status does not take --log-level", "Run 'maildns status --help' for usage."},
		{[]string{"status", "--domain", "a.example"}, "maildns: status does not take --domain", "Run 'maildns status --help' for usage."},
		{[]string{"dkim", "keygen", "--selector", "s1", "--out", dir, "--force"}, "maildns: dkim keygen does not take --force", "Run 'maildns dkim keygen --help' for usage."},
		{[]string{"dkim", "keygen", "--selctor", "s1"}, "maildns: unknown flag: --selctor", "Run 'maildns dkim keygen --help' for usage."},
		{[]string{"dkim", "keygn"}, "maildns: usage: maildns dkim keygen --selector S [--algorithm rsa-2048|rsa-3072|ed25519] --out DIR", "Run 'maildns dkim --help' for usage."},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			code, out, errOut := e2eRun(t, c.args...)
			want := c.line + "\n" + c.help + "\n"
			if code != 1 || out != "" || errOut != want {
				t.Errorf("exit %d\nstdout: %q\nstderr: %q\nwant stderr %q", code, out, errOut, want)
			}
		})
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("bad flags wrote %d files", len(ents))
	}
}

// TestOwnCommandsSingleDash: their flags still work with one dash, as the
// flag package took them.
func TestOwnCommandsSingleDash(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := e2eRun(t, "dkim", "keygen", "-selector", "s1", "-algorithm", "ed25519", "-out", dir)
	if code != 0 || !strings.Contains(out, "selector: s1") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "s1.pem")); err != nil {
		t.Error(err)
	}
}

// TestOwnCommandsDocs: man pages and completions cover them.
func TestOwnCommandsDocs(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := e2eRun(t, "gendocs", dir); code != 0 {
		t.Fatalf("gendocs: exit %d: %s", code, errOut)
	}
	for page, flags := range map[string][]string{
		"maildns-import.1":      {"provider", "zone", "out", "domain", "force", "mta-sts-dir", "mta-sts-https"},
		"maildns-status.1":      {"config", "output"},
		"maildns-dkim-keygen.1": {"selector", "algorithm", "out"},
	} {
		b, err := os.ReadFile(filepath.Join(dir, "man", page))
		if err != nil {
			t.Error(err)
			continue
		}
		// The OPTIONS section has \fB--flag\fP per flag.
		for _, f := range flags {
			if !strings.Contains(string(b), `\fB--`+f+`\fP`) {
				t.Errorf("%s lacks --%s", page, f)
			}
		}
		if strings.Contains(string(b), `\fB--offline`) || strings.Contains(string(b), "INHERITED") {
			t.Errorf("%s lists --offline, which the command does not take", page)
		}
	}
	code, out, _ := e2eRun(t, "__complete", "")
	for _, w := range []string{"import", "status", "dkim"} {
		if code != 0 || !regexp.MustCompile(`(?m)^`+w+`\t`).MatchString(out) {
			t.Errorf("__complete '': no %s in %q", w, out)
		}
	}
	code, out, _ = e2eRun(t, "__complete", "import", "--")
	if code != 0 || !strings.Contains(out, "--provider") || !strings.Contains(out, "--zone") || strings.Contains(out, "--offline") {
		t.Errorf("__complete import --: %d %q", code, out)
	}
	code, out, _ = e2eRun(t, "__complete", "dkim", "keygen", "--algorithm", "")
	if code != 0 || !strings.Contains(out, "ed25519") {
		t.Errorf("__complete dkim keygen --algorithm '': %d %q", code, out)
	}
}
