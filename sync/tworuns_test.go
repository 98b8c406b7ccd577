package sync

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/providers"
	"github.com/maildns/maildns/sync/journal"
)

// barrier holds every write until both runs have read every zone, so that
// each zone is planned by both from the same read: the race of two
// `--once` runs, every time. A run's reads are counted by zone: one read
// again under the zone's lock is not a new one.
type barrier struct {
	providers.Provider
	n     int           // zones
	seen  stdsync.Map   // zones this run read
	count atomic.Int64  // of seen
	runs  *atomic.Int64 // runs that read every zone
	ready chan struct{} // closed when both have
}

func (b *barrier) Unwrap() providers.Provider { return b.Provider }
func (b *barrier) CanReplaceIf() bool         { return providers.CanReplaceIf(b.Provider) }

func (b *barrier) GetRecords(ctx context.Context, zone string) ([]libdns.Record, error) {
	recs, err := b.Provider.GetRecords(ctx, zone)
	if _, again := b.seen.LoadOrStore(zone, true); !again && b.count.Add(1) == int64(b.n) && b.runs.Add(1) == 2 {
		close(b.ready)
	}
	return recs, err
}

func (b *barrier) ReplaceRecordsIf(ctx context.Context, zone string, expect []providers.RRsetState, remove, add []libdns.Record) ([]libdns.Record, error) {
	select {
	case <-b.ready:
	case <-time.After(time.Minute):
		return nil, fmt.Errorf("barrier: the other run never read every zone")
	}
	return b.Provider.(providers.ConditionalReplacer).ReplaceRecordsIf(ctx, zone, expect, remove, add)
}

// Two `--once` runs with different state_dirs (so no shared zone lock),
// one with an older policy, on the same 2,000 zone files at once, both
// planning every zone from the same read: every zone ends with exactly one
// SPF record, the foreign TXT beside it kept, and both runs converge
// (the later writer of each zone reads it again and plans once more).
func TestTwoRunsDifferentStateDirs(t *testing.T) {
	const n = 2000
	saved := journal.Fsync
	journal.Fsync = false
	t.Cleanup(func() { journal.Fsync = saved })
	dir := memTempDir(t)
	var domains []*policy.Domain
	for i := range n {
		d := fmt.Sprintf("d%04d.example", i)
		zone := fmt.Sprintf("$ORIGIN %s.\n$TTL 3600\n@ IN SOA ns1.%s. hostmaster.%s. 1 7200 3600 1209600 3600\n@ IN NS ns1.%s.\n@ IN TXT \"v=spf1 mx ~all\"\n@ IN TXT \"google-site-verification=%d\"\n", d, d, d, d, i)
		if err := os.WriteFile(filepath.Join(dir, d+".zone"), []byte(zone), 0o644); err != nil {
			t.Fatal(err)
		}
		domains = append(domains, &policy.Domain{Domain: d, Provider: "local", Zone: d, TTL: time.Hour})
	}
	var runs atomic.Int64
	ready := make(chan struct{})
	counts := &providers.Counts{}
	run := func(spf string) (*Plan, error) {
		p, err := providers.New("zonefile", &providers.Settings{Name: "local", Values: map[string]string{"directory": dir}})
		if err != nil {
			return nil, err
		}
		if !providers.CanReplaceIf(p) {
			return nil, errors.New("the zone file backend does not write conditionally")
		}
		p = providers.Wrap(&barrier{Provider: p, n: n, runs: &runs, ready: ready},
			providers.WrapOptions{Name: "local", Type: "zonefile", Counts: counts})
		cfg := &policy.Config{File: "maildns.yaml", Dir: dir, StateDir: memTempDir(t), Domains: domains, Safety: policy.Safety{MaxChanges: 10}}
		e := &Engine{Config: cfg, Providers: map[string]providers.Provider{"local": p}, LockWait: time.Minute,
			Compile: func(d *policy.Domain) ([]policy.RRset, error) {
				return []policy.RRset{tOwnedSPFAt(d.Domain, spf)}, nil
			}}
		return e.Run(context.Background(), Options{Mode: ModeOnce, Offline: true})
	}
	spfs := []string{"v=spf1 ip4:192.0.2.1 -all", "v=spf1 ip4:192.0.2.2 -all"}
	plans := make([]*Plan, 2)
	errs := make([]error, 2)
	var wg stdsync.WaitGroup
	for i, spf := range spfs {
		wg.Go(func() { plans[i], errs[i] = run(spf) })
	}
	wg.Wait()
	// Each zone was written first by one run; the other found it changed,
	// read it again and wrote its own value, unless it read the zone again
	// under its own lock (a fresh state_dir has no lock generations yet)
	// after the first had written.
	got := counts.Get("local", providers.OpReplaceRecords, providers.ResultError)
	if got == 0 || got > n {
		t.Errorf("%d writes found their zone changed, want 1 to %d (at most one per zone)", got, n)
	}
	t.Logf("%d of %d zones: the later write found the zone changed", got, n)
	status := make([]map[string]ZonePlan, 2)
	for i := range plans {
		status[i] = map[string]ZonePlan{}
		for _, zp := range plans[i].Zones {
			status[i][zp.Domain] = zp
		}
	}
	bad := 0
	for _, d := range domains {
		data, err := os.ReadFile(filepath.Join(dir, d.Domain+".zone"))
		if err != nil {
			t.Fatal(err)
		}
		s := string(data)
		last := -1 // the run whose SPF the zone holds
		for i, spf := range spfs {
			if strings.Contains(s, spf) {
				last = i
			}
		}
		problem := ""
		switch {
		case strings.Count(s, "v=spf1") != 1 || last < 0:
			problem = "not exactly one SPF record"
		case !strings.Contains(s, "google-site-verification="):
			problem = "the foreign TXT is gone"
		case status[last][d.Domain].Status != StatusApplied:
			problem = "the last writer did not converge: " + status[last][d.Domain].Error
		default:
			// The first writer either read its write back or, when the
			// other's came first, reports what it found instead.
			first := status[1-last][d.Domain]
			if first.Status != StatusApplied && !(first.Status == StatusError && strings.HasPrefix(first.Error, "verify: @ TXT not as planned")) {
				problem = fmt.Sprintf("the first writer: %s (%s)", first.Status, first.Error)
			}
		}
		if problem != "" {
			bad++
			if bad <= 3 {
				t.Errorf("%s: %s\n%s", d.Domain, problem, s)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d zones wrong", bad, n)
	}
	for i, err := range errs {
		if err != nil && !strings.Contains(err.Error(), "verify: @ TXT not as planned") {
			t.Errorf("run %d: %v", i, err)
		}
	}
}

// tOwnedSPFAt is the SPF RRset of a domain that is its own zone.
func tOwnedSPFAt(domain, value string) policy.RRset {
	s := tOwnedSPF(domain, domain, value)
	s.Provider = "local"
	return s
}

// memTempDir is a temporary directory in memory (/dev/shm) where there is
// one: 2,000 zone files rewritten with fsync each would make the test
// wait on the disk. Elsewhere it is t.TempDir().
func memTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/dev/shm", "maildns-test-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}
