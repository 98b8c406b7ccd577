// Package systemd holds the hardened unit of maildns and its install notes;
// its tests check the unit with systemd-analyze.
package systemd

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const unitFile = "maildns.service"

// systemdAnalyze finds systemd-analyze; without it the tests fail under CI
// (the CI installs systemd) and are skipped elsewhere.
func systemdAnalyze(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("systemd-analyze not found: %v (apt-get install systemd)", err)
		}
		t.Skipf("systemd-analyze not found: %v", err)
	}
	return p
}

// unitCopy writes the unit to a temporary directory with ExecStart pointing
// at a binary that exists here (verify checks that it does).
func unitCopy(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	unit := strings.Replace(string(b), "ExecStart=/usr/local/bin/maildns ", "ExecStart="+self+" ", 1)
	if unit == string(b) {
		t.Fatal("no ExecStart=/usr/local/bin/maildns in the unit")
	}
	path := filepath.Join(t.TempDir(), unitFile)
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestUnitVerifies(t *testing.T) {
	sa := systemdAnalyze(t)
	out, err := exec.Command(sa, "verify", "--man=no", unitCopy(t)).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func TestUnitExposure(t *testing.T) {
	sa := systemdAnalyze(t)
	out, err := exec.Command(sa, "security", "--offline=yes", "--no-pager", unitCopy(t)).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for maildns\.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	level, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	if level > 1.5 {
		t.Errorf("exposure level %.1f, want at most 1.5:\n%s", level, out)
	}
	t.Logf("exposure level %.1f", level)
}

// TestUnitSettings pins the settings the daemon relies on.
func TestUnitSettings(t *testing.T) {
	b, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]bool{}
	for l := range strings.SplitSeq(string(b), "\n") {
		lines[strings.TrimSpace(l)] = true
	}
	for _, want := range []string{
		"Type=notify",
		"ExecStart=/usr/local/bin/maildns --config /etc/maildns/maildns.yaml",
		"ExecReload=/bin/kill -HUP $MAINPID",
		"Restart=on-failure",
		"DynamicUser=yes",
		"StateDirectory=maildns",
		"ConfigurationDirectory=maildns",
		"#LoadCredential=cf_api_token:/etc/maildns/credentials/cf_api_token",
		"RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
		"ProtectSystem=strict",
		"SystemCallFilter=@system-service",
		"SystemCallFilter=~@privileged @resources",
		"SystemCallErrorNumber=EPERM",
		"CapabilityBoundingSet=",
	} {
		if !lines[want] {
			t.Errorf("unit lacks the line %q", want)
		}
	}
	for _, never := range []string{"PrivateNetwork=yes", "IPAddressDeny=any"} {
		if lines[never] {
			t.Errorf("unit has %q: maildns must reach provider APIs and resolvers", never)
		}
	}
	// A sync in flight gets 30 s at stop: the stop timeout must exceed it.
	if !lines["TimeoutStopSec=45s"] {
		t.Error("TimeoutStopSec must leave room for the 30 s grace of a sync in flight")
	}
	// WATCHDOG=1 is sent every half of WatchdogSec.
	if !lines["WatchdogSec=2min"] {
		t.Error("unit lacks WatchdogSec=2min")
	}
}
