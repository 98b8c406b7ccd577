package sync

import (
	"cmp"
	"context"
	"iter"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"github.com/maildns/maildns/internal/canon"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/sync/check"
)

// Memo is the daemon's memory of its last cycle, domain by domain, so that
// a cycle plans and checks again only what may have changed and takes the
// rest as the last cycle left it: its zone plans, findings and scorecard.
//
// A domain is taken as it was when all of these hold:
//   - the last cycle found every share of it in sync, wrote nothing, and
//     had no error, no lookup that failed and no DKIM rotation finding;
//   - its policy is the same (the runner's config does not change between
//     cycles; a rotation that moves a selector's state changes it);
//   - every zone it has records in, and every zone its checks looked a
//     name up in, is unchanged since its last full read (ZoneCache: the
//     backend's version token, and full_read_every);
//   - its checks asked nothing of the network (a name outside the zones
//     read, an MTA-STS policy over HTTPS, a DANE SMTP handshake), or did
//     so less than LiveEvery ago.
//
// A zone maildns writes is forgotten by the ZoneCache, so every domain with
// records in it is planned again the next cycle; a zone the cache cannot
// vouch for (no version token, a failed read, full_read_every passed) is
// read, and its domains planned, as before.
type Memo struct {
	// LiveEvery is how long the result of checks that asked the network
	// is kept; 0: DefaultFullReadEvery.
	LiveEvery time.Duration

	domains map[string]*domainMemo // by domain

	// this cycle's
	active  bool // plan was called: fill has work
	now     time.Time
	order   map[string]int // the config's order of the domains (a runner's config is fixed)
	reused  []*domainMemo
	fresh   map[zoneKey]canon.Packed // zones the ZoneCache vouched for
	stale   map[zoneKey]bool         // zones it did not
	mu      gosync.Mutex
	watched map[string]*depRecorder // by domain: the checks' lookups

	last *assembled // the lists of the last plan fill completed

	planned, total int // domains planned by the last cycle, of all
}

// Heavy reports whether the last cycle planned a large part of many
// domains (the first, a full read, a reload): it left much garbage.
func (m *Memo) Heavy() bool {
	return m != nil && m.planned >= 256 && 4*m.planned >= m.total
}

// domainMemo is one domain as the last cycle that planned it left it.
type domainMemo struct {
	domain     string
	key        string // compileKey of the policy it was planned with
	main       zoneKey
	zones      []ZonePlan
	findings   []Finding
	compliance []Requirement
	watched    bool
	deps       []zoneKey // its zones and those its checks looked into
	network    bool      // its checks asked the network
	checked    time.Time // when its checks last ran
	reusable   bool
}

// plan returns the domains of this cycle to plan and check: those the memo
// cannot vouch for. The others' results are added to the plan by fill.
func (m *Memo) plan(ctx context.Context, e *Engine, now time.Time, domains []*policy.Domain, rot *rotation) []*policy.Domain {
	if m == nil {
		return domains
	}
	m.active, m.now, m.reused = true, now, m.reused[:0]
	// The maps of a cycle are kept for the next (cleared): a cycle that
	// plans nothing again should allocate next to nothing.
	if m.fresh == nil {
		m.fresh, m.stale = map[zoneKey]canon.Packed{}, map[zoneKey]bool{}
	}
	clear(m.fresh)
	clear(m.stale)
	m.watched = map[string]*depRecorder{}
	if len(m.order) != len(domains) {
		m.order = make(map[string]int, len(domains))
		for i, d := range domains {
			m.order[d.Domain] = i
		}
	}
	every := cmp.Or(m.LiveEvery, DefaultFullReadEvery)
	stale := m.stale
	isFresh := func(k zoneKey) bool {
		if _, ok := m.fresh[k]; ok {
			return true
		}
		if stale[k] {
			return false
		}
		recs, ok := e.ZoneCache.fresh(ctx, k, e.Providers[k.provider])
		if ok {
			m.fresh[k] = recs
		} else {
			stale[k] = true
		}
		return ok
	}
	out := make([]*policy.Domain, 0, len(domains))
	defer func() { m.planned, m.total = len(out), len(domains) }()
	for _, d := range domains {
		dm := m.domains[d.Domain]
		if dm == nil || !dm.reusable || dm.key != CompileKey(d) || len(rot.domainFindings(d.Domain)) > 0 ||
			(dm.network && now.Sub(dm.checked) >= every) || !all(dm.deps, isFresh) {
			out = append(out, d)
			continue
		}
		m.reused = append(m.reused, dm)
	}
	return out
}

// CompileKey names the policy of a run within one config: its domain and
// the states its DKIM selectors have this run (a rotation changes only
// those). The daemon keeps compiled policies and results by it.
func CompileKey(d *policy.Domain) string {
	if len(d.DKIM) == 0 {
		return d.Domain
	}
	var b strings.Builder
	b.WriteString(d.Domain)
	for _, k := range d.DKIM {
		b.WriteByte(0)
		b.WriteString(k.Selector)
		b.WriteByte('=')
		b.WriteString(k.State)
	}
	return b.String()
}

func all[T any](s []T, f func(T) bool) bool {
	for _, v := range s {
		if !f(v) {
			return false
		}
	}
	return true
}

// addZones adds to m (records by zone name, for the checks' resolver) the
// zones the ZoneCache vouched for this cycle that the run does not read: a
// domain planned this cycle sees every zone as a cycle that read them all
// would.
func (m *Memo) addZones(zones map[string]check.Zone, read []*zoneState) {
	if m == nil || len(m.fresh) == 0 || len(read) == 0 {
		// Nothing read, nothing planned: no check asks.
		return
	}
	skip := make(map[zoneKey]bool, len(read))
	for _, z := range read {
		skip[z.key] = true
	}
	for k, packed := range m.fresh {
		if skip[k] {
			continue
		}
		if have, ok := zones[k.zone]; ok {
			zones[k.zone] = check.Zone{Records: append(slices.Clip(zoneRecords(have)), packed.Unpack()...)}
		} else {
			// Read packed, as the cache keeps it: a cycle that plans a
			// few domains does not unpack every zone for their checks.
			zones[k.zone] = check.Zone{Packed: &packed}
		}
	}
}

// watch returns the resolver of domain's checks: r, noting what the checks
// ask of it. A nil r (live checks off) stays nil.
func (m *Memo) watch(domain string, r Resolver) Resolver {
	if m == nil || r == nil {
		return r
	}
	rec := &depRecorder{next: r, names: map[string]bool{}}
	m.mu.Lock()
	m.watched[domain] = rec
	m.mu.Unlock()
	return rec
}

// depRecorder is a resolver noting the names it was asked and answered
// with, and whether an answer came from the network or failed.
type depRecorder struct {
	next    Resolver
	mu      gosync.Mutex
	names   map[string]bool // lower case, fully qualified
	network bool
	failed  bool
}

func (r *depRecorder) Lookup(ctx context.Context, name, qtype string) (Answer, error) {
	a, err := r.next.Lookup(ctx, name, qtype)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.names[strings.ToLower(name)] = true
	for _, rr := range a.Records {
		r.names[strings.ToLower(rr.Name)] = true
	}
	if err != nil {
		r.failed = true
	}
	if !a.FromZone {
		r.network = true
	}
	return a, err
}

// fill remembers the results of the domains this run planned (runs) and
// adds to plan those of the domains it took from the memo, then orders and
// counts the plan again. A stopped run is not remembered: the next cycle
// plans every domain.
func (m *Memo) fill(ctx context.Context, plan *Plan, runs []*domainRun, live bool) {
	if m == nil || !m.active {
		return
	}
	defer func() {
		m.active, m.watched = false, nil
		clear(m.fresh) // the records are the ZoneCache's: not held here
		clear(m.stale)
	}()
	if ctx.Err() != nil {
		m.domains, m.reused, m.last = nil, m.reused[:0], nil
		return
	}
	if plan.Cards != nil {
		// The memo keeps and joins each domain's lines: as lines.
		plan.Compliance, plan.Cards = plan.Scorecard(), nil
	}
	next := make(map[string]*domainMemo, len(runs)+len(m.reused))
	byDomain := map[string]*domainMemo{}
	for _, r := range runs {
		dm := &domainMemo{domain: r.d.Domain, key: CompileKey(r.d), main: r.mainKey(), checked: m.now, reusable: r.err == nil && r.checked}
		next[dm.domain], byDomain[dm.domain] = dm, dm
	}
	// Each domain's part of the plan's lists (sorted by domain: one span
	// each) is kept as a view of them, not a copy.
	for d, part := range spans(plan.Zones, func(z *ZonePlan) string { return z.Domain }) {
		dm := byDomain[d]
		if dm == nil {
			continue
		}
		dm.zones = joinSpan(dm.zones, part)
		for _, z := range part {
			dm.deps = append(dm.deps, zoneKey{z.Provider, z.Zone})
			if z.Status != StatusInSync || len(z.Changes) > 0 || len(z.Files) > 0 {
				dm.reusable = false
			}
		}
	}
	for d, part := range spans(plan.Findings, func(f *Finding) string { return f.Domain }) {
		if dm := byDomain[d]; dm != nil {
			dm.findings = joinSpan(dm.findings, part)
		}
	}
	for d, part := range spans(plan.Compliance, func(c *Requirement) string { return c.Domain }) {
		if dm := byDomain[d]; dm != nil {
			dm.compliance = joinSpan(dm.compliance, part)
		}
	}
	for _, name := range plan.Watched {
		if dm := byDomain[name]; dm != nil {
			dm.watched = true
		}
	}
	// The zones the checks looked into: every zone the resolver answered
	// from (this run's and the memo's), by the longest name holding the
	// name asked.
	var zoneNames map[string][]zoneKey
	if len(m.watched) > 0 {
		zoneNames = map[string][]zoneKey{}
		for _, dm := range next {
			for _, k := range dm.deps {
				if !slices.Contains(zoneNames[k.zone], k) {
					zoneNames[k.zone] = append(zoneNames[k.zone], k)
				}
			}
		}
		for k := range m.fresh {
			if !slices.Contains(zoneNames[k.zone], k) {
				zoneNames[k.zone] = append(zoneNames[k.zone], k)
			}
		}
		for _, dm := range m.reused {
			for _, k := range dm.deps {
				if !slices.Contains(zoneNames[k.zone], k) {
					zoneNames[k.zone] = append(zoneNames[k.zone], k)
				}
			}
		}
	}
	for domain, rec := range m.watched {
		dm := byDomain[domain]
		if dm == nil {
			continue
		}
		rec.mu.Lock()
		if rec.failed {
			dm.reusable = false // a failure may pass: ask again next cycle
		}
		dm.network = live && rec.network
		for name := range rec.names {
			for n := strings.TrimSuffix(name, "."); n != ""; {
				if keys, ok := zoneNames[n]; ok {
					for _, k := range keys {
						if !slices.Contains(dm.deps, k) {
							dm.deps = append(dm.deps, k)
						}
					}
					break
				}
				_, rest, found := strings.Cut(n, ".")
				if !found {
					break
				}
				n = rest
			}
		}
		rec.mu.Unlock()
	}
	for _, r := range runs {
		dm := byDomain[r.d.Domain]
		// HTTPS (MTA-STS) and SMTP (DANE) are asked outside the resolver.
		if live && (r.d.MTASTS != nil || slices.ContainsFunc(r.d.MailHosts, func(h policy.MailHost) bool { return h.TLSA != nil })) {
			dm.network = true
		}
	}

	// The reused domains, as the last cycle left them.
	if len(m.reused) > 0 {
		m.assemble(plan, runs, byDomain, next)
	} else {
		m.last = nil
	}
	clear(m.reused)
	m.domains, m.reused = next, m.reused[:0]
}

// spans yields each run of consecutive items of s of one domain.
func spans[T any](s []T, domain func(*T) string) iter.Seq2[string, []T] {
	return func(yield func(string, []T) bool) {
		for i := 0; i < len(s); {
			d := domain(&s[i])
			j := i + 1
			for j < len(s) && domain(&s[j]) == d {
				j++
			}
			if !yield(d, s[i:j:j]) {
				return
			}
			i = j
		}
	}
}

// joinSpan adds part to have: part itself when have is empty (a view of
// the plan's list, capacity capped so that no append reaches into it),
// else a copy of both.
func joinSpan[T any](have, part []T) []T {
	if len(have) == 0 {
		return part
	}
	return append(slices.Clip(have), part...)
}

// assembled is a plan's lists, as fill last made them.
type assembled struct {
	n          int // domains
	zones      []ZonePlan
	findings   []Finding
	compliance []Requirement
	watched    []string
	summary    Summary
}

// assemble adds the reused domains' results to plan, in the order a run of
// every domain gives: zones and findings by domain (each domain's as
// sortPlan left them), the scorecard and the watched in the config's order.
// A cycle that planned nothing again shares the last cycle's lists, which
// no one changes.
func (m *Memo) assemble(plan *Plan, runs []*domainRun, byDomain, next map[string]*domainMemo) {
	for _, dm := range m.reused {
		next[dm.domain] = dm
	}
	if len(runs) == 0 && m.last != nil && m.last.n == len(m.reused) {
		plan.Zones, plan.Findings, plan.Compliance, plan.Watched = m.last.zones, m.last.findings, m.last.compliance, m.last.watched
		plan.Summary = m.last.summary
		return
	}
	sorted := make([]*domainMemo, 0, len(next))
	for _, dm := range next {
		sorted = append(sorted, dm)
	}
	slices.SortFunc(sorted, func(a, b *domainMemo) int { return strings.Compare(a.domain, b.domain) })
	nz, nf, nc := 0, 0, 0
	for _, dm := range sorted {
		nz, nf, nc = nz+len(dm.zones), nf+len(dm.findings), nc+len(dm.compliance)
	}
	if fz, ff, fc := countOf(byDomain); fz != len(plan.Zones) || ff != len(plan.Findings) || fc != len(plan.Compliance) {
		// Something of the run's plan belongs to no domain planned: keep
		// it, and order the whole as sortPlan does.
		every := slices.Clip(runs)
		for _, dm := range m.reused {
			plan.Zones = append(plan.Zones, dm.zones...)
			plan.Findings = append(plan.Findings, dm.findings...)
			plan.Compliance = append(plan.Compliance, dm.compliance...)
			// A domain's own zone is its policy's (domainRun.mainKey).
			every = append(every, &domainRun{d: &policy.Domain{Domain: dm.domain, Provider: dm.main.provider, Zone: dm.main.zone}})
		}
		sortPlan(plan, every)
		slices.SortStableFunc(plan.Compliance, func(a, b Requirement) int { return m.order[a.Domain] - m.order[b.Domain] })
	} else {
		// Each domain's lists become views of the new ones, so that the
		// last cycle's lists are let go.
		plan.Zones, plan.Findings, plan.Compliance = make([]ZonePlan, 0, nz), make([]Finding, 0, nf), make([]Requirement, 0, nc)
		for _, dm := range sorted {
			z, f := len(plan.Zones), len(plan.Findings)
			plan.Zones = append(plan.Zones, dm.zones...)
			plan.Findings = append(plan.Findings, dm.findings...)
			dm.zones, dm.findings = plan.Zones[z:len(plan.Zones):len(plan.Zones)], plan.Findings[f:len(plan.Findings):len(plan.Findings)]
		}
		byOrder := slices.Clone(sorted)
		slices.SortFunc(byOrder, func(a, b *domainMemo) int { return m.order[a.domain] - m.order[b.domain] })
		for _, dm := range byOrder {
			c := len(plan.Compliance)
			plan.Compliance = append(plan.Compliance, dm.compliance...)
			dm.compliance = plan.Compliance[c:len(plan.Compliance):len(plan.Compliance)]
		}
	}
	plan.Watched = plan.Watched[:0]
	for _, dm := range sorted {
		if dm.watched {
			plan.Watched = append(plan.Watched, dm.domain)
		}
	}
	slices.SortFunc(plan.Watched, func(a, b string) int { return m.order[a] - m.order[b] })
	plan.Summary = summarise(plan)
	plan.Summary.Watched = len(plan.Watched)
	m.last = &assembled{n: len(next), zones: plan.Zones, findings: plan.Findings, compliance: plan.Compliance,
		watched: plan.Watched, summary: plan.Summary}
}

// countOf counts the zone plans, findings and scorecard rows of domains.
func countOf(domains map[string]*domainMemo) (zones, findings, compliance int) {
	for _, dm := range domains {
		zones, findings, compliance = zones+len(dm.zones), findings+len(dm.findings), compliance+len(dm.compliance)
	}
	return zones, findings, compliance
}
