package sync

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	stdsync "sync"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/internal/canon"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/providers"
	"github.com/maildns/maildns/sync/check"
	"golang.org/x/sync/errgroup"
)

// Options are one run's switches.
type Options struct {
	Mode           string   // "dry-run" (plan only) | "once" | "daemon" (plan and apply)
	Domains        []string // only these policies; empty: all
	Force          bool     // let this run exceed max_changes
	AllowWeakening bool
	Offline        bool   // no live DNS lookups
	RunID          string // the run's id; "": a new one (NewRunID)
	// ForApply makes a dry run's plan as a sync would (what the safety
	// rules stop is refused, a broken record is held back), to be saved
	// and applied later (SavePlan); it still writes nothing.
	ForApply bool
	// NoScorecard leaves the scorecard (Plan.Compliance) out of the plan:
	// the daemon's plans feed its metrics and status file, which show none.
	NoScorecard bool

	at time.Time // the clock of the DKIM rotation dates, when set (a saved plan's)
}

// Engine runs syncs for one loaded config.
type Engine struct {
	Config    *policy.Config
	Providers map[string]providers.Provider // by provider name in the config
	Resolver  Resolver                      // nil: built from Config.Resolvers
	Logger    *slog.Logger
	// Compile turns a policy into the RRsets it wants; nil: policy.Compile.
	// It is called for several domains at once.
	Compile func(d *policy.Domain) ([]policy.RRset, error)
	// Concurrency bounds the provider zones read and written at once; 0: 8.
	Concurrency int
	// Version is maildns's version, recorded in journal entries; "": the build's.
	Version string
	// LockWait bounds the wait for a zone another maildns holds; 0: DefaultLockWait.
	LockWait time.Duration
	// HTTPClient fetches MTA-STS policies; nil: one that resolves names
	// through the run's resolver and verifies certificates against the
	// system roots.
	HTTPClient *http.Client
	// DialSMTP connects to a mail host's SMTP port for the DANE check; nil:
	// port 25 of the host's addresses from the run's resolver.
	DialSMTP func(ctx context.Context, host string) (net.Conn, error)
	// Now is the clock of the DKIM rotation dates; nil: time.Now.
	Now func() time.Time
	// ZoneCache, when set (the daemon), skips the first read of a zone
	// whose backend says it has not changed since its last full read; nil:
	// every zone is read in full.
	ZoneCache *ZoneCache
	// Checks are the live checks run on each domain; nil: check.All().
	Checks []check.Check
	// Memo, when set (the daemon, with ZoneCache), plans and checks only
	// the domains whose results may have changed since the last run and
	// takes the others' from it (memo.go); nil: every domain is planned.
	Memo *Memo
}

// DefaultConcurrency is the number of provider zones handled at once.
const DefaultConcurrency = 8

// zoneKey names one zone at one provider.
type zoneKey struct{ provider, zone string }

// zoneState is one provider zone in a run: read once, shared by every
// domain with records in it.
type zoneState struct {
	calls    int // provider calls made for this zone
	key      zoneKey
	fqdn     string
	provider providers.Provider
	live     []libdns.RR // canonical, as read
	cond     zoneCond    // what the write needs of the read (readLive)
	readBack bool        // after holds the zone as read back (zoneApply)
	cached   bool        // live came from the ZoneCache, not a read in this run
	liveIdx  liveIndex   // live by name and type, kept for a zone over indexedZone records
	err      error       // the read failed
	parts    []*domainZone
	// *zoneApply is what only a zone of a plan to be applied keeps: made
	// for each zone of such a plan (compile, a restore); nil in a dry run,
	// whose steps read it only when readBack.
	*zoneApply

	// packed holds live instead once a small zone of a dry run is planned
	// (pack): the checks read it as well, for much less.
	packed canon.Packed
}

// zoneApply is what only writing a zone needs of it: a dry run over many
// zones does not carry it for each.
type zoneApply struct {
	gen      uint64      // the zone's lock generation before the first read
	genOK    bool        // gen was read
	after    []libdns.RR // as read back after applying
	afterIdx liveIndex   // after by name and type, built once for all parts
	// liveNames is the zone resolver's index of the names of namesOf (live
	// when it was started): built beside the plan (readZones), for the
	// SPF hold's lookups, and used only while live is still namesOf.
	liveNames *check.ZoneNames
	namesOf   []libdns.RR
	unlock    func()     // releases the zone's lock (apply modes)
	run       string     // the run's id, for its journal entries
	journal   *journaler // nil: no journal (no state_dir)
}

// domainZone is one domain's share of one zone.
type domainZone struct {
	domain *policy.Domain
	main   bool // the domain's own zone (not a reverse zone)
	wrote  bool
	// watched: the domain has enforce: false; its drift is planned,
	// logged and reported, never written.
	watched bool
	spf     spfState // the hold of broken records of this share (see holdSPF)
	sets    []policy.RRset
	diffs   []rrsetDiff
	plan    ZonePlan
	err     error
	run     *domainRun // the domain's run (its own zone's share: the SPF hold)
	// *shareApply is what a plan to be applied keeps of the share: made
	// for every share of such a plan (compile), and in a dry run only for
	// a share whose safety rules or write checks find something (more). A
	// dry run reads it only through more, extraFindings or a nil check.
	*shareApply
}

// shareApply is what only a share of a plan to be applied keeps (and the
// rare safety or write check finding of a dry run): a dry run over many
// domains does not carry it for each.
type shareApply struct {
	holds map[string]bool // the elements held back (spf, mx, dmarc, dkim)
	// Findings of the share: the safety rules, the SPF hold and the
	// read-back's verification.
	safety, held, verify []Finding
	checks               []Finding // writeChecks: CNAME conflicts, a zone the backend will not write
	// savedOps are the writes of each change of a saved plan (nil: of
	// diffs, opsFor), expect the RRsets it read (ApplySaved).
	savedOps []writeOps
	expect   []savedExpect
}

// more returns the share's shareApply, made when it has none.
func (p *domainZone) more() *shareApply {
	if p.shareApply == nil {
		p.shareApply = &shareApply{}
	}
	return p.shareApply
}

// extraFindings are the share's findings: the safety rules', the SPF
// hold's, the verification's and the write checks'.
func (p *domainZone) extraFindings() (safety, held, verify, checks []Finding) {
	if a := p.shareApply; a != nil {
		return a.safety, a.held, a.verify, a.checks
	}
	return nil, nil, nil, nil
}

// domainRun is one selected domain.
type domainRun struct {
	d        *policy.Domain
	sets     []policy.RRset
	err      error      // compile failed
	zone     *zoneState // its own zone (mainKey); nil when compile failed
	findings []Finding
	env      *CheckEnv // the checks' view, until the scorecard is made (scorecards)
	logs     *heldLog  // what the checks logged, for the run's log
	checked  bool      // the checks ran on the domain
}

// mainKey is the domain's own zone (not a reverse zone).
func (r *domainRun) mainKey() zoneKey { return zoneKey{r.d.Provider, domainZoneName(r.d)} }

// Run is one run of opts.Mode: Plan, then Apply in the apply modes, or
// Report for a dry run. The returned plan is complete even when err is not
// nil; err reports that the run could not be completed for some zone.
func (e *Engine) Run(ctx context.Context, opts Options) (*Plan, error) {
	pl, err := e.Plan(ctx, opts)
	if pl.st == nil || !pl.st.applyNext {
		return e.Report(ctx, pl), err
	}
	return e.Apply(ctx, pl)
}

// Plan reads every zone the selected policies touch (one read per provider
// zone, without locks, at most Concurrency at once), diffs them with the
// compiled policies, runs the safety rules (and, for a plan made to be
// applied, holds back broken records), and runs the checks (of a run that
// applies in this process, Apply runs them, once, on the zones as
// written). It writes nothing and logs only the zones it could not read:
// Apply or Report log the run. The plan is complete even when err is not
// nil.
func (e *Engine) Plan(ctx context.Context, opts Options) (*Planned, error) {
	rs, err := e.newRun(opts)
	if err != nil {
		return &Planned{Plan: rs.emptyPlan()}, err
	}
	rs.compile(ctx, e)
	rs.readZones(ctx, e)
	rs.safety(e.Config)
	rs.holdBroken(ctx, e)
	if !rs.applyNext {
		rs.check(ctx, e)
		if !rs.refuse && e.Memo == nil {
			rs.dropZones()
		}
	}
	plan, err := rs.assemble(e.Config)
	return &Planned{Plan: plan, st: rs}, err
}

// dropZones lets the records of the zones go once a dry run (not to be
// saved: nothing will be written from it) has planned and checked them:
// what is left to do (assemble, log, print) reads the plans only.
func (rs *runState) dropZones() {
	for _, z := range rs.order {
		z.live, z.liveIdx, z.cond = nil, nil, zoneCond{refusal: z.cond.refusal}
		z.packed = canon.Packed{}
	}
}

// Apply writes a plan Plan made: each zone with changes to apply is locked,
// read again when another maildns may have written it (and planned again
// under its lock), journaled, written in one call (or one per kind of
// write) for all its domains, read back, verified and released, at most
// Concurrency zones at once. A zone that changed between the read and the
// write is read and planned again, at most maxReplans times (a saved plan's
// zone is refused instead: ApplySaved). The checks then run on the zones
// as written, and the run is logged.
func (e *Engine) Apply(ctx context.Context, pl *Planned) (*Plan, error) {
	rs := pl.st
	if rs == nil || !rs.applyNext || rs.applied {
		return pl.Plan, errors.New("apply: not a plan made to be applied in this run, or applied already")
	}
	rs.applied = true
	rs.writeZones(ctx, e)
	if pruneJournal(rs.order) {
		rs.journal = e.Config.StateDir
	} else if e.Config.StateDir != "" {
		removeJournalTemps(e.Config.StateDir) // pruning does it when the run wrote
	}
	for _, z := range rs.order {
		for _, p := range z.parts {
			settleHeld(p)
		}
	}
	// The shares' statuses are final: the DKIM rotation they decide is
	// recorded (its file written and synced) while the zones are checked.
	rotated := make(chan error, 1)
	go func() { rotated <- rs.rot.commit(rs.statuses(), rs.log) }()
	rs.check(ctx, e) // on the zones as they now are
	plan, err := rs.assemble(e.Config)
	e.Memo.fill(ctx, plan, rs.runs, rs.live)
	if err := <-rotated; err != nil {
		rs.log.Warn("recording the DKIM rotation failed", "state_dir", e.Config.StateDir, "error", err.Error())
	}
	rs.logRun(ctx, plan)
	return plan, err
}

// Report logs a plan that is not applied (a dry run) as its run, and
// returns it.
func (e *Engine) Report(ctx context.Context, pl *Planned) *Plan {
	if pl.st != nil {
		e.Memo.fill(ctx, pl.Plan, pl.st.runs, pl.st.live)
		pl.st.logRun(ctx, pl.Plan)
	}
	return pl.Plan
}

// Planned is a plan made by Engine.Plan: the plan (the value printed,
// saved and reviewed) and, in this process, what it was made from (the
// zones as read, the compiled policies, the decisions), so that Apply
// writes it without reading again beyond its own checks under the locks.
type Planned struct {
	*Plan
	st *runState
}

// runState is one run between its steps.
type runState struct {
	opts Options
	// refuse: the safety rules refuse what they stop and broken records
	// are held back (a plan made to be applied); else they only warn.
	refuse bool
	start  time.Time
	now    time.Time // the clock of the DKIM rotation dates
	log    *slog.Logger
	limit  int
	// domains are the selected policies, runs their compiled form.
	domains []*policy.Domain
	runs    []*domainRun
	order   []*zoneState
	rot     *rotation
	live    bool // live DNS lookups
	base    Resolver
	baseOK  bool
	// hold holds back the broken records of a share (nil: none are).
	hold func(ctx context.Context, z *zoneState, p *domainZone)
	// writeZone writes one zone with changes to apply (applyLocked for a
	// plan of this process; ApplySaved sets its own).
	writeZone func(ctx context.Context, z *zoneState)
	// applyNext: Apply follows in this run (--once, the daemon, a saved
	// plan's apply) and runs the checks, once, on the zones as it leaves
	// them.
	applyNext bool
	applied   bool   // Apply ran: a plan is applied once
	holdLogs  bool   // the checks' log lines are held for logRun
	journal   string // the state directory the run journaled to

	// cards are the scorecards of the checked domains, in their order, a
	// line per requirement each, when scorecards made them (nil:
	// complianceOf makes them); oddCards those of other lengths.
	cards    *Scorecards
	oddCards map[*domainRun][]Requirement
}

// newRun starts a run: its id, clock, logger, the selected domains as the
// DKIM rotation dates leave them.
func (e *Engine) newRun(opts Options) (*runState, error) {
	rs := &runState{start: time.Now(), log: e.Logger, limit: e.Concurrency}
	if rs.log == nil {
		rs.log = slog.New(slog.DiscardHandler)
	}
	if rs.limit <= 0 {
		rs.limit = DefaultConcurrency
	}
	if opts.Mode == "" {
		opts.Mode = ModeDryRun
	}
	if opts.RunID == "" {
		opts.RunID = NewRunID(rs.start)
	}
	rs.opts = opts
	rs.refuse = opts.Mode != ModeDryRun || opts.ForApply
	rs.applyNext = opts.Mode != ModeDryRun
	rs.writeZone = func(ctx context.Context, z *zoneState) { e.applyLocked(ctx, z, rs.opts, rs.hold) }
	if opts.Mode != ModeDryRun && opts.Mode != ModeOnce && opts.Mode != ModeDaemon {
		return rs, fmt.Errorf("unknown run mode %q", opts.Mode)
	}
	if e.Config == nil {
		return rs, errors.New("no config")
	}
	rs.live = !opts.Offline && e.Config.LiveChecks
	var err error
	rs.domains, err = SelectDomains(e.Config, opts.Domains)
	return rs, err
}

func (rs *runState) emptyPlan() *Plan {
	return &Plan{Version: 1, Mode: rs.opts.Mode, RunID: rs.opts.RunID, Zones: []ZonePlan{}, Findings: []Finding{}}
}

// compile selects the run's domains, moves their DKIM selectors on as the
// rotation dates and its safety rules leave them at this run, compiles
// each and groups the compiled RRsets by provider zone.
func (rs *runState) compile(ctx context.Context, e *Engine) {
	now := time.Now()
	if e.Now != nil {
		now = e.Now()
	}
	if !rs.opts.at.IsZero() {
		now = rs.opts.at
	}
	rs.now = now
	domains, rot := planRotation(e.Config.StateDir, now, rs.domains)
	rs.rot = rot
	e.ZoneCache.newCycle()
	if len(rs.opts.Domains) == 0 {
		domains = e.Memo.plan(ctx, e, now, domains, rot)
	}
	compile := e.Compile
	if compile == nil {
		compile = defaultCompile
	}
	// The zones by key, while the domains are grouped: each domain keeps
	// its own zone (domainRun.zone), so the map goes with this step.
	zones := make(map[zoneKey]*zoneState, len(domains))
	zoneFor := func(k zoneKey) *zoneState {
		z, ok := zones[k]
		if !ok {
			z = &zoneState{key: k, fqdn: k.zone + ".", provider: e.Providers[k.provider]}
			if rs.refuse {
				z.zoneApply = &zoneApply{run: rs.opts.RunID} // a plan to be applied (or saved)
			}
			zones[k] = z
			rs.order = append(rs.order, z)
		}
		return z
	}
	// Each domain's policy is compiled and its share of its own zone made
	// side by side (at 100,000 domains, a third of a second of one core
	// alone); the zones are then gathered in the domains' order.
	rs.runs = make([]*domainRun, len(domains))
	type prepared struct {
		main      zoneKey
		mainPart  *domainZone
		elsewhere bool // an RRset is in another zone
	}
	preps := make([]prepared, len(domains))
	// setZone is the zone of a domain's RRset set, whose own zone is main.
	setZone := func(d *policy.Domain, main zoneKey, set *policy.RRset) zoneKey {
		return zoneKey{cmp.Or(set.Provider, d.Provider), strings.TrimSuffix(strings.ToLower(cmp.Or(set.Zone, main.zone)), ".")}
	}
	prepare := func(i int) {
		d := domains[i]
		r := &domainRun{d: d}
		rs.runs[i] = r
		r.sets, r.err = compile(d)
		if r.err != nil {
			return
		}
		p := prepared{main: r.mainKey()}
		p.mainPart = &domainZone{domain: d, main: true, run: r, watched: !e.Config.Enforced(d)}
		if rs.refuse {
			p.mainPart.more() // a plan to be applied (or saved)
		}
		for j := range r.sets {
			if setZone(d, p.main, &r.sets[j]) != p.main {
				p.elsewhere = true
				break
			}
		}
		if !p.elsewhere {
			// Every RRset is in the domain's own zone (the usual case):
			// share the compiled sets (read only) rather than copy them.
			p.mainPart.sets = r.sets
		}
		preps[i] = p
	}
	const chunk = 256
	forEach((len(domains)+chunk-1)/chunk, runtime.GOMAXPROCS(0), func(c int) {
		for i := c * chunk; i < min((c+1)*chunk, len(domains)); i++ {
			prepare(i)
		}
	})
	for i, r := range rs.runs {
		if r.err != nil {
			continue
		}
		d, main, mainPart := r.d, preps[i].main, preps[i].mainPart
		z := zoneFor(main)
		r.zone = z
		z.parts = append(z.parts, mainPart)
		if !preps[i].elsewhere {
			continue
		}
		watched := mainPart.watched
		// A few zones (a reverse zone or two): found by a scan.
		keys, parts := []zoneKey{main}, []*domainZone{mainPart}
		for i := range r.sets {
			k := setZone(d, main, &r.sets[i])
			j := slices.Index(keys, k)
			if j < 0 {
				j = len(parts)
				p := &domainZone{domain: d, main: false, run: r, watched: watched}
				if rs.refuse {
					p.more()
				}
				keys, parts = append(keys, k), append(parts, p)
				z := zoneFor(k)
				z.parts = append(z.parts, p)
			}
			parts[j].sets = append(parts[j].sets, r.sets[i])
		}
	}
}

// readZones reads each zone once, concurrently, without its lock (a zone
// is locked, and read again if need be, only when it is to be written),
// and plans each domain's share of it as soon as it is read.
func (rs *runState) readZones(ctx context.Context, e *Engine) {
	// A dry run's plan is only printed (dropZones): after its plan only
	// the checks read a zone, and they read a packed one as well.
	pack := !rs.applyNext && !rs.refuse && e.Memo == nil
	forEach(len(rs.order), rs.limit, func(i int) {
		z := rs.order[i]
		if rs.refuse && e.Config.StateDir != "" {
			z.gen, z.genOK = zoneGeneration(e.Config.StateDir, z.key.provider, z.key.zone)
		}
		e.ZoneCache.readFirst(ctx, z)
		if rs.refuse && rs.live && z.zoneApply != nil && z.err == nil && len(z.live) > indexedZone {
			// The SPF hold's resolver would index a large zone's names
			// on its first lookup, the shares waiting: it is built
			// while the shares are planned.
			z.liveNames, z.namesOf = check.IndexNames(z.live), z.live
		}
		planZone(z, rs.refuse)
		if pack {
			z.pack()
		}
	})
	for _, z := range rs.order {
		if z.err != nil {
			rs.log.Error("reading zone failed", "zone", z.key.zone, "provider", z.key.provider, "err", z.err)
		}
	}
}

// safety runs the safety limits on each zone's plan (SPEC §6).
func (rs *runState) safety(cfg *policy.Config) {
	for _, z := range rs.order {
		safetyZone(cfg, rs.opts, rs.refuse, z)
	}
}

// holdBroken holds back, in a plan made to be applied, a record whose own
// check finds it broken (an SPF record over the lookup limits: SPEC §6).
func (rs *runState) holdBroken(ctx context.Context, e *Engine) {
	if !rs.refuse {
		return // a dry run shows the change and the check's finding
	}
	var resolver Resolver // offline: the checks that need no lookups
	if rs.live {
		resolver = e.runResolver(rs.runBase(e), rs.order)
	}
	rs.hold = func(ctx context.Context, z *zoneState, p *domainZone) { holdSPF(ctx, rs.log, resolver, z, p) }
	// Each share is checked on its own (its zone's records only read), so
	// the shares of one large zone are checked side by side too.
	type share struct {
		z *zoneState
		p *domainZone
	}
	var shares []share
	for _, z := range rs.order {
		if z.err != nil {
			continue
		}
		for _, p := range z.parts {
			shares = append(shares, share{z, p})
		}
	}
	forEach(len(shares), rs.limit, func(i int) { rs.hold(ctx, shares[i].z, shares[i].p) })
}

// runBase is the run's one resolver (and cache) for the names outside the
// zones: the holds and every check of the run share it.
func (rs *runState) runBase(e *Engine) Resolver {
	if !rs.baseOK {
		rs.base, rs.baseOK = e.runBase(), true
	}
	return rs.base
}

// writeZones writes each zone with changes to apply (writeZone), at most
// limit at once; a zone not started when ctx is done is not attempted.
func (rs *runState) writeZones(ctx context.Context, e *Engine) {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(rs.limit)
	for _, z := range rs.order {
		if z.err != nil || !slices.ContainsFunc(z.parts, func(p *domainZone) bool { return p.plan.Status == StatusDrift }) {
			continue
		}
		g.Go(func() error {
			if gctx.Err() != nil {
				// Stopped (SIGTERM) between zones: this one is not started.
				notStarted(z, gctx.Err())
				return nil
			}
			rs.writeZone(gctx, z)
			return nil
		})
	}
	_ = g.Wait()
}

// check runs the checks, per domain, on the zones as they now are. What a
// check logs is kept with the domain and logged with the run (logRun),
// after its drift, as the run's lines.
func (rs *runState) check(ctx context.Context, e *Engine) {
	var resolver Resolver
	if rs.live {
		resolver = e.runResolver(rs.runBase(e), rs.order)
	}
	// A logger that logs nothing the checks log (the daemon's at error
	// level, a discarding one) needs nothing held.
	rs.holdLogs = rs.log.Enabled(ctx, slog.LevelDebug) || rs.log.Enabled(ctx, slog.LevelWarn)
	// envFor makes r's env, in s when not nil (a worker's, reused once
	// the domain is judged).
	envFor := func(r *domainRun, hold **heldLog, s *checkScratch) *CheckEnv {
		z := r.zone
		env := s.cleanEnv()
		env.Resolver = e.Memo.watch(r.d.Domain, resolver)
		env.Live = rs.live
		env.Zone = z.current()
		env.Index = z.checksIndex()
		env.Desired = r.sets
		env.Logger = s.logger(rs.log.Handler(), r.d.Domain, hold)
		env.HTTPClient, env.DialSMTP = e.HTTPClient, e.DialSMTP
		return env
	}
	checked := make([]*domainRun, 0, len(rs.runs))
	for _, r := range rs.runs {
		r.findings, r.env, r.logs, r.checked = nil, nil, nil, false
		if r.err != nil {
			continue
		}
		z := r.zone
		if z == nil || z.err != nil {
			continue
		}
		z.currentIndex() // made here, once, if it is made on demand
		r.checked = true
		checked = append(checked, r)
	}
	checks := e.checks()
	sc := rs.newScoring(checked)
	var scratch stdsync.Pool // of *checkScratch
	forEach(len(checked), rs.limit, func(i int) {
		r := checked[i]
		var hold **heldLog // made when a check logs
		if rs.holdLogs {
			hold = &r.logs
		}
		// Made here, not for every domain before the first is checked:
		// only the envs of the domains being checked are kept at once.
		s, _ := scratch.Get().(*checkScratch)
		if s == nil {
			s = &checkScratch{}
		}
		r.env = envFor(r, hold, s)
		for _, c := range checks {
			r.findings = append(r.findings, c.Run(ctx, r.env, r.d)...)
		}
		sc.judge(i, &s.card)
		if r.env == nil {
			scratch.Put(s) // judged: its env and logger are free
		}
	})
	// An env made again only to be judged logs nothing it would hold.
	sc.finish(func(r *domainRun) *CheckEnv { return envFor(r, nil, nil) })
}

// statuses is the domain and status of each zone plan assemble makes
// (the rest left out): what the DKIM rotation's commit looks at.
func (rs *runState) statuses() *Plan {
	plan := &Plan{}
	for _, r := range rs.runs {
		if r.err != nil {
			plan.Zones = append(plan.Zones, ZonePlan{Domain: r.d.Domain, Status: StatusError})
		}
	}
	for _, z := range rs.order {
		for _, p := range z.parts {
			plan.Zones = append(plan.Zones, ZonePlan{Domain: p.plan.Domain, Status: p.plan.Status})
		}
	}
	return plan
}

// assemble makes the plan of the run as it stands, and the error of the
// zones and domains that failed.
func (rs *runState) assemble(cfg *policy.Config) (*Plan, error) {
	plan := rs.emptyPlan()
	plan.Journal = rs.journal
	n := 0
	for _, z := range rs.order {
		n += len(z.parts)
	}
	for _, r := range rs.runs {
		if r.err != nil {
			n++
		}
	}
	plan.Zones = make([]ZonePlan, 0, n) // a share each, a failed compile each
	var extra []Finding
	for _, z := range rs.order {
		for _, p := range z.parts {
			safety, held, verify, checks := p.extraFindings()
			extra = append(extra, safety...)
			extra = append(extra, held...)
			extra = append(extra, verify...)
			extra = append(extra, checks...)
		}
	}
	var errs []error
	for _, r := range rs.runs {
		if r.err != nil {
			plan.Zones = append(plan.Zones, ZonePlan{
				Domain: r.d.Domain, Zone: domainZoneName(r.d), Provider: r.d.Provider,
				Status: StatusError, Changes: []Change{}, Error: r.err.Error(),
			})
			errs = append(errs, fmt.Errorf("domain %s: %w", r.d.Domain, r.err))
		}
		plan.Findings = append(plan.Findings, r.findings...)
		plan.Findings = append(plan.Findings, rs.rot.domainFindings(r.d.Domain)...)
	}
	for _, z := range rs.order {
		if z.err != nil {
			// A failed read is one error, however many domains share the zone.
			errs = append(errs, inZone(z, z.err))
		}
		for _, p := range z.parts {
			plan.Zones = append(plan.Zones, p.plan)
			if p.err != nil && z.err == nil {
				errs = append(errs, shareError(z, p))
			}
		}
	}
	plan.Findings = append(plan.Findings, extra...)
	sortPlan(plan, rs.runs)
	plan.Summary = summarise(plan)
	if !rs.opts.NoScorecard {
		plan.Compliance, plan.Cards = rs.compliance(plan.Findings)
	}
	for _, r := range rs.runs {
		if !cfg.Enforced(r.d) {
			plan.Watched = append(plan.Watched, r.d.Domain)
		}
	}
	plan.Summary.Watched = len(plan.Watched)
	return plan, errors.Join(errs...)
}

// logRun logs the run: each change (drift), what the checks logged, each
// finding, and `sync finished`.
func (rs *runState) logRun(ctx context.Context, plan *Plan) {
	log := rs.log
	for _, z := range rs.order {
		for _, p := range z.parts {
			logDrift(log, z, p, rs.opts.Mode)
		}
	}
	for _, r := range rs.runs {
		r.logs.replay(ctx)
	}
	for _, f := range plan.Findings {
		lvl := slog.LevelWarn
		switch f.Severity {
		case SevError:
			lvl = slog.LevelError
		case SevInfo:
			continue
		}
		log.LogAttrs(ctx, lvl, "finding", slog.String("domain", f.Domain), slog.String("kind", f.Kind), slog.String("severity", f.Severity),
			slog.String("subject", f.Subject), slog.String("message", f.Message))
	}
	calls := 0
	for _, z := range rs.order {
		calls += z.calls
	}
	log.Info("sync finished",
		"duration", time.Since(rs.start).Round(time.Millisecond).Seconds(),
		"zones", len(plan.Zones),
		"changes", written(plan),
		"planned", plan.Summary.Create+plan.Summary.Update+plan.Summary.Delete,
		"findings", plan.Summary.Findings,
		"errors", plan.Summary.Errors,
		"watched", plan.Summary.Watched,
		"provider_calls", calls,
		"run_id", rs.opts.RunID,
		"journal", plan.Journal)
}

// runBase returns a run's resolver for the names outside the zones it read:
// Engine.Resolver, else one built from Config.Resolvers (empty:
// /etc/resolv.conf), behind the run's cache. A run builds it once: a new
// cache per run (shared by the SPF hold before applying and the checks
// after it), so answers never outlive the run.
func (e *Engine) runBase() Resolver {
	r := e.Resolver
	if r == nil {
		r = check.NewDNSResolver(e.Config.Resolvers, check.DefaultResolverTimeout)
	}
	return check.NewCachingResolver(r)
}

// runResolver returns the resolver the checks of a run use: the zones as
// they now are, then base (runBase) for the rest.
func (e *Engine) runResolver(r Resolver, zones []*zoneState) Resolver {
	m := make(map[string]check.Zone, len(zones))
	for _, z := range zones {
		if z.err != nil {
			continue
		}
		// The zone resolver only reads the records: share them (packed
		// when they are), and copy only to join one zone read at two
		// providers.
		zone := check.Zone{Records: z.current()}
		switch {
		case z.packed.Len() > 0:
			zone = check.Zone{Packed: &z.packed}
		case z.zoneApply != nil && z.liveNames != nil && sameArray(z.namesOf, zone.Records):
			zone.Names = z.liveNames
		}
		if have, ok := m[z.key.zone]; ok {
			m[z.key.zone] = check.Zone{Records: append(slices.Clip(zoneRecords(have)), zoneRecords(zone)...)}
		} else {
			m[z.key.zone] = zone
		}
	}
	e.Memo.addZones(m, zones)
	return check.NewZoneResolverOf(m, r)
}

// sameArray reports whether a and b are the same records of one array.
func sameArray(a, b []libdns.RR) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// planZone plans each domain's share of z as soon as z is read (zones in
// parallel): diff against one index of the zone's records for all its
// domains, then the changes and status of the share's plan.
func planZone(z *zoneState, apply bool) {
	// A dry run lets each share's diffs go once its plan is made (below):
	// the shares reuse one set of arrays.
	var scratch *diffScratch
	if !apply {
		scratch = diffScratches.Get().(*diffScratch)
		defer scratch.release()
	}
	var idx liveIndex // nil: a small zone, scanned
	if z.err == nil && len(z.live) > smallZone {
		idx = indexLive(z.live)
		if len(z.live) > indexedZone {
			z.liveIdx = idx // for the checks' lookups too
		}
	}
	plan := func(p *domainZone) {
		p.plan = ZonePlan{Domain: p.domain.Domain, Zone: z.key.zone, Provider: z.key.provider, Changes: []Change{}}
		if z.err != nil {
			p.plan.Status = StatusError
			p.plan.Error = z.err.Error()
			p.err = z.err
			p.diffs, p.spf = nil, spfUnchecked
			if a := p.shareApply; a != nil {
				a.held, a.holds = nil, nil
			}
			return
		}
		p.diffs = diffLiveIn(scratch, p.sets, z.live, idx)
		for _, d := range p.diffs {
			if d.Change != nil {
				p.plan.Changes = append(p.plan.Changes, *d.Change)
			}
		}
		p.plan.Status = StatusInSync
		if len(p.plan.Changes) > 0 {
			p.plan.Status = StatusDrift
		}
		planFiles(p)
		writeChecks(z, p, apply, idx)
		if p.watched && p.plan.Status == StatusDrift {
			p.plan.Status = StatusWatched // never applied, records or files
		}
		if !apply {
			// Only applying needs the diffs beyond their changes: a dry
			// run over thousands of zones lets them go at once.
			p.diffs = nil
		}
	}
	if scratch == nil && len(z.parts) >= manyShares {
		// Each share is planned on its own (the zone's records and index
		// only read): a zone of many domains is planned side by side.
		forEach(len(z.parts), DefaultConcurrency, func(i int) { plan(z.parts[i]) })
		return
	}
	for _, p := range z.parts {
		plan(p)
	}
}

// manyShares is the number of domains sharing a zone from which their
// shares are planned and verified side by side.
const manyShares = 64

// safetyZone runs the safety rules on each share of z (SPEC §6) and, when
// apply, refuses the shares they stop.
func safetyZone(cfg *policy.Config, opts Options, apply bool, z *zoneState) {
	if z.err != nil {
		for _, p := range z.parts {
			if a := p.shareApply; a != nil {
				a.safety = nil
			}
		}
		return
	}
	// max_changes counts the zone's changes, all its domains together; a
	// watched share is never written, so it neither counts nor is refused:
	// its safety findings say what a sync would refuse, as in a dry run.
	shares := make([]*ZonePlan, 0, len(z.parts))
	owners := make([]*domainZone, 0, len(z.parts))
	for _, p := range z.parts {
		if a := p.shareApply; a != nil {
			a.safety = nil
		}
		if !p.watched {
			shares = append(shares, &p.plan)
			owners = append(owners, p)
		}
	}
	limit := zoneLimitFindings(cfg, opts, apply, z.key.zone, z.key.provider, shares)
	for i, f := range limit {
		m := owners[i].more()
		m.safety = append(m.safety, f)
	}
	for _, p := range z.parts {
		apply := apply && !p.watched
		live := z.live
		if z.packed.Len() > 0 && slices.ContainsFunc(p.plan.Changes, subDMARCChange) {
			live = z.packed.Unpack() // a packed zone's records, read by few
		}
		fs := changeFindings(cfg, opts, apply, p.domain, &p.plan)
		fs = append(fs, parentDMARCFindings(cfg, opts, apply, p.domain, &p.plan, live)...)
		if len(fs) > 0 {
			m := p.more()
			m.safety = append(m.safety, fs...)
		}
		if safety, _, _, _ := p.extraFindings(); len(safety) > 0 && apply {
			p.plan.Status = StatusRefused
		}
	}
	if apply && len(limit) > 0 {
		// The zone is refused as one: no share of it is written.
		for _, p := range z.parts {
			if p.plan.Status == StatusDrift {
				p.plan.Status = StatusRefused
			}
		}
	}
}

// applyLocked writes z: with a state directory it takes the zone's lock
// (waiting at most LockWait) and, when another maildns held that lock since
// the first read, reads the zone again under it and plans it again
// (safety rules and SPF hold included), so that nothing is written from a
// read another maildns may have changed the zone after; then it
// applies, reads back, verifies, records the journal's outcome and
// releases the lock. A zone it cannot lock is an error.
func (e *Engine) applyLocked(ctx context.Context, z *zoneState, opts Options, hold func(context.Context, *zoneState, *domainZone)) {
	if !e.lockForWrite(ctx, z, opts.Mode) {
		return
	}
	defer releaseZones([]*zoneState{z})
	// A zone once locked is finished (read, written, read back, journaled)
	// even when the run is stopped meanwhile: a stop takes effect between
	// zones, never inside one.
	ctx = context.WithoutCancel(ctx)
	// The next cycle reads a zone maildns writes in full, whatever its
	// version token says.
	defer e.ZoneCache.forget(z.key)
	// A zone whose first read came from the ZoneCache is read again in full
	// here, before anything is planned to be written: the write is planned
	// from this run's read (and made conditional on it), never from the
	// cache. A zone read again is planned again (safety rules and SPF hold
	// included); one that is not is planned as Plan left it: the same
	// records give the same plan.
	reread := z.cached
	if z.unlock != nil {
		z.journal.runPrune = true // pruned once, after the run's writes
		// Read again only when another maildns held the lock since the
		// first read (the lock generation moved): it may have written.
		if gen, ok := zoneGeneration(e.Config.StateDir, z.key.provider, z.key.zone); !z.genOK || !ok || gen != z.gen {
			reread = true
		}
	}
	if reread {
		readLive(ctx, z)
		planZone(z, true)
		safetyZone(e.Config, opts, true, z)
		if z.err != nil {
			return
		}
		if hold != nil {
			for _, p := range z.parts {
				hold(ctx, z, p)
			}
		}
	}
	e.applyConverging(ctx, z, opts, hold)
	verify := func(i int) { z.parts[i].verify = verifyFindings(z, z.parts[i]) }
	if len(z.parts) >= manyShares {
		// Each share is verified on its own against the read-back index
		// (built with the read-back): side by side.
		if z.readBack {
			z.afterIndex()
		}
		forEach(len(z.parts), DefaultConcurrency, verify)
	} else {
		for i := range z.parts {
			verify(i)
		}
	}
	z.journal.finish(z.parts)
}

// lockForWrite takes z's lock (when the config has a state directory);
// false when it cannot, with the zone's shares failed (or not attempted
// when ctx is done).
func (e *Engine) lockForWrite(ctx context.Context, z *zoneState, mode string) bool {
	err := e.lock(ctx, z, mode)
	switch {
	case err == nil:
		return true
	case ctx.Err() != nil:
		notStarted(z, ctx.Err())
		return false
	}
	// The plan keeps what was to be written: only the write failed.
	z.err = err
	for _, p := range z.parts {
		p.err = err
		p.plan.Status, p.plan.Error = StatusError, err.Error()
	}
	return false
}

// indexedZone is the size over which a zone's index of records is kept for
// the checks: they look names up in a large zone (one of many domains) by
// the index, in a small one by a scan.
const indexedZone = check.IndexedZone

// afterIndex returns the read-back records by name and type, indexed once.
func (z *zoneState) afterIndex() liveIndex {
	if z.afterIdx == nil {
		z.afterIdx = indexLive(z.after)
	}
	return z.afterIdx
}

// currentIndex returns the index of current() for a large zone, else nil.
func (z *zoneState) currentIndex() liveIndex {
	if len(z.current()) <= indexedZone {
		return nil
	}
	if z.readBack {
		return z.afterIndex()
	}
	return z.liveIdx
}

// current returns the zone's records as they now are: read back after
// applying, else as read.
func (z *zoneState) current() []libdns.RR {
	if z.readBack {
		return z.after
	}
	return z.live
}

// defaultCompile compiles a policy when Engine.Compile is nil.
var defaultCompile = policy.Compile

func domainZoneName(d *policy.Domain) string {
	return strings.TrimSuffix(strings.ToLower(cmp.Or(d.Zone, d.Domain)), ".")
}

// SelectDomains returns the config's domains, or only those named (sorted);
// a name without a policy is an error.
func SelectDomains(cfg *policy.Config, names []string) ([]*policy.Domain, error) {
	if len(names) == 0 {
		return cfg.Domains, nil
	}
	byName := map[string]*policy.Domain{}
	for _, d := range cfg.Domains {
		byName[d.Domain] = d
	}
	var out []*policy.Domain
	var unknown []string
	seen := map[string]bool{}
	for _, n := range names {
		n = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(n)), ".")
		d, ok := byName[n]
		if !ok {
			unknown = append(unknown, n)
			continue
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, d)
		}
	}
	if len(unknown) > 0 {
		known := make([]string, 0, len(cfg.Domains))
		for _, d := range cfg.Domains {
			known = append(known, d.Domain)
		}
		return nil, fmt.Errorf("no policy for domain %s (policies: %s)", strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
	slices.SortFunc(out, func(a, b *policy.Domain) int { return strings.Compare(a.Domain, b.Domain) })
	return out, nil
}

// readZone reads a zone from its provider and normalises every record.
func readZone(ctx context.Context, z *zoneState) ([]libdns.RR, error) {
	out, _, err := readZoneRaw(ctx, z, nil)
	return out, err
}

// readZoneRaw is readZone that also returns the records as the provider
// gave them (none when it gave them in canonical form), and notes in cond
// (when not nil) the records whose data differs from what
// providers.CheckExpect will see.
func readZoneRaw(ctx context.Context, z *zoneState, cond *zoneCond) ([]libdns.RR, []libdns.Record, error) {
	if z.provider == nil {
		return nil, nil, fmt.Errorf("provider %q is not configured", z.key.provider)
	}
	z.calls++
	canon, recs, err := providers.GetRecordsCanonical(ctx, z.provider, z.fqdn)
	if err != nil {
		var ce *providers.CallError
		if !errors.As(err, &ce) {
			err = &providers.CallError{Provider: z.key.provider, Op: providers.OpGetRecords, Zone: z.fqdn, Err: err}
		}
		return nil, nil, err
	}
	if canon != nil {
		return canon, nil, nil // already as the loop below would make them
	}
	out := make([]libdns.RR, 0, len(recs))
	for _, rec := range recs {
		rr, err := providers.Normalize(rec, z.fqdn)
		if raw := rec.RR().Data; err == nil && (rr.Type == "TXT" || rr.Type == "SPF") && !strings.HasPrefix(raw, `"`) {
			// The backends return TXT as the text itself: normalising it
			// again would read a backslash in it as an escape.
			normal := rr.Data
			rr.Data = raw
			if cond != nil && normal != raw {
				cond.setForm(rr, expectForm{data: normal})
			}
		}
		if err != nil {
			// Keep what cannot be parsed as it came, so that it is
			// compared (and, when owned, replaced) rather than ignored.
			raw := rec.RR()
			rr = libdns.RR{Name: providers.RelativeName(raw.Name, z.fqdn), Type: strings.ToUpper(raw.Type), TTL: raw.TTL.Truncate(time.Second), Data: raw.Data}
			if cond != nil {
				cond.setForm(rr, expectForm{skip: true})
			}
		}
		out = append(out, rr)
	}
	return out, recs, nil
}

// applyZone writes the changes of every domain's share of z that may be
// applied as one write for the whole zone, then reads the zone back once.
// Each share's journal entry is written first (a share whose entry cannot
// be is not written); then one ReplaceRecords call (when the provider can
// replace and the zone's writes both remove and add) or one call per kind of
// write carries every share's changes, the shares that add an address first
// (BIND refuses an MX to an in-zone name without an address, even later in
// the same UPDATE). A share's changes carried by a failed call are failed in
// its entry, and the share is an error.
func applyZone(ctx context.Context, z *zoneState) {
	type share struct {
		p         *domainZone
		perChange []writeOps
		entry     *openEntry
	}
	var shares []share
	var ops writeOps
	attempted := false
	// Every share's entry first, all made durable together (one sync for
	// the zone), before any of the shares' files or records is written.
	type pending struct {
		s     share
		o     writeOps
		entry bool // the share is journaled
	}
	var todo []pending
	var want []entryOf
	for _, p := range writeOrder(z.parts) {
		if p.plan.Status != StatusDrift {
			continue
		}
		attempted = true
		perChange, o := shareOps(p)
		t := pending{s: share{p: p, perChange: perChange}, o: o}
		if z.journal != nil && (!o.empty() || len(p.plan.Files) > 0) {
			t.entry = true
			want = append(want, entryOf{domain: p.domain.Domain, changes: p.plan.Changes, files: p.plan.Files})
		}
		todo = append(todo, t)
	}
	var opened []*openEntry
	var jerr error
	if len(want) > 0 {
		opened, jerr = z.journal.beginAll(z, want)
	}
	for _, t := range todo {
		s, p := t.s, t.s.p
		if t.entry {
			if jerr != nil {
				p.err = jerr
				p.plan.Status = StatusError
				p.plan.Error = jerr.Error()
				continue
			}
			s.entry, opened = opened[0], opened[1:]
			z.journal.remember(p, s.entry)
		}
		if err := writeFiles(p.plan.Files); err != nil {
			// The policy file goes first (RFC 8461 §8.3): without it the
			// records that announce it wait.
			p.err = err
			p.plan.Status = StatusError
			p.plan.Error = err.Error()
			if s.entry != nil {
				z.journal.abortLater(s.entry, err)
			}
			continue
		}
		p.wrote = true
		ops.add(t.o)
		shares = append(shares, s)
	}
	if !attempted {
		return
	}
	var n int
	var err error
	if !ops.empty() {
		n, err = applyOps(ctx, z, ops)
		z.calls += n
	}
	// A zone that changed since it was read was not written: the caller
	// reads it again, so it is not read back here.
	changed := errors.Is(err, providers.ErrChanged)
	oneCall := ops.oneCall(z.provider)
	var ended []*openEntry
	var endedBy []*domainZone
	var results []*JournalResult
	for _, s := range shares {
		p := s.p
		if !allDone(changeResults(p.plan.Changes, s.perChange, ops, oneCall, n, err)) {
			p.err = err
		}
		if changed && s.entry != nil && len(p.plan.Files) == 0 {
			// Nothing was written: an entry would restore a state the
			// zone no longer had. The write planned again makes its own.
			z.journal.discard(p, s.entry)
			s.entry = nil
		}
		if s.entry != nil {
			ended = append(ended, s.entry)
			endedBy = append(endedBy, p)
			results = append(results, z.journal.result(s.entry, s.perChange, ops, oneCall, n, p.err))
		}
	}
	// The zone is read back while every outcome goes to the journal in
	// one durable write: the two touch nothing in common.
	var after []libdns.RR
	var readErr error
	readBack := stdsync.WaitGroup{}
	var afterIdx liveIndex
	if !changed {
		readBack.Go(func() {
			after, readErr = readZone(ctx, z)
			if readErr == nil && len(z.parts) >= manyShares {
				afterIdx = indexLive(after) // for verifying the shares
			}
		})
	}
	if len(ended) > 0 || z.journal.pending() {
		if jerr := z.journal.endAll(ended, results); jerr != nil {
			for _, p := range endedBy {
				p.err = errors.Join(p.err, jerr)
			}
		}
	}
	readBack.Wait()
	for _, s := range shares {
		p := s.p
		if p.err != nil {
			p.plan.Status = StatusError
			p.plan.Error = p.err.Error()
		} else {
			p.plan.Status = StatusApplied
		}
	}
	if changed {
		return
	}
	if err := readErr; err != nil {
		for _, p := range z.parts {
			if p.wrote && p.err == nil {
				p.err = fmt.Errorf("reading back after applying: %w", err)
				p.plan.Status = StatusError
				p.plan.Error = p.err.Error()
			}
		}
		return
	}
	z.after, z.afterIdx, z.readBack = after, afterIdx, true
}

// verifyFindings compares what was read back with the plan for one domain's
// share of a zone: every owned value must be as planned and every foreign
// value at a changed name and type must still be there.
func verifyFindings(z *zoneState, p *domainZone) []Finding {
	if !p.wrote || !z.readBack || (p.err != nil && wroteNothing(z, p)) {
		// A write that failed and wrote nothing is its one error.
		return nil
	}
	var out []Finding
	now := diffIndexed(p.sets, z.afterIndex())
	byKey := map[nameType]rrsetDiff{}
	for _, d := range now {
		byKey[nameType{d.Set.Name, d.Set.Type}] = d
	}
	var problems []string
	for _, before := range p.diffs {
		if before.Change == nil {
			continue
		}
		subject := before.Set.Name + " " + before.Set.Type
		after := byKey[nameType{before.Set.Name, before.Set.Type}]
		if after.Change != nil {
			msg := fmt.Sprintf("after applying, %s in zone %s has %s, want %s",
				subject, z.key.zone, showValues(liveValues(after.OwnedLive), after.OwnedLive), showWant(after.Set))
			out = append(out, Finding{Severity: SevError, Kind: "verify", Domain: p.domain.Domain, Subject: subject, Message: msg})
			problems = append(problems, subject+" not as planned")
		}
		have := map[string]bool{}
		for _, rr := range after.Foreign {
			have[rr.Data] = true
		}
		for _, rr := range before.Foreign {
			if !have[rr.Data] {
				msg := fmt.Sprintf("after applying, the foreign value %q of %s in zone %s is gone", rr.Data, subject, z.key.zone)
				out = append(out, Finding{Severity: SevError, Kind: "verify", Domain: p.domain.Domain, Subject: subject, Message: msg})
				problems = append(problems, subject+" lost a foreign value")
			}
		}
	}
	if len(problems) > 0 && p.err == nil {
		p.err = fmt.Errorf("verify: %s", strings.Join(problems, "; "))
		p.plan.Status = StatusError
		p.plan.Error = p.err.Error()
	}
	return out
}

func showWant(s policy.RRset) string {
	if s.Absent {
		return "none"
	}
	return fmt.Sprintf("%s (ttl %d)", joinValues(s.Values), seconds(s.TTL))
}

func showValues(vals []string, recs []libdns.RR) string {
	if len(vals) == 0 {
		return "none"
	}
	return fmt.Sprintf("%s (ttl %d)", joinValues(vals), liveTTL(recs))
}

// joinValues joins values for a log line or message.
func joinValues(vals []string) string { return strings.Join(vals, " | ") }

// logDrift logs every change of one domain's share of a zone.
func logDrift(log *slog.Logger, z *zoneState, p *domainZone, mode string) {
	action := "would_correct"
	switch p.plan.Status {
	case StatusApplied:
		action = "corrected"
	case StatusRefused:
		action = "refused"
	case StatusError:
		action = "failed"
	}
	if mode == ModeDryRun {
		action = "would_correct"
	}
	for _, c := range p.plan.Changes {
		// Attrs in an array, not key-value pairs: a line boxes no value
		// and makes no slice (a run logs a line per change).
		attrs := [10]slog.Attr{
			slog.String("domain", p.domain.Domain),
			slog.String("zone", z.key.zone),
			slog.String("provider", z.key.provider),
			slog.String("name", c.Name),
			slog.String("type", c.Type),
			slog.String("want", joinValues(c.After)),
			slog.String("have", joinValues(c.Before)),
			slog.String("action", action),
		}
		n := 8
		if c.BeforeTTL != 0 && c.BeforeTTL != c.TTL {
			// A TTL-only drift would otherwise read want == have.
			attrs[8], attrs[9], n = slog.Int("want_ttl", c.TTL), slog.Int("have_ttl", c.BeforeTTL), 10
		}
		log.LogAttrs(context.Background(), slog.LevelWarn, "drift", attrs[:n]...)
	}
}

// sortPlan orders zones by domain (its own zone first) and findings by
// domain, kind and subject.
func sortPlan(plan *Plan, runs []*domainRun) {
	// Zones assembled in domain order, a zone each (the usual case), are
	// sorted already: a stable sort would leave them as they are.
	for i := 1; i < len(plan.Zones); i++ {
		if plan.Zones[i-1].Domain >= plan.Zones[i].Domain {
			sortZones(plan, runs)
			break
		}
	}
	findingOrder := func(a, b Finding) int {
		return cmp.Or(strings.Compare(a.Domain, b.Domain), strings.Compare(a.Kind, b.Kind), strings.Compare(a.Subject, b.Subject))
	}
	if !slices.IsSortedFunc(plan.Findings, findingOrder) {
		slices.SortStableFunc(plan.Findings, findingOrder)
	}
}

// sortZones orders a plan's zones by domain, its own zone first.
func sortZones(plan *Plan, runs []*domainRun) {
	mainZone := map[string]zoneKey{}
	for _, r := range runs {
		mainZone[r.d.Domain] = r.mainKey()
	}
	slices.SortStableFunc(plan.Zones, func(a, b ZonePlan) int {
		if c := strings.Compare(a.Domain, b.Domain); c != 0 {
			return c
		}
		m := mainZone[a.Domain]
		am := a.Zone == m.zone && a.Provider == m.provider
		bm := b.Zone == m.zone && b.Provider == m.provider
		if am != bm {
			if am {
				return -1
			}
			return 1
		}
		return cmp.Or(strings.Compare(a.Zone, b.Zone), strings.Compare(a.Provider, b.Provider))
	})
}

// summarise counts a plan.
func summarise(plan *Plan) Summary {
	var s Summary
	for _, z := range plan.Zones {
		for _, c := range z.Changes {
			switch c.Action {
			case ActionCreate:
				s.Create++
			case ActionUpdate:
				s.Update++
			case ActionDelete:
				s.Delete++
			}
		}
		for _, f := range z.Files {
			switch f.Action {
			case ActionCreate:
				s.Create++
			case ActionDelete:
				s.Delete++
			default:
				s.Update++
			}
		}
		if z.Status == StatusError {
			s.Errors++
		}
	}
	s.Findings = len(plan.Findings)
	return s
}
