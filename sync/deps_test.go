package sync

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/maildns/maildns"

// subpackageDeps is, for each package of sync's tree, every maildns package
// it may import, directly or not: what its package comment allows.
// Dependencies flow one way: plan <- check <- sync (the engine) <- daemon,
// and journal <- sync; the engine knows neither the daemon nor a command.
var subpackageDeps = map[string][]string{
	"sync/plan":    {"policy"},
	"sync/check":   {"policy", "sync/plan", "internal/canon"},
	"sync/journal": {"sync/plan", "policy"},
	"sync": {"policy", "providers", "internal/canon", "internal/atomicfile",
		"sync/plan", "sync/check", "sync/journal"},
	"sync/daemon": {"policy", "providers", "internal/canon", "internal/atomicfile",
		"sync/plan", "sync/check", "sync/journal", "sync"},
}

// leafDeps are maildns packages of the standard library's kind (they import
// no maildns package and know nothing of DNS): any package may use them.
var leafDeps = []string{"internal/readfile"}

// TestSubpackageDeps fails when a package of sync's tree imports, directly
// or through another package, a maildns package its package comment says
// it must not know (go list -deps: what the compiler links, tests
// excluded). The go command refuses import cycles; this keeps the
// direction.
func TestSubpackageDeps(t *testing.T) {
	for pkg, allowed := range subpackageDeps {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", module+"/"+pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		var mine []string
		for _, dep := range strings.Fields(string(out)) {
			rel, ok := strings.CutPrefix(dep, module+"/")
			if !ok || rel == pkg {
				continue
			}
			mine = append(mine, rel)
			if !slices.Contains(allowed, rel) && !slices.Contains(leafDeps, rel) {
				t.Errorf("%s imports %s; it may import only %v", pkg, rel, allowed)
			}
		}
		slices.Sort(mine)
		t.Logf("%s imports %v", pkg, mine)
	}
	for _, leaf := range leafDeps {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", module+"/"+leaf).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", leaf, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.HasPrefix(dep, module+"/") && dep != module+"/"+leaf {
				t.Errorf("%s imports %s: a leaf package imports no maildns package", leaf, dep)
			}
		}
	}
}
