package contract

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/providers"
	"github.com/maildns/maildns/sync"
)

// configsDir is the repository's configs/ directory.
var configsDir = filepath.Join("..", "configs")

// dummySecret is what every secret reference of an example resolves to in
// these tests: valid base64 (a TSIG key), no spaces (a token, an AWS key).
const dummySecret = "ZHVtbXktc2VjcmV0LWZvci12YWxpZGF0aW9u"

// exampleConfigs lists every maildns config under configs/: the YAML files
// outside policies/ directories with a top-level providers: key.
func exampleConfigs(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(configsDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "policies" || d.Name() == "state" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".yaml") && !strings.HasSuffix(path, ".yml") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if regexp.MustCompile(`(?m)^providers:`).Match(data) {
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

var secretRef = regexp.MustCompile(`\$\{([^}]*)\}`)

// stage copies the directory of the config at path into a new directory
// and supplies every secret the config references with dummySecret: an
// environment variable, a file under $CREDENTIALS_DIRECTORY, or a file at a
// relative ${file:} path. It returns the copy's config path. It uses
// t.Setenv: the calling test must not be parallel.
func stage(t *testing.T, path string, edit func(string) string) string {
	t.Helper()
	src := filepath.Dir(path)
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if d.Name() == "state" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dst, filepath.Base(path))
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	if edit != nil {
		text = edit(text)
		if err := os.WriteFile(cfgPath, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	creds := t.TempDir()
	t.Setenv("CREDENTIALS_DIRECTORY", creds)
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, m := range secretRef.FindAllStringSubmatch(line, -1) {
			ref := m[1]
			switch {
			case strings.HasPrefix(ref, "credential:"):
				writeSecret(t, filepath.Join(creds, strings.TrimPrefix(ref, "credential:")))
			case strings.HasPrefix(ref, "file:"):
				p := strings.TrimPrefix(ref, "file:")
				if filepath.IsAbs(p) {
					t.Errorf("%s: ${file:%s}: an example's ${file:} path must be relative to the config, so that it can be validated anywhere", path, p)
					continue
				}
				writeSecret(t, filepath.Join(dst, p))
			case strings.HasPrefix(ref, "MAILDNS_UNSET_"):
				// left unset on purpose
			default:
				t.Setenv(ref, dummySecret)
			}
		}
	}
	return cfgPath
}

func writeSecret(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(dummySecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// validate does what maildns --validate does: load the config and its
// policies, compile every policy and build every provider (no network).
func validate(path string) (*policy.Config, error) {
	cfg, err := policy.LoadConfig(path)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, d := range cfg.Domains {
		if _, err := policy.Compile(d); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := sync.BuildProviders(cfg); err != nil {
		errs = append(errs, err)
	}
	return cfg, errors.Join(errs...)
}

// TestExampleConfigs validates every config under configs/, with each
// secret it references set to a dummy value.
func TestExampleConfigs(t *testing.T) {
	configs := exampleConfigs(t)
	types := map[string]bool{}
	for _, path := range configs {
		t.Run(strings.TrimPrefix(filepath.ToSlash(path), "../"), func(t *testing.T) {
			cfg, err := validate(stage(t, path, nil))
			if err != nil {
				t.Fatalf("--validate: %v", err)
			}
			if len(cfg.Domains) == 0 || len(cfg.Providers) == 0 {
				t.Errorf("%d policies and %d providers, want some of each", len(cfg.Domains), len(cfg.Providers))
			}
			for _, pc := range cfg.Providers {
				types[pc.Type] = true
			}
		})
	}
	// Every backend has an example.
	for _, typ := range providers.Types() {
		if !types[typ] {
			t.Errorf("no example config under configs/ uses provider type %s", typ)
		}
	}
}

// lineOf returns the 1-based number of the first line of text containing s.
func lineOf(t *testing.T, text, s string) int {
	t.Helper()
	for i, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	t.Fatalf("no line contains %q", s)
	return 0
}

// TestExampleConfigErrors breaks the backend examples one way at a time:
// each error names the file and the line to fix, and no secret.
func TestExampleConfigErrors(t *testing.T) {
	dir := filepath.Join(configsDir, "backends")
	replace := func(old, new string) func(string) string {
		return func(s string) string {
			if !strings.Contains(s, old) {
				t.Fatalf("the example no longer holds %q", old)
			}
			return strings.Replace(s, old, new, 1)
		}
	}
	tests := []struct {
		name, file string
		edit       func(string) string
		line       string   // the line the error must name (its text in the edited file)
		want       []string // in the error
	}{
		{
			name: "missing token", file: "cloudflare.yaml",
			edit: replace(`    api_token: "${credential:cloudflare_token}"`+"\n", ""),
			line: "  dns:", want: []string{"api_token", "required setting is missing"},
		},
		{
			name: "token from an unset variable", file: "cloudflare.yaml",
			edit: replace(`"${credential:cloudflare_token}"`, `"${MAILDNS_UNSET_TOKEN}"`),
			line: "api_token:", want: []string{"MAILDNS_UNSET_TOKEN", "not set"},
		},
		{
			name: "unknown provider key", file: "cloudflare.yaml",
			edit: replace("    type: cloudflare\n", "    type: cloudflare\n    api_tokn: abc\n"),
			line: "api_tokn:", want: []string{"api_tokn", "unknown setting"},
		},
		{
			name: "server without a port", file: "rfc2136.yaml",
			edit: replace(`server: "192.0.2.53:53"`, `server: "192.0.2.53"`),
			line: `server: "192.0.2.53"`, want: []string{"server", "port is missing"},
		},
		{
			name: "unknown TSIG algorithm", file: "rfc2136.yaml",
			edit: replace("key_algorithm: hmac-sha256", "key_algorithm: hmac-md5"),
			line: "key_algorithm:", want: []string{"hmac-md5", "unsupported"},
		},
		{
			name: "access key without its secret", file: "route53.yaml",
			edit: replace(`    secret_access_key: "${credential:aws_secret_access_key}"`+"\n", ""),
			line: "  dns:", want: []string{"secret_access_key", "access_key_id is set"},
		},
		{
			name: "bad region", file: "route53.yaml",
			edit: replace("region: us-east-1", "region: US East"),
			line: "region:", want: []string{"region", "not an AWS region"},
		},
		{
			name: "unknown top-level key", file: "zonefile.yaml",
			edit: replace("live_checks: false", "live_check: false"),
			line: "live_check:", want: []string{"live_check"},
		},
		{
			name: "zonefile without directory", file: "zonefile.yaml",
			edit: replace("    directory: zones\n", ""),
			line: "  dns:", want: []string{"directory", "required setting is missing"},
		},
		{
			name: "unknown provider type", file: "zonefile.yaml",
			edit: replace("type: zonefile", "type: zonefiles"),
			// The type line itself.
			line: "type: zonefiles", want: []string{`unknown provider type "zonefiles"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := stage(t, filepath.Join(dir, tt.file), tt.edit)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			_, err = validate(path)
			if err == nil {
				t.Fatal("--validate succeeded")
			}
			msg := err.Error()
			at := fmt.Sprintf("%s:%d: ", path, lineOf(t, string(data), tt.line))
			if !strings.Contains(msg, at) {
				t.Errorf("error does not name %s:\n%s", at, msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error does not say %q:\n%s", w, msg)
				}
			}
			if strings.Contains(msg, dummySecret) {
				t.Errorf("error shows a secret:\n%s", msg)
			}
		})
	}
}
