package policy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestConfigCompileUsesLoad: Config.Compile answers a loaded policy with the
// RRsets its load compiled (no second compile), equal to Compile's; a policy
// changed since (a rotation's copy, a domain built elsewhere) is compiled.
func TestConfigCompileUsesLoad(t *testing.T) {
	_, cfgPath := writeTree(t, map[string]string{
		"policies/p.yaml": `domain: example.com
provider: local
mail_hosts: [{name: mail, ipv4: [192.0.2.1]}]
dkim:
  - selector: s1
    key: MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=
  - selector: s2
    key: MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=
    state: next
`,
	})
	cfg, err := LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.Domains[0]
	a, err := cfg.Compile(d)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := cfg.Compile(d)
	if len(a) == 0 || &a[0] != &b[0] {
		t.Fatal("Config.Compile compiled a loaded policy again")
	}
	fresh, err := Compile(d)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fresh, a); diff != "" {
		t.Fatalf("load's RRsets differ from Compile's (-Compile +load):\n%s", diff)
	}

	// A rotation that changes nothing keeps the policy (and its RRsets).
	if got := WithDKIMStates(d, map[string]string{"s1": "active", "s2": "next"}); got != d {
		t.Error("WithDKIMStates copied a policy it did not change")
	}
	// One that changes a state is a new policy, compiled anew.
	moved := WithDKIMStates(d, map[string]string{"s1": "retired", "s2": "active"})
	if moved == d || d.DKIM[1].State != "next" {
		t.Fatal("WithDKIMStates changed the loaded policy")
	}
	c, err := cfg.Compile(moved)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Compile(moved)
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("rotated policy (-want +got):\n%s", diff)
	}
	if cmp.Equal(a, c) {
		t.Error("the rotated policy got the loaded policy's RRsets")
	}
}
