package testbind

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// stopTB records how Start ends a test instead of ending it.
type stopTB struct {
	testing.TB
	how, msg string
}

type stopped struct{}

func (s *stopTB) Helper() {}
func (s *stopTB) Fatalf(format string, args ...any) {
	s.how, s.msg = "fatal", fmt.Sprintf(format, args...)
	panic(stopped{})
}
func (s *stopTB) Skipf(format string, args ...any) {
	s.how, s.msg = "skip", fmt.Sprintf(format, args...)
	panic(stopped{})
}

func TestNamedMissing(t *testing.T) {
	orig := namedPath
	t.Cleanup(func() { namedPath = orig })
	namedPath = func() (string, error) { return "", errors.New("named (BIND 9) is not installed") }

	for _, tt := range []struct{ ci, want string }{{"true", "fatal"}, {"", "skip"}, {"false", "skip"}} {
		t.Run("CI="+tt.ci, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			tb := &stopTB{TB: t}
			func() {
				defer func() {
					if r := recover(); r != nil {
						if _, ok := r.(stopped); !ok {
							panic(r)
						}
					}
				}()
				Start(tb, Zone{Name: "example.com"})
			}()
			if tb.how != tt.want || !strings.Contains(tb.msg, "not installed") {
				t.Errorf("Start without named, CI=%q: %s %q, want %s", tt.ci, tb.how, tb.msg, tt.want)
			}
		})
	}
}

func TestBadZoneFailsFast(t *testing.T) {
	tb := &stopTB{TB: t}
	start := time.Now()
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(stopped); !ok {
					panic(r)
				}
			}
		}()
		Start(tb, Zone{Name: "example.com", Content: MinimalZone("example.com") + "www IN A not-an-address\n"})
	}()
	if tb.how != "fatal" || !strings.Contains(tb.msg, "could not load a zone") || !strings.Contains(tb.msg, "not-an-address") {
		t.Errorf("Start with a bad zone file: %s %q", tb.how, tb.msg)
	}
	if d := time.Since(start); d > StartTimeout/2 {
		t.Errorf("Start took %s to notice the bad zone", d)
	}
}
