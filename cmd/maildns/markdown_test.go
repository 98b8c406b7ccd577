package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var updateMarkdown = flag.Bool("update-markdown", false, "rewrite testdata/example-plan.md")

// TestExampleMarkdownGolden pins `--dry-run --offline --output markdown` on
// a copy of configs/example: the tables a pull request shows. The copy's
// directory is written as $DIR.
func TestExampleMarkdownGolden(t *testing.T) {
	cfg := e2eExample(t)
	code, stdout, stderr := e2eRun(t, "--config", cfg, "--dry-run", "--offline", "--output", "markdown")
	if code != exitDrift {
		t.Fatalf("exit %d, want %d (drift); stderr:\n%s", code, exitDrift, stderr)
	}
	got := strings.ReplaceAll(stdout, filepath.Dir(cfg), "$DIR")
	golden := filepath.Join("testdata", "example-plan.md")
	if *updateMarkdown {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test -run TestExampleMarkdownGolden -update-markdown writes it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", golden, diff)
	}
	if strings.Contains(stdout, "\x1b") {
		t.Error("colour codes in the Markdown output")
	}
}

// TestOutputMarkdownAccepted: every command that takes --output takes
// markdown, and a format it does not know is refused with the list.
func TestOutputMarkdownAccepted(t *testing.T) {
	cfg := e2eExample(t)
	code, stdout, stderr := e2eRun(t, "--config", cfg, "--once", "--offline", "--output", "markdown")
	if code == exitFailed || !strings.HasPrefix(stdout, "## maildns once\n") || !strings.Contains(stdout, "| Action | Name | Type | TTL | Before | After |") {
		t.Errorf("--once --output markdown: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = e2eRun(t, "restore", "--config", cfg, "--last", "--output", "markdown")
	if !strings.HasPrefix(stdout, "## maildns restore\n") {
		t.Errorf("restore --output markdown: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = e2eRun(t, "status", "--config", cfg, "--output", "markdown")
	if !strings.Contains(stdout, "| Domain | Status |") {
		t.Errorf("status --output markdown: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = e2eRun(t, "journal", "list", "--config", cfg, "--output", "markdown")
	if code != exitOK || !strings.Contains(stdout, "| Run | Time | Mode | Zones | Changes | Outcome |") {
		t.Errorf("journal list --output markdown: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	code, _, stderr = e2eRun(t, "--config", cfg, "--dry-run", "--output", "html")
	if code != exitFailed || !strings.Contains(stderr, "want text, json or markdown") {
		t.Errorf("--output html: exit %d, stderr:\n%s", code, stderr)
	}
}
