package providers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// TransientError marks a failure that may succeed when tried again: HTTP 429
// and 5xx answers, timeouts, connection failures, a DNS SERVFAIL. Backends
// return it (or an error with a Temporary() bool method) so that Wrap retries.
type TransientError struct {
	Err error
	// RetryAfter is how long the server asked us to wait (0: no advice).
	RetryAfter time.Duration
	// NotApplied is true when the request certainly had no effect (for
	// example a 429 answer): a retried write need not re-read the zone first.
	NotApplied bool
}

func (e *TransientError) Error() string { return e.Err.Error() }
func (e *TransientError) Unwrap() error { return e.Err }

// Temporary reports true: the failure is worth retrying.
func (e *TransientError) Temporary() bool { return true }

// Transient wraps err as a *TransientError; a nil err stays nil.
func Transient(err error, retryAfter time.Duration, notApplied bool) error {
	if err == nil {
		return nil
	}
	return &TransientError{Err: err, RetryAfter: retryAfter, NotApplied: notApplied}
}

// IsTransient reports whether err is worth retrying, and how long the server
// asked to wait. A cancelled context is never transient; a deadline of one
// attempt is (the caller's own deadline is checked by Wrap separately).
func IsTransient(err error) (bool, time.Duration) {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, ErrChanged) {
		// A zone that changed since it was read is read and planned
		// again by the caller, never written again as it was.
		return false, 0
	}
	var te *TransientError
	if errors.As(err, &te) {
		return true, te.RetryAfter
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true, 0
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return false, 0 // a name that does not exist will not appear by waiting
	}
	var tmp interface{ Temporary() bool }
	if errors.As(err, &tmp) && tmp.Temporary() {
		return true, 0
	}
	var to interface{ Timeout() bool }
	if errors.As(err, &to) && to.Timeout() {
		return true, 0
	}
	// A refused or reset connection, or a server that hung up mid-answer.
	// Other transport failures (a bad certificate, a malformed URL) are not
	// retried: they will not mend by themselves.
	var oe *net.OpError
	if errors.As(err, &oe) {
		return true, 0
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true, 0
	}
	return false, 0
}

// notApplied reports whether err says the request certainly had no effect.
func notApplied(err error) bool {
	var te *TransientError
	return errors.As(err, &te) && te.NotApplied
}

// HTTPStatusError builds the error for an HTTP answer with a failing status:
// a *TransientError for 429 and 5xx (honouring Retry-After), a plain error
// otherwise. what names the request ("GET dns_records in zone example.com.");
// detail is a short excerpt of the answer body and must hold no secret.
func HTTPStatusError(status int, header http.Header, what, detail string) error {
	msg := fmt.Sprintf("%s: HTTP %d %s", what, status, http.StatusText(status))
	if detail = strings.TrimSpace(detail); detail != "" {
		msg += ": " + detail
	}
	err := errors.New(msg)
	switch {
	case status == http.StatusTooManyRequests:
		return &TransientError{Err: err, RetryAfter: ParseRetryAfter(header.Get("Retry-After"), time.Now()), NotApplied: true}
	case status >= 500:
		return &TransientError{Err: err, RetryAfter: ParseRetryAfter(header.Get("Retry-After"), time.Now())}
	default:
		return err
	}
}

// ParseRetryAfter reads a Retry-After value: whole seconds or an HTTP date.
// Absent, malformed or past values give 0.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
