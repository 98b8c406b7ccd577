package policy

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// formatRRsets renders d's compiled RRsets as the golden text; positions are
// shown relative to base.
func formatRRsets(d *Domain, rs []RRset, base string) string {
	var b strings.Builder
	for _, r := range rs {
		own := "all"
		if r.Own == OwnPrefix {
			own = "prefix:" + r.OwnedPrefix()
		}
		pos := r.PosIn(d)
		if rel, err := filepath.Rel(base, pos.File); err == nil {
			pos.File = filepath.ToSlash(rel)
		}
		fmt.Fprintf(&b, "%s %s %s %s ttl=%d own=%s element=%s pos=%s domain=%s",
			r.Provider, r.Zone, r.Name, r.Type, int(r.TTL.Seconds()), own, r.Element, pos, d.Domain)
		if r.Absent {
			b.WriteString(" absent")
		}
		b.WriteString("\n")
		for _, v := range r.Values {
			fmt.Fprintf(&b, "  %s\n", v)
		}
	}
	return b.String()
}

func TestGolden(t *testing.T) {
	base := filepath.Join("testdata", "golden")
	cfg, err := LoadConfig(filepath.Join(base, "maildns.yaml"))
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	policies, _ := filepath.Glob(filepath.Join(base, "policies", "*.yaml"))
	if len(cfg.Domains) != len(policies) || len(policies) == 0 {
		t.Fatalf("loaded %d domains from %d policy files", len(cfg.Domains), len(policies))
	}
	for _, d := range cfg.Domains {
		t.Run(d.Domain, func(t *testing.T) {
			rs, err := Compile(d)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			got := formatRRsets(d, rs, base)
			golden := strings.TrimSuffix(d.Pos.File, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s: compiled RRsets differ (-want +got):\n%s", golden, diff)
			}
		})
	}
}
