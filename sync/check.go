package sync

import (
	"context"
	"log/slog"
	"net"
	"net/http"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
)

// CheckEnv is what a check may use.
type CheckEnv struct {
	// Resolver answers live questions; names in zones read this run are
	// answered from those records. Nil when live checks are off.
	Resolver Resolver
	// Live is false with --offline or live_checks: false: checks that need
	// lookups report themselves skipped (an info finding) instead.
	Live bool
	// Zone holds the live records of the domain's zone as read this run
	// (canonical form, names relative to Domain.Zone).
	Zone []libdns.RR
	// index is Zone by name and type when the engine keeps one (a large
	// zone, shared by many domains); nil: look names up by a scan of Zone.
	index liveIndex
	// Desired is what the policy compiles to.
	Desired []policy.RRset
	Logger  *slog.Logger
	// HTTPClient and DialSMTP are the engine's (nil: the defaults of the
	// MTA-STS and DANE checks).
	HTTPClient *http.Client
	DialSMTP   func(ctx context.Context, host string) (net.Conn, error)
}

// Check inspects one domain and returns its findings. Checks must be safe
// for concurrent use: the engine runs domains in parallel.
type Check func(ctx context.Context, env *CheckEnv, d *policy.Domain) []Finding

var checks []namedCheck

type namedCheck struct {
	name string
	fn   Check
}

// registerCheck adds a check run on every domain; call it from an init function.
func registerCheck(name string, fn Check) {
	checks = append(checks, namedCheck{name, fn})
}
