package ledger

import (
	"slices"
	"testing"
)

func TestLedger(t *testing.T) {
	var l Ledger
	l.Fail(2, 429, "1")
	l.Fail(1, 503, "")
	var got []Failure
	for _, k := range []string{"GET a", "GET a", "POST b", "GET a"} {
		if f, failed := l.Record(k); failed {
			got = append(got, f)
		}
	}
	want := []Failure{{429, "1"}, {429, "1"}, {503, ""}}
	if !slices.Equal(got, want) {
		t.Errorf("failures %v, want %v", got, want)
	}
	if l.Calls("GET a") != 3 || l.Calls("POST b") != 1 || l.Total() != 4 {
		t.Errorf("calls GET a %d, POST b %d, total %d; want 3, 1, 4", l.Calls("GET a"), l.Calls("POST b"), l.Total())
	}
	if log := l.CallLog(); !slices.Equal(log, []string{"GET a", "GET a", "POST b", "GET a"}) {
		t.Errorf("call log %v", log)
	}
	l.ResetCalls()
	if l.Total() != 0 || l.Calls("GET a") != 0 {
		t.Error("ResetCalls left counts")
	}
}

func TestFailOn(t *testing.T) {
	var l Ledger
	l.FailOn("PATCH x", 2, 403, "echo")
	l.Fail(1, 503, "")
	var got []Failure
	for _, k := range []string{"GET x", "PATCH x", "GET x", "PATCH x", "PATCH x"} {
		f, failed := l.Record(k)
		if !failed {
			f = Failure{}
		}
		got = append(got, f)
	}
	want := []Failure{{503, ""}, {403, "echo"}, {}, {403, "echo"}, {}}
	if !slices.Equal(got, want) {
		t.Errorf("failures %v, want %v", got, want)
	}
}
