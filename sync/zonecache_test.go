package sync

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/providers"
	"github.com/maildns/maildns/providers/zonefile"
)

// readCounter is a zone-file backend that counts reads per zone.
type readCounter struct {
	*zonefile.Provider
	mu    gosync.Mutex
	reads map[string]int
}

func (c *readCounter) GetRecords(ctx context.Context, zone string) ([]libdns.Record, error) {
	c.mu.Lock()
	c.reads[strings.TrimSuffix(zone, ".")]++
	c.mu.Unlock()
	return c.Provider.GetRecords(ctx, zone)
}

// GetRecordsCanonical is the engine's read of a zone: counted as GetRecords.
func (c *readCounter) GetRecordsCanonical(ctx context.Context, zone string) ([]libdns.RR, []libdns.Record, error) {
	c.mu.Lock()
	c.reads[strings.TrimSuffix(zone, ".")]++
	c.mu.Unlock()
	return c.Provider.GetRecordsCanonical(ctx, zone)
}

func (c *readCounter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.reads
	c.reads = map[string]int{}
	return out
}

const cacheZone = `$ORIGIN %s.
$TTL 3600
@	IN SOA	ns1.%s. hostmaster.%s. 1 7200 3600 1209600 3600
@	IN NS	ns1.%s.
ns1	IN A	203.0.113.53
mail	IN A	203.0.113.25
`

// In daemon mode a zone file unchanged since its last full read is not
// read again: the cycle reuses that read. A hand edit keeping the file's
// size, a zone maildns wrote, and full_read_every passing each make the
// next cycle read the zone.
func TestDaemonSkipsUnchangedZoneFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "maildns.yaml"), "policies: [\"policies/*.yaml\"]\nstate_dir: state\nlive_checks: false\n"+
		"full_read_every: 1h\nproviders:\n  local: {type: zonefile, directory: zones}\n")
	for _, dom := range []string{"a.example", "b.example"} {
		writeFile(t, filepath.Join(dir, "policies", dom+".yaml"), "domain: "+dom+"\nprovider: local\n"+
			"mail_hosts: [{name: mail, ipv4: [203.0.113.25]}]\nspf: {mail_hosts: true}\ndmarc: {policy: reject}\n")
		writeFile(t, filepath.Join(dir, "zones", dom+".zone"), strings.ReplaceAll(cacheZone, "%s", dom))
	}
	cfg, err := policy.LoadConfig(filepath.Join(dir, "maildns.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.FullReadEvery != time.Hour {
		t.Fatalf("full_read_every: %v, want 1h", cfg.FullReadEvery)
	}
	counter := &readCounter{Provider: &zonefile.Provider{Directory: filepath.Join(dir, "zones")}, reads: map[string]int{}}
	// Through the wrapper, as the daemon builds it: ZoneVersion is found
	// behind it.
	p := providers.Wrap(counter, providers.WrapOptions{Name: "local", Type: "zonefile", Counts: &providers.Counts{}})
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	e := &Engine{Config: cfg, Providers: map[string]providers.Provider{"local": p}, Logger: slog.New(slog.DiscardHandler),
		ZoneCache: &ZoneCache{FullReadEvery: cfg.FullReadEvery, Now: func() time.Time { return now }}}
	cycle := func(name string) (map[string]int, *Plan) {
		t.Helper()
		plan, err := e.Run(context.Background(), Options{Mode: ModeDaemon, Offline: true})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return counter.take(), plan
	}
	status := func(plan *Plan, zone string) string {
		for _, z := range plan.Zones {
			if z.Zone == zone {
				return z.Status
			}
		}
		t.Fatalf("no plan for %s", zone)
		return ""
	}
	want := func(name string, got map[string]int, readA, readB bool) {
		t.Helper()
		if (got["a.example"] > 0) != readA || (got["b.example"] > 0) != readB {
			t.Errorf("%s: GetRecords calls %v, want a.example read %v, b.example read %v", name, got, readA, readB)
		}
	}

	reads, plan := cycle("first cycle")
	want("first cycle", reads, true, true)
	if status(plan, "a.example") != StatusApplied || status(plan, "b.example") != StatusApplied {
		t.Fatalf("first cycle did not write both zones: %+v", plan.Zones)
	}
	reads, plan = cycle("cycle after maildns wrote")
	want("cycle after maildns wrote", reads, true, true)
	if status(plan, "a.example") != StatusInSync || status(plan, "b.example") != StatusInSync {
		t.Fatalf("second cycle not in sync: %+v", plan.Zones)
	}
	reads, plan = cycle("no-drift cycle")
	want("no-drift cycle", reads, false, false)
	if status(plan, "a.example") != StatusInSync || status(plan, "b.example") != StatusInSync {
		t.Fatalf("cached cycle not in sync: %+v", plan.Zones)
	}

	// A hand edit that keeps the file's size and inode: only the
	// modification time tells.
	path := filepath.Join(dir, "zones", "a.example.zone")
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	edited := strings.Replace(string(data), "203.0.113.25", "203.0.113.26", 1)
	if edited == string(data) {
		t.Fatalf("no mail address in %s:\n%s", path, data)
	}
	if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, before.ModTime(), before.ModTime().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.Stat(path); after.Size() != before.Size() || !os.SameFile(before, after) {
		t.Fatal("the edit changed the file's size or inode")
	}
	reads, plan = cycle("cycle after a hand edit")
	want("cycle after a hand edit", reads, true, false)
	if status(plan, "a.example") != StatusApplied {
		t.Errorf("hand edit not found: a.example %s", status(plan, "a.example"))
	}
	if data, _ := os.ReadFile(path); !strings.Contains(string(data), "203.0.113.25") {
		t.Errorf("hand edit not repaired:\n%s", data)
	}
	reads, _ = cycle("cycle after repairing the edit")
	want("cycle after repairing the edit", reads, true, false)
	reads, _ = cycle("second no-drift cycle")
	want("second no-drift cycle", reads, false, false)

	now = now.Add(59 * time.Minute)
	reads, _ = cycle("cycle before full_read_every")
	want("cycle before full_read_every", reads, false, false)
	now = now.Add(time.Minute)
	reads, _ = cycle("cycle at full_read_every")
	want("cycle at full_read_every", reads, true, true)
	reads, _ = cycle("cycle after the full read")
	want("cycle after the full read", reads, false, false)

	// A one-shot run (no cache) reads every zone.
	e.ZoneCache = nil
	reads, _ = cycle("run without a cache")
	want("run without a cache", reads, true, true)
}

// A cached read is never written from: a zone whose file changed without
// changing its version token (same size, modification time and inode) and
// whose policy now asks for a change is read again before the write, which
// is planned from what the file holds.
func TestDaemonWritesFromAFreshRead(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "maildns.yaml")
	writeFile(t, cfgPath, "policies: [\"policies/*.yaml\"]\nstate_dir: state\nlive_checks: false\n"+
		"providers:\n  local: {type: zonefile, directory: zones}\n")
	pol := func(ip string) {
		writeFile(t, filepath.Join(dir, "policies", "a.example.yaml"), "domain: a.example\nprovider: local\n"+
			"mail_hosts: [{name: mail, ipv4: ["+ip+"]}]\n")
	}
	pol("203.0.113.25")
	path := filepath.Join(dir, "zones", "a.example.zone")
	writeFile(t, path, strings.ReplaceAll(cacheZone, "%s", "a.example"))
	load := func() *policy.Config {
		cfg, err := policy.LoadConfig(cfgPath)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	counter := &readCounter{Provider: &zonefile.Provider{Directory: filepath.Join(dir, "zones")}, reads: map[string]int{}}
	p := providers.Wrap(counter, providers.WrapOptions{Name: "local", Type: "zonefile", Counts: &providers.Counts{}})
	var logs bytes.Buffer
	e := &Engine{Config: load(), Providers: map[string]providers.Provider{"local": p}, ZoneCache: &ZoneCache{},
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	run := func() *Plan {
		t.Helper()
		plan, err := e.Run(context.Background(), Options{Mode: ModeDaemon, Offline: true})
		if err != nil {
			t.Fatal(err)
		}
		return plan
	}
	run()
	run()
	counter.take()
	if plan := run(); counter.take()["a.example"] != 0 || plan.Zones[0].Status != StatusInSync {
		t.Fatalf("zone not cached or not in sync: %+v", plan.Zones)
	}
	// The file changes, its token does not.
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if err := os.WriteFile(path, []byte(strings.Replace(string(data), "203.0.113.25", "203.0.113.26", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, before.ModTime(), before.ModTime()); err != nil {
		t.Fatal(err)
	}
	tok1, _, _ := providers.ZoneVersion(context.Background(), p, "a.example.")
	if run(); counter.take()["a.example"] != 0 {
		t.Fatal("the edit changed the token; the test needs it unchanged")
	}
	tok2, _, _ := providers.ZoneVersion(context.Background(), p, "a.example.")
	if tok1 != tok2 || tok1 == "" {
		t.Fatalf("tokens %q, %q", tok1, tok2)
	}
	// Now the policy asks for another address.
	pol("203.0.113.27")
	e.Config = load()
	logs.Reset()
	plan := run()
	// Planned from a read of the file, the write finds what it expects
	// the first time.
	if strings.Contains(logs.String(), "zone changed since read") {
		t.Errorf("the first write was planned from the cached read:\n%s", logs.String())
	}
	z := plan.Zones[0]
	if z.Status != StatusApplied {
		t.Fatalf("not written: %+v", z)
	}
	var removed []string
	for _, c := range z.Changes {
		if c.Action == ActionDelete || c.Action == ActionUpdate {
			removed = append(removed, c.Before...)
		}
	}
	if got := strings.Join(removed, " "); !strings.Contains(got, "203.0.113.26") || strings.Contains(got, "203.0.113.25") {
		t.Errorf("the write was planned from the cached read: removed %q, want the file's 203.0.113.26", got)
	}
	data, _ = os.ReadFile(path)
	if !strings.Contains(string(data), "203.0.113.27") || strings.Contains(string(data), "203.0.113.26") {
		t.Errorf("zone file after the write:\n%s", data)
	}
}
