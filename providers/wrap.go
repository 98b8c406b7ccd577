package providers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/libdns/libdns"
	"golang.org/x/time/rate"
)

// Operations and results counted by Wrap, as they appear in the metric
// maildns_provider_requests_total{provider,operation,result}.
const (
	OpGetRecords    = "get_records"
	OpAppendRecords = "append_records"
	OpSetRecords    = "set_records"
	OpDeleteRecords = "delete_records"
	// OpRequest counts the single API requests of backends that report them
	// (see RequestGater); one libdns call may make several.
	OpRequest = "request"

	ResultOK    = "ok"    // the attempt succeeded
	ResultRetry = "retry" // the attempt failed and will be tried again
	ResultError = "error" // the call failed for good
	ResultSent  = "sent"  // OpRequest: a request went out
)

// Defaults of the wrapper; the settings rate_limit, timeout and
// retry_max_time override them per provider.
const (
	DefaultTimeout        = 30 * time.Second
	DefaultRetryMaxTime   = 2 * time.Minute
	DefaultRetryBaseDelay = 500 * time.Millisecond
	DefaultRetryMaxDelay  = 30 * time.Second
	// RefusedRetryMaxTime bounds the retries of a connection refused or a
	// host or network unreachable: a server that is down does not come back
	// within a backoff, and an audit must not sit silent for retry_max_time.
	RefusedRetryMaxTime = 3 * time.Second
)

// DefaultRateLimit is the request rate a backend type allows by default:
// Cloudflare 1200 requests per 5 minutes (4/s), Route53 5/s, deSEC 50
// reads a minute (0.8/s), others unlimited.
func DefaultRateLimit(typ string) rate.Limit {
	switch typ {
	case "cloudflare":
		return 4
	case "desec":
		return 0.8
	case "route53":
		return 5
	default:
		return rate.Inf
	}
}

// Observer is told of every counted event; the daemon feeds its Prometheus
// counter from it. It must be safe for concurrent use and must not block.
type Observer func(provider, operation, result string)

// CallKey names one counter.
type CallKey struct{ Provider, Operation, Result string }

// Counts counts provider calls by (provider, operation, result). It is safe
// for concurrent use; the zero value is ready.
type Counts struct {
	mu sync.Mutex
	m  map[CallKey]int64
}

// DefaultCounts is where Wrap counts when WrapOptions.Counts is nil.
var DefaultCounts = &Counts{}

// Add adds one to a counter.
func (c *Counts) Add(provider, operation, result string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[CallKey]int64{}
	}
	c.m[CallKey{provider, operation, result}]++
}

// Get returns one counter.
func (c *Counts) Get(provider, operation, result string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[CallKey{provider, operation, result}]
}

// Snapshot returns a copy of every counter.
func (c *Counts) Snapshot() map[CallKey]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[CallKey]int64, len(c.m))
	for k, v := range c.m {
		out[k] = v
	}
	return out
}

// Keys returns the counter keys, sorted.
func (c *Counts) Keys() []CallKey {
	s := c.Snapshot()
	keys := make([]CallKey, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.Provider != b.Provider {
			return a.Provider < b.Provider
		}
		if a.Operation != b.Operation {
			return a.Operation < b.Operation
		}
		return a.Result < b.Result
	})
	return keys
}

// RequestGater is implemented by backends that make several API requests in
// one libdns call. Wrap hands them a gate to call before every request: it
// waits for the rate limiter and counts the request (OpRequest). Backends
// that do not implement it are rate limited once per call attempt instead.
type RequestGater interface {
	SetRequestGate(gate func(ctx context.Context) error)
}

// WrapOptions configure Wrap. The zero value gives the defaults.
type WrapOptions struct {
	Name string // the provider's name in maildns.yaml, used in counts and errors; default Type
	Type string // the backend type, for the default rate limit

	// RateLimit is the number of API requests per second; 0 means
	// DefaultRateLimit(Type), rate.Inf means unlimited.
	RateLimit rate.Limit
	Burst     int // default 1

	Timeout        time.Duration // deadline of one attempt; default DefaultTimeout
	RetryMaxTime   time.Duration // total time spent retrying; default DefaultRetryMaxTime, negative: never retry
	RetryBaseDelay time.Duration // first backoff ceiling; default DefaultRetryBaseDelay
	RetryMaxDelay  time.Duration // largest backoff ceiling; default DefaultRetryMaxDelay

	Counts   *Counts  // default DefaultCounts
	Observer Observer // optional

	// Redactor removes secrets from every error the wrapper returns, so
	// that no backend can forget to; nil redacts credentials by shape only.
	// NewWrapped builds it from the provider's settings (RedactorFor).
	Redactor *Redactor
	// Logger gets a WARN line per retry (attempt, wait, cause); nil:
	// slog.Default().
	Logger *slog.Logger
}

func (o WrapOptions) withDefaults() WrapOptions {
	if o.Name == "" {
		o.Name = o.Type
	}
	if o.RateLimit == 0 {
		o.RateLimit = DefaultRateLimit(o.Type)
	}
	if o.Burst <= 0 {
		o.Burst = 1
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.RetryMaxTime == 0 {
		o.RetryMaxTime = DefaultRetryMaxTime
	}
	if o.RetryBaseDelay <= 0 {
		o.RetryBaseDelay = DefaultRetryBaseDelay
	}
	if o.RetryMaxDelay <= 0 {
		o.RetryMaxDelay = DefaultRetryMaxDelay
	}
	if o.Counts == nil {
		o.Counts = DefaultCounts
	}
	return o
}

// Wrapped is the provider Wrap returns (as a Provider).
type Wrapped struct {
	inner   Provider
	o       WrapOptions
	limiter *rate.Limiter
	gated   bool // the backend calls our gate before each request
	local   bool // the backend reads locally (LocalReader)
}

// LocalReader is implemented by backends whose reads (GetRecords,
// GetRecordsCanonical) wait on nothing but the local file system, and look
// at their context only before they start: a deadline could not cut such a
// read short, only cost a timer per call. Wrap gives their reads none; an
// attempt that took longer than Timeout still counts as timed out.
type LocalReader interface {
	ReadsLocally() bool
}

var _ Provider = (*Wrapped)(nil)

// Wrap returns p with retries, a rate limit, a deadline per attempt and call
// counting:
//   - every attempt runs under its own deadline (Timeout), but a read of a
//     LocalReader, which no deadline could cut short: it is timed instead;
//   - a transient failure (see IsTransient: HTTP 429 and 5xx, timeouts,
//     connection failures, DNS SERVFAIL) is retried with exponential backoff
//     and full jitter, waiting at least what Retry-After asked, until
//     RetryMaxTime is spent; the final error names the provider, the
//     operation and the zone;
//   - AppendRecords is not idempotent: before it is retried after a failure
//     that may have landed (anything but a *TransientError with NotApplied),
//     the zone is read again and the records already present are not sent
//     again (they are returned as appended); ReplaceRecords likewise sends
//     again only what the zone shows is not done (see Replacer);
//   - requests are held to RateLimit: per API request when p implements
//     RequestGater (Wrap installs the gate on p), else per attempt;
//   - every attempt is counted by (provider, operation, result) in Counts and
//     told to Observer.
func Wrap(p Provider, opts WrapOptions) Provider {
	return newWrapped(p, opts)
}

func newWrapped(p Provider, opts WrapOptions) *Wrapped {
	o := opts.withDefaults()
	w := &Wrapped{inner: p, o: o, limiter: rate.NewLimiter(o.RateLimit, o.Burst)}
	if l, ok := p.(LocalReader); ok {
		w.local = l.ReadsLocally()
	}
	if g, ok := p.(RequestGater); ok {
		w.gated = true
		g.SetRequestGate(w.gate)
	}
	return w
}

// Unwrap returns the wrapped provider.
func (w *Wrapped) Unwrap() Provider { return w.inner }

func (w *Wrapped) count(op, result string) {
	w.o.Counts.Add(w.o.Name, op, result)
	if w.o.Observer != nil {
		w.o.Observer(w.o.Name, op, result)
	}
}

func (w *Wrapped) gate(ctx context.Context) error {
	if err := w.limiter.Wait(ctx); err != nil {
		return fmt.Errorf("provider %q: waiting for the rate limit: %w", w.o.Name, err)
	}
	w.count(OpRequest, ResultSent)
	return nil
}

// GetRecords implements libdns.RecordGetter.
func (w *Wrapped) GetRecords(ctx context.Context, zone string) ([]libdns.Record, error) {
	var out []libdns.Record
	err := w.do(ctx, OpGetRecords, zone, func(ctx context.Context, _ error) error {
		recs, err := w.inner.GetRecords(ctx, zone)
		out = recs
		return err
	})
	return out, err
}

// SetRecords implements libdns.RecordSetter. Setting is idempotent, so it is
// simply tried again.
func (w *Wrapped) SetRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	var out []libdns.Record
	err := w.do(ctx, OpSetRecords, zone, func(ctx context.Context, _ error) error {
		got, err := w.inner.SetRecords(ctx, zone, recs)
		out = got
		return err
	})
	return out, err
}

// DeleteRecords implements libdns.RecordDeleter. Deleting what is already
// gone is silently ignored by every backend, so it is simply tried again;
// records deleted by an attempt that failed are not in the returned list.
func (w *Wrapped) DeleteRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	var out []libdns.Record
	err := w.do(ctx, OpDeleteRecords, zone, func(ctx context.Context, _ error) error {
		got, err := w.inner.DeleteRecords(ctx, zone, recs)
		out = got
		return err
	})
	return out, err
}

// AppendRecords implements libdns.RecordAppender; see Wrap for its retries.
func (w *Wrapped) AppendRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	pending := recs
	var done []libdns.Record
	err := w.do(ctx, OpAppendRecords, zone, func(ctx context.Context, prev error) error {
		if prev != nil && !notApplied(prev) {
			live, err := w.inner.GetRecords(ctx, zone)
			if err != nil {
				return fmt.Errorf("reading the zone again before retrying: %w", err)
			}
			present, missing := splitPresent(pending, live, zone)
			done = append(done, present...)
			pending = missing
			if len(pending) == 0 {
				return nil
			}
		}
		got, err := w.inner.AppendRecords(ctx, zone, pending)
		if err != nil {
			return err
		}
		done = append(done, got...)
		pending = nil
		return nil
	})
	if err != nil {
		return nil, err
	}
	return done, nil
}

// splitPresent splits recs into those already in live and the others,
// comparing name, type and data in canonical form (TTL aside).
func splitPresent(recs, live []libdns.Record, zone string) (present, missing []libdns.Record) {
	type key struct{ name, typ, data string }
	have := map[key]bool{}
	for _, r := range live {
		if rr, err := Normalize(r, zone); err == nil {
			have[key{rr.Name, rr.Type, rr.Data}] = true
		}
	}
	for _, r := range recs {
		rr, err := Normalize(r, zone)
		if err == nil && have[key{rr.Name, rr.Type, rr.Data}] {
			present = append(present, r)
			continue
		}
		missing = append(missing, r)
	}
	return present, missing
}

// do runs call until it succeeds, fails for good, or the retry time is
// spent. prev is the error of the previous attempt (nil on the first). Its
// error is redacted: this is the one boundary every backend's errors cross.
func (w *Wrapped) do(ctx context.Context, op, zone string, call func(ctx context.Context, prev error) error) error {
	return w.o.Redactor.Error(w.try(ctx, op, zone, call))
}

func (w *Wrapped) try(ctx context.Context, op, zone string, call func(ctx context.Context, prev error) error) error {
	start := time.Now()
	var prev error
	for attempt := 0; ; attempt++ {
		if !w.gated {
			if err := w.limiter.Wait(ctx); err != nil {
				w.count(op, ResultError)
				return w.callError(op, zone, fmt.Errorf("waiting for the rate limit: %w", err))
			}
		}
		var err error
		var timedOut bool
		if w.local && op == OpGetRecords {
			begun := time.Now()
			err = call(ctx, prev)
			timedOut = time.Since(begun) >= w.o.Timeout && ctx.Err() == nil
		} else {
			actx, cancel := context.WithTimeout(ctx, w.o.Timeout)
			err = call(actx, prev)
			timedOut = actx.Err() != nil && ctx.Err() == nil
			cancel()
		}
		if err == nil {
			w.count(op, ResultOK)
			return nil
		}
		if timedOut && !errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%w (attempt deadline %s)", err, w.o.Timeout)
		}
		if ctx.Err() != nil {
			w.count(op, ResultError)
			return w.callError(op, zone, err)
		}
		transient, retryAfter := IsTransient(err)
		if timedOut {
			transient = true
		}
		if !transient || w.o.RetryMaxTime < 0 {
			w.count(op, ResultError)
			return w.callError(op, zone, err)
		}
		delay := w.backoff(attempt)
		if retryAfter > delay {
			delay = retryAfter
		}
		elapsed := time.Since(start)
		budget := w.o.RetryMaxTime
		if refused(err) {
			budget = min(budget, RefusedRetryMaxTime)
		}
		if elapsed+delay > budget {
			w.count(op, ResultError)
			return w.callError(op, zone, fmt.Errorf("giving up after %d attempts in %s (retry_max_time %s): %w",
				attempt+1, elapsed.Round(time.Millisecond), budget, err))
		}
		w.count(op, ResultRetry)
		log := w.o.Logger
		if log == nil {
			log = slog.Default()
		}
		log.Warn("provider retry", "provider", w.o.Name, "operation", op, "zone", zone,
			"attempt", attempt+1, "wait", delay.Round(time.Millisecond).String(), "cause", w.o.Redactor.Redact(err.Error())) // no secret in a log line
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			w.count(op, ResultError)
			return w.callError(op, zone, fmt.Errorf("%w (while waiting to retry after: %v)", ctx.Err(), err))
		case <-t.C:
		}
		prev = err
	}
}

// backoff returns the wait before attempt+1: a random duration up to
// min(RetryMaxDelay, RetryBaseDelay * 2^attempt) ("full jitter").
func (w *Wrapped) backoff(attempt int) time.Duration {
	ceil := w.o.RetryBaseDelay
	for i := 0; i < attempt && ceil < w.o.RetryMaxDelay; i++ {
		ceil *= 2
	}
	if ceil > w.o.RetryMaxDelay {
		ceil = w.o.RetryMaxDelay
	}
	return time.Duration(rand.Int64N(int64(ceil) + 1))
}

// Common settings every provider accepts; NewWrapped reads them.
const (
	SettingRateLimit    = "rate_limit"     // requests per second, 0: unlimited
	SettingTimeout      = "timeout"        // deadline of one attempt, e.g. 30s
	SettingRetryMaxTime = "retry_max_time" // total retry time, e.g. 2m; 0s: never retry
)

// WrapOptionsFromSettings reads the common settings rate_limit, timeout and
// retry_max_time into base (which supplies Counts, Observer and the rest).
func WrapOptionsFromSettings(typ string, s *Settings, base WrapOptions) (WrapOptions, error) {
	o := base
	o.Type = typ
	if o.Name == "" {
		o.Name = s.Name
	}
	if _, ok := s.Values[SettingRateLimit]; ok {
		r, err := s.Float(SettingRateLimit, 0)
		if err != nil {
			return o, err
		}
		if r < 0 {
			return o, &SettingError{Key: SettingRateLimit, Err: fmt.Errorf("want requests per second, 0 or more, have %v", r)}
		}
		if r == 0 {
			o.RateLimit = rate.Inf
		} else {
			o.RateLimit = rate.Limit(r)
		}
	}
	d, err := s.Duration(SettingTimeout, o.Timeout)
	if err != nil {
		return o, err
	}
	if _, ok := s.Values[SettingTimeout]; ok && d == 0 {
		return o, &SettingError{Key: SettingTimeout, Err: errors.New("want a duration above 0s")}
	}
	o.Timeout = d
	if _, ok := s.Values[SettingRetryMaxTime]; ok {
		d, err := s.Duration(SettingRetryMaxTime, 0)
		if err != nil {
			return o, err
		}
		if d == 0 {
			d = -1 // written 0s: never retry
		}
		o.RetryMaxTime = d
	}
	return o, nil
}

// NewWrapped builds a provider of type typ from s (as New does) and wraps it
// (as Wrap does) with the common settings rate_limit, timeout and
// retry_max_time read from s; base supplies the rest (Counts, Observer).
// It touches no network.
func NewWrapped(typ string, s *Settings, base WrapOptions) (Provider, error) {
	if s == nil {
		s = &Settings{}
	}
	registryMu.RLock()
	_, known := registry[typ]
	registryMu.RUnlock()
	if !known {
		_, err := New(typ, s) // the registry's own error for an unknown type
		return nil, err
	}
	o, err := WrapOptionsFromSettings(typ, s, base)
	if err != nil {
		return nil, RedactorFor(s).Error(err)
	}
	p, err := New(typ, s)
	if err != nil {
		return nil, err
	}
	if o.Redactor == nil {
		o.Redactor = RedactorFor(s)
	}
	return Wrap(p, o), nil
}

// refused reports whether err is a connection refused or a host or network
// unreachable (see RefusedRetryMaxTime).
func refused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH)
}
