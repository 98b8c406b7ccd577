package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// applyFiles is every file of a copy of the example that a run may write:
// the zone files and the MTA-STS policy files.
func applyFiles(t *testing.T, cfg string) map[string]string {
	t.Helper()
	dir := filepath.Dir(cfg)
	out := map[string]string{}
	for _, sub := range []string{"zones", "www"} {
		_ = filepath.WalkDir(filepath.Join(dir, sub), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			data, rerr := os.ReadFile(path)
			if rerr != nil {
				t.Fatal(rerr)
			}
			rel, _ := filepath.Rel(dir, path)
			out[rel] = string(data)
			return nil
		})
	}
	return out
}

// savePlan runs --dry-run --save-plan on cfg and returns the plan's path.
func savePlanOf(t *testing.T, cfg string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "p.json")
	code, out, errOut := e2eRun(t, "--config", cfg, "--dry-run", "--save-plan", path)
	if code != 2 {
		t.Fatalf("--dry-run --save-plan exit %d, want 2 (drift)\n%s%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "plan saved to "+path) {
		t.Errorf("--save-plan says nothing of the plan on stderr:\n%s", errOut)
	}
	return path
}

func TestApplySavedPlanConvergesAsOnce(t *testing.T) {
	// A secret in the config (an API token from the environment) must not
	// reach the plan.
	const token = "tok-9f3e0c1d2b7a4e5f8a6b"
	t.Setenv("MAILDNS_TEST_CF_TOKEN", token)
	cfg := e2eExample(t)
	once := e2eExample(t)
	for _, c := range []string{cfg, once} {
		e2eReplace(t, c, "  local: {type: zonefile, directory: zones}", "  local: {type: zonefile, directory: zones}\n  cf: {type: cloudflare, api_token: \"${MAILDNS_TEST_CF_TOKEN}\"}")
	}
	before := applyFiles(t, cfg)
	path := savePlanOf(t, cfg)
	if diff := cmp.Diff(before, applyFiles(t, cfg)); diff != "" {
		t.Fatalf("--dry-run --save-plan wrote (-before +after):\n%s", diff)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("plan mode %v, want 0600", st.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), token) {
		t.Errorf("the saved plan holds the API token")
	}
	var saved struct {
		RunID     string `json:"run_id"`
		Maildns   string `json:"maildns"`
		CreatedAt string `json:"created_at"`
		Sources   []struct{ Path, What, SHA256 string }
		Zones     []struct {
			Zone    string
			Changes []struct {
				Name, Type string
				Expect     []string
			}
		}
	}
	if err := json.Unmarshal(data, &saved); err != nil {
		t.Fatal(err)
	}
	if saved.RunID == "" || saved.Maildns == "" || saved.CreatedAt == "" || len(saved.Sources) < 4 {
		t.Errorf("saved plan lacks run_id, maildns, created_at or sources: %+v", saved)
	}
	foreign := false
	for _, z := range saved.Zones {
		for _, c := range z.Changes {
			if z.Zone == "example.com" && c.Name == "@" && c.Type == "TXT" {
				foreign = cmp.Equal(c.Expect, []string{"google-site-verification=4fd8kq1Vq0kT3aWm0Y5vJ2nYlQe1rX9cZpL7sBf3uQ", "v=spf1 mx ~all"})
			}
		}
	}
	if !foreign {
		t.Errorf("the apex TXT change does not expect the foreign value beside the SPF:\n%s", data)
	}

	if code, out, errOut := e2eRun(t, "--config", once, "--once"); code != 0 {
		t.Fatalf("--once exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := e2eRun(t, "apply", path)
	if code != 0 {
		t.Fatalf("apply exit %d, want 0\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "zone example.com at local: applied") {
		t.Errorf("apply output:\n%s", out)
	}
	if diff := cmp.Diff(applyFiles(t, once), applyFiles(t, cfg)); diff != "" {
		t.Errorf("apply of the saved plan and --once differ (-once +apply):\n%s", diff)
	}
	journal, _ := filepath.Glob(filepath.Join(filepath.Dir(cfg), "state", "*-example.com-example.com.json"))
	if len(journal) != 1 {
		t.Errorf("journal entries of example.com: %v", journal)
	}
	code, out, errOut = e2eRun(t, "--config", cfg, "--dry-run", "--output", "json")
	if code != 0 || !strings.Contains(out, `"create": 0,
    "update": 0,
    "delete": 0,`) {
		t.Errorf("--dry-run after apply: exit %d\n%s%s", code, out, errOut)
	}
	// Applied once, the plan finds its zones changed: nothing is written.
	after := applyFiles(t, cfg)
	if code, out, errOut := e2eRun(t, "apply", path); code != 1 || !strings.Contains(out+errOut, "changed since the plan") {
		t.Errorf("second apply: exit %d, want 1 naming the change\n%s%s", code, out, errOut)
	}
	if diff := cmp.Diff(after, applyFiles(t, cfg)); diff != "" {
		t.Errorf("second apply wrote (-before +after):\n%s", diff)
	}
}

func TestApplySavedPlanZoneChangedByHand(t *testing.T) {
	cfg := e2eExample(t)
	once := e2eExample(t)
	path := savePlanOf(t, cfg)
	dir := filepath.Dir(cfg)
	// By hand between plan and apply: the apex SPF of example.com (which
	// the plan changes), and a record the plan does not touch in
	// example.net (which must not stop its zone).
	e2eReplace(t, filepath.Join(dir, "zones", "example.com.zone"), `"v=spf1 mx ~all"`, `"v=spf1 a mx ~all"`)
	e2eReplace(t, filepath.Join(dir, "zones", "example.net.zone"), "www             IN A    203.0.113.80", "www             IN A    203.0.113.81")
	e2eReplace(t, filepath.Join(filepath.Dir(once), "zones", "example.net.zone"), "www             IN A    203.0.113.80", "www             IN A    203.0.113.81")
	handCom := applyFiles(t, cfg)["zones/example.com.zone"]
	if code, out, errOut := e2eRun(t, "--config", once, "--once"); code != 0 {
		t.Fatalf("--once exit %d\n%s%s", code, out, errOut)
	}

	code, out, errOut := e2eRun(t, "apply", path)
	if code != 1 {
		t.Fatalf("apply exit %d, want 1\n%s%s", code, out, errOut)
	}
	got, want := applyFiles(t, cfg), applyFiles(t, once)
	if got["zones/example.com.zone"] != handCom {
		t.Errorf("apply wrote to the zone changed by hand:\n%s", got["zones/example.com.zone"])
	}
	if _, ok := got["www/example.com/.well-known/mta-sts.txt"]; ok {
		t.Errorf("apply wrote the MTA-STS policy of the refused zone")
	}
	for _, f := range []string{"zones/example.net.zone", "zones/113.0.203.in-addr.arpa.zone", "zones/8.b.d.0.1.0.0.2.ip6.arpa.zone"} {
		if got[f] != want[f] {
			t.Errorf("%s not applied as --once does:\n%s\nwant\n%s", f, got[f], want[f])
		}
	}
	change := `@ TXT in zone example.com changed since the plan: planned from "google-site-verification=4fd8kq1Vq0kT3aWm0Y5vJ2nYlQe1rX9cZpL7sBf3uQ", "v=spf1 mx ~all", now "google-site-verification=4fd8kq1Vq0kT3aWm0Y5vJ2nYlQe1rX9cZpL7sBf3uQ", "v=spf1 a mx ~all"`
	if !strings.Contains(errOut, change) || !strings.Contains(out, change) {
		t.Errorf("apply does not name the change %q\nstdout:\n%s\nstderr:\n%s", change, out, errOut)
	}
	if !strings.Contains(out, "zone example.com at local: refused") || !strings.Contains(out, "zone example.net at local: applied") {
		t.Errorf("apply output:\n%s", out)
	}
}

func TestApplySavedPlanRefusedWhole(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, cfg string)
		args   []string
		want   string
	}{
		{"policy", func(t *testing.T, cfg string) {
			e2eAppend(t, filepath.Join(filepath.Dir(cfg), "policies", "example.net.yaml"), "# reviewed\n")
		}, nil, "policies/example.net.yaml changed since the plan"},
		{"config", func(t *testing.T, cfg string) {
			e2eReplace(t, cfg, "max_changes: 10", "max_changes: 20")
		}, nil, "the config " + "CFG" + " changed since the plan"},
		{"dkim key", func(t *testing.T, cfg string) {
			e2eAppend(t, filepath.Join(filepath.Dir(cfg), "keys", "s2026.pem"), "\n")
		}, nil, "the dkim key "},
		{"new policy", func(t *testing.T, cfg string) {
			src, _ := os.ReadFile(filepath.Join(filepath.Dir(cfg), "policies", "example.net.yaml"))
			other := strings.ReplaceAll(string(src), "example.net", "example.org")
			if err := os.WriteFile(filepath.Join(filepath.Dir(cfg), "policies", "example.org.yaml"), []byte(other), 0o644); err != nil {
				t.Fatal(err)
			}
		}, nil, "policies/example.org.yaml is new since the plan"},
		{"expired", func(*testing.T, string) {}, []string{"--max-age", "1ns"}, "more than --max-age 1ns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := e2eExample(t)
			path := savePlanOf(t, cfg)
			tt.change(t, cfg)
			before := applyFiles(t, cfg)
			code, out, errOut := e2eRun(t, append([]string{"apply", path}, tt.args...)...)
			if code != 1 {
				t.Fatalf("apply exit %d, want 1\n%s%s", code, out, errOut)
			}
			want := strings.ReplaceAll(tt.want, "CFG", cfg)
			if !strings.Contains(errOut, want) || !strings.Contains(errOut, "apply "+path+": the saved plan is refused, nothing was written") {
				t.Errorf("stderr does not say %q:\n%s", want, errOut)
			}
			if diff := cmp.Diff(before, applyFiles(t, cfg)); diff != "" {
				t.Errorf("a refused plan wrote (-before +after):\n%s", diff)
			}
			if entries, _ := filepath.Glob(filepath.Join(filepath.Dir(cfg), "state", "*-example.*.json")); len(entries) != 0 {
				t.Errorf("a refused plan journaled: %v", entries)
			}
		})
	}
}

func TestApplyBadPlanFile(t *testing.T) {
	cfg := e2eExample(t)
	path := savePlanOf(t, cfg)
	data, _ := os.ReadFile(path)
	before := applyFiles(t, cfg)
	tests := []struct {
		name, content, want string
	}{
		// Another value to write: the checksum no longer matches.
		{"tampered", strings.Replace(string(data), `"10 mail.example.com."`, `"10 evil.example.org."`, 1), "was changed after it was saved"},
		{"not json", string(data[:len(data)/2]), "not a valid saved plan"},
		{"syntax", strings.Replace(string(data), `"version": 1,`, `"version": 1,,`, 1), "line 2"},
		{"unknown key", strings.Replace(string(data), `"version": 1,`, `"version": 1, "colour": "red",`, 1), `unknown field "colour"`},
		{"empty", "", "not a valid saved plan"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := filepath.Join(t.TempDir(), "bad.json")
			if err := os.WriteFile(bad, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := e2eRun(t, "apply", bad, "--config", cfg)
			if code != 1 || !strings.Contains(errOut, bad+": ") || !strings.Contains(errOut, tt.want) {
				t.Errorf("apply of a %s plan: exit %d, want 1 naming %s and %q\n%s%s", tt.name, code, bad, tt.want, out, errOut)
			}
			if diff := cmp.Diff(before, applyFiles(t, cfg)); diff != "" {
				t.Errorf("a bad plan wrote (-before +after):\n%s", diff)
			}
		})
	}
	if code, _, errOut := e2eRun(t, "apply", filepath.Join(t.TempDir(), "none.json")); code != 1 || !strings.Contains(errOut, "none.json") {
		t.Errorf("apply of a missing plan: exit %d\n%s", code, errOut)
	}
}

func TestSavePlanFlags(t *testing.T) {
	cfg := e2eExample(t)
	for _, args := range [][]string{
		{"--config", cfg, "--once", "--save-plan", "p.json"},
		{"--config", cfg, "--save-plan", "p.json"},
		{"apply"},
		{"apply", "a.json", "b.json"},
		{"apply", "p.json", "--force"},
		{"apply", "p.json", "--domain", "example.com"},
	} {
		code, _, errOut := e2eRun(t, args...)
		if code != 1 || !strings.Contains(errOut, "--help") {
			t.Errorf("%v: exit %d, want a usage error\n%s", args, code, errOut)
		}
	}
}

// A plan that cannot be saved (no such directory) fails the audit: the
// operator must not go on to apply a file that is not there.
func TestSavePlanUnwritable(t *testing.T) {
	cfg := e2eExample(t)
	path := filepath.Join(t.TempDir(), "missing", "p.json")
	code, out, errOut := e2eRun(t, "--config", cfg, "--dry-run", "--save-plan", path)
	if code != 1 || !strings.Contains(errOut, "--save-plan "+path) || !strings.Contains(out, "zone example.com at local: drift") {
		t.Errorf("exit %d, want 1 naming %s after the plan\n%s%s", code, path, out, errOut)
	}
}
