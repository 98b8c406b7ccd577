package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/maildns/maildns/providers"
	"github.com/maildns/maildns/sync"
)

// restoreZones reads every zone file of dir/zones as maildns sees it,
// without the SOA (its serial moves with every write).
func restoreZones(t *testing.T, dir string) map[string][]string {
	t.Helper()
	p, err := providers.New("zonefile", &providers.Settings{Values: map[string]string{"directory": filepath.Join(dir, "zones")}})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "zones", "*.zone"))
	out := map[string][]string{}
	for _, f := range files {
		zone := strings.TrimSuffix(filepath.Base(f), ".zone") + "."
		recs, err := p.GetRecords(context.Background(), zone)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			rr, err := providers.Normalize(r, zone)
			if err != nil {
				rr = r.RR()
			}
			if rr.Type == "SOA" {
				continue
			}
			out[zone] = append(out[zone], rr.Name+" "+rr.TTL.String()+" "+rr.Type+" "+rr.Data)
		}
		slices.Sort(out[zone])
	}
	return out
}

func restoreRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestRestoreEndToEnd: --once on the example, then each journal entry
// restored: --dry-run shows it (exit 2), a restore that weakens is refused
// (exit 1) unless --allow-weakening, and then every zone is as it was.
func TestRestoreEndToEnd(t *testing.T) {
	dir := badTree(t)
	cfg := filepath.Join(dir, "maildns.yaml")
	orig := restoreZones(t, dir)
	if code, out, errOut := restoreRun(t, "--config", cfg, "--once", "--offline"); code != exitOK {
		t.Fatalf("--once: exit %d\n%s\n%s", code, out, errOut)
	}
	synced := restoreZones(t, dir)
	if slices.Equal(synced["example.com."], orig["example.com."]) {
		t.Fatal("--once changed nothing")
	}
	entries, err := sync.ListJournal(filepath.Join(dir, "state"))
	if err != nil || len(entries) != 4 {
		t.Fatalf("journal entries %v, err %v; want one per domain zone (4)", entries, err)
	}
	for _, e := range entries {
		code, out, errOut := restoreRun(t, "restore", e, "--dry-run", "--config", cfg, "--output", "json")
		if code != exitDrift {
			t.Errorf("restore --dry-run %s: exit %d, want %d\n%s", filepath.Base(e), code, exitDrift, errOut)
		}
		var plan sync.Plan
		if err := json.Unmarshal([]byte(out), &plan); err != nil {
			t.Fatalf("restore --dry-run --output json: %v\n%s", err, out)
		}
		if plan.Mode != "restore" || len(plan.Zones) != 1 || plan.Zones[0].Status != sync.StatusDrift || len(plan.Zones[0].Changes) == 0 {
			t.Errorf("restore --dry-run plan %+v", plan)
		}
	}
	if got := restoreZones(t, dir); !equalZones(got, synced) {
		t.Fatal("restore --dry-run wrote")
	}
	// example.com's entry puts back a softer SPF and no DMARC: weakening.
	var com string
	for _, e := range entries {
		if strings.HasSuffix(filepath.Base(e), "-example.com-example.com.json") {
			com = e
		}
	}
	code, out, _ := restoreRun(t, "restore", com, "--config", cfg)
	if code != exitFailed || !strings.Contains(out, "refused") || !strings.Contains(out, "--allow-weakening") {
		t.Errorf("weakening restore: exit %d, want %d, refused:\n%s", code, exitFailed, out)
	}
	for _, e := range entries {
		if code, out, errOut := restoreRun(t, "restore", e, "--config", cfg, "--allow-weakening"); code != exitOK {
			t.Errorf("restore %s: exit %d\n%s\n%s", filepath.Base(e), code, out, errOut)
		}
	}
	if got := restoreZones(t, dir); !equalZones(got, orig) {
		t.Errorf("after restoring every entry the zones differ from the originals:\n got %v\nwant %v", got, orig)
	}
	// Nothing left to do; the restores have their own entries.
	if code, out, _ := restoreRun(t, "restore", com, "--dry-run", "--config", cfg); code != exitOK {
		t.Errorf("second restore --dry-run: exit %d\n%s", code, out)
	}
	if all, _ := sync.ListJournal(filepath.Join(dir, "state")); len(all) != 8 {
		t.Errorf("%d journal entries, want 8 (4 syncs, 4 restores)", len(all))
	}
	// A bad entry is named, and nothing is read or written.
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"version": 1, "zone": `), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := restoreRun(t, "restore", bad, "--config", cfg); code != exitFailed || !strings.Contains(errOut, bad) {
		t.Errorf("bad entry: exit %d\n%s", code, errOut)
	}
}

func equalZones(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}
