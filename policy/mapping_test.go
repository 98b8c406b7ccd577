package policy

import (
	"fmt"
	"strings"
	"testing"
)

// TestDuplicateKeyLargeMapping: a mapping of many keys (found by a map, not
// a scan) reports a repeated key at the first one's line, as a small one.
func TestDuplicateKeyLargeMapping(t *testing.T) {
	var b strings.Builder
	b.WriteString("policies: [\"policies/*.yaml\"]\nproviders:\n")
	for i := range 20 {
		fmt.Fprintf(&b, "  p%d: {type: zonefile, directory: zones}\n", i)
	}
	b.WriteString("  p7: {type: zonefile, directory: other}\n")
	dir, cfgPath := writeTree(t, map[string]string{"maildns.yaml": b.String(),
		"policies/p.yaml": "domain: example.com\nprovider: p1\n"})
	_, err := LoadConfig(cfgPath)
	if err == nil {
		t.Fatal("loaded")
	}
	want := `maildns.yaml:23: duplicate key "p7" (first at line 10)`
	if got := errorLines(t, err, dir); len(got) != 1 || got[0] != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
