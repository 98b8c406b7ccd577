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
	out := []Requirement{}
	for _, r := range runs {
		if r.env != nil {
			out = append(out, check.Scorecard(r.env, r.d, byDomain[r.d.Domain])...)
		}
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
