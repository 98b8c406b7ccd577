package policy

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadPolicy feeds arbitrary bytes as a policy file: LoadConfig must
// answer with a config or with *Error values, never panic.
func FuzzLoadPolicy(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "golden", "policies", "*.yaml"))
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("domain: a.example\nprovider: local\nmail_hosts: [{name: x, ipv4: [1.2.3.4]}]\n"))
	f.Add([]byte("\xff\xfe\x00d\x00o"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("domain: !!binary aGVsbG8=\n"))
	dir := f.TempDir()
	cfgPath := filepath.Join(dir, "maildns.yaml")
	if err := os.WriteFile(cfgPath, []byte(baseConfig), 0o644); err != nil {
		f.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "policies", "keys"), 0o755); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, "policies", "p.yaml"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := LoadConfig(cfgPath)
		if (cfg == nil) == (err == nil) {
			t.Fatalf("cfg %v, err %v", cfg, err)
		}
		if err != nil {
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var pe *Error
				if !errors.As(e, &pe) {
					t.Fatalf("%v is not a *Error", e)
				}
			}
		}
		if cfg != nil {
			for _, d := range cfg.Domains {
				if _, err := Compile(d); err != nil {
					t.Fatalf("Compile of a loaded domain failed: %v", err)
				}
			}
		}
	})
}
