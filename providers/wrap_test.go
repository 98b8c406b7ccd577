package providers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
	"golang.org/x/time/rate"
)

// memProvider is an in-memory provider whose calls can be made to fail.
type memProvider struct {
	mu      sync.Mutex
	recs    []libdns.RR
	calls   map[string]int
	fail    func(op string, n int) error // n: 1-based call number of op
	failAft func(op string, n int) error // failure after the write landed
	block   bool                         // block until ctx is done
	gate    func(context.Context) error
}

func (m *memProvider) hit(ctx context.Context, op string) (int, error) {
	if m.gate != nil {
		if err := m.gate(ctx); err != nil {
			return 0, err
		}
	}
	if m.block {
		<-ctx.Done()
		return 0, ctx.Err()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.calls == nil {
		m.calls = map[string]int{}
	}
	m.calls[op]++
	n := m.calls[op]
	if m.fail != nil {
		if err := m.fail(op, n); err != nil {
			return n, err
		}
	}
	return n, nil
}

func (m *memProvider) count(op string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls[op]
}

func (m *memProvider) GetRecords(ctx context.Context, zone string) ([]libdns.Record, error) {
	if _, err := m.hit(ctx, "get"); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]libdns.Record, len(m.recs))
	for i, r := range m.recs {
		out[i] = r
	}
	return out, nil
}

func (m *memProvider) AppendRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	n, err := m.hit(ctx, "append")
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	for _, r := range recs {
		m.recs = append(m.recs, r.RR())
	}
	m.mu.Unlock()
	if m.failAft != nil {
		if err := m.failAft("append", n); err != nil {
			return nil, err
		}
	}
	return recs, nil
}

func (m *memProvider) SetRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	if _, err := m.hit(ctx, "set"); err != nil {
		return nil, err
	}
	return recs, nil
}

func (m *memProvider) DeleteRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	if _, err := m.hit(ctx, "delete"); err != nil {
		return nil, err
	}
	return recs, nil
}

type gatedProvider struct{ *memProvider }

func (g gatedProvider) SetRequestGate(gate func(context.Context) error) { g.gate = gate }

const zone = "example.com."

func TestRetryHonoursRetryAfter(t *testing.T) {
	m := &memProvider{fail: func(op string, n int) error {
		if n <= 2 {
			return &TransientError{Err: errors.New("HTTP 429"), RetryAfter: 150 * time.Millisecond, NotApplied: true}
		}
		return nil
	}}
	counts := &Counts{}
	w := Wrap(m, WrapOptions{Name: "p", Type: "test", RetryBaseDelay: time.Millisecond, RetryMaxDelay: time.Millisecond, Counts: counts})
	start := time.Now()
	if _, err := w.GetRecords(context.Background(), zone); err != nil {
		t.Fatalf("GetRecords: %v", err)
	}
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Errorf("took %s, want at least 2 x Retry-After = 300ms", el)
	}
	if got := m.count("get"); got != 3 {
		t.Errorf("calls = %d, want 3", got)
	}
	want := map[CallKey]int64{{"p", OpGetRecords, ResultRetry}: 2, {"p", OpGetRecords, ResultOK}: 1}
	if diff := cmp.Diff(want, counts.Snapshot()); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
}

func TestRetryGivesUp(t *testing.T) {
	m := &memProvider{fail: func(op string, n int) error {
		return Transient(errors.New("HTTP 503 Service Unavailable"), 0, false)
	}}
	counts := &Counts{}
	w := Wrap(m, WrapOptions{Name: "cf", Type: "test", RetryMaxTime: 300 * time.Millisecond,
		RetryBaseDelay: 20 * time.Millisecond, RetryMaxDelay: 50 * time.Millisecond, Counts: counts})
	start := time.Now()
	_, err := w.SetRecords(context.Background(), zone, []libdns.Record{libdns.RR{Name: "@", Type: "TXT", Data: "x"}})
	el := time.Since(start)
	if err == nil {
		t.Fatal("SetRecords succeeded, want an error")
	}
	for _, s := range []string{`provider "cf"`, OpSetRecords, `zone "example.com."`, "giving up", "HTTP 503"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not name %q", err, s)
		}
	}
	if el > 400*time.Millisecond {
		t.Errorf("gave up after %s, want within retry_max_time 300ms", el)
	}
	if n := m.count("set"); n < 3 {
		t.Errorf("tried %d times, want several", n)
	}
	if got := counts.Get("cf", OpSetRecords, ResultError); got != 1 {
		t.Errorf("error count = %d, want 1", got)
	}
}

func TestNoRetryOnPermanentError(t *testing.T) {
	m := &memProvider{fail: func(op string, n int) error { return errors.New("HTTP 403 Forbidden") }}
	w := Wrap(m, WrapOptions{Type: "test"})
	if _, err := w.DeleteRecords(context.Background(), zone, nil); err == nil {
		t.Fatal("want an error")
	}
	if n := m.count("delete"); n != 1 {
		t.Errorf("calls = %d, want 1", n)
	}
}

func TestAppendRetryDoesNotDuplicate(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		wantGets  int
		wantRecs  int
		wantCalls int
	}{
		// The write landed, then the answer was lost: re-read, skip it.
		{"ambiguous", Transient(errors.New("HTTP 502"), 0, false), 1, 1, 1},
		// Certainly not applied (429): no re-read. The fake did apply it, so
		// retrying blindly shows as a duplicate, proving no re-read happened.
		{"not applied", Transient(errors.New("HTTP 429"), 0, true), 0, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &memProvider{failAft: func(op string, n int) error {
				if n == 1 {
					return tt.err
				}
				return nil
			}}
			w := Wrap(m, WrapOptions{Type: "test", RetryBaseDelay: time.Millisecond, Counts: &Counts{}})
			rec := libdns.RR{Name: "@", Type: "TXT", Data: "v=spf1 -all"}
			got, err := w.AppendRecords(context.Background(), zone, []libdns.Record{rec})
			if err != nil {
				t.Fatalf("AppendRecords: %v", err)
			}
			if len(got) != 1 {
				t.Errorf("returned %d records, want 1", len(got))
			}
			if n := m.count("get"); n != tt.wantGets {
				t.Errorf("re-reads = %d, want %d", n, tt.wantGets)
			}
			if n := m.count("append"); n != tt.wantCalls {
				t.Errorf("append calls = %d, want %d", n, tt.wantCalls)
			}
			if len(m.recs) != tt.wantRecs {
				t.Errorf("zone holds %d records, want %d", len(m.recs), tt.wantRecs)
			}
		})
	}
}

func TestAttemptDeadline(t *testing.T) {
	m := &memProvider{block: true}
	w := Wrap(m, WrapOptions{Type: "test", Timeout: 50 * time.Millisecond, RetryMaxTime: -1})
	start := time.Now()
	_, err := w.GetRecords(context.Background(), zone)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline error", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("took %s, want about 50ms", el)
	}
}

func TestCallerCancelStopsRetries(t *testing.T) {
	m := &memProvider{fail: func(string, int) error { return Transient(errors.New("503"), 10*time.Second, false) }}
	w := Wrap(m, WrapOptions{Type: "test"})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := w.GetRecords(ctx, zone); err == nil {
		t.Fatal("want an error")
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("took %s after the caller's deadline of 100ms", el)
	}
}

func TestRateLimitPerRequest(t *testing.T) {
	m := gatedProvider{&memProvider{}}
	counts := &Counts{}
	w := Wrap(m, WrapOptions{Name: "r", Type: "test", RateLimit: 20, Counts: counts})
	start := time.Now()
	for i := 0; i < 11; i++ {
		if _, err := w.GetRecords(context.Background(), zone); err != nil {
			t.Fatal(err)
		}
	}
	// Burst 1 at 20/s: the first request is free, the next 10 take 50ms each.
	if el := time.Since(start); el < 450*time.Millisecond {
		t.Errorf("11 requests at 20/s took %s, want at least 450ms", el)
	}
	if got := counts.Get("r", OpRequest, ResultSent); got != 11 {
		t.Errorf("requests counted = %d, want 11", got)
	}
}

func TestRateLimitPerCall(t *testing.T) {
	m := &memProvider{}
	w := Wrap(m, WrapOptions{Type: "test", RateLimit: 20})
	start := time.Now()
	for i := 0; i < 6; i++ {
		if _, err := w.GetRecords(context.Background(), zone); err != nil {
			t.Fatal(err)
		}
	}
	if el := time.Since(start); el < 220*time.Millisecond {
		t.Errorf("6 calls at 20/s took %s, want at least 250ms", el)
	}
}

func TestObserver(t *testing.T) {
	var got []string
	var mu sync.Mutex
	w := Wrap(&memProvider{}, WrapOptions{Name: "n", Type: "test", Counts: &Counts{}, Observer: func(p, op, res string) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, p+"/"+op+"/"+res)
	}})
	if _, err := w.SetRecords(context.Background(), zone, nil); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"n/set_records/ok"}, got); diff != "" {
		t.Errorf("observed (-want +got):\n%s", diff)
	}
}

func TestIsTransient(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", errors.New("HTTP 400"), false},
		{"transient", Transient(errors.New("x"), 0, false), true},
		{"wrapped transient", fmt.Errorf("zone: %w", Transient(errors.New("x"), 0, false)), true},
		{"deadline", context.DeadlineExceeded, true},
		{"canceled", context.Canceled, false},
		{"conn refused", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, true},
		{"eof", fmt.Errorf("read: %w", io.EOF), true},
		{"no such host", &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}, false},
		{"dns timeout", &net.DNSError{Err: "timeout", Name: "x", IsTimeout: true}, true},
	}
	for _, tt := range tests {
		if got, _ := IsTransient(tt.err); got != tt.want {
			t.Errorf("%s: IsTransient(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

func TestHTTPStatusError(t *testing.T) {
	h := http.Header{"Retry-After": {"7"}}
	tests := []struct {
		status     int
		transient  bool
		retryAfter time.Duration
	}{
		{429, true, 7 * time.Second},
		{503, true, 7 * time.Second},
		{500, true, 7 * time.Second},
		{404, false, 0},
		{400, false, 0},
	}
	for _, tt := range tests {
		err := HTTPStatusError(tt.status, h, "GET dns_records", "")
		tr, ra := IsTransient(err)
		if tr != tt.transient || ra != tt.retryAfter {
			t.Errorf("HTTP %d: transient %v retry-after %s, want %v %s", tt.status, tr, ra, tt.transient, tt.retryAfter)
		}
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := ParseRetryAfter(now.Add(90*time.Second).Format(http.TimeFormat), now); got != 90*time.Second {
		t.Errorf("ParseRetryAfter(date) = %s, want 1m30s", got)
	}
}

func init() {
	Register("wraptest", func(s *Settings) (Provider, error) {
		s.String("known", "")
		return &memProvider{}, nil
	})
}

func TestNewWrapped(t *testing.T) {
	tests := []struct {
		name    string
		values  map[string]string
		wantKey string // SettingError key, "" for success
		check   func(*Wrapped) error
	}{
		{"defaults", map[string]string{"known": "x"}, "", func(w *Wrapped) error {
			if w.o.Timeout != DefaultTimeout || w.o.RetryMaxTime != DefaultRetryMaxTime || w.o.RateLimit != rate.Inf || w.o.Name != "mine" {
				return fmt.Errorf("options %+v", w.o)
			}
			return nil
		}},
		{"set", map[string]string{"rate_limit": "2.5", "timeout": "5s", "retry_max_time": "0s"}, "", func(w *Wrapped) error {
			if w.o.Timeout != 5*time.Second || w.o.RetryMaxTime >= 0 || w.o.RateLimit != 2.5 {
				return fmt.Errorf("options %+v", w.o)
			}
			return nil
		}},
		{"unlimited", map[string]string{"rate_limit": "0"}, "", func(w *Wrapped) error {
			if w.o.RateLimit != rate.Inf {
				return fmt.Errorf("rate %v", w.o.RateLimit)
			}
			return nil
		}},
		{"bad rate", map[string]string{"rate_limit": "-1"}, "rate_limit", nil},
		{"bad timeout", map[string]string{"timeout": "soon"}, "timeout", nil},
		{"zero timeout", map[string]string{"timeout": "0s"}, "timeout", nil},
		{"unknown key", map[string]string{"rate_limt": "1"}, "rate_limt", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewWrapped("wraptest", &Settings{Name: "mine", Values: tt.values}, WrapOptions{Counts: &Counts{}})
			if tt.wantKey != "" {
				var se *SettingError
				if !errors.As(err, &se) || se.Key != tt.wantKey {
					t.Fatalf("err = %v, want a SettingError for %q", err, tt.wantKey)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.check(p.(*Wrapped)); err != nil {
				t.Error(err)
			}
		})
	}
	if _, err := NewWrapped("nosuch", nil, WrapOptions{}); err == nil || !strings.Contains(err.Error(), "unknown provider type") {
		t.Errorf("unknown type: err = %v", err)
	}
	if DefaultRateLimit("cloudflare") != 4 || DefaultRateLimit("route53") != 5 || DefaultRateLimit("zonefile") != rate.Inf {
		t.Error("DefaultRateLimit does not match the documented defaults")
	}
}
