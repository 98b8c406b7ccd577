// Package faulty wraps any provider and injects faults into its calls, for
// tests of what maildns does when a provider fails: a call that fails before
// it reaches the backend, one that hangs until its context's deadline (or
// Options.Hang), and one that is carried out and then reported as failed
// (the answer was lost). Faults are drawn from a seeded math/rand/v2 source,
// so a failing test run can be replayed from its seed, or scripted call by
// call.
package faulty

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/providers"
)

// Fault is what happens to one call.
type Fault int

const (
	None Fault = iota
	// FailBefore fails the call without calling the backend.
	FailBefore
	// Timeout blocks until the context is done (or Options.Hang passes) and
	// fails without calling the backend.
	Timeout
	// FailAfter calls the backend, then reports an error whatever it said.
	FailAfter
)

func (f Fault) String() string {
	switch f {
	case FailBefore:
		return "fail-before"
	case Timeout:
		return "timeout"
	case FailAfter:
		return "fail-after"
	}
	return "none"
}

// Operations, as in the call counts of package providers.
const (
	OpGet     = providers.OpGetRecords
	OpAppend  = providers.OpAppendRecords
	OpSet     = providers.OpSetRecords
	OpDelete  = providers.OpDeleteRecords
	OpReplace = providers.OpReplaceRecords
)

// ErrInjected is wrapped by every injected error.
var ErrInjected = errors.New("injected fault")

// Options configure the faults.
type Options struct {
	// Seed seeds the random faults.
	Seed uint64
	// Rate is the probability that a call gets a fault (0..1).
	Rate float64
	// Ops are the operations that may get a fault; empty: the writes
	// (append, set, delete, replace).
	Ops []string
	// Faults are the kinds drawn from, evenly; empty: all three.
	Faults []Fault
	// Hang bounds a Timeout when the context has no deadline; 0: 10ms.
	Hang time.Duration
	// Script, when set, decides each call instead of the random draw: it is
	// given the call's number (from 1, over every operation) and operation.
	Script func(n int, op string) Fault
	// Transient makes the injected failures transient (see
	// providers.IsTransient), so that a wrapper retries them; a FailBefore
	// is marked as certainly not applied.
	Transient bool
}

// Provider is a provider with faults. It is safe for concurrent use.
type Provider struct {
	inner providers.Provider
	opts  Options

	mu       sync.Mutex
	rng      *rand.Rand
	calls    int
	injected map[Fault]int
	log      []string
}

var (
	_ providers.Provider = (*Provider)(nil)
	_ providers.Replacer = (*Provider)(nil)
)

// New wraps inner.
func New(inner providers.Provider, o Options) *Provider {
	if len(o.Ops) == 0 {
		o.Ops = []string{OpAppend, OpSet, OpDelete, OpReplace}
	}
	if len(o.Faults) == 0 {
		o.Faults = []Fault{FailBefore, Timeout, FailAfter}
	}
	if o.Hang <= 0 {
		o.Hang = 10 * time.Millisecond
	}
	return &Provider{inner: inner, opts: o, rng: rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)), injected: map[Fault]int{}}
}

// SetRate changes the fault rate (0 turns faults off).
func (p *Provider) SetRate(r float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.opts.Rate = r
}

// Injected returns how many faults of each kind were injected.
func (p *Provider) Injected() map[Fault]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[Fault]int, len(p.injected))
	for k, v := range p.injected {
		out[k] = v
	}
	return out
}

// Total returns the number of faults injected.
func (p *Provider) Total() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, v := range p.injected {
		n += v
	}
	return n
}

// Log lists the injected faults, "call 3 append_records: fail-after".
func (p *Provider) Log() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.log...)
}

func (p *Provider) draw(op string) Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	f := None
	if p.opts.Script != nil {
		f = p.opts.Script(p.calls, op)
	} else {
		eligible := false
		for _, o := range p.opts.Ops {
			if o == op {
				eligible = true
			}
		}
		if eligible && p.rng.Float64() < p.opts.Rate {
			f = p.opts.Faults[p.rng.IntN(len(p.opts.Faults))]
		}
	}
	if f != None {
		p.injected[f]++
		p.log = append(p.log, fmt.Sprintf("call %d %s: %s", p.calls, op, f))
	}
	return f
}

// around runs call under the fault drawn for op.
func around[T any](ctx context.Context, p *Provider, op, zone string, call func() (T, error)) (T, error) {
	f := p.draw(op)
	out, err := inject(ctx, p, f, op, zone, call)
	if err != nil && f != None && p.opts.Transient {
		err = providers.Transient(err, 0, f == FailBefore)
	}
	return out, err
}

// inject runs call under fault f.
func inject[T any](ctx context.Context, p *Provider, f Fault, op, zone string, call func() (T, error)) (T, error) {
	var zero T
	switch f {
	case FailBefore:
		return zero, fmt.Errorf("%s in zone %q: %w (%s, nothing sent)", op, zone, ErrInjected, f)
	case Timeout:
		t := time.NewTimer(p.opts.Hang)
		defer t.Stop()
		if _, ok := ctx.Deadline(); ok {
			<-ctx.Done()
			return zero, fmt.Errorf("%s in zone %q: %w (%s): %w", op, zone, ErrInjected, f, ctx.Err())
		}
		select {
		case <-ctx.Done():
			return zero, fmt.Errorf("%s in zone %q: %w (%s): %w", op, zone, ErrInjected, f, ctx.Err())
		case <-t.C:
			return zero, fmt.Errorf("%s in zone %q: %w (%s): %w", op, zone, ErrInjected, f, context.DeadlineExceeded)
		}
	case FailAfter:
		_, err := call()
		return zero, fmt.Errorf("%s in zone %q: %w (%s, the call was made: %v)", op, zone, ErrInjected, f, err)
	}
	return call()
}

func (p *Provider) GetRecords(ctx context.Context, zone string) ([]libdns.Record, error) {
	return around(ctx, p, OpGet, zone, func() ([]libdns.Record, error) { return p.inner.GetRecords(ctx, zone) })
}

func (p *Provider) AppendRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	return around(ctx, p, OpAppend, zone, func() ([]libdns.Record, error) { return p.inner.AppendRecords(ctx, zone, recs) })
}

func (p *Provider) SetRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	return around(ctx, p, OpSet, zone, func() ([]libdns.Record, error) { return p.inner.SetRecords(ctx, zone, recs) })
}

func (p *Provider) DeleteRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	return around(ctx, p, OpDelete, zone, func() ([]libdns.Record, error) { return p.inner.DeleteRecords(ctx, zone, recs) })
}

// CanReplace reports whether the wrapped provider implements
// providers.Replacer (see providers.CanReplace).
func (p *Provider) CanReplace() bool { return providers.CanReplace(p.inner) }

// ReplaceRecords implements providers.Replacer when the wrapped provider
// does; otherwise it fails with providers.ErrCannotReplace.
func (p *Provider) ReplaceRecords(ctx context.Context, zone string, remove, add []libdns.Record) ([]libdns.Record, error) {
	r, ok := p.inner.(providers.Replacer)
	if !ok || !p.CanReplace() {
		return nil, fmt.Errorf("%s in zone %q: %w", OpReplace, zone, providers.ErrCannotReplace)
	}
	return around(ctx, p, OpReplace, zone, func() ([]libdns.Record, error) { return r.ReplaceRecords(ctx, zone, remove, add) })
}

// CanReplaceIf reports whether the wrapped provider implements
// providers.ConditionalReplacer (see providers.CanReplaceIf).
func (p *Provider) CanReplaceIf() bool { return providers.CanReplaceIf(p.inner) }

// ReplaceRecordsIf implements providers.ConditionalReplacer when the
// wrapped provider does; otherwise it fails with
// providers.ErrCannotReplaceIf. Its faults are drawn as OpReplace's.
func (p *Provider) ReplaceRecordsIf(ctx context.Context, zone string, expect []providers.RRsetState, remove, add []libdns.Record) ([]libdns.Record, error) {
	r, ok := p.inner.(providers.ConditionalReplacer)
	if !ok || !p.CanReplaceIf() {
		return nil, fmt.Errorf("%s in zone %q: %w", OpReplace, zone, providers.ErrCannotReplaceIf)
	}
	return around(ctx, p, OpReplace, zone, func() ([]libdns.Record, error) { return r.ReplaceRecordsIf(ctx, zone, expect, remove, add) })
}

// Unwrap returns the wrapped provider (see providers.GuardWrite).
func (p *Provider) Unwrap() providers.Provider { return p.inner }
