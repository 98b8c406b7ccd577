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

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/providers"
	"github.com/maildns/maildns/providers/zonefile"
)

// memoSite is a daemon over zone files with live checks answered by a
// resolver that knows no name outside the zones (every such name is
// NXDOMAIN): a.example sends DMARC reports to another organisation (its
// authorisation is asked of that resolver: a network answer), a.example
// and the mN.shared.example have mail hosts whose PTR is asked (network
// answers too: the ISP's reverse zone), b.example's
// mail host is mx.c.example, a foreign record of c.example's zone
// (answered from that zone), m1 and m2.shared.example share a zone.
type memoSite struct {
	t        *testing.T
	dir      string
	now      time.Time
	e        *Engine
	resolver *mapResolver
	reads    *readCounter

	mu       gosync.Mutex
	compiled []string // the domains planned by the last run
}

func newMemoSite(t *testing.T, extra ...string) *memoSite {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "maildns.yaml"), "policies: [\"policies/*.yaml\"]\nstate_dir: state\n"+
		"full_read_every: 24h\nproviders:\n  local: {type: zonefile, directory: zones}\n")
	pol := func(name, body string) {
		writeFile(t, filepath.Join(dir, "policies", strings.ReplaceAll(name, ".", "_")+".yaml"), body)
	}
	pol("a.example", "domain: a.example\nprovider: local\nmail_hosts: [{name: mail, ipv4: [203.0.113.25]}]\n"+
		"spf: {mail_hosts: true}\ndmarc: {policy: reject, rua: [\"mailto:reports@elsewhere.example\"]}\n")
	pol("b.example", "domain: b.example\nprovider: local\nmx: [{host: mx.c.example., priority: 10}]\n"+
		"spf: {mechanisms: [\"ip4:203.0.113.7\"]}\ndmarc: {policy: reject}\n")
	pol("c.example", "domain: c.example\nprovider: local\nparked: true\n")
	for _, m := range []string{"m1", "m2"} {
		pol(m+".shared.example", "domain: "+m+".shared.example\nzone: shared.example\nprovider: local\n"+
			"mail_hosts: [{name: mail, ipv4: [203.0.113.30]}]\nspf: {mail_hosts: true}\ndmarc: {policy: reject}\n")
	}
	zones := []string{"a.example", "b.example", "c.example", "shared.example"}
	for i := 0; i+1 < len(extra); i += 2 { // domain, policy body: in a zone of its own
		pol(extra[i], extra[i+1])
		zones = append(zones, extra[i])
	}
	for _, z := range zones {
		body := strings.ReplaceAll(cacheZone, "%s", z)
		switch z {
		case "c.example":
			body += "mx\tIN A\t203.0.113.7\n"
		case "shared.example":
			body += "mail.m1\tIN A\t203.0.113.30\nmail.m2\tIN A\t203.0.113.30\n"
		}
		writeFile(t, filepath.Join(dir, "zones", z+".zone"), body)
	}
	cfg, err := policy.LoadConfig(filepath.Join(dir, "maildns.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := &memoSite{t: t, dir: dir, now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), resolver: &mapResolver{}}
	s.reads = &readCounter{Provider: &zonefile.Provider{Directory: filepath.Join(dir, "zones")}, reads: map[string]int{}}
	p := providers.Wrap(s.reads, providers.WrapOptions{Name: "local", Type: "zonefile", Counts: &providers.Counts{}})
	clock := func() time.Time { return s.now }
	s.e = &Engine{Config: cfg, Providers: map[string]providers.Provider{"local": p}, Logger: slog.New(slog.DiscardHandler),
		Resolver: s.resolver, Now: clock,
		ZoneCache: &ZoneCache{FullReadEvery: cfg.FullReadEvery, Now: clock},
		Memo:      &Memo{LiveEvery: time.Hour}}
	s.e.Compile = func(d *policy.Domain) ([]policy.RRset, error) {
		s.mu.Lock()
		s.compiled = append(s.compiled, d.Domain)
		s.mu.Unlock()
		return policy.Compile(d)
	}
	return s
}

// cycle runs one daemon cycle and returns its plan and the domains it
// planned (sorted).
func (s *memoSite) cycle(name string) (*Plan, []string) {
	s.t.Helper()
	s.mu.Lock()
	s.compiled = nil
	s.mu.Unlock()
	plan, err := s.e.Run(context.Background(), Options{Mode: ModeDaemon})
	if err != nil {
		s.t.Fatalf("%s: %v", name, err)
	}
	if err := RecordRun(s.e.Config.StateDir, ModeDaemon, plan, nil, s.now, s.now, time.Time{}, ""); err != nil {
		s.t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	slices.Sort(s.compiled)
	return plan, slices.Clone(s.compiled)
}

func (s *memoSite) edit(zone, old, new string) {
	s.t.Helper()
	path := filepath.Join(s.dir, "zones", zone+".zone")
	data, err := os.ReadFile(path)
	if err != nil {
		s.t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		s.t.Fatalf("%s has no %q", zone, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(data), old, new, 1)), 0o600); err != nil {
		s.t.Fatal(err)
	}
}

func zoneStatus(t *testing.T, plan *Plan, domain string) string {
	t.Helper()
	for _, z := range plan.Zones {
		if z.Domain == domain {
			return z.Status
		}
	}
	t.Fatalf("no zone plan for %s", domain)
	return ""
}

func findingsOf(plan *Plan, domain, kind string) []Finding {
	var out []Finding
	for _, f := range plan.Findings {
		if f.Domain == domain && f.Kind == kind {
			out = append(out, f)
		}
	}
	return out
}

// samePlan compares two plans but for their run ids.
func samePlan(t *testing.T, name string, got, want *Plan) {
	t.Helper()
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Plan{}, "RunID"), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("%s: plan differs from the last full cycle's (-want +got):\n%s", name, diff)
	}
}

var allMemoDomains = []string{"a.example", "b.example", "c.example", "m1.shared.example", "m2.shared.example"}

// A cycle in which nothing can have changed plans nothing and reports what
// the last one found, findings and scorecard included, in the plan and in
// status.json; a changed zone re-plans the domains with records in it (all
// of a shared zone) and those whose checks looked into it, and the drift
// is found and corrected; a written zone is planned again the next cycle.
func TestMemoPlansOnlyWhatMayHaveChanged(t *testing.T) {
	s := newMemoSite(t)
	plan, planned := s.cycle("first cycle")
	if !slices.Equal(planned, allMemoDomains) || zoneStatus(t, plan, "a.example") != StatusApplied {
		t.Fatalf("first cycle planned %v, a.example %s", planned, zoneStatus(t, plan, "a.example"))
	}
	full, planned := s.cycle("after the writes")
	if !slices.Equal(planned, allMemoDomains) {
		t.Fatalf("the cycle after maildns wrote every zone planned %v, want all", planned)
	}
	for _, d := range allMemoDomains {
		if st := zoneStatus(t, full, d); st != StatusInSync {
			t.Fatalf("%s is %s after the writes", d, st)
		}
	}
	if len(findingsOf(full, "a.example", KindDMARC)) != 1 || len(full.Scorecard()) == 0 {
		t.Fatalf("want a.example's DMARC report finding and a scorecard: %+v", full.Findings)
	}
	asked := len(s.resolver.asked)
	s.reads.take()

	plan, planned = s.cycle("no-drift cycle")
	if len(planned) != 0 {
		t.Fatalf("a cycle where nothing changed planned %v", planned)
	}
	if got := s.reads.take(); len(got) != 0 {
		t.Errorf("a cycle where nothing changed read %v", got)
	}
	if len(s.resolver.asked) != asked {
		t.Errorf("a cycle where nothing changed asked %v", s.resolver.asked[asked:])
	}
	samePlan(t, "no-drift cycle", plan, full)
	st, err := ReadState(s.e.Config.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	var a *DomainState
	for _, d := range st.Domains {
		if d.Domain == "a.example" {
			a = d
		}
	}
	if len(st.Domains) != len(allMemoDomains) || a == nil || len(a.Findings) != 2 || !a.Run.Equal(s.now) {
		for _, d := range st.Domains {
			t.Logf("%+v", *d)
		}
		t.Fatal("status.json after a reused cycle is not the last full cycle's")
	}

	// A hand edit of a shared zone: both its domains, nothing else; the
	// drift is corrected, and the zone written is planned again next.
	s.now = s.now.Add(time.Minute)
	s.edit("shared.example", "mail.m2\tIN A\t203.0.113.30", "mail.m2\tIN A\t203.0.113.99")
	plan, planned = s.cycle("shared zone edited")
	if want := []string{"m1.shared.example", "m2.shared.example"}; !slices.Equal(planned, want) {
		t.Fatalf("after editing the shared zone planned %v, want %v", planned, want)
	}
	if zoneStatus(t, plan, "m2.shared.example") != StatusApplied || zoneStatus(t, plan, "a.example") != StatusInSync {
		t.Fatalf("drift in the shared zone not corrected: %+v", plan.Zones)
	}
	if len(findingsOf(plan, "a.example", KindDMARC)) != 1 || len(plan.Scorecard()) != len(full.Scorecard()) {
		t.Fatalf("the reused domains' findings or scorecard went missing: %d findings, %d rows", len(plan.Findings), len(plan.Scorecard()))
	}
	_, planned = s.cycle("after the write")
	if want := []string{"m1.shared.example", "m2.shared.example"}; !slices.Equal(planned, want) {
		t.Fatalf("the cycle after a write planned %v, want %v", planned, want)
	}
	if _, planned = s.cycle("quiet again"); len(planned) != 0 {
		t.Fatalf("planned %v", planned)
	}

	// c.example's zone loses the address of b.example's mail host: c has
	// no say in it (a foreign record), but b's MX check looked it up.
	s.edit("c.example", "mx\tIN A\t203.0.113.7\n", "")
	plan, planned = s.cycle("c.example edited")
	if want := []string{"b.example", "c.example"}; !slices.Equal(planned, want) {
		t.Fatalf("after editing c.example planned %v, want %v", planned, want)
	}
	if len(findingsOf(plan, "b.example", KindMX)) == 0 {
		t.Fatalf("b.example's mail host without an address not found: %+v", plan.Findings)
	}
	_, planned = s.cycle("b.example has an error finding")
	if len(planned) != 0 {
		t.Fatalf("planned %v: b.example's finding comes from zones unchanged since", planned)
	}

	// Checks that asked the network run again after LiveEvery.
	s.now = s.now.Add(time.Hour)
	_, planned = s.cycle("an hour later")
	if want := []string{"a.example", "m1.shared.example", "m2.shared.example"}; !slices.Equal(planned, want) {
		t.Fatalf("an hour later planned %v, want %v (their DMARC and PTR checks asked the network)", planned, want)
	}
	// And every zone is read again after full_read_every.
	s.now = s.now.Add(24 * time.Hour)
	_, planned = s.cycle("a day later")
	if !slices.Equal(planned, allMemoDomains) {
		t.Fatalf("a day later planned %v, want all", planned)
	}
	if got := s.reads.take(); len(got) != 4 {
		t.Fatalf("a day later read %v, want the 4 zones", got)
	}
}

// An edit the version token cannot see (same size, modification time put
// back) is found at the next full read, as without the memo.
func TestMemoFindsHiddenDriftAtFullRead(t *testing.T) {
	s := newMemoSite(t)
	s.cycle("first")
	s.cycle("second")
	if _, planned := s.cycle("third"); len(planned) != 0 {
		t.Fatalf("planned %v", planned)
	}
	path := filepath.Join(s.dir, "zones", "a.example.zone")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	s.edit("a.example", "203.0.113.25", "203.0.113.26")
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	s.now = s.now.Add(23 * time.Hour)
	plan, _ := s.cycle("token unchanged")
	if zoneStatus(t, plan, "a.example") != StatusInSync {
		t.Fatalf("a.example is %s: the edit was visible", zoneStatus(t, plan, "a.example"))
	}
	s.now = s.now.Add(time.Hour)
	plan, planned := s.cycle("full read")
	if !slices.Contains(planned, "a.example") || zoneStatus(t, plan, "a.example") != StatusApplied {
		t.Fatalf("at the full read planned %v, a.example %s: want the drift found and corrected", planned, zoneStatus(t, plan, "a.example"))
	}
}

// A DKIM selector whose retire_at passes between two cycles changes the
// domain's policy for the run: it is planned again and the key retired,
// though no file changed.
func TestMemoReplansARotationStep(t *testing.T) {
	key := "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE="
	s := newMemoSite(t, "r.example", "domain: r.example\nprovider: local\ndkim:\n"+
		"  - {selector: s1, key: "+key+", retire_at: 2026-03-02T00:00:00Z}\n  - {selector: s2, key: "+key+"}\n")
	s.cycle("first")
	s.cycle("second")
	if _, planned := s.cycle("third"); len(planned) != 0 {
		t.Fatalf("planned %v", planned)
	}
	s.now = time.Date(2026, 3, 2, 0, 0, 1, 0, time.UTC)
	plan, planned := s.cycle("s1 retired")
	if !slices.Contains(planned, "r.example") || zoneStatus(t, plan, "r.example") != StatusApplied {
		t.Fatalf("after retire_at planned %v, r.example %s: want s1 retired", planned, zoneStatus(t, plan, "r.example"))
	}
}
