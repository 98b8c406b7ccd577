package faulty

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libdns/libdns"
)

// mem is a minimal provider that counts writes.
type mem struct {
	recs   []libdns.RR
	writes int
}

func (m *mem) GetRecords(ctx context.Context, zone string) ([]libdns.Record, error) {
	out := make([]libdns.Record, len(m.recs))
	for i, r := range m.recs {
		out[i] = r
	}
	return out, nil
}

func (m *mem) AppendRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	m.writes++
	for _, r := range recs {
		m.recs = append(m.recs, r.RR())
	}
	return recs, nil
}

func (m *mem) SetRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	m.writes++
	return recs, nil
}

func (m *mem) DeleteRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	m.writes++
	return recs, nil
}

var rec = []libdns.Record{libdns.RR{Name: "a", Type: "A", TTL: time.Hour, Data: "192.0.2.1"}}

func TestFaults(t *testing.T) {
	for _, tc := range []struct {
		fault  Fault
		writes int // the backend was called
	}{
		{None, 1},
		{FailBefore, 0},
		{Timeout, 0},
		{FailAfter, 1},
	} {
		t.Run(tc.fault.String(), func(t *testing.T) {
			m := &mem{}
			p := New(m, Options{Script: func(int, string) Fault { return tc.fault }, Hang: time.Millisecond})
			_, err := p.AppendRecords(context.Background(), "example.com.", rec)
			if (err != nil) != (tc.fault != None) || (err != nil && !errors.Is(err, ErrInjected)) {
				t.Errorf("err %v", err)
			}
			if m.writes != tc.writes {
				t.Errorf("backend called %d times, want %d", m.writes, tc.writes)
			}
			if tc.fault == Timeout && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("timeout error %v is not a deadline", err)
			}
		})
	}
}

func TestTimeoutWaitsForDeadline(t *testing.T) {
	p := New(&mem{}, Options{Script: func(int, string) Fault { return Timeout }, Hang: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := p.DeleteRecords(ctx, "example.com.", rec)
	if d := time.Since(start); d < 15*time.Millisecond || d > 5*time.Second {
		t.Errorf("blocked %v, want about the 20ms deadline", d)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err %v", err)
	}
}

// The same seed gives the same faults; reads are left alone by default.
func TestSeeded(t *testing.T) {
	run := func(seed uint64) []string {
		p := New(&mem{}, Options{Seed: seed, Rate: 0.5, Hang: time.Microsecond})
		for range 50 {
			_, _ = p.GetRecords(context.Background(), "example.com.")
			_, _ = p.AppendRecords(context.Background(), "example.com.", rec)
		}
		for _, l := range p.Log() {
			if strings.Contains(l, "get_records") {
				t.Errorf("a read got a fault: %s", l)
			}
		}
		return p.Log()
	}
	a, b, c := run(7), run(7), run(8)
	if len(a) == 0 || len(a) == 50 {
		t.Fatalf("%d faults in 50 writes at rate 0.5", len(a))
	}
	if !slices.Equal(a, b) {
		t.Errorf("same seed, different faults:\n%v\n%v", a, b)
	}
	if slices.Equal(a, c) {
		t.Errorf("different seeds, same faults")
	}
}
