package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/maildns/maildns/providers"
	"github.com/maildns/maildns/sync"
)

// The secret values of the test; none may appear in any output or file.
const (
	secretEnv  = "S3cr3t-from-env-7f1c2a9d"
	secretFile = "S3cr3t-from-file-9b4d0c1e"
	secretCred = "S3cr3t-from-credential-0e5a77b2"
	secretBad  = "S3cr3t-bad-duration-5c3e11aa"
)

var secretValues = []string{secretEnv, secretFile, secretCred, secretBad}

// The "secretzone" backend is the zone file backend behind three secret
// settings, registered through the real registry: the settings must reach
// it resolved, and never come out anywhere else.
func init() {
	providers.Register("secretzone", func(s *providers.Settings) (providers.Provider, error) {
		dir, err := s.Required("directory")
		if err != nil {
			return nil, err
		}
		token, _ := s.Required("api_token")
		password := s.String("password", "")
		key := s.String("key", "")
		if token != secretEnv || password != secretFile || key != secretCred {
			return nil, errors.New("the secret settings did not arrive resolved")
		}
		return providers.New("zonefile", &providers.Settings{Name: s.Name, BaseDir: s.BaseDir, Values: map[string]string{"directory": dir}})
	})
}

// secretBuf is a bytes.Buffer safe for the daemon's goroutines.
type secretBuf struct {
	mu stdsync.Mutex
	b  bytes.Buffer
}

func (w *secretBuf) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *secretBuf) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestSecretsNeverShown runs every mode with secrets in environment, file
// and credential references, and searches all output, logs and journal
// entries for them.
func TestSecretsNeverShown(t *testing.T) {
	dir := badTree(t)
	creds := t.TempDir()
	if err := os.WriteFile(filepath.Join(creds, "tsig"), []byte(secretCred+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "secret.txt"), []byte(secretFile+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MAILDNS_TEST_TOKEN", secretEnv)
	t.Setenv("MAILDNS_TEST_BAD", secretBad)
	t.Setenv("CREDENTIALS_DIRECTORY", creds)
	cfgPath := filepath.Join(dir, "maildns.yaml")
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	provider := regexp.MustCompile(`(?m)^  local:.*$`)
	if !provider.Match(cfg) {
		t.Fatalf("no local provider in the example:\n%s", cfg)
	}
	good := provider.ReplaceAllLiteral(cfg, []byte(`  local: {type: secretzone, directory: zones, api_token: "${MAILDNS_TEST_TOKEN}", password: "${file:secret.txt}", key: "${credential:tsig}"}`))
	good = regexp.MustCompile(`(?m)^log:.*$`).ReplaceAllLiteral(good, []byte(`log: {level: debug, format: json}`))
	if err := os.WriteFile(cfgPath, good, 0o644); err != nil {
		t.Fatal(err)
	}

	var all strings.Builder
	runMode := func(want int, args ...string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		code := run(args, &stdout, &stderr)
		if code != want {
			t.Errorf("%v: exit %d, want %d\nstdout: %s\nstderr: %s", args, code, want, stdout.String(), stderr.String())
		}
		all.WriteString(stdout.String())
		all.WriteString(stderr.String())
	}
	runMode(exitOK, "--config", cfgPath, "--validate")
	runMode(exitDrift, "--config", cfgPath, "--dry-run", "--offline")
	runMode(exitDrift, "--config", cfgPath, "--dry-run", "--offline", "--output", "json")
	runMode(exitOK, "--config", cfgPath, "--once", "--offline", "--output", "json")
	entries, err := sync.ListJournal(filepath.Join(dir, "state"))
	if err != nil || len(entries) == 0 {
		t.Fatalf("no journal entries after --once: %v", err)
	}
	runMode(exitDrift, "restore", entries[0], "--dry-run", "--config", cfgPath)
	runMode(exitDrift, "restore", entries[0], "--dry-run", "--config", cfgPath, "--output", "json")
	runMode(exitOK, "restore", entries[0], "--config", cfgPath, "--allow-weakening")

	// The daemon: its first sync, then a stop.
	ctx, cancel := context.WithCancel(context.Background())
	var dlog secretBuf
	done := make(chan int, 1)
	go func() { done <- runDaemon(ctx, cfgPath, "", &dlog) }()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(dlog.String(), "sync finished") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("daemon exit %d:\n%s", code, dlog.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the daemon did not stop")
	}
	if !strings.Contains(dlog.String(), "sync finished") {
		t.Errorf("the daemon did not sync:\n%s", dlog.String())
	}
	all.WriteString(dlog.String())

	// A secret that is not a valid value: the error names the setting, not the value.
	bad := regexp.MustCompile(`key: "\$\{credential:tsig\}"\}`).ReplaceAllLiteral(good, []byte(`key: "${credential:tsig}", timeout: "${MAILDNS_TEST_BAD}"}`))
	if bytes.Equal(bad, good) {
		t.Fatal("could not add the bad setting")
	}
	badPath := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badPath, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	before := all.Len()
	runMode(exitFailed, "--config", badPath, "--validate")
	runMode(exitFailed, "--config", badPath, "--once", "--offline")
	if !strings.Contains(all.String()[before:], "setting timeout") || !strings.Contains(all.String()[before:], "[redacted]") {
		t.Errorf("the error does not name the setting:\n%s", all.String()[before:])
	}

	// Nothing shows a secret: output, logs, journal entries, state files.
	_ = filepath.WalkDir(filepath.Join(dir, "state"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Error(err)
			return nil
		}
		all.WriteString(string(b))
		return nil
	})
	out := all.String()
	if !strings.Contains(out, `"msg":"sync finished"`) || !strings.Contains(out, `"maildns_version"`) {
		t.Fatalf("the test saw no logs or no journal:\n%s", out)
	}
	for _, s := range secretValues {
		if i := strings.Index(out, s); i >= 0 {
			t.Errorf("secret %q shown: ...%s...", s, out[max(0, i-200):min(len(out), i+len(s)+50)])
		}
	}
	t.Logf("searched %d bytes of output, logs and journal entries (%d entries) for %d secrets", len(out), len(entries), len(secretValues))
}
