package policy

import (
	"net/netip"
	"syscall"
	"testing"
)

func mustAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func mkfifo(path string) error { return syscall.Mkfifo(path, 0o644) }
