package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/maildns/maildns/policy"
)

// TestExampleMTASTS: the example's sending domain publishes MTA-STS. A dry
// run shows the policy file and the record; --once writes the file
// (configs/example/www, beside the policies) and the record whose id is
// derived from it; the next dry run exits 0 offline, the policy host that
// cannot be reached being a "could not verify" warning.
func TestExampleMTASTS(t *testing.T) {
	cfg := e2eExample(t)
	dir := filepath.Dir(cfg)
	path := filepath.Join(dir, "www", "example.com", ".well-known", "mta-sts.txt")
	code, out, errOut := e2eRun(t, "--config", cfg, "--dry-run")
	if code != 2 || !strings.Contains(out, "+ file  "+path+"  (MTA-STS policy, mode enforce)") || !regexp.MustCompile(`\+ _mta-sts +TXT +3600 +"v=STSv1; id=`).MatchString(out) {
		t.Fatalf("--dry-run exit %d:\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("--dry-run wrote the policy file: %v", err)
	}
	if code, out, errOut = e2eRun(t, "--config", cfg, "--once"); code != 0 {
		t.Fatalf("--once exit %d:\n%s%s", code, out, errOut)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmax_age: 604800\r\n"
	if string(text) != want {
		t.Errorf("policy file %q, want %q", text, want)
	}
	var rec string
	for _, rr := range e2eZones(t, cfg)["example.com"] {
		if rr.Name == "_mta-sts" && rr.Type == "TXT" {
			rec = rr.Data
		}
	}
	if rec != policy.MTASTSRecord(want) {
		t.Errorf("_mta-sts TXT %q, want %q", rec, policy.MTASTSRecord(want))
	}
	code, out, errOut = e2eRun(t, "--config", cfg, "--dry-run")
	if code != 0 || !strings.Contains(out, "· 0 changes (") {
		t.Fatalf("--dry-run after --once exit %d:\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "warning  mta_sts") || !strings.Contains(out, "could not verify the MTA-STS policy") {
		t.Errorf("no could-not-verify warning:\n%s", out)
	}
}
