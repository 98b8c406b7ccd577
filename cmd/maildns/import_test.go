package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// importedConfig writes a config beside cfg that reads the policies in dir
// (relative to cfg's directory) instead of its own.
func importedConfig(t *testing.T, cfg, dir string) string {
	t.Helper()
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for l := range strings.SplitSeq(string(data), "\n") {
		if strings.HasPrefix(l, "policies:") {
			l = `policies: ["` + dir + `/*.yaml"]`
		}
		out = append(out, l)
	}
	path := filepath.Join(filepath.Dir(cfg), "imported.yaml")
	if err := os.WriteFile(path, []byte(strings.Join(out, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// roundTrip checks that the imported policies are valid and that a dry run
// over them has nothing to change.
func roundTrip(t *testing.T, cfg string, extra ...string) {
	t.Helper()
	if code, out, errOut := e2eRun(t, "--config", cfg, "--validate"); code != 0 {
		t.Fatalf("--validate of the imported policies: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := e2eRun(t, append([]string{"--config", cfg, "--dry-run"}, extra...)...)
	if code != 0 || !strings.Contains(out, "· 0 changes (") {
		t.Fatalf("--dry-run of the imported policies: exit %d\n%s%s", code, out, errOut)
	}
}

func TestImportExampleRoundTrip(t *testing.T) {
	cfg := e2eExample(t)
	dir := filepath.Dir(cfg)
	if code, out, errOut := e2eRun(t, "--config", cfg, "--once"); code != 0 {
		t.Fatalf("--once: exit %d\n%s%s", code, out, errOut)
	}
	files := e2eSnapshot(t, dir)
	out := filepath.Join(dir, "imported")
	for _, z := range []string{"example.com", "example.net"} {
		if code, o, e := e2eRun(t, "import", "--config", cfg, "--provider", "local", "--zone", z, "--out", out); code != 0 {
			t.Fatalf("import %s: exit %d\n%s%s", z, code, o, e)
		}
	}
	if diff := cmp.Diff(files, e2eSnapshot(t, dir)); diff != "" {
		t.Fatalf("import changed a zone file:\n%s", diff)
	}
	com, _ := os.ReadFile(filepath.Join(out, "example.com.yaml"))
	for _, want := range []string{"selector: s2026", "ptr:\n  provider: local", "policy: reject", "{host: mail, priority: 10}"} {
		if !strings.Contains(string(com), want) {
			t.Errorf("imported example.com lacks %q:\n%s", want, com)
		}
	}
	// Without the policy text the mta_sts section is a comment to fill in.
	if strings.Contains(string(com), "\nmta_sts:") || !strings.Contains(string(com), "# mta_sts:\n#   mode: enforce") {
		t.Errorf("imported example.com without --mta-sts-dir: want mta_sts as a comment:\n%s", com)
	}
	if net, _ := os.ReadFile(filepath.Join(out, "example.net.yaml")); !strings.Contains(string(net), "parked: true") {
		t.Errorf("example.net not imported as parked:\n%s", net)
	}
	roundTrip(t, importedConfig(t, cfg, "imported"))

	// Nothing is replaced without --force, and then nothing at all is written.
	os.WriteFile(filepath.Join(out, "example.com.yaml"), []byte("# mine\n"), 0o644)
	os.Remove(filepath.Join(out, "keys", "example.com", "s2026.pem"))
	code, _, errOut := e2eRun(t, "import", "--config", cfg, "--provider", "local", "--zone", "example.com", "--out", out)
	if mine, _ := os.ReadFile(filepath.Join(out, "example.com.yaml")); code != 1 || string(mine) != "# mine\n" || !strings.Contains(errOut, "--force") {
		t.Errorf("import over an existing policy: exit %d, file %q\n%s", code, mine, errOut)
	}
	if _, err := os.Stat(filepath.Join(out, "keys", "example.com", "s2026.pem")); err == nil {
		t.Error("a refused import wrote a key file")
	}
	if code, _, errOut := e2eRun(t, "import", "--config", cfg, "--provider", "local", "--zone", "example.com", "--out", out, "--force"); code != 0 {
		t.Fatalf("import --force: exit %d\n%s", code, errOut)
	}
	if again, _ := os.ReadFile(filepath.Join(out, "example.com.yaml")); string(again) != string(com) {
		t.Errorf("import --force wrote another policy:\n%s", again)
	}
}

// A zone as people have it: split and mixed-case TXT, odd TTLs, foreign
// records, and records no policy can say. Those are kept as comments and
// left alone; the rest round-trips.
func TestImportKeepsWhatPoliciesCannotSay(t *testing.T) {
	dkimKey := "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB"
	dir := writeTree(t, map[string]string{
		"maildns.yaml":   "policies: [\"policies/*.yaml\"]\nstate_dir: state\nlive_checks: false\nproviders:\n  local: {type: zonefile, directory: zones}\n",
		"policies/.keep": "",
		"zones/odd.example.zone": `$ORIGIN odd.example.
$TTL 300
@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300
@ IN NS ns1
ns1 IN A 192.0.2.53
@ 1800 IN MX 20 MX2
@ 1800 IN MX 10 mx1
MX1 600 IN A 192.0.2.25
mx1 600 IN AAAA 2001:DB8::25
mx2 1800 IN A 192.0.2.26
@ 1800 IN TXT "v=spf1 ip4:192.0.2.25 ip6:2001:db8::25 " "ip4:192.0.2.26 exists:%{i}._spf.%{d} ~all"
@ 1800 IN TXT "google-site-verification=abc"
sel1._domainkey 1800 IN TXT "v=DKIM1; k=rsa; " "p=` + dkimKey + `"
sel2._domainkey 1800 IN TXT "v=DKIM1; k=rsa; t=y; h=sha256; p=` + dkimKey + `"
_dmarc 1800 IN TXT "v=DMARC1; p=quarantine; ri=3600; rua=mailto:d@odd.example"
_dmarc.sub 1800 IN TXT "v=DMARC1; p=none; sp=reject; pct=50; rua=mailto:a@odd.example,mailto:b@odd.example; ri=3600"
www IN CNAME odd.example.
_mta-sts 1800 IN TXT "v=STSv1; id=20261201"
_smtp._tls 1800 IN TXT "v=TLSRPTv1; rua=mailto:tls@odd.example,https://tls.odd.example/r"
default._bimi 1800 IN TXT "v=BIMI1; l=https://odd.example/logo.svg; a="
_smtp._tls.sub 1800 IN TXT "v=TLSRPTv1;rua=mailto:x@odd.example"
_25._tcp.mx1 1800 IN TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
`,
	})
	cfg := filepath.Join(dir, "maildns.yaml")
	zoneFile := filepath.Join(dir, "zones", "odd.example.zone")
	before, _ := os.ReadFile(zoneFile)
	code, out, errOut := e2eRun(t, "import", "--config", cfg, "--provider", "local", "--zone", "odd.example", "--out", filepath.Join(dir, "policies"))
	if code != 0 {
		t.Fatalf("import: exit %d\n%s%s", code, out, errOut)
	}
	pol, _ := os.ReadFile(filepath.Join(dir, "policies", "odd.example.yaml"))
	for _, want := range []string{
		`mechanisms: ["exists:%{i}._spf.%{d}"]`, // kept in the policy
		"mail_hosts: true", "all: softfail",
		"selector: sel1",
		`DKIM sel2 left as is`, `t=y; h=sha256`, // commented, whole
		`DMARC at _dmarc.odd.example left as is`, `ri=3600`, // tag order the policy does not write
		"{host: mx1, priority: 10}", "{host: mx2, priority: 20}", "ttl: 600",
		`TXT _mta-sts at _mta-sts.odd.example left as is (no MTA-STS policy text read): "v=STSv1; id=20261201"`,
		"# mta_sts:\n#   mode: enforce", // the section to fill in, commented
		"tls_rpt:\n  rua: [\"mailto:tls@odd.example\", \"https://tls.odd.example/r\"]",
		"bimi:\n  selector: default\n  logo: \"https://odd.example/logo.svg\"\n",
		`TLSA _25 at _25._tcp.mx1.odd.example left as is`,
	} {
		if !strings.Contains(string(pol), want) {
			t.Errorf("imported policy lacks %q:\n%s", want, pol)
		}
	}
	if strings.Contains(string(pol), "\ndmarc:") {
		t.Errorf("a DMARC record the policy cannot write was imported as a section:\n%s", pol)
	}
	sub, _ := os.ReadFile(filepath.Join(dir, "policies", "sub.odd.example.yaml"))
	for _, want := range []string{"ri: 3600", "percent: 50", "subdomain_policy: reject",
		`TLS-RPT at _smtp._tls.sub.odd.example left as is`} {
		if !strings.Contains(string(sub), want) {
			t.Errorf("imported sub.odd.example lacks %q:\n%s", want, sub)
		}
	}
	roundTrip(t, cfg)
	if after, _ := os.ReadFile(zoneFile); string(after) != string(before) {
		t.Error("the zone file changed")
	}
	// --once too leaves every record where it is: nothing to correct.
	if code, out, errOut := e2eRun(t, "--config", cfg, "--once"); code != 0 || !strings.Contains(out, "· 0 changes (") {
		t.Errorf("--once: exit %d\n%s%s", code, out, errOut)
	}
	if after, _ := os.ReadFile(zoneFile); string(after) != string(before) {
		t.Error("--once changed the zone file")
	}
}

// 1,000 generated domains, 100 to a zone file: import each zone, then the
// policies validate and a dry run has nothing to change.
func TestImportGeneratedDomains(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command("go", "run", "../../scripts/benchgen", "-n", "1000", "-domains-per-zone", "100", "-dir", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("benchgen: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "maildns.yaml")
	zones, _ := filepath.Glob(filepath.Join(dir, "zones", "*.zone"))
	if len(zones) != 10 {
		t.Fatalf("%d zone files, want 10", len(zones))
	}
	files := e2eSnapshot(t, dir)
	imported := 0
	for _, z := range zones {
		zone := strings.TrimSuffix(filepath.Base(z), ".zone")
		code, out, errOut := e2eRun(t, "import", "--config", cfg, "--provider", "local", "--zone", zone, "--out", filepath.Join(dir, "imported"))
		if code != 0 {
			t.Fatalf("import %s: exit %d\n%s%s", zone, code, out, errOut)
		}
		imported += strings.Count(out, ".yaml")
	}
	if imported != 1000 {
		t.Errorf("%d policies imported, want 1000", imported)
	}
	roundTrip(t, importedConfig(t, cfg, "imported"), "--offline")
	if diff := cmp.Diff(files, e2eSnapshot(t, dir)); diff != "" {
		t.Error("a zone file changed")
	}
}
