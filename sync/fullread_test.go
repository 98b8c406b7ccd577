package sync

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/providers"
	"github.com/maildns/maildns/providers/zonefile"
)

// tokenZones is a zone-file backend whose version token the test sets,
// and which records whether each read was asked whole.
type tokenZones struct {
	*zonefile.Provider
	mu    gosync.Mutex
	token string
	whole []bool
}

func (z *tokenZones) ZoneVersion(ctx context.Context, zone string) (string, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.token, nil
}

func (z *tokenZones) GetRecords(ctx context.Context, zone string) ([]libdns.Record, error) {
	z.mu.Lock()
	z.whole = append(z.whole, providers.IsFullRead(ctx))
	z.mu.Unlock()
	return z.Provider.GetRecords(ctx, zone)
}

// GetRecordsCanonical is the engine's read of a zone: noted as GetRecords.
func (z *tokenZones) GetRecordsCanonical(ctx context.Context, zone string) ([]libdns.RR, []libdns.Record, error) {
	z.mu.Lock()
	z.whole = append(z.whole, providers.IsFullRead(ctx))
	z.mu.Unlock()
	return z.Provider.GetRecordsCanonical(ctx, zone)
}

func (z *tokenZones) cycle(token string) []bool {
	z.mu.Lock()
	defer z.mu.Unlock()
	out := z.whole
	z.whole, z.token = nil, token
	return out
}

// TestZoneCacheAsksWholeReads: the daemon's read of a zone whose token
// moved since a read within full_read_every may be incremental (an IXFR on
// rfc2136); a first read, and any read once full_read_every has passed,
// token moved or not, is asked whole (providers.WithFullRead).
func TestZoneCacheAsksWholeReads(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, s string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("maildns.yaml", "policies: [\"policies/*.yaml\"]\nstate_dir: state\nlive_checks: false\nproviders:\n  dns: {type: zonefile, directory: zones}\n")
	write("policies/a.example.yaml", "domain: a.example\nprovider: dns\nmail_hosts: [{name: mail, ipv4: [203.0.113.25]}]\nspf: {mail_hosts: true}\ndmarc: {policy: reject}\n")
	write("zones/a.example.zone", strings.ReplaceAll(`$ORIGIN %s.
$TTL 3600
@	IN SOA	ns1.%s. hostmaster.%s. 1 7200 3600 1209600 3600
@	IN NS	ns1.%s.
ns1	IN A	203.0.113.53
mail	IN A	203.0.113.25
@	IN MX	10 mail.%s.
@	IN TXT	"v=spf1 ip4:203.0.113.25 -all"
_dmarc	IN TXT	"v=DMARC1; p=reject"
`, "%s", "a.example"))
	cfg, err := policy.LoadConfig(filepath.Join(dir, "maildns.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	z := &tokenZones{Provider: &zonefile.Provider{Directory: filepath.Join(dir, "zones")}, token: "1"}
	p := providers.Wrap(z, providers.WrapOptions{Name: "dns", Type: "zonefile", Counts: &providers.Counts{}})
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	e := &Engine{Config: cfg, Providers: map[string]providers.Provider{"dns": p}, Logger: slog.New(slog.DiscardHandler),
		ZoneCache: &ZoneCache{FullReadEvery: time.Hour, Now: func() time.Time { return now }}}
	run := func() {
		t.Helper()
		plan, err := e.Run(context.Background(), Options{Mode: ModeDryRun, Offline: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Zones) != 1 || plan.Zones[0].Status != StatusInSync {
			t.Fatalf("zone not in sync: %+v", plan.Zones)
		}
	}
	steps := []struct {
		name    string
		advance time.Duration
		token   string // the token the next cycle sees
		want    []bool // reads, whole or not
	}{
		{"first read", 0, "1", []bool{true}},
		{"token unchanged", 0, "2", nil},
		{"token moved", 30 * time.Minute, "3", []bool{false}},
		{"token moved, full read due", time.Hour, "3", []bool{true}},
		{"token unchanged, full read due", time.Hour, "4", []bool{true}},
		{"token moved, incremental", 40 * time.Minute, "5", []bool{false}},
		// An incremental read does not count as a whole one: a zone whose
		// serial moves every cycle is still read whole every full_read_every.
		{"token moved again, full read due since the last whole read", 40 * time.Minute, "5", []bool{true}},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		run()
		if got := z.cycle(s.token); !slices.Equal(got, s.want) {
			t.Errorf("%s: reads asked whole %v, want %v", s.name, got, s.want)
		}
	}
}
