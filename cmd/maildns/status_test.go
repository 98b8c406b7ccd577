package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/maildns/maildns/sync"
)

func statusJSON(t *testing.T, cfg string) (int, StatusReport) {
	t.Helper()
	code, out, errOut := e2eRun(t, "status", "--config", cfg, "--output", "json")
	var rep StatusReport
	if code != 1 {
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("status JSON: %v\n%s%s", err, out, errOut)
		}
	}
	return code, rep
}

func TestStatusAfterRuns(t *testing.T) {
	cfg := e2eExample(t)
	code, _, errOut := e2eRun(t, "status", "--config", cfg)
	if code != 1 || !strings.Contains(errOut, "no run has recorded") {
		t.Fatalf("status before any run: exit %d\n%s", code, errOut)
	}

	// A dry run records only in a state_dir that exists (a sync or systemd's
	// StateDirectory= makes it).
	e2eRun(t, "--config", cfg, "--dry-run")
	if code, _, _ := e2eRun(t, "status", "--config", cfg); code != 1 {
		t.Errorf("status after a dry run with no state_dir: exit %d, want 1", code)
	}
	if err := os.Mkdir(filepath.Join(filepath.Dir(cfg), "state"), 0o750); err != nil {
		t.Fatal(err)
	}
	_, out, _ := e2eRun(t, "--config", cfg, "--dry-run", "--output", "json")
	var plan sync.Plan
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatal(err)
	}
	code, rep := statusJSON(t, cfg)
	if code != 2 || !rep.Attention || rep.LastRun == nil || rep.LastRun.Mode != "dry-run" || rep.NextRun != nil {
		t.Fatalf("status after --dry-run: exit %d %+v", code, rep)
	}
	pending := map[string]int{}
	for _, z := range plan.Zones {
		pending[z.Domain] += len(z.Changes) + len(z.Files)
	}
	for _, d := range rep.Domains {
		if d.Status != sync.DomainDrift || d.Pending != pending[d.Domain] || pending[d.Domain] == 0 {
			t.Errorf("%s after --dry-run: %s, %d pending, want drift, %d", d.Domain, d.Status, d.Pending, pending[d.Domain])
		}
	}
	if len(rep.Domains) != 2 || rep.Summary["drift"] != 2 {
		t.Errorf("summary %v", rep.Summary)
	}

	if code, _, _ := e2eRun(t, "--config", cfg, "--once"); code != 0 {
		t.Fatalf("--once: exit %d", code)
	}
	code, rep = statusJSON(t, cfg)
	if code != 0 || rep.Attention || rep.LastRun.Mode != "once" || rep.LastRun.Changes != plan.Summary.Create+plan.Summary.Update+plan.Summary.Delete {
		t.Errorf("status after --once: exit %d, %+v", code, rep.LastRun)
	}
	for _, d := range rep.Domains {
		if d.Status != sync.DomainInSync || d.Corrected != pending[d.Domain] {
			t.Errorf("%s after --once: %s, corrected %d, want in_sync, %d", d.Domain, d.Status, d.Corrected, pending[d.Domain])
		}
	}
	code, text, _ := e2eRun(t, "status", "--config", cfg)
	if code != 0 || !strings.Contains(text, "example.com  in sync") || !strings.Contains(text, "all well") {
		t.Errorf("text status: exit %d\n%s", code, text)
	}

	// A run that found an ISP action: status lists it and wants attention.
	isp := sync.Finding{Severity: sync.SevAction, Kind: "ptr", Domain: "example.com", Subject: "203.0.113.25",
		Message: "PTR is wrong", ISPRequest: "Please set the reverse DNS (PTR) of 203.0.113.25 to mail.example.com."}
	now := time.Now()
	err := sync.RecordRun(filepath.Join(filepath.Dir(cfg), "state"), sync.ModeDryRun,
		&sync.Plan{Zones: []sync.ZonePlan{{Domain: "example.com", Zone: "example.com", Provider: "local", Status: sync.StatusInSync}},
			Findings: []sync.Finding{isp}}, nil, now, now, time.Time{}, "")
	if err != nil {
		t.Fatal(err)
	}
	code, rep = statusJSON(t, cfg)
	if code != 2 || len(rep.ISPActions) != 1 || rep.ISPActions[0].ISPRequest != isp.ISPRequest {
		t.Errorf("status with an ISP action: exit %d, %+v", code, rep.ISPActions)
	}
	code, text, _ = e2eRun(t, "status", "--config", cfg)
	if code != 2 || !strings.Contains(text, "ask the ISP:\n  example.com  Please set the reverse DNS") {
		t.Errorf("text status with an ISP action: exit %d\n%s", code, text)
	}
}
