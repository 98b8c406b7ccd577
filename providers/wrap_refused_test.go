package providers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/libdns/libdns"
)

// dialProvider reads a zone by dialling addr, as a backend whose server is
// down would.
type dialProvider struct {
	memProvider
	addr string
}

func (d *dialProvider) GetRecords(ctx context.Context, zone string) ([]libdns.Record, error) {
	var dl net.Dialer
	c, err := dl.DialContext(ctx, "tcp", d.addr)
	if err != nil {
		return nil, err
	}
	_ = c.Close()
	return nil, nil
}

// A refused connection fails within seconds, not retry_max_time, and every
// retry is logged at WARN with the attempt, the wait and the cause.
func TestRefusedConnectionFailsFast(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close() // nothing listens there now: connection refused
	var logs bytes.Buffer
	w := Wrap(&dialProvider{addr: addr}, WrapOptions{Name: "ns", Type: "test", RetryBaseDelay: 50 * time.Millisecond,
		RetryMaxTime: 2 * time.Minute, Counts: &Counts{}, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	start := time.Now()
	_, err = w.GetRecords(context.Background(), "example.com.")
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "giving up") {
		t.Fatalf("err %v", err)
	}
	if took > RefusedRetryMaxTime+2*time.Second {
		t.Errorf("a refused connection took %v to fail, want about %v", took, RefusedRetryMaxTime)
	}
	retries := 0
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil || m["msg"] != "provider retry" {
			continue
		}
		retries++
		if m["level"] != "WARN" || m["attempt"] != float64(retries) || m["wait"] == "" || !strings.Contains(m["cause"].(string), "connection refused") || m["provider"] != "ns" {
			t.Errorf("retry line %s", line)
		}
	}
	if retries < 1 {
		t.Errorf("no retry logged:\n%s", logs.String())
	}
}

// The cause in a retry's log line is redacted like the error returned.
func TestRetryLogRedacted(t *testing.T) {
	const secret = "s3cr3t-token-value"
	var logs bytes.Buffer
	m := &memProvider{fail: func(op string, n int) error {
		if n == 1 {
			return &TransientError{Err: errors.New("503 from https://api.example/?token=" + secret)}
		}
		return nil
	}}
	w := Wrap(m, WrapOptions{Name: "api", Type: "test", RetryBaseDelay: time.Millisecond, Counts: &Counts{},
		Redactor: NewRedactor(secret), Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if _, err := w.GetRecords(context.Background(), "example.com."); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), `"msg":"provider retry"`) || strings.Contains(logs.String(), secret) {
		t.Errorf("retry log:\n%s", logs.String())
	}
}
