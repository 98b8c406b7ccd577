package sync

import (
	"cmp"
	"slices"
	"strings"
	stdsync "sync"

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

// scorecards judges each checked domain (in parallel) as soon as the
// checks ran, from its findings in the order of the plan's (assemble's),
// into one array for the run, and lets the domain's check env go: the
// zone's records and the logger are not kept to the end of the run for
// it. A finding about another domain than the one whose checks or share
// made it (a check of Engine.Checks may) would belong to that domain's
// scorecard: then every env is kept and the plan's findings judge
// (complianceOf).
func (rs *runState) scorecards(checked []*domainRun) {
	rs.cards, rs.oddCards = nil, nil
	if rs.opts.NoScorecard {
		for _, r := range checked {
			r.env = nil
		}
		return
	}
	var extra map[*domainRun][]Finding // the findings of the shares, by domain
	for _, r := range checked {
		for i := range r.findings {
			if r.findings[i].Domain != r.d.Domain {
				return
			}
		}
	}
	for _, z := range rs.order {
		for _, p := range z.parts {
			n := len(p.safety) + len(p.held) + len(p.verify) + len(p.checks)
			if n == 0 {
				continue
			}
			if p.run == nil {
				return
			}
			if extra == nil {
				extra = map[*domainRun][]Finding{}
			}
			for _, fs := range [][]Finding{p.safety, p.held, p.verify, p.checks} {
				for _, f := range fs {
					if f.Domain != p.run.d.Domain {
						return
					}
					extra[p.run] = append(extra[p.run], f)
				}
			}
		}
	}
	per := len(plan.Requirements)
	cards := make([]Requirement, len(checked)*per)
	var mu stdsync.Mutex
	odd := map[*domainRun][]Requirement{}
	forEach(len(checked), rs.limit, func(i int) {
		r := checked[i]
		rot := rs.rot.domainFindings(r.d.Domain)
		fs := make([]Finding, 0, len(r.findings)+len(rot)+len(extra[r]))
		fs = append(append(append(fs, r.findings...), rot...), extra[r]...)
		slices.SortStableFunc(fs, func(a, b Finding) int {
			return cmp.Or(strings.Compare(a.Kind, b.Kind), strings.Compare(a.Subject, b.Subject))
		})
		window := cards[i*per : i*per : (i+1)*per]
		card := check.AppendScorecard(window, r.env, r.d, fs)
		r.env = nil
		if len(card) != per || &card[0] != &cards[i*per] {
			// Not one line per requirement: kept aside, joined by compliance.
			mu.Lock()
			odd[r] = card
			mu.Unlock()
		}
	})
	rs.cards, rs.oddCards = cards, odd
}

// compliance is the scorecard of every domain whose checks ran, in the
// order of runs (the domains sorted by name): the one scorecards made, else
// complianceOf.
func (rs *runState) compliance(findings []Finding) []Requirement {
	if rs.cards == nil {
		return complianceOf(rs.runs, findings)
	}
	if len(rs.oddCards) == 0 {
		return rs.cards
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
			out = append(out, rs.cards[i*per:(i+1)*per]...)
		}
		i++
	}
	return out
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
