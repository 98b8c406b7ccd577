// Package ledger is what the API fakes share: a count of the requests they
// served, by kind, and a queue of failures to answer instead.
package ledger

import "sync"

// Failure is an injected answer: the HTTP status and a detail whose meaning
// is the fake's (a Retry-After value, an API error code).
type Failure struct {
	Status int
	Detail string
}

type pending struct {
	Failure
	left int
}

// Ledger counts requests and hands out injected failures. Its zero value is
// ready; it is safe for concurrent use. A fake embeds it, so that Fail,
// Calls, Total, CallLog and ResetCalls are the fake's own methods.
type Ledger struct {
	mu      sync.Mutex
	calls   map[string]int
	history []string
	fails   []pending
	failsOn map[string][]pending // by request kind, answered before fails
}

// Fail makes the next n requests fail with status; detail is the fake's (a
// Retry-After value, an API error code). Nothing is changed by them.
func (l *Ledger) Fail(n, status int, detail string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fails = append(l.fails, pending{Failure{status, detail}, n})
}

// FailOn makes the next n requests of kind key (as the fake counts them,
// "PATCH rrsets") fail with status and detail; other requests are served.
func (l *Ledger) FailOn(key string, n, status int, detail string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failsOn == nil {
		l.failsOn = map[string][]pending{}
	}
	l.failsOn[key] = append(l.failsOn[key], pending{Failure{status, detail}, n})
}

// Record counts one request of kind key and returns the failure to answer
// it with, if one is queued (for its kind first, then for any request).
func (l *Ledger) Record(key string) (Failure, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.calls == nil {
		l.calls = map[string]int{}
	}
	l.calls[key]++
	l.history = append(l.history, key)
	if q := l.failsOn[key]; len(q) > 0 {
		out, rest := take(q)
		l.failsOn[key] = rest
		return out, true
	}
	if len(l.fails) == 0 {
		return Failure{}, false
	}
	out, rest := take(l.fails)
	l.fails = rest
	return out, true
}

// take hands out the first failure of q and returns what is left.
func take(q []pending) (Failure, []pending) {
	f := &q[0]
	f.left--
	if f.left <= 0 {
		return f.Failure, q[1:]
	}
	return f.Failure, q
}

// Calls returns how many requests of kind key were served (failed ones too).
func (l *Ledger) Calls(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls[key]
}

// Total returns how many requests were served.
func (l *Ledger) Total() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.history)
}

// CallLog returns the kinds of every request served, in order.
func (l *Ledger) CallLog() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.history...)
}

// ResetCalls zeroes the counters (queued failures stay).
func (l *Ledger) ResetCalls() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = nil
	l.history = nil
}
