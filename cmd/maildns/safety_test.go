package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/maildns/maildns/sync"
)

// setPolicy replaces a policy file of a copied example tree.
func setPolicy(t *testing.T, dir, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "policies", name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func oncePlan(t *testing.T, args ...string) (int, sync.Plan, string) {
	t.Helper()
	code, out, errOut := restoreRun(t, append(args, "--once", "--output", "json")...)
	var plan sync.Plan
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatalf("%v: %v\n%s\n%s", args, err, out, errOut)
	}
	return code, plan, errOut
}

func zoneStatus(plan sync.Plan, domain, zone string) string {
	for _, z := range plan.Zones {
		if z.Domain == domain && z.Zone == zone {
			return z.Status
		}
	}
	return ""
}

func findingWith(plan sync.Plan, kind, text string) bool {
	return slices.ContainsFunc(plan.Findings, func(f sync.Finding) bool {
		return f.Kind == kind && f.Severity == sync.SevError && strings.Contains(f.Message, text)
	})
}

const comHead = `domain: example.com
provider: local
mail_hosts: [{name: mail, ipv4: [203.0.113.25], ipv6: ["2001:db8::25"]}]
`

// Every route to the same weakening is refused without --allow-weakening,
// with nothing written to the zone: a null MX by the mx key or by parking,
// SPF ~all to ?all, a sub-domain's DMARC p=none under its parent's
// sp=reject. With --allow-weakening each goes through.
func TestIndirectWeakeningRefused(t *testing.T) {
	for _, tc := range []struct {
		name, policy, want string
	}{
		{"null mx by mx", comHead + "mx: [{host: \".\", priority: 0}]\n", "with a null MX"},
		{"null mx by parked", "domain: example.com\nprovider: local\nparked: true\n", "with a null MX"},
		{"spf softfail to neutral", comHead + "spf: {all: neutral}\n", "from ~all (softfail) to ?all"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := badTree(t)
			cfg := filepath.Join(dir, "maildns.yaml")
			setPolicy(t, dir, "example.com.yaml", tc.policy)
			before := restoreZones(t, dir)["example.com."]
			code, plan, errOut := oncePlan(t, "--config", cfg, "--offline", "--domain", "example.com")
			if code != exitFailed || zoneStatus(plan, "example.com", "example.com") != sync.StatusRefused || !findingWith(plan, "safety", tc.want) {
				t.Fatalf("exit %d, status %s, findings %+v\n%s", code, zoneStatus(plan, "example.com", "example.com"), plan.Findings, errOut)
			}
			if got := restoreZones(t, dir)["example.com."]; !slices.Equal(got, before) {
				t.Errorf("a refused zone was written:\n%v\nwant %v", got, before)
			}
			code, plan, errOut = oncePlan(t, "--config", cfg, "--offline", "--domain", "example.com", "--allow-weakening")
			if code != exitOK || zoneStatus(plan, "example.com", "example.com") != sync.StatusApplied {
				t.Errorf("--allow-weakening: exit %d, status %s\n%s", code, zoneStatus(plan, "example.com", "example.com"), errOut)
			}
		})
	}

	t.Run("sub-domain dmarc under the parent's sp", func(t *testing.T) {
		dir := badTree(t)
		cfg := filepath.Join(dir, "maildns.yaml")
		if code, _, errOut := oncePlan(t, "--config", cfg, "--offline"); code != exitOK {
			t.Fatalf("first --once: exit %d\n%s", code, errOut)
		}
		setPolicy(t, dir, "shop.example.com.yaml", "domain: shop.example.com\nprovider: local\nzone: example.com\ndmarc: {policy: none}\n")
		code, plan, errOut := oncePlan(t, "--config", cfg, "--offline", "--domain", "shop.example.com")
		if code != exitFailed || zoneStatus(plan, "shop.example.com", "example.com") != sync.StatusRefused || !findingWith(plan, "safety", "weaker than the sp=reject example.com gives") {
			t.Fatalf("exit %d, %+v\n%s", code, plan, errOut)
		}
		if slices.ContainsFunc(restoreZones(t, dir)["example.com."], func(s string) bool { return strings.HasPrefix(s, "_dmarc.shop ") }) {
			t.Error("the weaker sub-domain record was written")
		}
		// As strong as the parent's sp: no weakening.
		setPolicy(t, dir, "shop.example.com.yaml", "domain: shop.example.com\nprovider: local\nzone: example.com\ndmarc: {policy: reject}\n")
		if code, _, errOut := oncePlan(t, "--config", cfg, "--offline", "--domain", "shop.example.com"); code != exitOK {
			t.Errorf("p=reject under sp=reject: exit %d\n%s", code, errOut)
		}
	})
}

// A record whose own check has an error finding is never published, the
// record in place stays, and the rest of the zone is written: the zone is
// partial and --once says so (exit 1). A pass-all SPF by ip4/ip6 ranges and
// an MX to a host that does not exist in the zone.
func TestBrokenRecordsHeldBack(t *testing.T) {
	for _, tc := range []struct {
		name, policy, kind, held, inPlace, want string
		args                                    []string
	}{
		{"pass-all spf", comHead + "spf: {mechanisms: [\"ip4:0.0.0.0/1\", \"ip4:128.0.0.0/1\"]}\ndmarc: {policy: reject}\n",
			"spf", "@ 1h0m0s TXT v=spf1", "@ 1h0m0s TXT v=spf1 mx ~all", "pass every IPv4 address", []string{"--offline"}},
		{"pass-all spf v4 and v6", comHead + "spf: {mechanisms: [\"ip4:0.0.0.0/0\", \"ip6:::/0\"]}\ndmarc: {policy: reject}\n",
			"spf", "@ 1h0m0s TXT v=spf1", "@ 1h0m0s TXT v=spf1 mx ~all", "pass every IPv4 address", []string{"--offline"}},
		{"mx to a missing host", comHead + "mx: [{host: nomail, priority: 10}]\ndmarc: {policy: reject}\n",
			"mx", "@ 1h0m0s MX ", "@ 1h0m0s MX 10 oldmail.example.com.", "nomail.example.com. does not exist", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := badTree(t)
			cfg := filepath.Join(dir, "maildns.yaml")
			setPolicy(t, dir, "example.com.yaml", tc.policy)
			args := append([]string{"--config", cfg, "--domain", "example.com"}, tc.args...)
			code, plan, errOut := oncePlan(t, args...)
			if code != exitFailed || zoneStatus(plan, "example.com", "example.com") != sync.StatusPartial {
				t.Errorf("exit %d, status %s, want 1 and partial\n%s", code, zoneStatus(plan, "example.com", "example.com"), errOut)
			}
			if !findingWith(plan, tc.kind, tc.want) || !findingWith(plan, tc.kind, "was not published") {
				t.Errorf("findings %+v, want a %s error saying %q and what was held", plan.Findings, tc.kind, tc.want)
			}
			got := restoreZones(t, dir)["example.com."]
			var held []string
			for _, r := range got {
				if strings.HasPrefix(r, tc.held) {
					held = append(held, r)
				}
			}
			if len(held) != 1 || held[0] != tc.inPlace {
				t.Errorf("held record: %v, want the record in place %q", held, tc.inPlace)
			}
			if !slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, "_dmarc 1h0m0s TXT v=DMARC1; p=reject") }) {
				t.Errorf("the rest of the zone was not written: %v", got)
			}
			// sync finished counts what was written, not the held change.
			var m map[string]any
			for _, line := range strings.Split(errOut, "\n") {
				if strings.Contains(line, `"msg":"sync finished"`) {
					_ = json.Unmarshal([]byte(line), &m)
				}
			}
			written := 0
			for _, z := range plan.Zones {
				if z.Status == sync.StatusApplied || z.Status == sync.StatusPartial {
					written += len(z.Changes)
				}
			}
			if m == nil || m["changes"] != float64(written) {
				t.Errorf("sync finished %v, want changes=%d", m, written)
			}
		})
	}
}
