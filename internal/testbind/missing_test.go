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
	for kind, path := range map[string]*func() (string, error){BIND: &namedPath, Knot: &knotdPath, PowerDNS: &pdnsPath} {
		t.Run(kind, func(t *testing.T) { testMissing(t, kind, path) })
	}
}

func testMissing(t *testing.T, kind string, path *func() (string, error)) {
	orig := *path
	t.Cleanup(func() { *path = orig })
	*path = func() (string, error) { return "", errors.New(kind + " is not installed") }

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
				StartKind(tb, kind, Zone{Name: "example.com"})
			}()
			if tb.how != tt.want || !strings.Contains(tb.msg, "not installed") {
				t.Errorf("Start without named, CI=%q: %s %q, want %s", tt.ci, tb.how, tb.msg, tt.want)
			}
		})
	}
}

func TestBadZoneFailsFast(t *testing.T) {
	for _, kind := range Kinds {
		t.Run(kind, func(t *testing.T) { testBadZone(t, kind) })
	}
}

func testBadZone(t *testing.T, kind string) {
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
		StartKind(tb, kind, Zone{Name: "example.com", Content: MinimalZone("example.com") + "www IN A not-an-address\n"})
	}()
	if tb.how != "fatal" || !strings.Contains(tb.msg, "could not load") {
		t.Errorf("Start with a bad zone file: %s %q", tb.how, tb.msg)
	}
	if d := time.Since(start); d > StartTimeout/2 {
		t.Errorf("Start took %s to notice the bad zone", d)
	}
}
