package sync

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/libdns/libdns"
	cffake "github.com/maildns/maildns/internal/fakes/cloudflare"
	"github.com/maildns/maildns/internal/testbind"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/providers"
	"github.com/maildns/maildns/providers/cloudflare"
	"github.com/maildns/maildns/providers/faulty"
	_ "github.com/maildns/maildns/providers/rfc2136"
	_ "github.com/maildns/maildns/providers/zonefile"
	"github.com/maildns/maildns/sync/journal"
)

// The fault test: randomised sync runs against a real backend wrapped in
// faults, with random drift injected between runs. After every run each
// owned RRset is converged or reported (zone error/refused or a verify
// finding), no foreign record is lost or changed, and restoring each journal
// entry of the run puts the touched RRsets back byte for byte (then undoing
// that restore gives the run's result back exactly), and so does restoring
// the whole run in one call (restore --run): every zone as before the run.
// Two of the domains share a zone: a run writes their shares in one call.

const faultRuns = 200

// The fault tests write thousands of journal entries and test no crash:
// the journal's fsyncs would take most of their time. (TestMain, not an
// init: the setting is the test binary's, set before any test runs.)
func TestMain(m *testing.M) {
	journal.Fsync = false
	os.Exit(m.Run())
}

// faultSeed is the base seed (the Cloudflare test uses the next one);
// MAILDNS_FAULT_SEED replays a failing run.
func faultSeed(t *testing.T) uint64 {
	if s := os.Getenv("MAILDNS_FAULT_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("MAILDNS_FAULT_SEED: %v", err)
		}
		return n
	}
	return 20261126
}

// faultDKIM is longer than 255 bytes: split strings on the wire.
var faultDKIM = "v=DKIM1; k=rsa; p=" + strings.Repeat("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", 8) + "IDAQAB"

// faultDomain is one domain of the fault test, in its own zone or sharing
// one (its names then under its label).
type faultDomain struct{ domain, zone string }

// rel returns a name of the domain ("@", "mail") relative to its zone.
func (fd faultDomain) rel(name string) string {
	if fd.domain == fd.zone {
		return name
	}
	label := strings.TrimSuffix(fd.domain, "."+fd.zone)
	if name == "@" {
		return label
	}
	return name + "." + label
}

// faultDomains are the domains of the fault test: shop.example.com shares
// example.com's zone, so that a run writes both shares in one call.
var faultDomains = []faultDomain{{"example.com", "example.com"}, {"example.net", "example.net"}, {"shop.example.com", "example.com"}}

func faultPolicy(fd faultDomain) []policy.RRset {
	set := func(name, typ string, ttl time.Duration, vals ...string) policy.RRset {
		return policy.RRset{Provider: "dns", Zone: fd.zone, Name: fd.rel(name), Type: typ, TTL: ttl, Values: vals}
	}
	spf := set("@", "TXT", time.Hour, "v=spf1 ip4:203.0.113.25 ip6:2001:db8::25 -all")
	spf.Own, spf.Element = policy.OwnPrefix, policy.ElemSPF
	return []policy.RRset{
		set("mail", "A", time.Hour, "203.0.113.25"),
		set("mail", "AAAA", time.Hour, "2001:db8::25"),
		set("@", "MX", time.Hour, "10 mail."+fd.domain+"."),
		spf,
		set("s1._domainkey", "TXT", time.Hour, faultDKIM),
		set("_dmarc", "TXT", time.Hour, "v=DMARC1; p=quarantine; rua=mailto:dmarc@"+fd.domain),
	}
}

// faultFixture is one backend under test.
type faultFixture struct {
	name  string
	inner providers.Provider // no faults: drift, snapshots and restores
}

func zonefileFixture(t *testing.T, domains []string) faultFixture {
	dir := t.TempDir()
	for _, d := range domains {
		zone := fmt.Sprintf("$ORIGIN %s.\n$TTL 3600\n@ IN SOA ns1.%s. hostmaster.%s. 1 7200 3600 1209600 3600\n@ IN NS ns1.%s.\n", d, d, d, d)
		if err := os.WriteFile(filepath.Join(dir, d+".zone"), []byte(zone), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := providers.New("zonefile", &providers.Settings{Name: "dns", Values: map[string]string{"directory": dir}})
	if err != nil {
		t.Fatal(err)
	}
	return faultFixture{name: "zonefile", inner: p}
}

func cloudflareFixture(t *testing.T, domains []string) faultFixture {
	srv := cffake.New()
	t.Cleanup(srv.Close)
	for _, d := range domains {
		srv.AddZone(d)
	}
	p, err := cloudflare.New(cloudflare.Config{APIToken: "fault-test-token", HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return faultFixture{name: "cloudflare", inner: p}
}

// rfc2136Fixture is a real BIND 9: every record of an RRset shares one TTL
// there, and an added value's TTL becomes the whole set's.
func rfc2136Fixture(t *testing.T, domains []string) faultFixture {
	var zones []testbind.Zone
	for _, d := range domains {
		zones = append(zones, testbind.Zone{Name: d, DisableIntegrityCheck: true})
	}
	srv := testbind.Start(t, zones...)
	p, err := providers.New("rfc2136", &providers.Settings{Name: "dns", Values: srv.Settings(), Secret: map[string]bool{"key": true}})
	if err != nil {
		t.Fatal(err)
	}
	return faultFixture{name: "rfc2136", inner: p}
}

// TestFaultsRFC2136 runs half as many runs: BIND's journal and the
// transfers make each run slower, and the zone file and Cloudflare tests
// carry the 200.
func TestFaultsRFC2136(t *testing.T) {
	t.Parallel()
	runFaults(t, rfc2136Fixture(t, []string{"example.com", "example.net"}), faultSeed(t)+2, faultRuns/2)
}

func TestFaultsZonefile(t *testing.T) {
	t.Parallel()
	runFaults(t, zonefileFixture(t, []string{"example.com", "example.net"}), faultSeed(t), faultRuns)
}

func TestFaultsCloudflare(t *testing.T) {
	t.Parallel()
	runFaults(t, cloudflareFixture(t, []string{"example.com", "example.net"}), faultSeed(t)+1, faultRuns)
}

// faultStats are the figures of one fault test.
type faultStats struct {
	runs, zoneRuns, faults, converged, reported, refused, restores, driftActions, foreignLost int
	sharedWrites                                                                              int // runs writing both shares of example.com
	runRestores, zonesRestored, zonesNotRestored                                              int // restore --run of each run that wrote
}

func runFaults(t *testing.T, fx faultFixture, seed uint64, runs int) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 1))
	zones := []string{"example.com", "example.net"}
	desired := map[string][]policy.RRset{}
	zoneDesired := map[string][]policy.RRset{} // every domain's RRsets in a zone
	for _, fd := range faultDomains {
		desired[fd.domain] = faultPolicy(fd)
		zoneDesired[fd.zone] = append(zoneDesired[fd.zone], desired[fd.domain]...)
	}
	cfg := &policy.Config{
		File: "maildns.yaml", Dir: t.TempDir(), StateDir: t.TempDir(),
		Safety:  policy.Safety{MaxChanges: 5},
		Journal: policy.JournalConfig{Keep: 40}, // pruned as it goes: the run's entries are the newest
	}
	for _, fd := range faultDomains {
		cfg.Domains = append(cfg.Domains, &policy.Domain{Domain: fd.domain, Provider: "dns", Zone: fd.zone, TTL: time.Hour})
	}
	fp := faulty.New(fx.inner, faulty.Options{
		Seed: seed, Rate: 0.12, Hang: 2 * time.Millisecond,
		Ops: []string{faulty.OpGet, faulty.OpAppend, faulty.OpDelete, faulty.OpSet, faulty.OpReplace},
	})
	compile := func(d *policy.Domain) ([]policy.RRset, error) { return desired[d.Domain], nil }
	e := &Engine{Config: cfg, Providers: map[string]providers.Provider{"dns": fp}, Compile: compile, Concurrency: 1, LockWait: time.Second}
	clean := &Engine{Config: cfg, Providers: map[string]providers.Provider{"dns": fx.inner}, Compile: compile, LockWait: time.Second}

	// Foreign records to start with; owned ones come from the first runs.
	for _, fd := range faultDomains {
		fqdn := fd.zone + "."
		if _, err := fx.inner.AppendRecords(ctx, fqdn, []libdns.Record{
			tRR(fd.rel("www"), "A", 300*time.Second, "192.0.2.80"),
			tRR(fd.rel("@"), "TXT", time.Hour, "google-site-verification=abc"),
			tRR(fd.rel("@"), "TXT", time.Hour, "MS=ms123"),
			tRR(fd.rel("mail"), "TXT", time.Hour, "not ours"),
		}); err != nil {
			t.Fatal(err)
		}
	}

	var st faultStats
	start := time.Now()
	after := map[string][]libdns.RR{}
	for run := 1; run <= runs; run++ {
		// Drift, straight at the backend.
		for _, fd := range faultDomains {
			if run > 1 {
				n, cur := injectDrift(t, ctx, fx.inner, fd, after[fd.zone], rng, run)
				st.driftActions += n
				after[fd.zone] = cur
			}
		}
		before := map[string][]libdns.RR{} // by zone
		for _, z := range zones {
			before[z] = readCanonical(t, ctx, fx.inner, z)
		}
		journalBefore, _ := ListJournal(cfg.StateDir)
		faultsBefore := fp.Total()

		opts := Options{Mode: ModeOnce, Offline: true, Force: rng.IntN(3) == 0, AllowWeakening: rng.IntN(3) == 0}
		plan, _ := e.Run(ctx, opts)
		st.runs++
		st.faults += fp.Total() - faultsBefore

		after = map[string][]libdns.RR{}
		for _, z := range zones {
			after[z] = readCanonical(t, ctx, fx.inner, z)
		}
		where := fmt.Sprintf("%s run %d (seed %d; faults %v)", fx.name, run, seed, fp.Log()[faultsBefore:])

		for _, fd := range faultDomains {
			d := fd.domain
			st.zoneRuns++
			var zp *ZonePlan
			for i := range plan.Zones {
				if plan.Zones[i].Domain == d {
					zp = &plan.Zones[i]
				}
			}
			if zp == nil {
				t.Fatalf("%s: no plan for %s", where, d)
			}
			verify := false
			for _, f := range plan.Findings {
				if f.Domain == d && f.Kind == "verify" {
					verify = true
				}
			}
			// Owned: converged, or reported.
			left := Diff(desired[d], after[fd.zone])
			switch {
			case len(left) == 0:
				st.converged++
				if zp.Status == StatusRefused {
					t.Errorf("%s: %s refused but converged", where, d)
				}
			case zp.Status == StatusError || zp.Status == StatusRefused || verify:
				st.reported++
				if zp.Status == StatusRefused {
					st.refused++
				}
			default:
				t.Errorf("%s: %s status %s but not converged: %+v", where, d, zp.Status, left)
			}
		}
		// Foreign to every domain of a zone: nothing lost or changed.
		for _, z := range zones {
			for _, rr := range foreignOf(zoneDesired[z], before[z]) {
				if !slices.Contains(after[z], rr) {
					st.foreignLost++
					t.Errorf("%s: zone %s lost or changed the foreign record %v", where, z, rr)
				}
			}
		}

		// Every journal entry of the run restores the touched RRsets
		// exactly; undoing the restore gives the run's result back.
		journalAfter, _ := ListJournal(cfg.StateDir)
		shares := map[string]int{}
		for _, path := range journalAfter {
			if !slices.Contains(journalBefore, path) {
				entries, _ := ReadJournalFile(path)
				for _, entry := range entries {
					if entry.Mode == ModeOnce {
						shares[entry.Zone]++
					}
				}
			}
		}
		if shares["example.com"] > 1 {
			st.sharedWrites++
		}
		for _, path := range journalAfter {
			if slices.Contains(journalBefore, path) {
				continue
			}
			// A file holds the entries of every share of its zone: its
			// restore puts back all of them.
			entries, err := ReadJournalFile(path)
			if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			var sets []JournalRRset
			for _, entry := range entries {
				if entry.Result == nil {
					t.Errorf("%s: entry %s of %s has no result", where, entry.Domain, path)
				}
				sets = append(sets, entry.Before...)
			}
			d := entries[0].Zone
			listed, _ := ListJournal(cfg.StateDir)
			rplan, err := clean.Restore(ctx, path, Options{Mode: ModeOnce, Force: true, AllowWeakening: true})
			if err != nil {
				t.Fatalf("%s: restore %s: %v (%+v)", where, path, err, rplan)
			}
			st.restores++
			restored := readCanonical(t, ctx, fx.inner, d)
			touchedKeys := map[nameType]bool{}
			for _, set := range sets {
				k := nameType{set.Name, set.Type}
				touchedKeys[k] = true
				got := rrsetAt(restored, k)
				if want := rrsetAt(before[d], k); !slices.Equal(got, want) {
					t.Errorf("%s: restore of %s: %s %s is %v, was %v before the run", where, path, k.name, k.typ, got, want)
				}
				var recorded []libdns.RR
				for _, r := range set.Records {
					recorded = append(recorded, libdns.RR{Name: k.name, Type: k.typ, TTL: time.Duration(r.TTL) * time.Second, Data: r.Data})
				}
				if !slices.Equal(sortRRs(recorded), rrsetAt(before[d], k)) {
					t.Errorf("%s: entry %s recorded %s %s as %v, it was %v", where, path, k.name, k.typ, recorded, rrsetAt(before[d], k))
				}
			}
			for _, rr := range after[d] {
				if !touchedKeys[nameType{rr.Name, rr.Type}] && !slices.Contains(restored, rr) {
					t.Errorf("%s: restore of %s changed the untouched %v", where, path, rr)
				}
			}
			// Undo the restore: the zone is as the run left it.
			undo := restoreEntries(cfg.StateDir, listed, path)
			if len(undo) == 0 {
				if slices.ContainsFunc(rplan.Zones, func(z ZonePlan) bool { return z.Status == StatusApplied }) {
					t.Fatalf("%s: no journal entry for the restore of %s", where, path)
				}
				continue
			}
			for _, u := range undo {
				if _, err := clean.Restore(ctx, u, Options{Mode: ModeOnce, Force: true, AllowWeakening: true}); err != nil {
					t.Fatalf("%s: undoing the restore %s: %v", where, u, err)
				}
			}
			if got := readCanonical(t, ctx, fx.inner, d); !slices.Equal(got, after[d]) {
				t.Errorf("%s: after undoing the restore of %s:\n got %v\nwant %v", where, path, got, after[d])
			}
		}
		// Every other run restored whole in one call: every zone is back
		// exactly as before the run (foreign records and TTLs included);
		// restoring that restore's run gives the run's result back.
		if r, err := FindRun(cfg.StateDir, plan.RunID); err == nil && r.Mode == ModeOnce && run%2 == 1 {
			rplan, err := clean.RestoreRun(ctx, plan.RunID, Options{Mode: ModeOnce, Force: true, AllowWeakening: true})
			if err != nil {
				t.Fatalf("%s: restore --run %s: %v (%+v)", where, plan.RunID, err, rplan)
			}
			st.runRestores++
			for _, z := range zones {
				if got := readCanonical(t, ctx, fx.inner, z); slices.Equal(got, before[z]) {
					st.zonesRestored++
				} else {
					st.zonesNotRestored++
					t.Errorf("%s: after restore --run, zone %s:\n got %v\nwant %v", where, z, got, before[z])
				}
				for _, rr := range foreignOf(zoneDesired[z], before[z]) {
					if !slices.Contains(readCanonical(t, ctx, fx.inner, z), rr) {
						st.foreignLost++
						t.Errorf("%s: restore --run lost the foreign record %v of zone %s", where, rr, z)
					}
				}
			}
			if rplan.Journal == "" {
				continue // nothing to put back (the run's writes all failed before landing)
			}
			if _, err := clean.RestoreRun(ctx, rplan.RunID, Options{Mode: ModeOnce, Force: true, AllowWeakening: true}); err != nil {
				t.Fatalf("%s: undoing restore --run: %v", where, err)
			}
			for _, z := range zones {
				if got := readCanonical(t, ctx, fx.inner, z); !slices.Equal(got, after[z]) {
					t.Errorf("%s: after undoing restore --run, zone %s:\n got %v\nwant %v", where, z, got, after[z])
				}
			}
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	inj := fp.Injected()
	t.Logf("%s: %d runs (%d zone runs) in %v, %d faults injected (%d fail-before, %d timeout, %d fail-after), %d drift actions; zones converged %d, not converged but reported %d (%d refused); %d journal entries restored exactly and undone; %d runs wrote both shares of example.com in one call; %d runs restored whole (restore --run), zones restored exactly %d, not exactly %d; foreign records lost %d",
		fx.name, st.runs, st.zoneRuns, time.Since(start).Round(time.Millisecond), st.faults, inj[faulty.FailBefore], inj[faulty.Timeout], inj[faulty.FailAfter],
		st.driftActions, st.converged, st.reported, st.refused, st.restores, st.sharedWrites, st.runRestores, st.zonesRestored, st.zonesNotRestored, st.foreignLost)
	if st.faults == 0 || st.restores == 0 || st.converged == 0 || st.reported == 0 || st.sharedWrites == 0 || st.runRestores == 0 {
		t.Errorf("the test did not exercise every path: %+v", st)
	}
}

// restoreEntries returns the journal files, not among old, of the
// restore of path.
func restoreEntries(dir string, old []string, path string) []string {
	paths, _ := ListJournal(dir)
	var out []string
	for _, p := range paths {
		if slices.Contains(old, p) {
			continue
		}
		if es, err := ReadJournalFile(p); err == nil && slices.ContainsFunc(es, func(e *JournalEntry) bool { return e.Mode == ModeRestore && e.Restores == path }) {
			out = append(out, p)
		}
	}
	return out
}

// readCanonical reads a zone as the engine sees it (canonical, sorted,
// without the SOA, whose serial every write bumps).
func readCanonical(t *testing.T, ctx context.Context, p providers.Provider, domain string) []libdns.RR {
	t.Helper()
	z := &zoneState{key: zoneKey{"dns", domain}, fqdn: domain + ".", provider: p}
	recs, err := readZone(ctx, z)
	if err != nil {
		t.Fatal(err)
	}
	recs = slices.DeleteFunc(recs, func(rr libdns.RR) bool { return rr.Type == "SOA" })
	return sortRRs(recs)
}

func sortRRs(recs []libdns.RR) []libdns.RR {
	out := slices.Clone(recs)
	slices.SortFunc(out, func(a, b libdns.RR) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Type, b.Type), strings.Compare(a.Data, b.Data), cmp.Compare(a.TTL, b.TTL))
	})
	return out
}

func rrsetAt(recs []libdns.RR, k nameType) []libdns.RR {
	var out []libdns.RR
	for _, rr := range recs {
		if rr.Name == k.name && rr.Type == k.typ {
			out = append(out, rr)
		}
	}
	return sortRRs(out)
}

// foreignOf returns the records of zone that the policy does not own.
func foreignOf(desired []policy.RRset, zone []libdns.RR) []libdns.RR {
	sets := map[nameType]policy.RRset{}
	for _, s := range mergeDesired(desired) {
		sets[nameType{s.Name, s.Type}] = s
	}
	var out []libdns.RR
	for _, rr := range zone {
		s, ok := sets[nameType{rr.Name, rr.Type}]
		if ok && s.Owns(rr.Data) {
			continue
		}
		out = append(out, rr)
	}
	return out
}

// injectDrift changes a zone as people and other tools do: foreign values
// added (with the RRset's TTL), owned values changed or removed. cur is the
// zone as last read (kept up to date here, the backend is not read again).
// It returns the number of changes made and the zone after them.
func injectDrift(t *testing.T, ctx context.Context, p providers.Provider, fd faultDomain, cur []libdns.RR, rng *rand.Rand, run int) (int, []libdns.RR) {
	t.Helper()
	fqdn := fd.zone + "."
	cur = slices.Clone(cur)
	at := func(name, typ string) []libdns.RR { return rrsetAt(cur, nameType{fd.rel(name), typ}) }
	del := func(recs []libdns.RR) {
		if len(recs) == 0 {
			return
		}
		in := make([]libdns.Record, len(recs))
		for i, r := range recs {
			in[i] = r
		}
		if _, err := p.DeleteRecords(ctx, fqdn, in); err != nil {
			t.Fatalf("drift: %v", err)
		}
		cur = slices.DeleteFunc(cur, func(rr libdns.RR) bool { return slices.Contains(recs, rr) })
	}
	add := func(recs ...libdns.RR) {
		in := make([]libdns.Record, len(recs))
		for i, r := range recs {
			in[i] = r
		}
		if _, err := p.AppendRecords(ctx, fqdn, in); err != nil {
			t.Fatalf("drift: %v", err)
		}
		cur = append(cur, recs...)
	}
	ttlOf := func(recs []libdns.RR, def time.Duration) time.Duration {
		if len(recs) > 0 {
			return recs[0].TTL
		}
		return def
	}
	spfOf := func() []libdns.RR {
		return slices.DeleteFunc(at("@", "TXT"), func(rr libdns.RR) bool { return !strings.HasPrefix(rr.Data, "v=spf1") })
	}
	n := rng.IntN(4) // 0..3 actions
	for i := range n {
		tag := fmt.Sprintf("r%d-%d", run, i)
		switch k := rng.IntN(100); {
		case k < 15: // a foreign value in the shared apex TXT
			apex := at("@", "TXT")
			if len(apex) > 6 { // someone cleans up
				for _, rr := range apex {
					if strings.HasPrefix(rr.Data, "foreign-") {
						del([]libdns.RR{rr})
						break
					}
				}
			}
			add(tRR(fd.rel("@"), "TXT", ttlOf(apex, time.Hour), "foreign-"+tag))
		case k < 22: // a foreign host
			add(tRR(fd.rel("h-"+tag), "A", 300*time.Second, fmt.Sprintf("198.51.100.%d", rng.IntN(250)+1)))
		case k < 27: // another type at an owned name
			add(tRR(fd.rel("mail"), "TXT", time.Hour, "note "+tag))
		case k < 40: // the SPF softened
			del(spfOf())
			add(tRR(fd.rel("@"), "TXT", ttlOf(at("@", "TXT"), time.Hour), "v=spf1 mx ~all"))
		case k < 50: // the mail host moved
			del(at("mail", "A"))
			add(tRR(fd.rel("mail"), "A", time.Hour, fmt.Sprintf("203.0.113.%d", rng.IntN(200)+30)))
		case k < 57: // every MX removed
			del(at("@", "MX"))
		case k < 62: // a second, stray MX
			add(tRR(fd.rel("@"), "MX", ttlOf(at("@", "MX"), time.Hour), "20 backup-"+tag+"."+fqdn))
		case k < 69: // the DKIM key deleted
			del(at("s1._domainkey", "TXT"))
		case k < 76: // DMARC made stricter by hand: correcting it weakens
			del(at("_dmarc", "TXT"))
			add(tRR(fd.rel("_dmarc"), "TXT", time.Hour, "v=DMARC1; p=reject"))
		case k < 83: // DMARC relaxed
			del(at("_dmarc", "TXT"))
			add(tRR(fd.rel("_dmarc"), "TXT", time.Hour, "v=DMARC1; p=none"))
		case k < 92: // a TTL changed
			recs := at("mail", "AAAA")
			del(recs)
			for _, rr := range recs {
				rr.TTL = 120 * time.Second
				add(rr)
			}
			if len(recs) == 0 {
				add(tRR(fd.rel("mail"), "AAAA", 120*time.Second, "2001:db8::99"))
			}
		case k < 96: // the SPF deleted
			del(spfOf())
		default: // every owned record wiped: more than max_changes
			del(at("mail", "A"))
			del(at("mail", "AAAA"))
			del(at("@", "MX"))
			del(spfOf())
			del(at("s1._domainkey", "TXT"))
			del(at("_dmarc", "TXT"))
		}
	}
	return n, cur
}
