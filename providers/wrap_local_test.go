package providers

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/libdns/libdns"
)

// slowDisk is a provider whose reads take slow each until the n-th, which
// fails with fail (nil: succeeds), and which notes whether each call had a
// deadline.
type slowDisk struct {
	memProvider
	local     bool
	slow      time.Duration
	failUntil int
	fail      error
	deadlines []bool
}

func (s *slowDisk) ReadsLocally() bool { return s.local }

func (s *slowDisk) GetRecords(ctx context.Context, zone string) ([]libdns.Record, error) {
	_, ok := ctx.Deadline()
	s.deadlines = append(s.deadlines, ok)
	if len(s.deadlines) <= s.failUntil {
		time.Sleep(s.slow)
		return nil, s.fail
	}
	return nil, nil
}

func (s *slowDisk) SetRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	_, ok := ctx.Deadline()
	s.deadlines = append(s.deadlines, ok)
	return recs, nil
}

// A read of a LocalReader runs without a deadline (no timer per zone) but
// is still timed: a read that failed after taking longer than the attempt
// deadline is retried as a timed-out attempt would be, and one that failed
// quickly is not. Writes keep their deadline; other providers too.
func TestLocalReadsTimedWithoutDeadline(t *testing.T) {
	opts := func(c *Counts) WrapOptions {
		return WrapOptions{Name: "p", Type: "test", Timeout: 20 * time.Millisecond, RetryBaseDelay: time.Millisecond, Counts: c,
			Logger: slog.New(slog.DiscardHandler)}
	}
	ctx := context.Background()

	c := &Counts{}
	s := &slowDisk{local: true, slow: 40 * time.Millisecond, failUntil: 1, fail: errors.New("read failed")}
	if _, err := Wrap(s, opts(c)).GetRecords(ctx, zone); err != nil {
		t.Fatalf("slow failed read not retried: %v", err)
	}
	if c.Get("p", OpGetRecords, ResultRetry) != 1 || c.Get("p", OpGetRecords, ResultOK) != 1 || len(s.deadlines) != 2 || s.deadlines[0] || s.deadlines[1] {
		t.Errorf("retries %d, ok %d, deadlines %v; want 1, 1, [false false]",
			c.Get("p", OpGetRecords, ResultRetry), c.Get("p", OpGetRecords, ResultOK), s.deadlines)
	}

	c = &Counts{}
	s = &slowDisk{local: true, failUntil: 1, fail: errors.New("no such file")}
	_, err := Wrap(s, opts(c)).GetRecords(ctx, zone)
	if err == nil || strings.Contains(err.Error(), "attempt deadline") || c.Get("p", OpGetRecords, ResultRetry) != 0 {
		t.Errorf("quick failed read: %v, %d retries; want the error, not retried", err, c.Get("p", OpGetRecords, ResultRetry))
	}

	c = &Counts{}
	s = &slowDisk{local: true, slow: 40 * time.Millisecond, failUntil: 5, fail: errors.New("read failed")}
	o := opts(c)
	o.RetryMaxTime = -1
	_, err = Wrap(s, o).GetRecords(ctx, zone)
	if err == nil || !strings.Contains(err.Error(), "read failed (attempt deadline 20ms)") {
		t.Errorf("slow failed read without retries: %v; want it named as past the attempt deadline", err)
	}

	s = &slowDisk{local: true}
	if _, err := Wrap(s, opts(&Counts{})).SetRecords(ctx, zone, nil); err != nil || len(s.deadlines) != 1 || !s.deadlines[0] {
		t.Errorf("write of a local provider: %v, deadlines %v; want one with a deadline", err, s.deadlines)
	}
	s = &slowDisk{}
	if _, err := Wrap(s, opts(&Counts{})).GetRecords(ctx, zone); err != nil || len(s.deadlines) != 1 || !s.deadlines[0] {
		t.Errorf("read of another provider: %v, deadlines %v; want one with a deadline", err, s.deadlines)
	}
}
