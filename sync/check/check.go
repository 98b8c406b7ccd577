package check

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	gosync "sync"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/sync/plan"
)

// Finding is a finding of the plan.
type Finding = plan.Finding

// Finding severities, as the plan has them.
const (
	SevError   = plan.SevError
	SevAction  = plan.SevAction
	SevWarning = plan.SevWarning
	SevInfo    = plan.SevInfo
)

// Env is what a check may use.
type Env struct {
	// Resolver answers live questions; names in zones read this run are
	// answered from those records. Nil when live checks are off.
	Resolver Resolver
	// Live is false with --offline or live_checks: false: checks that need
	// lookups report themselves skipped (an info finding) instead.
	Live bool
	// Zone holds the live records of the domain's zone as read this run
	// (canonical form, names relative to Domain.Zone); nil when Index
	// holds them packed. Read them through Values.
	Zone []libdns.RR
	// Index is Zone by name and type when the engine keeps one (a large
	// zone, shared by many domains), or the zone's records packed (a dry
	// run's small zone: canon.Packed); nil: look names up by a scan of Zone.
	Index ZoneIndex
	// Desired is what the policy compiles to.
	Desired []policy.RRset
	Logger  *slog.Logger
	// HTTPClient and DialSMTP are the engine's (nil: the defaults of the
	// MTA-STS and DANE checks).
	HTTPClient *http.Client
	DialSMTP   func(ctx context.Context, host string) (net.Conn, error)

	// parsed is the last DMARC record and DKIM key record parsed for the
	// domain: its checks and its scorecard read the same records.
	parsed struct {
		mu                  gosync.Mutex
		dmarcText, dkimText string
		dmarc               *policy.ParsedDMARC
		dkim                *policy.ParsedDKIMKey
		dmarcErr, dkimErr   error
		dmarcOK, dkimOK     bool
	}
	// arena holds what Values returned, each a full slice of it: an env
	// the engine reuses (Clear) keeps its array from domain to domain.
	arena []string
	// reuse, in an env the engine reuses (Clear), is where the records
	// are parsed, again for each domain; nil: a new parse each time.
	reuse *envReuse
}

// envReuse holds the parses of a reused env: the SPF check's desired and
// live record, and the DMARC and DKIM records of parseDMARC and
// parseDKIMKey.
type envReuse struct {
	spf   [2]policy.ParsedSPF
	dmarc policy.ParsedDMARC
	dkim  policy.ParsedDKIMKey
}

// Clear empties env for another domain's checks, keeping the arrays
// Values and the parses fill: what they returned before must no longer be
// used.
func (env *Env) Clear() {
	arena, reuse := env.arena[:0], env.reuse
	if reuse == nil {
		reuse = &envReuse{}
	}
	*env = Env{}
	env.arena, env.reuse = arena, reuse
}

// parseSPF is policy.ParseSPF of CheckSPF's i-th record, into the env's
// own when it is reused (Clear): valid until CheckSPF parses again.
func (env *Env) parseSPF(i int, text string) (*policy.ParsedSPF, error) {
	if env.reuse != nil && i < len(env.reuse.spf) {
		return policy.ParseSPFInto(&env.reuse.spf[i], text)
	}
	return policy.ParseSPF(text)
}

// parseDMARC is policy.ParseDMARC, once for the domain's record (its
// checks and scorecard parse the same one). Callers only read the result,
// and only until they parse another record: a reused env (Clear) parses
// each into the same ParsedDMARC.
func (env *Env) parseDMARC(text string) (*policy.ParsedDMARC, error) {
	m := &env.parsed
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.dmarcOK || m.dmarcText != text {
		var into *policy.ParsedDMARC // nil: a new one
		if env.reuse != nil {
			into = &env.reuse.dmarc
		}
		m.dmarc, m.dmarcErr = policy.ParseDMARCInto(into, text)
		m.dmarcText, m.dmarcOK = text, true
	}
	return m.dmarc, m.dmarcErr
}

// parseDKIMKey is parseDKIMKey, once for the domain's record; read until
// the next record parsed, as parseDMARC's.
func (env *Env) parseDKIMKey(text string) (*policy.ParsedDKIMKey, error) {
	m := &env.parsed
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.dkimOK || m.dkimText != text {
		var into *policy.ParsedDKIMKey // nil: a new one
		if env.reuse != nil {
			into = &env.reuse.dkim
		}
		m.dkim, m.dkimErr = parseDKIMKey(text, into)
		m.dkimText, m.dkimOK = text, true
	}
	return m.dkim, m.dkimErr
}

// IndexedZone is the size over which a zone's records are looked up by an
// index (Env.Index, kept by the engine; the zone resolver's names): a large
// zone is one of many domains, a scan per domain would be quadratic.
const IndexedZone = 64

// ZoneIndex looks a zone's records up by name and type.
type ZoneIndex interface {
	// Lookup returns the records at rel (a name relative to the zone, any
	// case) of type typ (any case), in the zone's order.
	Lookup(rel, typ string) []libdns.RR
}

// zoneValues is a ZoneIndex that gives the values at a name without making
// its records (a packed zone: canon.Packed).
type zoneValues interface {
	Values(rel, typ string) []string
}

// Values returns the values of type typ at rel (a name relative to the
// zone) in env.Zone: by the index when the engine keeps one (a zone shared
// by many domains, where a scan per domain would be quadratic), else by a
// scan of the small zone.
func (env *Env) Values(rel, typ string) []string {
	if v, ok := env.Index.(zoneValues); ok {
		return v.Values(rel, typ) // a packed zone's, read in place
	}
	// Appended to the arena and returned as a full slice of it (a
	// caller's append copies): no array of its own for each call.
	start := len(env.arena)
	if env.Index != nil {
		for _, r := range env.Index.Lookup(rel, typ) {
			env.arena = append(env.arena, r.Data)
		}
	} else {
		for _, r := range env.Zone {
			if strings.EqualFold(r.Type, typ) && strings.EqualFold(r.Name, rel) {
				env.arena = append(env.arena, r.Data)
			}
		}
	}
	if len(env.arena) == start {
		return nil
	}
	return env.arena[start:len(env.arena):len(env.arena)]
}

// Func inspects one domain and returns its findings. Checks must be safe
// for concurrent use: the engine runs domains in parallel.
type Func func(ctx context.Context, env *Env, d *policy.Domain) []Finding

// Check is a check by its name.
type Check struct {
	Name string
	Run  Func
}

// all are the checks run on every domain, in the order they run.
var all = []Check{
	{KindDKIM, CheckDKIM},
	{KindDMARC, CheckDMARC},
	{KindMX, CheckMX},
	{KindPTR, CheckPTR},
	{KindSPF, CheckSPF},
	{KindTLSRPT, CheckTLSRPT},
	{KindBIMI, CheckBIMI},
	{KindTLSA, CheckTLSA},
	{KindMTASTS, CheckMTASTS},
}

// All returns the checks run on every domain, in the order they run. The
// slice is shared: callers only read it.
func All() []Check { return all }
