package sync

import (
	"cmp"
	"slices"
	"strings"
	stdsync "sync"
	"sync/atomic"

	"github.com/maildns/maildns/sync/check"
	"github.com/maildns/maildns/sync/plan"
)

// The live checks and their resolvers live in package check; these names
// keep the engine's code, and its callers, speaking of them as before.
type (
	CheckEnv        = check.Env
	Check           = check.Func
	Resolver        = check.Resolver
	Answer          = check.Answer
	ZoneResolver    = check.ZoneResolver
	CachingResolver = check.CachingResolver
	DNSResolver     = check.DNSResolver
	LookupStats     = check.LookupStats
)

// checks returns the live checks the engine runs on each domain.
func (e *Engine) checks() []check.Check {
	if e.Checks != nil {
		return e.Checks
	}
	return check.All()
}

// scoring judges each checked domain's scorecard as soon as its checks
// ran (in the check's worker), from its findings in the order of the
// plan's (assemble's), into one array for the run, and lets the domain's
// check env go at once: its parsed records, logger and zone view are not
// kept while the other domains are checked (at 100,000 domains they were
// the peak of the run's memory). A finding about another domain than the
// one whose checks or share made it (a check of Engine.Checks may) would
// belong to that domain's scorecard: then the envs are kept (those let go
// already are made again) and the plan's findings judge (complianceOf).
type scoring struct {
	rs      *runState
	checked []*domainRun
	none    bool // the plan has no scorecard (Options.NoScorecard)
	extra   map[*domainRun][]Finding
	per     int
	cards   *plan.Scorecards
	off     atomic.Bool // complianceOf judges: keep every env
	mu      stdsync.Mutex
	odd     map[*domainRun][]Requirement
}

// newScoring readies the scorecards of checked, before their checks run:
// the findings of the zones' shares (safety, held, verify, write checks)
// are known by then.
func (rs *runState) newScoring(checked []*domainRun) *scoring {
	rs.cards, rs.oddCards = nil, nil
	sc := &scoring{rs: rs, checked: checked, none: rs.opts.NoScorecard, per: len(plan.Requirements)}
	if sc.none {
		return sc
	}
	for _, z := range rs.order {
		for _, p := range z.parts {
			safety, held, verify, checks := p.extraFindings()
			n := len(safety) + len(held) + len(verify) + len(checks)
			if n == 0 {
				continue
			}
			if p.run == nil {
				sc.off.Store(true)
				return sc
			}
			if sc.extra == nil {
				sc.extra = map[*domainRun][]Finding{}
			}
			for _, fs := range [][]Finding{safety, held, verify, checks} {
				for _, f := range fs {
					if f.Domain != p.run.d.Domain {
						sc.off.Store(true)
						return sc
					}
					sc.extra[p.run] = append(sc.extra[p.run], f)
				}
			}
		}
	}
	sc.cards = &plan.Scorecards{Domains: make([]string, len(checked)), Lines: make([]plan.ScoreLine, len(checked)*sc.per)}
	sc.odd = map[*domainRun][]Requirement{}
	return sc
}

// judge makes the scorecard of checked[i], whose checks have run, in buf
// (the worker's, reused), keeps it in sc.cards and lets its env go; it may
// run for several domains at once.
func (sc *scoring) judge(i int, buf *[]Requirement) {
	r := sc.checked[i]
	if sc.none {
		r.env = nil
		return
	}
	if sc.off.Load() {
		return
	}
	for j := range r.findings {
		if r.findings[j].Domain != r.d.Domain {
			sc.off.Store(true)
			return
		}
	}
	rot := sc.rs.rot.domainFindings(r.d.Domain)
	extra := sc.extra[r]
	fs := make([]Finding, 0, len(r.findings)+len(rot)+len(extra))
	fs = append(append(append(fs, r.findings...), rot...), extra...)
	slices.SortStableFunc(fs, func(a, b Finding) int {
		return cmp.Or(strings.Compare(a.Kind, b.Kind), strings.Compare(a.Subject, b.Subject))
	})
	card := check.AppendScorecard((*buf)[:0], r.env, r.d, fs)
	*buf = card[:0]
	r.env = nil
	if !oneLineEach(card, r.d.Domain, sc.per) {
		// Not one line per requirement: kept aside, joined by compliance.
		sc.mu.Lock()
		sc.odd[r] = slices.Clone(card)
		sc.mu.Unlock()
		return
	}
	sc.cards.Domains[i] = r.d.Domain
	for j := range card {
		sc.cards.Lines[i*sc.per+j] = plan.ScoreLine{Status: card[j].Status, Finding: card[j].Finding}
	}
}

// oneLineEach reports whether card is domain's line of each requirement,
// in their order: what a card of plan.Scorecards holds.
func oneLineEach(card []Requirement, domain string, per int) bool {
	if len(card) != per {
		return false
	}
	for j := range card {
		if card[j].Domain != domain || card[j].Requirement != plan.RequirementName(j+1) {
			return false
		}
	}
	return true
}

// finish hands the scorecards to the run, or, when a finding named
// another domain, makes again the envs judge let go, for complianceOf.
func (sc *scoring) finish(envFor func(r *domainRun) *CheckEnv) {
	if sc.none {
		return
	}
	if sc.off.Load() {
		for _, r := range sc.checked {
			if r.env == nil {
				r.env = envFor(r)
			}
		}
		return
	}
	sc.rs.cards, sc.rs.oddCards = sc.cards, sc.odd
}

// compliance is the scorecard of every domain whose checks ran, in the
// order of runs (the domains sorted by name): the cards scorecards made
// (as they are, or joined with odd ones into lines), else complianceOf.
func (rs *runState) compliance(findings []Finding) ([]Requirement, *plan.Scorecards) {
	if rs.cards == nil {
		return complianceOf(rs.runs, findings), nil
	}
	if len(rs.oddCards) == 0 {
		return nil, rs.cards
	}
	per := len(plan.Requirements)
	var out []Requirement
	i := 0
	for _, r := range rs.runs {
		if !r.checked {
			continue
		}
		if c, ok := rs.oddCards[r]; ok {
			out = append(out, c...)
		} else {
			for j := range per {
				out = append(out, rs.cards.Line(i*per+j))
			}
		}
		i++
	}
	return out, nil
}

// complianceOf is the scorecard of every domain whose checks ran, in the
// order of runs (the domains sorted by name), judged from its env and the
// plan's findings.
func complianceOf(runs []*domainRun, findings []Finding) []Requirement {
	byDomain := map[string][]Finding{}
	for _, f := range findings {
		byDomain[f.Domain] = append(byDomain[f.Domain], f)
	}
	// Each domain's lines, then one slice of them all: appending thousands
	// of scorecards to one slice would copy it again at every growth.
	cards := make([][]Requirement, len(runs))
	n := 0
	for i, r := range runs {
		if r.env != nil {
			cards[i] = check.Scorecard(r.env, r.d, byDomain[r.d.Domain])
			n += len(cards[i])
		}
	}
	out := make([]Requirement, 0, n)
	for _, c := range cards {
		out = append(out, c...)
	}
	return out
}

// Finding kinds of the live checks, and what their findings say.
const (
	KindSPF    = check.KindSPF
	KindDKIM   = check.KindDKIM
	KindDMARC  = check.KindDMARC
	KindMX     = check.KindMX
	KindPTR    = check.KindPTR
	KindTLSRPT = check.KindTLSRPT
	KindBIMI   = check.KindBIMI
	KindTLSA   = check.KindTLSA
	KindMTASTS = check.KindMTASTS

	SubjectDesired = check.SubjectDesired
	SubjectLive    = check.SubjectLive
	SkippedMessage = check.SkippedMessage
)
