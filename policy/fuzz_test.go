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

// FuzzLoadConfig feeds arbitrary bytes as maildns.yaml and as one policy file
// (written into a temporary directory beside a valid policy, a key file and
// the bad-input corpus): LoadConfig must not panic, must return a config or
// errors, and every error must be a *Error that names a file.
func FuzzLoadConfig(f *testing.F) {
	golden, err := os.ReadFile(filepath.Join("testdata", "golden", "maildns.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	valid, err := os.ReadFile(filepath.Join("testdata", "golden", "policies", "example.com.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden, valid)
	f.Add([]byte(baseConfig), []byte("domain: a.example\nprovider: local\nparked: true\n"))
	f.Add([]byte("policies: [\"policies/*.yaml\"]\nsafety: {max_changes: -1, allow_weakening: maybe}\njournal: {keep: 1e9}\nproviders: {local: {type: zonefile, directory: zones, key: \"${file:}\"}}\n"), valid)
	f.Add([]byte("policies: [\"policies/[\"]\nstate_dir: \"\"\nschedule: \"@every 0s\"\n"), []byte{})
	f.Add([]byte("policies: [\"policies/*.yaml\", \"policies/*.yaml\"]\nproviders:\n  local: &a {type: zonefile, directory: zones}\n  rev: *a\n"), valid)
	f.Add([]byte("providers:\n  x: {type: zonefile, token: \"${credential:../x}\", secret: \"${NO_SUCH_VARIABLE}\"}\n"), []byte("\x00"))
	bad, _ := filepath.Glob(filepath.Join("testdata", "bad", "*.yaml"))
	for _, p := range bad {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add([]byte(baseConfig), b)
	}
	dir := f.TempDir()
	for _, sub := range []string{"policies", "zones", "reverse"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			f.Fatal(err)
		}
	}
	if err := os.CopyFS(filepath.Join(dir, "policies", "keys"), os.DirFS(filepath.Join("testdata", "golden", "keys"))); err != nil {
		f.Fatal(err)
	}
	for _, name := range []string{"example.net.yaml", "example.org.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata", "golden", "policies", name))
		if err != nil {
			f.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "policies", name), b, 0o644); err != nil {
			f.Fatal(err)
		}
	}
	cfgPath := filepath.Join(dir, "maildns.yaml")
	f.Fuzz(func(t *testing.T, cfgData, policyData []byte) {
		if err := os.WriteFile(cfgPath, cfgData, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "policies", "fuzz.yaml"), policyData, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := LoadConfig(cfgPath)
		if (cfg == nil) == (err == nil) {
			t.Fatalf("cfg %v, err %v", cfg, err)
		}
		if err != nil {
			var list []error
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				list = j.Unwrap()
			} else {
				list = []error{err}
			}
			for _, e := range list {
				var pe *Error
				if !errors.As(e, &pe) {
					t.Fatalf("%v is not a *Error", e)
				}
				if pe.Pos.File == "" {
					t.Fatalf("%v names no file", e)
				}
			}
			return
		}
		for _, d := range cfg.Domains {
			if _, err := Compile(d); err != nil {
				t.Fatalf("Compile of a loaded domain failed: %v", err)
			}
		}
	})
}
