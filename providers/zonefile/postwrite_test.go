package zonefile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libdns/libdns"

	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/providers"
	mdsync "github.com/maildns/maildns/sync"
)

// fakeRndc writes a program that logs its arguments, one line a run, and
// exits with status; it returns the program and the log.
func fakeRndc(t *testing.T, dir string, status int, say string) (string, string) {
	t.Helper()
	log := filepath.Join(dir, "runs.log")
	prog := filepath.Join(dir, "rndc")
	script := "#!/bin/sh\necho \"$@\" >> '" + log + "'\necho '" + say + "' >&2\nexit " + string(rune('0'+status)) + "\n"
	if err := os.WriteFile(prog, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return prog, log
}

func runs(t *testing.T, log string) []string {
	t.Helper()
	data, err := os.ReadFile(log)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

var spfSwap = struct{ remove, add []libdns.Record }{
	[]libdns.Record{libdns.TXT{Name: "@", Text: "v=spf1 a ~all"}},
	[]libdns.Record{libdns.TXT{Name: "@", TTL: time.Hour, Text: "v=spf1 mx -all"}},
}

func TestPostWriteRunsOnceWithTheZone(t *testing.T) {
	p, path := zoneProvider(t, "example.org.", handZone)
	prog, log := fakeRndc(t, t.TempDir(), 0, "")
	p.PostWrite = []string{prog, "reload", "{zone}", "file={file}"}
	ctx := context.Background()
	if _, err := p.ReplaceRecords(ctx, "example.org.", spfSwap.remove, spfSwap.add); err != nil {
		t.Fatal(err)
	}
	want := "reload example.org file=" + path
	if got := runs(t, log); len(got) != 1 || got[0] != want {
		t.Fatalf("post_write runs %q, want one: %q", got, want)
	}
	// A write that changes nothing does not run it.
	if _, err := p.ReplaceRecords(ctx, "example.org.", spfSwap.remove, spfSwap.add); err != nil {
		t.Fatal(err)
	}
	if got := runs(t, log); len(got) != 1 {
		t.Errorf("post_write ran %d times after a write that changed nothing, want 1", len(got))
	}
}

func TestPostWriteFailureIsTheZonesError(t *testing.T) {
	p, path := zoneProvider(t, "example.org.", handZone)
	dir := t.TempDir()
	prog, log := fakeRndc(t, dir, 1, "rndc: connect failed: 127.0.0.1#953: connection refused")
	p.PostWrite = []string{prog, "reload", "{zone}"}
	ctx := context.Background()
	_, err := p.ReplaceRecords(ctx, "example.org.", spfSwap.remove, spfSwap.add)
	var pe *PostWriteError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "example.org.") {
		t.Fatalf("write whose post_write fails: %v, want a PostWriteError naming the zone and the output", err)
	}
	if transient, _ := providers.IsTransient(err); transient {
		t.Error("a failed post_write is retried as a transient failure of the write")
	}
	if !strings.Contains(readText(t, path), "v=spf1 mx -all") {
		t.Error("the write did not stay after post_write failed")
	}
	// The next write call to the zone runs it again, though it changes
	// nothing, and succeeds once the command does.
	prog, _ = fakeRndc(t, dir, 0, "")
	p.PostWrite[0] = prog
	if _, err := p.ReplaceRecords(ctx, "example.org.", spfSwap.remove, spfSwap.add); err != nil {
		t.Fatal(err)
	}
	if got := runs(t, log); len(got) != 2 {
		t.Errorf("post_write runs %q, want 2 (failed, then owed)", got)
	}
	if _, err := p.ReplaceRecords(ctx, "example.org.", spfSwap.remove, spfSwap.add); err != nil {
		t.Fatal(err)
	}
	if got := runs(t, log); len(got) != 2 {
		t.Errorf("post_write ran again with nothing owed: %q", got)
	}
}

func TestPostWriteTimeout(t *testing.T) {
	p, _ := zoneProvider(t, "example.org.", handZone)
	p.PostWrite = []string{"sleep", "10"}
	p.PostWriteTimeout = 200 * time.Millisecond
	start := time.Now()
	_, err := p.ReplaceRecords(context.Background(), "example.org.", spfSwap.remove, spfSwap.add)
	if !strings.Contains(fmtErr(err), "did not finish within 200ms") {
		t.Fatalf("post_write past its timeout: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the write returned after %v", d)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Error("a post_write timeout reads as the write's deadline (it would be retried)")
	}
}

func fmtErr(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestPostWriteSettings(t *testing.T) {
	prog, _ := fakeRndc(t, t.TempDir(), 0, "")
	build := func(values map[string]string, lists map[string][]string) (*Provider, error) {
		v := map[string]string{"directory": "zones"}
		for k, x := range values {
			v[k] = x
		}
		p, err := providers.New("zonefile", &providers.Settings{BaseDir: "/etc/maildns", Values: v, Lists: lists})
		if err != nil {
			return nil, err
		}
		return p.(*Provider), nil
	}
	p, err := build(map[string]string{"post_write_timeout": "5s"}, map[string][]string{"post_write": {prog, "reload", "{zone}"}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(p.PostWrite, " ") != prog+" reload {zone}" || p.PostWriteTimeout != 5*time.Second {
		t.Errorf("post_write %q, timeout %v", p.PostWrite, p.PostWriteTimeout)
	}
	for _, c := range []struct {
		name   string
		values map[string]string
		lists  map[string][]string
		want   string
	}{
		{"a single string", map[string]string{"post_write": "rndc reload {zone}"}, nil, `setting "post_write": want a list`},
		{"empty list", nil, map[string][]string{"post_write": {}}, `setting "post_write": want a command`},
		{"empty item", nil, map[string][]string{"post_write": {prog, ""}}, "item 2 is empty"},
		{"unknown placeholder", nil, map[string][]string{"post_write": {prog, "{zonename}"}}, "unknown placeholder {zonename}"},
		{"missing program", nil, map[string][]string{"post_write": {"/nonexistent/rndc", "reload"}}, `program "/nonexistent/rndc"`},
		{"zero timeout", map[string]string{"post_write_timeout": "0s"}, map[string][]string{"post_write": {prog}}, `setting "post_write_timeout"`},
		{"a list for a single value", nil, map[string][]string{"file_suffix": {".zone"}}, `setting "file_suffix": must be a single value, not a list`},
	} {
		if _, err := build(c.values, c.lists); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

// TestPostWriteFromConfig: post_write is written in maildns.yaml as a YAML
// list and reaches the backend; a bad one names its file and line.
func TestPostWriteFromConfig(t *testing.T) {
	prog, _ := fakeRndc(t, t.TempDir(), 0, "")
	load := func(setting string) (map[string]providers.Provider, error) {
		dir := t.TempDir()
		if err := os.MkdirAll(filepath.Join(dir, "policies"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "policies", "p.yaml"), []byte("domain: example.com\nprovider: local\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg := filepath.Join(dir, "maildns.yaml")
		text := "policies: [\"policies/*.yaml\"]\nproviders:\n  local:\n    type: zonefile\n    directory: zones\n    " + setting + "\n"
		if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := policy.LoadConfig(cfg)
		if err != nil {
			return nil, err
		}
		return mdsync.BuildProviders(c)
	}
	ps, err := load(`post_write: ["` + prog + `", reload, "{zone}"]`)
	if err != nil {
		t.Fatal(err)
	}
	var zp *Provider
	for p := ps["local"]; p != nil; {
		if z, ok := p.(*Provider); ok {
			zp = z
			break
		}
		u, ok := p.(interface{ Unwrap() providers.Provider })
		if !ok {
			break
		}
		p = u.Unwrap()
	}
	if zp == nil || strings.Join(zp.PostWrite, " ") != prog+" reload {zone}" {
		t.Fatalf("post_write from the config: %+v", zp)
	}
	if _, err := load(`post_write: [rndc-that-does-not-exist, reload]`); err == nil || !strings.Contains(err.Error(), "maildns.yaml:6:") {
		t.Errorf("a missing post_write program: %v, want an error at maildns.yaml:6", err)
	}
	if _, err := load(`post_write: [rndc, "-y", "${RNDC_KEY}"]`); err == nil || !strings.Contains(err.Error(), "maildns.yaml:6: provider local: setting post_write: ${...} references are not allowed") {
		t.Errorf("a reference in post_write: %v", err)
	}
}
