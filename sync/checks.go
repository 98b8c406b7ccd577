package sync

import (
	"github.com/maildns/maildns/sync/check"
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

// complianceOf is the scorecard of every domain whose checks ran, in the
// order of runs (the domains sorted by name).
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
