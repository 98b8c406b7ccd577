package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/maildns/maildns/sync"
)

// manyTree writes a config of n domains, one zone file each, as people have
// them: foreign records of several types with odd TTLs, a TXT split at an
// odd place beside a soft SPF, the mail host's address with a short TTL, no
// MX and no DMARC. A --once changes 4 RRsets in every zone.
func manyTree(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"policies", "zones"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("maildns.yaml", `policies: ["policies/*.yaml"]
state_dir: state
live_checks: false
log: {level: warn, format: json}
safety: {max_changes: 10}
providers:
  local: {type: zonefile, directory: zones}
`)
	for i := range n {
		dom := fmt.Sprintf("d%04d.example", i)
		write("policies/"+dom+".yaml", fmt.Sprintf(`domain: %s
provider: local
mail_hosts: [{name: mail, ipv4: [192.0.2.%d]}]
spf: {all: fail}
dmarc: {policy: reject}
`, dom, 1+i%250))
		write("zones/"+dom+".zone", fmt.Sprintf(`$ORIGIN %s.
$TTL 3600
@     IN SOA ns1.example.net. hostmaster.example.net. 2026110101 7200 3600 1209600 3600
@     IN NS  ns1.example.net.
@ 600 IN TXT "v=spf1 mx ~all"
@ 123 IN TXT "google-site-verification=abc" "def%d"
www 77 IN A 198.51.100.%d
Www.Shop 4000 IN CNAME www
_sip._tcp 300 IN SRV 10 5 5060 sip.example.net.
mail 300 IN A 192.0.2.%d
`, dom, i, 1+i%250, 1+i%250))
	}
	return dir
}

func readZoneFiles(t *testing.T, dir string) map[string][]string {
	return restoreZones(t, dir)
}

var runIDText = regexp.MustCompile(`run (\d{8}T\d{6}Z-[0-9a-f]{8}) · journal (\S+)`)

// TestRestoreLast: a --once that changes every zone of many domains, then
// one `restore --last`: every zone is back exactly as it was (foreign
// records, TTLs and the split TXT included), and `journal list` shows both
// runs. The --once output names the run and the journal.
func TestRestoreLast(t *testing.T) {
	n := 300
	if testing.Short() {
		n = 50
	}
	dir := manyTree(t, n)
	cfg := filepath.Join(dir, "maildns.yaml")
	orig := readZoneFiles(t, dir)
	start := time.Now()
	code, out, errOut := restoreRun(t, "--config", cfg, "--once")
	if code != exitOK {
		t.Fatalf("--once: exit %d\n%s\n%s", code, tail(out), errOut)
	}
	onceTime := time.Since(start)
	m := runIDText.FindStringSubmatch(out)
	if m == nil || m[2] != filepath.Join(dir, "state") {
		t.Fatalf("--once output names no run and journal:\n%s", tail(out))
	}
	onceID := m[1]
	synced := readZoneFiles(t, dir)
	changed := 0
	for z := range orig {
		if strings.Join(orig[z], "\n") != strings.Join(synced[z], "\n") {
			changed++
		}
	}
	if changed != n {
		t.Fatalf("--once changed %d zones, want %d", changed, n)
	}
	// Every entry of the run is kept: keep counts runs.
	if runs, err := sync.ListRuns(filepath.Join(dir, "state")); err != nil || len(runs) != 1 || len(runs[0].Entries) != n || runs[0].Changes != 4*n {
		t.Fatalf("journal after --once: %+v %v", runs, err)
	}

	// The dry run shows every zone, writes nothing.
	code, out, errOut = restoreRun(t, "restore", "--last", "--dry-run", "--config", cfg, "--output", "json")
	var plan sync.Plan
	if err := json.Unmarshal([]byte(out), &plan); err != nil || code != exitDrift || len(plan.Zones) != n {
		t.Fatalf("restore --last --dry-run: exit %d, %d zones, %v\n%s", code, len(plan.Zones), err, errOut)
	}
	// Putting back a softer SPF and no DMARC weakens: refused as a sync would.
	if code, _, _ := restoreRun(t, "restore", "--last", "--config", cfg); code != exitFailed {
		t.Errorf("weakening restore --last: exit %d, want %d", code, exitFailed)
	}
	start = time.Now()
	code, out, errOut = restoreRun(t, "restore", "--last", "--allow-weakening", "--config", cfg)
	if code != exitOK {
		t.Fatalf("restore --last: exit %d\n%s\n%s", code, tail(out), errOut)
	}
	t.Logf("%d domains: --once %v, restore --last %v", n, onceTime.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	got := readZoneFiles(t, dir)
	exact := 0
	for z := range orig {
		if strings.Join(orig[z], "\n") == strings.Join(got[z], "\n") {
			exact++
		} else if exact == 0 {
			t.Errorf("zone %s after restore --last:\n got %v\nwant %v", z, got[z], orig[z])
		}
	}
	if exact != n {
		t.Errorf("%d of %d zones restored exactly", exact, n)
	}

	code, out, _ = restoreRun(t, "journal", "list", "--config", cfg)
	if code != exitOK || !strings.Contains(out, onceID) || strings.Count(out, "\n") < 3 {
		t.Errorf("journal list: exit %d\n%s", code, out)
	}
	code, out, _ = restoreRun(t, "journal", "list", "--config", cfg, "--output", "json")
	var list struct{ Runs []sync.RunInfo }
	if err := json.Unmarshal([]byte(out), &list); err != nil || code != exitOK || len(list.Runs) != 2 {
		t.Fatalf("journal list --output json: exit %d %v\n%s", code, err, out)
	}
	if r := list.Runs[0]; r.ID != onceID || r.Mode != "once" || r.Zones != n || r.Changes != 4*n || r.Outcome != sync.RunApplied {
		t.Errorf("first run %+v", r)
	}
	if r := list.Runs[1]; r.Mode != "restore" || r.Zones != n || r.Changes != 4*n || r.Outcome != sync.RunApplied {
		t.Errorf("second run %+v", r)
	}
	// --last skips restore runs: a second restore --last has nothing to do.
	if code, out, _ := restoreRun(t, "restore", "--last", "--dry-run", "--config", cfg); code != exitOK {
		t.Errorf("second restore --last --dry-run: exit %d\n%s", code, tail(out))
	}
	// A run restored by id, one domain only: back to the synced state.
	code, out, errOut = restoreRun(t, "restore", "--run", list.Runs[1].ID, "--domain", "d0001.example", "--config", cfg)
	if code != exitOK {
		t.Fatalf("restore --run --domain: exit %d\n%s\n%s", code, out, errOut)
	}
	got = readZoneFiles(t, dir)
	if z := "d0001.example."; strings.Join(got[z], "\n") != strings.Join(synced[z], "\n") {
		t.Errorf("restore of the restore: %v, want %v", got[z], synced[z])
	}
	if z := "d0002.example."; strings.Join(got[z], "\n") != strings.Join(orig[z], "\n") {
		t.Errorf("restore --domain d0001.example changed %s", z)
	}
	// No lock file is left in state_dir.
	left, _ := filepath.Glob(filepath.Join(dir, "state", "*.lock"))
	if len(left) != 0 {
		t.Errorf("lock files left after the runs: %d (%v)", len(left), left[:min(3, len(left))])
	}
}

// A single entry restores without --config: the entry names its config.
func TestRestoreFileFindsItsConfig(t *testing.T) {
	dir := manyTree(t, 2)
	cfg := filepath.Join(dir, "maildns.yaml")
	orig := readZoneFiles(t, dir)
	if code, out, errOut := restoreRun(t, "--config", cfg, "--once"); code != exitOK {
		t.Fatalf("--once: exit %d\n%s\n%s", code, out, errOut)
	}
	entries, _ := sync.ListJournal(filepath.Join(dir, "state"))
	if len(entries) != 2 {
		t.Fatalf("%d entries", len(entries))
	}
	t.Setenv("MAILDNS_CONFIG", "")
	wd, _ := os.Getwd()
	t.Chdir(t.TempDir())
	for _, e := range entries {
		if code, out, errOut := restoreRun(t, "restore", e, "--allow-weakening"); code != exitOK {
			t.Fatalf("restore %s without --config: exit %d\n%s\n%s", e, code, out, errOut)
		}
	}
	t.Chdir(wd)
	if got := readZoneFiles(t, dir); !equalZones(got, orig) {
		t.Errorf("after restore: %v\nwant %v", got, orig)
	}
}

func TestRestoreUsage(t *testing.T) {
	for _, args := range [][]string{
		{"restore"},
		{"restore", "--run", "x", "--last"},
		{"restore", "f.json", "--last"},
		{"restore", "f.json", "--domain", "a.example"},
		{"journal"},
		{"journal", "list", "--once"},
		{"--once", "--last"},
	} {
		if code, _, errOut := restoreRun(t, args...); code != exitFailed || errOut == "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
}

func tail(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}
