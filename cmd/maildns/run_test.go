package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/providers"
)

// e2eRun runs maildns with args and returns its exit status and output.
func e2eRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// e2eExample copies configs/example to a temporary directory. Live lookups
// go to a loopback port where nothing answers, never to the internet.
func e2eExample(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	src := filepath.Join("..", "..", "configs", "example")
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			if d.Name() == "state" && rel != "." {
				return filepath.SkipDir
			}
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dst, "maildns.yaml")
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, []byte("\nresolvers: [\"127.0.0.1:9\"]\n")...)
	if err := os.WriteFile(cfg, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// e2eZones reads every zone the example's policies touch, through the
// zonefile backend.
func e2eZones(t *testing.T, cfgPath string) map[string][]libdns.RR {
	t.Helper()
	cfg, err := policy.LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]libdns.RR{}
	for _, d := range cfg.Domains {
		sets, err := policy.Compile(d)
		if err != nil {
			t.Fatal(err)
		}
		zones := map[string]string{d.Zone: d.Provider}
		for _, s := range sets {
			zones[s.Zone] = s.Provider
		}
		for zone, prov := range zones {
			pc := cfg.Providers[prov]
			p, err := providers.New(pc.Type, &providers.Settings{Name: prov, BaseDir: cfg.Dir, Values: pc.Settings, Secret: pc.Secret})
			if err != nil {
				t.Fatal(err)
			}
			recs, err := p.GetRecords(context.Background(), zone+".")
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range recs {
				rr, err := providers.Normalize(r, zone)
				if err != nil {
					t.Fatal(err)
				}
				out[zone] = append(out[zone], rr)
			}
		}
	}
	return out
}

// foreign returns the records of zones that no policy owns (SOA left out),
// as sorted strings.
func e2eForeign(t *testing.T, cfgPath string, zones map[string][]libdns.RR) map[string]bool {
	t.Helper()
	cfg, err := policy.LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	type key struct{ zone, name, typ string }
	owned := map[key]policy.RRset{}
	for _, d := range cfg.Domains {
		sets, _ := policy.Compile(d)
		for _, s := range sets {
			owned[key{s.Zone, s.Name, s.Type}] = s
		}
	}
	out := map[string]bool{}
	for zone, recs := range zones {
		for _, r := range recs {
			if r.Type == "SOA" {
				continue
			}
			if s, ok := owned[key{zone, r.Name, r.Type}]; ok && s.Owns(r.Data) {
				continue
			}
			out[zone+" "+r.Name+" "+strconv.Itoa(int(r.TTL.Seconds()))+" "+r.Type+" "+r.Data] = true
		}
	}
	return out
}

func e2eSerials(t *testing.T, zones map[string][]libdns.RR) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	for zone, recs := range zones {
		for _, r := range recs {
			if r.Type == "SOA" {
				f := strings.Fields(r.Data)
				n, err := strconv.ParseUint(f[2], 10, 32)
				if err != nil {
					t.Fatalf("SOA of %s: %q", zone, r.Data)
				}
				out[zone] = n
			}
		}
	}
	return out
}

func TestEndToEndExample(t *testing.T) {
	cfg := e2eExample(t)
	if code, out, errOut := e2eRun(t, "--config", cfg, "--validate"); code != 0 {
		t.Fatalf("--validate exit %d\n%s%s", code, out, errOut)
	}
	before := e2eZones(t, cfg)
	foreignBefore := e2eForeign(t, cfg, before)
	if len(foreignBefore) == 0 {
		t.Fatal("the example has no foreign records to protect")
	}

	files := e2eSnapshot(t, filepath.Dir(cfg))
	code, out, errOut := e2eRun(t, "--config", cfg, "--dry-run")
	if code != 2 {
		t.Fatalf("first --dry-run exit %d, want 2\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "drift") || !strings.Contains(errOut, `"msg":"drift"`) {
		t.Errorf("first --dry-run shows no drift:\n%s\n%s", out, errOut)
	}
	// TLS-RPT and BIMI of the sending domain, then the scorecard, which
	// fails what is not published yet.
	for _, want := range []string{
		`+ _smtp._tls     TXT  3600        "v=TLSRPTv1; rua=mailto:tlsrpt@example.com"`,
		`+ default._bimi  TXT  3600        "v=BIMI1; l=https://example.com/bimi/logo.svg; a=https://example.com/bimi/vmc.pem"`,
		"\ncompliance: ",
		"    fail            TLS-RPT                          TXT _smtp._tls.example.com. is not published as the policy wants",
		"    fail            DMARC (p=none or stricter) *     no DMARC record at _dmarc.example.com.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("first --dry-run has no %q:\n%s", want, out)
		}
	}
	if diff := cmp.Diff(files, e2eSnapshot(t, filepath.Dir(cfg))); diff != "" {
		t.Fatalf("--dry-run changed a zone file (-before +after):\n%s", diff)
	}

	code, out, errOut = e2eRun(t, "--config", cfg, "--once")
	if code != 0 {
		t.Fatalf("--once exit %d, want 0\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "applied") {
		t.Errorf("--once output:\n%s", out)
	}

	code, out, errOut = e2eRun(t, "--config", cfg, "--dry-run")
	if code != 0 {
		t.Fatalf("--dry-run after --once exit %d, want 0\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "· 0 changes (") {
		t.Errorf("--dry-run after --once has changes:\n%s", out)
	}
	if strings.Contains(out, "    fail ") || !strings.Contains(out, "    pass            BIMI") {
		t.Errorf("--dry-run after --once: the scorecard should pass everything configured:\n%s", out)
	}

	after := e2eZones(t, cfg)
	foreignAfter := e2eForeign(t, cfg, after)
	for r := range foreignBefore {
		if !foreignAfter[r] {
			t.Errorf("foreign record changed or gone: %s", r)
		}
	}
	for r := range foreignAfter {
		if !foreignBefore[r] {
			t.Errorf("foreign record appeared: %s", r)
		}
	}
	sb, sa := e2eSerials(t, before), e2eSerials(t, after)
	for zone, s := range sb {
		if sa[zone] <= s {
			t.Errorf("SOA serial of %s: %d before, %d after", zone, s, sa[zone])
		}
	}

	// The plan JSON has the keys of SPEC §4.
	code, out, errOut = e2eRun(t, "--config", cfg, "--dry-run", "--output", "json")
	if code != 0 {
		t.Fatalf("--output json exit %d\n%s", code, errOut)
	}
	var plan map[string]any
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatalf("--output json: %v\n%s", err, out)
	}
	for _, k := range []string{"version", "mode", "zones", "findings", "summary"} {
		if _, ok := plan[k]; !ok {
			t.Errorf("plan has no %q", k)
		}
	}
	if plan["mode"] != "dry-run" || plan["version"] != float64(1) {
		t.Errorf("mode %v version %v", plan["mode"], plan["version"])
	}
	zones, _ := plan["zones"].([]any)
	if len(zones) == 0 {
		t.Fatal("no zones in plan")
	}
	for _, z := range zones {
		zm := z.(map[string]any)
		for _, k := range []string{"domain", "zone", "provider", "status", "changes", "error"} {
			if _, ok := zm[k]; !ok {
				t.Errorf("zone has no %q: %v", k, zm)
			}
		}
	}
	// compliance (SPEC §4): every domain's requirements, each with its keys.
	got := map[string]string{}
	comp, _ := plan["compliance"].([]any)
	for _, c := range comp {
		cm := c.(map[string]any)
		for _, k := range []string{"domain", "requirement", "status", "finding"} {
			if _, ok := cm[k]; !ok {
				t.Errorf("compliance entry has no %q: %v", k, cm)
			}
		}
		got[fmt.Sprint(cm["domain"], " ", cm["requirement"])] = fmt.Sprint(cm["status"])
	}
	for k, want := range map[string]string{
		"example.com spf": "pass", "example.com dkim": "pass", "example.com dmarc": "pass",
		"example.com dmarc_alignment": "pass", "example.com ptr": "pass", "example.com tls_rpt": "pass",
		"example.com bimi": "pass", "example.com dane": "not_configured",
		"example.net dkim": "not_configured", "example.net dmarc": "pass",
	} {
		if got[k] != want {
			t.Errorf("compliance %s = %q, want %q (all: %v)", k, got[k], want, got)
		}
	}
	summary, _ := plan["summary"].(map[string]any)
	for _, k := range []string{"create", "update", "delete", "findings", "errors"} {
		if _, ok := summary[k]; !ok {
			t.Errorf("summary has no %q", k)
		}
	}

	// --domain limits the run; an unknown domain is an error.
	code, out, _ = e2eRun(t, "--config", cfg, "--dry-run", "--domain", "example.net", "--output", "json")
	if code != 0 || strings.Contains(out, `"example.com"`) {
		t.Errorf("--domain example.net: exit %d\n%s", code, out)
	}
	code, _, errOut = e2eRun(t, "--config", cfg, "--dry-run", "--domain", "nonesuch.example")
	if code != 1 || !strings.Contains(errOut, "nonesuch.example") {
		t.Errorf("--domain nonesuch.example: exit %d\n%s", code, errOut)
	}
}

var e2eFileLine = regexp.MustCompile(`(?m)^\S+\.yaml:\d+: `)

func TestValidateBadInputs(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(t *testing.T, dir string)
		wantRe string // in stderr, after file:line
	}{
		{
			name: "unknown key in a policy",
			edit: func(t *testing.T, dir string) {
				e2eAppend(t, filepath.Join(dir, "policies", "example.net.yaml"), "\nbogus_key: 1\n")
			},
			wantRe: `example\.net\.yaml:\d+: .*bogus_key`,
		},
		{
			name: "unknown provider type",
			edit: func(t *testing.T, dir string) {
				e2eAppend(t, filepath.Join(dir, "maildns.yaml"), "  other: {type: nonesuch}\n")
			},
			wantRe: `maildns\.yaml:\d+: provider other: unknown provider type "nonesuch"`,
		},
		{
			name: "bad IP address",
			edit: func(t *testing.T, dir string) {
				e2eReplace(t, filepath.Join(dir, "policies", "example.com.yaml"), "203.0.113.25]", "203.0.113.256]")
			},
			wantRe: `example\.com\.yaml:\d+: .*203\.0\.113\.256`,
		},
		{
			name: "unknown provider in a policy",
			edit: func(t *testing.T, dir string) {
				e2eReplace(t, filepath.Join(dir, "policies", "example.net.yaml"), "provider: local", "provider: lcoal")
			},
			wantRe: `example\.net\.yaml:\d+: .*unknown provider "lcoal"`,
		},
		{
			name: "DMARC policy rejct",
			edit: func(t *testing.T, dir string) {
				e2eReplace(t, filepath.Join(dir, "policies", "example.com.yaml"), "policy: reject", "policy: rejct")
			},
			wantRe: `example\.com\.yaml:\d+: dmarc policy: "rejct" is not one of .*did you mean "reject"`,
		},
		{
			name: "BIMI logo over http",
			edit: func(t *testing.T, dir string) {
				e2eReplace(t, filepath.Join(dir, "policies", "example.com.yaml"), "logo: https://", "logo: http://")
			},
			wantRe: `example\.com\.yaml:\d+: bimi logo: "http://example\.com/bimi/logo\.svg" is not an https: URL`,
		},
		{
			name: "TLS-RPT rua not mailto or https",
			edit: func(t *testing.T, dir string) {
				e2eReplace(t, filepath.Join(dir, "policies", "example.com.yaml"), `"mailto:tlsrpt@example.com"`, `"tlsrpt@example.com"`)
			},
			wantRe: `example\.com\.yaml:\d+: tls_rpt rua: "tlsrpt@example\.com" is not a mailto: or https: URI`,
		},
		{
			name: "unreadable key file",
			edit: func(t *testing.T, dir string) {
				if err := os.Remove(filepath.Join(dir, "keys", "s2026.pem")); err != nil {
					t.Fatal(err)
				}
			},
			wantRe: `example\.com\.yaml:\d+: dkim s2026: .*s2026\.pem`,
		},
		{
			name: "domain outside its zone",
			edit: func(t *testing.T, dir string) {
				e2eReplace(t, filepath.Join(dir, "policies", "example.net.yaml"), "provider: local", "provider: local\nzone: example.org")
			},
			wantRe: `example\.net\.yaml:\d+: .*outside zone`,
		},
		{
			name: "unknown provider setting",
			edit: func(t *testing.T, dir string) {
				e2eAppend(t, filepath.Join(dir, "maildns.yaml"), "  other: {type: zonefile, directory: zones, colour: blue}\n")
			},
			wantRe: `maildns\.yaml:\d+: provider other: setting colour: `,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := e2eExample(t)
			dir := filepath.Dir(cfg)
			// Append providers at the end of the providers mapping.
			data, _ := os.ReadFile(cfg)
			data = []byte(strings.Replace(string(data), "\nresolvers: [\"127.0.0.1:9\"]\n", "\n", 1))
			data = []byte("resolvers: [\"127.0.0.1:9\"]\n" + string(data))
			if err := os.WriteFile(cfg, data, 0o644); err != nil {
				t.Fatal(err)
			}
			before := e2eSnapshot(t, dir)
			tc.edit(t, dir)
			code, _, errOut := e2eRun(t, "--config", cfg, "--validate")
			if code != 1 {
				t.Errorf("--validate exit %d, want 1\n%s", code, errOut)
			}
			if !e2eFileLine.MatchString(errOut) || !regexp.MustCompile(tc.wantRe).MatchString(errOut) {
				t.Errorf("stderr does not match %s with file:line:\n%s", tc.wantRe, errOut)
			}
			// The one-shot modes stop before any provider is touched.
			code, out, errOut := e2eRun(t, "--config", cfg, "--once")
			if code != 1 || out != "" {
				t.Errorf("--once on an invalid config: exit %d, stdout %q\n%s", code, out, errOut)
			}
			if diff := cmp.Diff(before, e2eSnapshot(t, dir)); diff != "" {
				t.Error("--once on an invalid config changed a zone")
			}
		})
	}
}

// e2eSnapshot returns the content of every file under dir/zones.
func e2eSnapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "zones", "*.zone"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no zone files in %s (%v)", dir, err)
	}
	out := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = string(data)
	}
	return out
}

// e2eReplace replaces old (which must be there) with new in the file at path.
func e2eReplace(t *testing.T, path, old, new string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s holds no %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func e2eAppend(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{[]string{"--version"}, 0, "maildns ", ""},
		{[]string{"--dry-run", "--once"}, 1, "", "exclude each other"},
		{[]string{"--dry-run", "--output", "yaml"}, 1, "", "--output"},
		{[]string{"--force"}, 1, "", "--force goes with --dry-run or --once"},
		{[]string{"frobnicate"}, 1, "", `unknown command "frobnicate"`},
		{[]string{"restore"}, 1, "", "usage: maildns restore"},
		{[]string{"restore", "/nonexistent/journal.json", "--dry-run"}, 1, "", "/nonexistent/journal.json"},
		{[]string{"restore", "a.json", "b.json"}, 1, "", "usage: maildns restore"},
		{[]string{"restore", "a.json", "--once"}, 1, "", "unknown flag: --once"},
		{[]string{"--no-such-flag"}, 1, "", "unknown flag: --no-such-flag"},
		{[]string{"-h"}, 0, "Usage:", ""},
		{[]string{"--config", "/nonexistent/maildns.yaml", "--validate"}, 1, "", "/nonexistent/maildns.yaml"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := e2eRun(t, tc.args...)
			if code != tc.code || !strings.Contains(out, tc.inStdout) || !strings.Contains(errOut, tc.inStderr) {
				t.Errorf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
		})
	}
}

func TestConfigDefault(t *testing.T) {
	t.Setenv("MAILDNS_CONFIG", "/nonexistent/from-env.yaml")
	f, err := parseFlags([]string{"--dry-run"}, &bytes.Buffer{})
	if err != nil || f.config != "/nonexistent/from-env.yaml" {
		t.Errorf("config %q, err %v", f.config, err)
	}
	t.Setenv("MAILDNS_CONFIG", "")
	f, err = parseFlags([]string{"--dry-run", "--domain", "a.example", "--domain=b.example"}, &bytes.Buffer{})
	if err != nil || f.config != DefaultConfig || strings.Join(f.domains, " ") != "a.example b.example" {
		t.Errorf("flags %+v, err %v", f, err)
	}
	// Flags may follow the restore command and its file.
	f, err = parseFlags([]string{"restore", "entry.json", "--dry-run", "--config", "x.yaml"}, &bytes.Buffer{})
	if err != nil || !f.dryRun || f.config != "x.yaml" || strings.Join(f.args, " ") != "restore entry.json" {
		t.Errorf("restore flags %+v, err %v", f, err)
	}
}
