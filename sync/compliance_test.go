package sync

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/maildns/maildns/internal/testdns"
	"github.com/maildns/maildns/sync/check"
	"github.com/maildns/maildns/sync/plan"
)

var updateGolden = flag.Bool("update", false, "rewrite the expected part of golden files")

// TestComplianceGolden audits testdata/compliance (a domain that meets
// every requirement it configures, one that fails several, a parked one)
// and compares the scorecard, as text and as the plan's JSON "compliance",
// with compliance.txt and compliance.json there. Names outside the zones
// go to an empty DNS server: the outside MX host does not exist.
func TestComplianceGolden(t *testing.T) {
	src := filepath.Join("testdata", "compliance")
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	srv := testdns.Start(t)
	pl, _ := runConfigResolver(t, filepath.Join(dir, "maildns.yaml"), ModeDryRun,
		check.NewCachingResolver(check.NewDNSResolver([]string{srv.Addr}, time.Second)))

	var text bytes.Buffer
	if err := WriteText(&text, pl, false); err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(text.String(), "\ncompliance:")
	if !ok {
		t.Fatalf("no compliance section in:\n%s", text.String())
	}
	gotText := "compliance:" + section

	var js bytes.Buffer
	if err := WriteJSON(&js, pl); err != nil {
		t.Fatal(err)
	}
	var whole map[string]json.RawMessage
	if err := json.Unmarshal(js.Bytes(), &whole); err != nil {
		t.Fatal(err)
	}
	var reqs []Requirement
	if err := json.Unmarshal(whole["compliance"], &reqs); err != nil {
		t.Fatalf("compliance: %v\n%s", err, whole["compliance"])
	}
	gotJSON, _ := json.MarshalIndent(map[string]any{"compliance": reqs}, "", "  ")
	gotJSON = append(gotJSON, '\n')

	for _, g := range []struct {
		file string
		got  string
	}{{"compliance.txt", gotText}, {"compliance.json", string(gotJSON)}} {
		path := filepath.Join(src, g.file)
		if *updateGolden {
			if err := os.WriteFile(path, []byte(g.got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (go test -run TestComplianceGolden -update writes it)", err)
		}
		if diff := cmp.Diff(string(want), g.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", path, diff)
		}
	}
	// Every domain has every requirement once, in order.
	if len(reqs) != 3*len(plan.Requirements) {
		t.Errorf("%d requirements, want %d", len(reqs), 3*len(plan.Requirements))
	}
}
