package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const baseConfig = `policies: ["policies/*.yaml"]
providers:
  local: {type: zonefile, directory: zones}
  rev: {type: zonefile}
`

// head is the first two lines of most test policies; the rest starts at line 3.
const head = "domain: example.com\nprovider: local\n"

// writeTree writes files (path -> content) under a new directory and
// returns the config path. A missing maildns.yaml gets baseConfig.
func writeTree(t *testing.T, files map[string]string) (dir, cfg string) {
	t.Helper()
	dir = t.TempDir()
	if _, ok := files["maildns.yaml"]; !ok {
		files["maildns.yaml"] = baseConfig
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, filepath.Join(dir, "maildns.yaml")
}

// errorLines returns each problem of err as "file:line: message" with the
// directory prefix taken off, checking that every one is a *Error.
func errorLines(t *testing.T, err error, dir string) []string {
	t.Helper()
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	var out []string
	for _, e := range list {
		var pe *Error
		if !errors.As(e, &pe) {
			t.Errorf("error %q is not a *policy.Error", e)
		}
		out = append(out, strings.ReplaceAll(e.Error(), dir+string(filepath.Separator), ""))
	}
	return out
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string // "file:line: message substring", each must match one error
	}{
		// maildns.yaml
		{"config unknown key", map[string]string{"maildns.yaml": "polices: []\n"},
			[]string{`maildns.yaml:1: unknown key "polices" in config (did you mean "policies"?)`}},
		{"config wrong type", map[string]string{"maildns.yaml": "live_checks: maybe\n"},
			[]string{`maildns.yaml:1: live_checks must be true or false, not a string`}},
		{"config duplicate key", map[string]string{"maildns.yaml": "live_checks: true\nlive_checks: false\n"},
			[]string{`maildns.yaml:2: duplicate key "live_checks" (first at line 1)`}},
		{"schedule", map[string]string{"maildns.yaml": "schedule: every 5m\n"},
			[]string{`maildns.yaml:1: schedule: "every 5m" is not a valid cron spec`}},
		{"schedule six fields", map[string]string{"maildns.yaml": "schedule: \"0 */5 * * * *\"\n"},
			[]string{`maildns.yaml:1: schedule: "0 */5 * * * *" is not a valid cron spec`}},
		{"schedule_jitter", map[string]string{"maildns.yaml": "schedule_jitter: soon\n"},
			[]string{`maildns.yaml:1: schedule_jitter: "soon" is not a duration`}},
		{"state_dir empty", map[string]string{"maildns.yaml": "state_dir: \"\"\n"},
			[]string{`maildns.yaml:1: state_dir must not be empty`}},
		{"resolver without port", map[string]string{"maildns.yaml": "resolvers:\n  - 192.0.2.53:53\n  - 192.0.2.54\n"},
			[]string{`maildns.yaml:3: resolvers: "192.0.2.54": missing port`}},
		{"resolver bad port", map[string]string{"maildns.yaml": "resolvers: [\"[2001:db8::53]:dns\"]\n"},
			[]string{`maildns.yaml:1: resolvers: "[2001:db8::53]:dns": bad port "dns"`}},
		{"resolvers not a list", map[string]string{"maildns.yaml": "resolvers: 192.0.2.53:53\n"},
			[]string{`maildns.yaml:1: resolvers must be a list of strings, not a string`}},
		{"resolver bad host", map[string]string{"maildns.yaml": "resolvers: [\"dns_server!:53\"]\n"},
			[]string{`maildns.yaml:1: resolvers: "dns_server!:53": bad host: invalid character '!'`}},
		{"resolver no host", map[string]string{"maildns.yaml": "resolvers: [\":53\"]\n"},
			[]string{`maildns.yaml:1: resolvers: ":53": missing host`}},
		{"schedule_jitter negative", map[string]string{"maildns.yaml": "schedule_jitter: -1m\n"},
			[]string{`maildns.yaml:1: schedule_jitter must not be negative`}},
		{"schedule_jitter list", map[string]string{"maildns.yaml": "schedule_jitter: [1]\n"},
			[]string{`maildns.yaml:1: schedule_jitter must be a string, not a list`}},
		{"config keys not strings", map[string]string{"maildns.yaml": "? [a]\n: b\n"},
			[]string{`maildns.yaml:1: config: keys must be strings`}},
		{"config merge key", map[string]string{"maildns.yaml": "<<: {schedule: \"@hourly\"}\n"},
			[]string{`maildns.yaml:1: config: YAML merge keys are not supported`}},
		{"config tagged value", map[string]string{"maildns.yaml": "schedule: !!binary QGhvdXJseQ==\n"},
			[]string{`maildns.yaml:1: schedule must be a string, not a binary value`}},
		{"log level", map[string]string{"maildns.yaml": "log:\n  level: verbose\n"},
			[]string{`maildns.yaml:2: log.level: "verbose" is not one of "debug", "info", "warn", "error"`}},
		{"log format", map[string]string{"maildns.yaml": "log: {format: jsn}\n"},
			[]string{`maildns.yaml:1: log.format: "jsn" is not one of "auto", "text", "json" (did you mean "json"?)`}},
		{"log unknown key", map[string]string{"maildns.yaml": "log:\n  lvl: info\n"},
			[]string{`maildns.yaml:2: unknown key "lvl" in log`}},
		{"metrics listen", map[string]string{"maildns.yaml": "metrics:\n  listen: localhost\n"},
			[]string{`maildns.yaml:2: metrics.listen: "localhost": missing port`}},
		{"max_changes", map[string]string{"maildns.yaml": "safety:\n  max_changes: 0\n"},
			[]string{`maildns.yaml:2: safety.max_changes must be at least 1, not 0`}},
		{"allow_weakening type", map[string]string{"maildns.yaml": "safety:\n  allow_weakening: 1\n"},
			[]string{`maildns.yaml:2: allow_weakening must be true or false, not a number`}},
		{"enforce type", map[string]string{"maildns.yaml": "log: {level: info}\nenforce: later\n"},
			[]string{`maildns.yaml:2: enforce must be true or false, not a string`}},
		{"journal", map[string]string{"maildns.yaml": "journal:\n  keep: -1\n  max_age: forever\n"},
			[]string{`maildns.yaml:2: journal.keep must be 0 (no limit) or more, not -1`,
				`maildns.yaml:3: max_age: "forever" is not a duration`}},
		{"provider without type", map[string]string{"maildns.yaml": "providers:\n  cf:\n    api_token: x\n"},
			[]string{`maildns.yaml:2: provider cf: type is required`}},
		{"provider nested setting", map[string]string{"maildns.yaml": "providers:\n  cf:\n    type: cloudflare\n    auth: {token: x}\n    zones: [a, b]\n"},
			[]string{`maildns.yaml:4: provider cf: setting auth must be a single value, not a mapping`,
				`maildns.yaml:5: provider cf: setting zones must be a single value, not a list`}},
		{"provider not a mapping", map[string]string{"maildns.yaml": "providers:\n  cf: cloudflare\n"},
			[]string{`maildns.yaml:2: provider cf must be a mapping, not a string`}},
		{"providers not a mapping", map[string]string{"maildns.yaml": "providers: [cf]\n"},
			[]string{`maildns.yaml:1: providers must be a mapping, not a list`}},
		{"glob matches nothing", map[string]string{"maildns.yaml": "policies: [\"policies/*.yaml\", \"none/*.yml\"]\n",
			"policies/a.yaml": "domain: a.example\n"},
			[]string{`maildns.yaml:1: policies: "none/*.yml" matches no file`}},
		{"bad glob", map[string]string{"maildns.yaml": "policies:\n  - \"[\"\n"},
			[]string{`maildns.yaml:2: policies: bad glob "["`}},
		{"anchor", map[string]string{"maildns.yaml": "log: &l {level: info}\nmetrics: *l\n"},
			[]string{`maildns.yaml:1: YAML anchors and aliases are not supported`}},
		{"yaml syntax", map[string]string{"maildns.yaml": "log:\n  level: info\n bad: [\n"},
			[]string{`maildns.yaml:2: invalid YAML: did not find expected key`}},
		{"two documents", map[string]string{"maildns.yaml": "live_checks: true\n---\nlive_checks: false\n"},
			[]string{`maildns.yaml:2: more than one YAML document`}},
		{"config not a mapping", map[string]string{"maildns.yaml": "- a\n- b\n"},
			[]string{`maildns.yaml:1: config must be a mapping, not a list`}},
		{"invalid utf-8", map[string]string{"maildns.yaml": "schedule: \"@hourly\"\nlog: {level: \xff\xfe}\n"},
			[]string{`maildns.yaml:2: invalid UTF-8: not a YAML text file`}},
		{"glob matches a directory", map[string]string{"maildns.yaml": "policies: [\"p.yaml\"]\n", "p.yaml/x": ""},
			[]string{`maildns.yaml:1: policies: "p.yaml" matches no file`}},

		// policy files: top level
		{"nul byte", map[string]string{"policies/p.yaml": head + "ttl: 3\x0060\n"},
			[]string{`policies/p.yaml:3: NUL byte: not a YAML text file`}},
		{"binary garbage", map[string]string{"policies/p.yaml": "\x1f\x8b\x08\x00\x00\x00\x00\x00"},
			[]string{`policies/p.yaml:1: control character 0x1f: not a YAML text file`}},
		{"empty policy", map[string]string{"policies/p.yaml": "# nothing\n"},
			[]string{`policies/p.yaml:1: empty policy: domain is required`}},
		{"policy unknown key", map[string]string{"policies/p.yaml": head + "mail_host: []\n"},
			[]string{`policies/p.yaml:3: unknown key "mail_host" in policy (did you mean "mail_hosts"?)`}},
		{"dmarc pct", map[string]string{"policies/p.yaml": head + "dmarc:\n  policy: reject\n  pct: 50\n"},
			[]string{`policies/p.yaml:5: unknown key "pct" in dmarc (did you mean "percent"?)`}},
		{"dmarc sp", map[string]string{"policies/p.yaml": head + "dmarc:\n  policy: reject\n  sp: reject\n"},
			[]string{`policies/p.yaml:5: unknown key "sp" in dmarc (did you mean "subdomain_policy"?)`}},
		{"policy duplicate key", map[string]string{"policies/p.yaml": head + "ttl: 60\nttl: 70\n"},
			[]string{`policies/p.yaml:4: duplicate key "ttl" (first at line 3)`}},
		{"domain missing", map[string]string{"policies/p.yaml": "provider: local\n"},
			[]string{`policies/p.yaml:1: domain is required`}},
		{"domain invalid", map[string]string{"policies/p.yaml": "domain: exa_mple..com\nprovider: local\n"},
			[]string{`policies/p.yaml:1: domain "exa_mple..com" is not a valid DNS name: empty label`}},
		{"domain non-ascii", map[string]string{"policies/p.yaml": "domain: bücher.example\nprovider: local\n"},
			[]string{`policies/p.yaml:1: domain "bücher.example" is not a valid DNS name: non-ASCII name`}},
		{"domain wrong type", map[string]string{"policies/p.yaml": "domain: [a]\nprovider: local\n"},
			[]string{`policies/p.yaml:1: domain must be a string, not a list`}},
		{"provider missing", map[string]string{"policies/p.yaml": "domain: example.com\n"},
			[]string{`policies/p.yaml:1: provider is required`}},
		{"unknown provider", map[string]string{"policies/p.yaml": "domain: example.com\nprovider: locl\n"},
			[]string{`policies/p.yaml:2: unknown provider "locl" (did you mean "local"?)`}},
		{"outside zone", map[string]string{"policies/p.yaml": head + "zone: example.net\n"},
			[]string{`policies/p.yaml:3: domain example.com is outside zone example.net`}},
		{"ttl zero", map[string]string{"policies/p.yaml": head + "ttl: 0\n"},
			[]string{`policies/p.yaml:3: ttl must be between 1 and 2147483647 seconds, not 0`}},
		{"ttl too big", map[string]string{"policies/p.yaml": head + "ttl: 2147483648\n"},
			[]string{`policies/p.yaml:3: ttl must be between 1 and 2147483647 seconds, not 2147483648`}},
		{"ttl string", map[string]string{"policies/p.yaml": head + "ttl: 1h\n"},
			[]string{`policies/p.yaml:3: ttl must be a whole number, not a string`}},
		{"allow_weakening type", map[string]string{"policies/p.yaml": head + "allow_weakening: sure\n"},
			[]string{`policies/p.yaml:3: allow_weakening must be true or false, not a string`}},
		{"enforce type", map[string]string{"policies/p.yaml": head + "enforce: 0\n"},
			[]string{`policies/p.yaml:3: enforce must be true or false, not a number`}},
		{"policy is a list", map[string]string{"policies/p.yaml": "- domain: example.com\n"},
			[]string{`policies/p.yaml:1: policy must be a mapping, not a list`}},

		// mail_hosts
		{"mail host without name", map[string]string{"policies/p.yaml": head + "mail_hosts:\n  - ipv4: [192.0.2.1]\n"},
			[]string{`policies/p.yaml:4: mail host: name is required`}},
		{"mail host ipv6 under ipv4", map[string]string{"policies/p.yaml": head + "mail_hosts:\n  - name: mail\n    ipv4:\n      - 2001:db8::1\n"},
			[]string{`policies/p.yaml:6: ipv4: "2001:db8::1" is not an IPv4 address`}},
		{"mail host ipv4 under ipv6", map[string]string{"policies/p.yaml": head + "mail_hosts:\n  - name: mail\n    ipv6: [192.0.2.1]\n"},
			[]string{`policies/p.yaml:5: ipv6: "192.0.2.1" is not an IPv6 address`}},
		{"mail host bad ip", map[string]string{"policies/p.yaml": head + "mail_hosts:\n  - name: mail\n    ipv4: [192.0.2.300]\n"},
			[]string{`policies/p.yaml:5: ipv4: "192.0.2.300" is not an IP address`}},
		{"mail host mapped ipv6", map[string]string{"policies/p.yaml": head + "mail_hosts:\n  - name: mail\n    ipv6: [\"::ffff:192.0.2.1\"]\n"},
			[]string{`policies/p.yaml:5: ipv6: "::ffff:192.0.2.1" is not an IPv6 address`}},
		{"mail host unspecified", map[string]string{"policies/p.yaml": head + "mail_hosts:\n  - name: mail\n    ipv4: [0.0.0.0]\n"},
			[]string{`policies/p.yaml:5: ipv4: "0.0.0.0" is not a unicast host address`}},
		{"mail host twice", map[string]string{"policies/p.yaml": head + "mail_hosts:\n  - {name: mail, ipv4: [192.0.2.1]}\n  - {name: MAIL.example.com., ipv4: [192.0.2.2]}\n"},
			[]string{`policies/p.yaml:5: mail host mail.example.com. is listed twice (first at line 4)`}},
		{"in-domain host without address", map[string]string{"policies/p.yaml": head + "mail_hosts:\n  - name: mail\n"},
			[]string{`policies/p.yaml:4: mail host mail is in example.com and needs an ipv4 or ipv6 address`}},
		{"mail host bad name", map[string]string{"policies/p.yaml": head + "mail_hosts:\n  - name: \"mail server\"\n    ipv4: [192.0.2.1]\n"},
			[]string{`policies/p.yaml:4: name "mail server" is not a valid host name: invalid character ' '`}},
		{"mail host unknown key", map[string]string{"policies/p.yaml": head + "mail_hosts:\n  - name: mail\n    ip4: [192.0.2.1]\n"},
			[]string{`policies/p.yaml:5: unknown key "ip4" in mail_hosts item (did you mean "ipv4"?)`}},
		{"mail hosts not a list", map[string]string{"policies/p.yaml": head + "mail_hosts: {name: mail}\n"},
			[]string{`policies/p.yaml:3: mail_hosts must be a list, not a mapping`}},

		// mx
		{"mx priority", map[string]string{"policies/p.yaml": head + "mx:\n  - {host: mail.example.net., priority: 65536}\n"},
			[]string{`policies/p.yaml:4: mx priority must be 0..65535, not 65536`}},
		{"mx without host", map[string]string{"policies/p.yaml": head + "mx:\n  - priority: 10\n"},
			[]string{`policies/p.yaml:4: mx: host is required`}},
		{"mx twice", map[string]string{"policies/p.yaml": head + "mx:\n  - {host: mx.example.net., priority: 10}\n  - {host: MX.example.net., priority: 20}\n"},
			[]string{`policies/p.yaml:5: mx host mx.example.net. is listed twice (first at line 4)`}},

		{"null mx not alone", map[string]string{"policies/p.yaml": head + "mx:\n  - {host: ., priority: 0}\n  - {host: mx.example.net., priority: 10}\n"},
			[]string{`policies/p.yaml:4: mx: a null MX (host ".") must be the only MX`}},
		{"mx bad host", map[string]string{"policies/p.yaml": head + "mx:\n  - {host: \"-mx\", priority: 10}\n"},
			[]string{`policies/p.yaml:4: mx host "-mx" is not a valid host name: label "-mx" starts or ends with '-'`}},
		{"mx priority type", map[string]string{"policies/p.yaml": head + "mx:\n  - host: mx.example.net.\n    priority: high\n"},
			[]string{`policies/p.yaml:5: priority must be a whole number, not a string`}},

		// spf
		{"spf all typo", map[string]string{"policies/p.yaml": head + "spf:\n  all: fial\n"},
			[]string{`policies/p.yaml:4: spf all: "fial" is not one of "fail", "softfail", "neutral" (did you mean "fail"?)`}},
		{"spf state", map[string]string{"policies/p.yaml": head + "spf:\n  state: gone\n"},
			[]string{`policies/p.yaml:4: state: "gone" is not one of "present", "absent"`}},
		{"spf mechanism with space", map[string]string{"policies/p.yaml": head + "spf:\n  mechanisms:\n    - mx\n    - \"a include:x.example\"\n"},
			[]string{`policies/p.yaml:6: spf mechanism "a include:x.example" contains a space`}},
		{"spf all mechanism", map[string]string{"policies/p.yaml": head + "spf:\n  mechanisms: [\"~all\"]\n"},
			[]string{`policies/p.yaml:4: spf mechanism "~all": write the all mechanism with the all: key`}},
		{"spf mail_hosts type", map[string]string{"policies/p.yaml": head + "spf:\n  mail_hosts: [mail]\n"},
			[]string{`policies/p.yaml:4: mail_hosts must be true or false, not a list`}},

		// dkim
		{"dkim bad selector", map[string]string{"policies/p.yaml": head + "dkim:\n  - selector: \"s 1\"\n    state: absent\n"},
			[]string{`policies/p.yaml:4: dkim selector "s 1" is not valid`}},
		{"dkim no selector", map[string]string{"policies/p.yaml": head + "dkim:\n  - state: absent\n"},
			[]string{`policies/p.yaml:4: dkim: selector is required`}},
		{"dkim no key", map[string]string{"policies/p.yaml": head + "dkim:\n  - selector: s1\n"},
			[]string{`policies/p.yaml:4: dkim s1: key_file or key is required`}},
		{"dkim next without a key", map[string]string{"policies/p.yaml": head + "dkim:\n  - {selector: s1, state: next}\n"},
			[]string{`policies/p.yaml:4: dkim s1: key_file or key is required`}},
		{"dkim bad date", map[string]string{"policies/p.yaml": head + "dkim:\n  - selector: s1\n    state: next\n    active_from: next tuesday\n"},
			[]string{`policies/p.yaml:6: active_from: "next tuesday" is not a date`}},
		{"dkim dates out of order", map[string]string{"policies/p.yaml": head + "dkim:\n  - {selector: s1, state: retired, remove_at: 2026-01-01, retire_at: 2026-02-01}\n"},
			[]string{`policies/p.yaml:4: dkim s1: remove_at (2026-01-01T00:00:00Z) must come after retire_at`,
				`policies/p.yaml:4: dkim s1: retire_at goes with state next or active`}},
		{"dkim active_from without next", map[string]string{"policies/p.yaml": head + "dkim:\n  - {selector: s1, active_from: 2026-01-01, key: MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=}\n"},
			[]string{`policies/p.yaml:4: dkim s1: active_from goes with state: next`}},
		{"dkim both keys", map[string]string{"policies/p.yaml": head + "dkim:\n  - selector: s1\n    key_file: k.pem\n    key: abc\n"},
			[]string{`policies/p.yaml:6: dkim s1: give key_file or key, not both`}},
		{"dkim unreadable key file", map[string]string{"policies/p.yaml": head + "dkim:\n  - selector: s1\n    key_file: keys/missing.pem\n"},
			[]string{`policies/p.yaml:5: dkim s1: cannot read key_file keys/missing.pem (relative to the policy file: policies/keys/missing.pem): open: no such file or directory`}},
		{"dkim not a key", map[string]string{"policies/p.yaml": head + "dkim:\n  - selector: s1\n    key_file: k.pem\n",
			"policies/k.pem": "hello\n"},
			[]string{`policies/p.yaml:5: dkim s1: key_file k.pem: no PEM public or private key found`}},
		{"dkim broken pem", map[string]string{"policies/p.yaml": head + "dkim:\n  - selector: s1\n    key_file: k.pem\n",
			"policies/k.pem": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"},
			[]string{`policies/p.yaml:5: dkim s1: key_file k.pem: the PRIVATE KEY block holds no valid key`}},
		{"dkim inline not base64", map[string]string{"policies/p.yaml": head + "dkim:\n  - selector: s1\n    key: \"not base64!\"\n"},
			[]string{`policies/p.yaml:5: dkim s1: key is not base64`}},
		{"dkim state", map[string]string{"policies/p.yaml": head + "dkim:\n  - selector: s1\n    state: revoked\n"},
			[]string{`policies/p.yaml:5: state: "revoked" is not one of "next", "active", "retired", "absent"`}},
		{"dkim selector twice", map[string]string{"policies/p.yaml": head + "dkim:\n  - {selector: s1, state: absent}\n  - {selector: S1, state: absent}\n"},
			[]string{`policies/p.yaml:5: dkim selector s1 is listed twice (first at line 4)`}},

		{"dkim ecdsa key", map[string]string{"policies/p.yaml": head + "dkim:\n  - selector: s1\n    key_file: k.pem\n",
			"policies/k.pem": ecdsaPEM},
			[]string{`policies/p.yaml:5: dkim s1: key_file k.pem: unsupported key type *ecdsa.PublicKey: DKIM keys are RSA or Ed25519`}},
		{"dkim encrypted key", map[string]string{"policies/p.yaml": head + "dkim:\n  - selector: s1\n    key_file: k.pem\n",
			"policies/k.pem": "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"},
			[]string{`policies/p.yaml:5: dkim s1: key_file k.pem: encrypted keys are not supported`}},
		{"dkim openssh key", map[string]string{"policies/p.yaml": head + "dkim:\n  - selector: s1\n    key_file: k.pem\n",
			"policies/k.pem": "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"},
			[]string{`policies/p.yaml:5: dkim s1: key_file k.pem: OpenSSH keys are not supported`}},
		{"dkim inline not a key", map[string]string{"policies/p.yaml": head + "dkim:\n  - selector: s1\n    key: aGVsbG8gd29ybGQ=\n"},
			[]string{`policies/p.yaml:5: dkim s1: key is not a base64 SubjectPublicKeyInfo`}},
		{"dkim key file is a directory", map[string]string{"policies/p.yaml": head + "dkim:\n  - selector: s1\n    key_file: keys\n",
			"policies/keys/x": ""},
			[]string{`policies/p.yaml:5: dkim s1: cannot read key_file keys (relative to the policy file: policies/keys): policies/keys is not a regular file`}},

		// dmarc
		// tls_rpt and bimi
		{"tls_rpt rua scheme", map[string]string{"policies/p.yaml": head + "tls_rpt:\n  rua:\n    - mailto:tlsrpt@example.com\n    - ftp://reports.example.com/\n"},
			[]string{`policies/p.yaml:6: tls_rpt rua: "ftp://reports.example.com/" is not a mailto: or https: URI (RFC 8460 §3)`}},
		{"tls_rpt rua no address", map[string]string{"policies/p.yaml": head + "tls_rpt: {rua: [\"mailto:tlsrpt\"]}\n"},
			[]string{`policies/p.yaml:3: tls_rpt rua: "mailto:tlsrpt" has no mail address`}},
		{"tls_rpt rua missing", map[string]string{"policies/p.yaml": head + "tls_rpt: {}\n"},
			[]string{`policies/p.yaml:3: tls_rpt: rua is required`}},
		{"tls_rpt unknown key", map[string]string{"policies/p.yaml": head + "tls_rpt:\n  ruf: [\"mailto:a@example.com\"]\n"},
			[]string{`policies/p.yaml:4: unknown key "ruf" in tls_rpt (did you mean "rua"?)`}},
		{"bimi logo http", map[string]string{"policies/p.yaml": head + "bimi:\n  logo: http://example.com/logo.svg\n"},
			[]string{`policies/p.yaml:4: bimi logo: "http://example.com/logo.svg" is not an https: URL`}},
		{"bimi authority http", map[string]string{"policies/p.yaml": head + "bimi:\n  logo: https://example.com/logo.svg\n  authority: http://example.com/vmc.pem\n"},
			[]string{`policies/p.yaml:5: bimi authority: "http://example.com/vmc.pem" is not an https: URL`}},
		{"bimi logo missing", map[string]string{"policies/p.yaml": head + "bimi:\n  selector: brand\n"},
			[]string{`policies/p.yaml:3: bimi: logo is required`}},
		{"bimi selector", map[string]string{"policies/p.yaml": head + "bimi:\n  selector: \"a b\"\n  logo: https://example.com/l.svg\n"},
			[]string{`policies/p.yaml:4: bimi selector "a b" is not valid`}},
		{"bimi parked", map[string]string{"policies/p.yaml": head + "parked: true\nbimi: {logo: \"https://example.com/l.svg\"}\n"},
			[]string{`policies/p.yaml:4: bimi: a parked domain has no mail section`}},
		{"dmarc policy typo", map[string]string{"policies/p.yaml": head + "dmarc:\n  policy: rejct\n"},
			[]string{`policies/p.yaml:4: dmarc policy: "rejct" is not one of "none", "quarantine", "reject" (did you mean "reject"?)`}},
		{"dmarc policy missing", map[string]string{"policies/p.yaml": head + "dmarc:\n  percent: 50\n"},
			[]string{`policies/p.yaml:3: dmarc: policy is required`}},
		{"dmarc subdomain policy", map[string]string{"policies/p.yaml": head + "dmarc:\n  policy: none\n  subdomain_policy: block\n"},
			[]string{`policies/p.yaml:5: dmarc subdomain_policy: "block" is not one of`}},
		{"dmarc rua", map[string]string{"policies/p.yaml": head + "dmarc:\n  policy: none\n  rua:\n    - dmarc@example.com\n"},
			[]string{`policies/p.yaml:6: dmarc rua: "dmarc@example.com" is not a mailto: URI`}},
		{"dmarc ruf", map[string]string{"policies/p.yaml": head + "dmarc:\n  policy: none\n  ruf: [\"mailto:\"]\n"},
			[]string{`policies/p.yaml:5: dmarc ruf: "mailto:" has no address`}},
		{"dmarc percent", map[string]string{"policies/p.yaml": head + "dmarc:\n  policy: none\n  percent: 101\n"},
			[]string{`policies/p.yaml:5: dmarc percent must be 0..100, not 101`}},
		{"dmarc adkim", map[string]string{"policies/p.yaml": head + "dmarc:\n  policy: none\n  adkim: s\n"},
			[]string{`policies/p.yaml:5: dmarc adkim: "s" is not one of "relaxed", "strict"`}},
		{"dmarc aspf", map[string]string{"policies/p.yaml": head + "dmarc:\n  policy: none\n  aspf: strickt\n"},
			[]string{`policies/p.yaml:5: dmarc aspf: "strickt" is not one of "relaxed", "strict" (did you mean "strict"?)`}},
		{"dmarc fo", map[string]string{"policies/p.yaml": head + "dmarc:\n  policy: none\n  fo: \"2\"\n"},
			[]string{`policies/p.yaml:5: dmarc fo "2" is not valid`}},
		{"dmarc ri", map[string]string{"policies/p.yaml": head + "dmarc:\n  policy: none\n  ri: 0\n"},
			[]string{`policies/p.yaml:5: dmarc ri must be a positive number of seconds, not 0`}},
		{"dmarc unknown key", map[string]string{"policies/p.yaml": head + "dmarc:\n  policy: none\n  pct: 50\n"},
			[]string{`policies/p.yaml:5: unknown key "pct" in dmarc`}},

		// ptr
		{"ptr provider without zone", map[string]string{"policies/p.yaml": head + "ptr:\n  provider: rev\n"},
			[]string{`policies/p.yaml:3: ptr: give provider and zone together`}},
		{"ptr unknown provider", map[string]string{"policies/p.yaml": head + "ptr:\n  provider: isp\n  zone: 2.0.192.in-addr.arpa\n"},
			[]string{`policies/p.yaml:4: unknown provider "isp"`}},
		{"ptr not a reverse zone", map[string]string{"policies/p.yaml": head + "ptr:\n  provider: rev\n  zone: example.com\n"},
			[]string{`policies/p.yaml:5: ptr zone example.com is not a reverse zone`}},
		{"ptr mode", map[string]string{"policies/p.yaml": head + "ptr:\n  mode: of\n"},
			[]string{`policies/p.yaml:4: ptr mode: "of" is not one of "check", "off" (did you mean "off"?)`}},
		{"ptr mode off with zone", map[string]string{"policies/p.yaml": head + "ptr:\n  provider: rev\n  zone: 2.0.192.in-addr.arpa\n  mode: off\n"},
			[]string{`policies/p.yaml:3: ptr: mode off with provider/zone`}},
		{"ptr name outside zone", map[string]string{"policies/p.yaml": head +
			"mail_hosts:\n  - {name: mail, ipv4: [192.0.2.25]}\nptr:\n  provider: rev\n  zone: 3.0.192.in-addr.arpa\n"},
			[]string{`policies/p.yaml:5: ptr: the reverse name of 192.0.2.25 (25.2.0.192.in-addr.arpa.) is outside ptr zone 3.0.192.in-addr.arpa`}},

		{"ptr zone and zones", map[string]string{"policies/p.yaml": head + "ptr:\n  provider: rev\n  zone: 2.0.192.in-addr.arpa\n  zones: [2.0.192.in-addr.arpa]\n"},
			[]string{`policies/p.yaml:5: ptr: give zone or zones, not both`}},
		{"ptr zones twice", map[string]string{"policies/p.yaml": head + "ptr:\n  provider: rev\n  zones:\n    - 2.0.192.in-addr.arpa\n    - 2.0.192.IN-ADDR.arpa.\n"},
			[]string{`policies/p.yaml:7: ptr zone 2.0.192.in-addr.arpa is listed twice`}},
		{"ptr zones empty", map[string]string{"policies/p.yaml": head + "ptr:\n  provider: rev\n  zones: []\n"},
			[]string{`policies/p.yaml:5: ptr: zones is empty`}},
		{"ptr name outside zones", map[string]string{"policies/p.yaml": head +
			"mail_hosts:\n  - {name: mail, ipv6: [\"2001:db8:1::25\"]}\nptr:\n  provider: rev\n  zones: [3.0.192.in-addr.arpa, 2.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa]\n"},
			[]string{`policies/p.yaml:5: ptr: the reverse name of 2001:db8:1::25 (5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.) is outside ptr zone 3.0.192.in-addr.arpa, 2.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa`}},

		// parked
		{"parked with mail sections", map[string]string{"policies/p.yaml": head + "parked: true\nmx:\n  - {host: mx.example.net.}\ndmarc: {policy: none}\n"},
			[]string{`policies/p.yaml:4: mx: a parked domain has no mail section`,
				`policies/p.yaml:6: dmarc: a parked domain has no mail section`}},

		// across files
		{"duplicate domain", map[string]string{
			"policies/a.yaml": "domain: example.com\nprovider: local\n",
			"policies/b.yaml": "# again\ndomain: Example.com.\nprovider: local\n"},
			[]string{`policies/b.yaml:2: domain example.com is also defined in policies/a.yaml:1`}},
		{"same record twice", map[string]string{
			"policies/a.yaml": head + "mail_hosts:\n  - {name: mail.sub, ipv4: [192.0.2.1]}\n",
			"policies/b.yaml": "domain: sub.example.com\nprovider: local\nzone: example.com\nmail_hosts:\n  - {name: mail, ipv4: [192.0.2.2]}\n"},
			[]string{`policies/b.yaml:5: mail.sub A in zone example.com (provider local) is also wanted by domain example.com at policies/a.yaml:4`}},
		{"same ptr twice", map[string]string{
			"policies/a.yaml": head + "mail_hosts:\n  - {name: mail, ipv4: [192.0.2.1]}\nptr: {provider: rev, zone: 2.0.192.in-addr.arpa}\n",
			"policies/b.yaml": "domain: example.net\nprovider: local\nmail_hosts:\n  - {name: mail, ipv4: [192.0.2.1]}\nptr: {provider: rev, zone: 2.0.192.in-addr.arpa}\n"},
			[]string{`policies/b.yaml:5: 1 PTR in zone 2.0.192.in-addr.arpa (provider rev) is also wanted by domain example.com at policies/a.yaml:5`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, cfgPath := writeTree(t, tt.files)
			cfg, err := LoadConfig(cfgPath)
			if err == nil {
				t.Fatalf("LoadConfig succeeded, want errors %q", tt.want)
			}
			if cfg != nil {
				t.Errorf("LoadConfig returned a config with errors")
			}
			got := errorLines(t, err, dir)
			for _, w := range tt.want {
				found := false
				for _, g := range got {
					if strings.HasPrefix(g, w) || (strings.HasPrefix(g, w[:strings.Index(w, ": ")+2]) && strings.Contains(g, w[strings.Index(w, ": ")+2:])) {
						found = true
					}
				}
				if !found {
					t.Errorf("no error %q in:\n  %s", w, strings.Join(got, "\n  "))
				}
			}
		})
	}
}

func TestLoadCollectsAllErrors(t *testing.T) {
	dir, cfgPath := writeTree(t, map[string]string{
		"maildns.yaml":    baseConfig + "log: {level: loud}\nschedule: never\n",
		"policies/a.yaml": head + "ttl: -1\ndmarc: {policy: rejct}\n",
		"policies/b.yaml": "domain: b.example\nprovider: nowhere\n",
	})
	_, err := LoadConfig(cfgPath)
	got := errorLines(t, err, dir)
	want := []string{
		`maildns.yaml:5: log.level: "loud" is not one of "debug", "info", "warn", "error"`,
		`maildns.yaml:6: schedule: "never" is not a valid cron spec (5 fields or @every/@hourly/...): expected exactly 5 fields, found 1: [never]`,
		`policies/a.yaml:3: ttl must be between 1 and 2147483647 seconds, not -1`,
		`policies/a.yaml:4: dmarc policy: "rejct" is not one of "none", "quarantine", "reject" (did you mean "reject"?)`,
		`policies/b.yaml:2: unknown provider "nowhere"`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func TestLoadDefaults(t *testing.T) {
	t.Setenv("STATE_DIRECTORY", "")
	dir, cfgPath := writeTree(t, map[string]string{"maildns.yaml": "# all defaults\n"})
	cfg, err := LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		File:       cfgPath,
		Dir:        dir,
		Schedule:   "@every 15m",
		StateDir:   filepath.Join(dir, "state"), // beside the config, not ./state of the working directory
		LiveChecks: true,
		Log:        LogConfig{Level: "info", Format: "auto"},
		Safety:     Safety{MaxChanges: 10},
		Journal:    JournalConfig{Keep: 100, MaxAge: 2160 * time.Hour},
		Providers:  map[string]*ProviderConfig{},
	}
	if diff := cmp.Diff(want, cfg, cmpopts.IgnoreUnexported(Config{}, Domain{})); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}

	t.Setenv("STATE_DIRECTORY", "/var/lib/maildns:/var/lib/other")
	cfg, err = LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.StateDir != "/var/lib/maildns" {
		t.Errorf("StateDir from $STATE_DIRECTORY = %q, want /var/lib/maildns", cfg.StateDir)
	}
}

func TestLoadValues(t *testing.T) {
	t.Setenv("STATE_DIRECTORY", "/ignored")
	dir, cfgPath := writeTree(t, map[string]string{
		"maildns.yaml": `schedule: "*/5 * * * *"
schedule_jitter: 30s
policies: ["policies/*.yaml"]
state_dir: state
resolvers: ["192.0.2.53:53", "[2001:db8::53]:53"]
live_checks: false
enforce: false
log: {level: debug, format: json}
metrics: {listen: "127.0.0.1:9470"}
safety: {max_changes: 3, allow_weakening: true}
journal: {keep: 0, max_age: 24h}
providers:
  local: {type: zonefile, directory: zones}
`,
		"policies/a.yaml": "domain: b.example\nprovider: local\n",
		"policies/b.yaml": "domain: a.example\nprovider: local\nallow_weakening: false\nenforce: true\n",
	})
	cfg, err := LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	f, tr := false, true
	want := &Config{
		File:           cfgPath,
		Dir:            dir,
		Schedule:       "*/5 * * * *",
		ScheduleJitter: 30 * time.Second,
		Policies:       []string{"policies/*.yaml"},
		StateDir:       filepath.Join(dir, "state"),
		Resolvers:      []string{"192.0.2.53:53", "[2001:db8::53]:53"},
		LiveChecks:     false,
		Watch:          true,
		Log:            LogConfig{Level: "debug", Format: "json"},
		Metrics:        MetricsConfig{Listen: "127.0.0.1:9470"},
		Safety:         Safety{MaxChanges: 3, AllowWeakening: true},
		Journal:        JournalConfig{Keep: 0, MaxAge: 24 * time.Hour},
		Providers: map[string]*ProviderConfig{"local": {
			Name: "local", Type: "zonefile",
			Settings: map[string]string{"directory": "zones"},
			Secret:   map[string]bool{},
			Pos:      Pos{cfgPath, 13},
			KeyPos:   map[string]Pos{"type": {cfgPath, 13}, "directory": {cfgPath, 13}},
		}},
		Domains: []*Domain{
			{Pos: Pos{filepath.Join(dir, "policies/b.yaml"), 1}, Domain: "a.example", Provider: "local", Zone: "a.example", TTL: time.Hour, AllowWeakening: &f, Enforce: &tr},
			{Pos: Pos{filepath.Join(dir, "policies/a.yaml"), 1}, Domain: "b.example", Provider: "local", Zone: "b.example", TTL: time.Hour},
		},
	}
	if diff := cmp.Diff(want, cfg, cmpopts.IgnoreUnexported(Config{}, Domain{})); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
}

func TestSecrets(t *testing.T) {
	const envSecret = "env-S3CRET-value"
	const fileSecret = "file-S3CRET-value"
	const credSecret = "cred-S3CRET-value"
	credDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(credDir, "tsig"), []byte(credSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MAILDNS_TEST_TOKEN", envSecret)
	t.Setenv("CREDENTIALS_DIRECTORY", credDir)
	dir, cfgPath := writeTree(t, map[string]string{
		"maildns.yaml": `providers:
  p:
    type: test
    token: "${MAILDNS_TEST_TOKEN}"
    id: "${file:secrets/id}"
    key: "${credential:tsig}"
    header: "Bearer ${MAILDNS_TEST_TOKEN}!"
    password: plain-password
    region: eu-1
    port: 53
`,
		"secrets/id": fileSecret + "\n\n",
	})
	_ = dir
	cfg, err := LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Providers["p"]
	wantSettings := map[string]string{
		"token": envSecret, "id": fileSecret, "key": credSecret,
		"header": "Bearer " + envSecret + "!", "password": "plain-password", "region": "eu-1", "port": "53",
	}
	if diff := cmp.Diff(wantSettings, p.Settings); diff != "" {
		t.Errorf("settings (-want +got):\n%s", diff)
	}
	wantSecret := map[string]bool{"token": true, "id": true, "key": true, "header": true, "password": true}
	if diff := cmp.Diff(wantSecret, p.Secret); diff != "" {
		t.Errorf("secret keys (-want +got):\n%s", diff)
	}
	if p.Type != "test" || p.KeyPos["id"] != (Pos{cfgPath, 5}) || p.Pos != (Pos{cfgPath, 2}) {
		t.Errorf("type %q, pos %v, id pos %v", p.Type, p.Pos, p.KeyPos["id"])
	}
}

func TestSecretErrors(t *testing.T) {
	const secret = "NEVER-SHOW-this-value"
	tests := []struct {
		name   string
		env    map[string]string
		config string
		files  map[string]string
		want   string
	}{
		{"unset env", nil, "    token: \"${MAILDNS_UNSET_VAR}\"\n", nil,
			`maildns.yaml:4: provider p: setting token: environment variable MAILDNS_UNSET_VAR (${MAILDNS_UNSET_VAR}) is not set`},
		{"empty env", map[string]string{"MAILDNS_EMPTY": ""}, "    token: \"${MAILDNS_EMPTY}\"\n", nil,
			`maildns.yaml:4: provider p: setting token: environment variable MAILDNS_EMPTY (${MAILDNS_EMPTY}) is empty`},
		{"bad env name", nil, "    token: \"${1abc}\"\n", nil,
			`maildns.yaml:4: provider p: setting token: ${1abc}: bad environment variable name`},
		{"unterminated", nil, "    token: \"${ABC\"\n", nil,
			`maildns.yaml:4: provider p: setting token: unterminated ${ reference`},
		{"missing file", nil, "    token: \"${file:nothere}\"\n", nil,
			`maildns.yaml:4: provider p: setting token: cannot read ${file:nothere}: open: no such file or directory`},
		{"huge file", nil, "    token: \"${file:big}\"\n", map[string]string{"big": strings.Repeat(secret, 1<<20/len(secret)+1)},
			`maildns.yaml:4: provider p: setting token: cannot read ${file:big}:`},
		{"no credentials directory", map[string]string{"CREDENTIALS_DIRECTORY": ""}, "    key: \"${credential:tsig}\"\n", nil,
			`maildns.yaml:4: provider p: setting key: ${credential:tsig}: $CREDENTIALS_DIRECTORY is not set`},
		{"missing credential", map[string]string{"CREDENTIALS_DIRECTORY": "/nonexistent"}, "    key: \"${credential:tsig}\"\n", nil,
			`maildns.yaml:4: provider p: setting key: cannot read ${credential:tsig}: open: no such file or directory`},
		{"credential path", nil, "    key: \"${credential:../tsig}\"\n", nil,
			`maildns.yaml:4: provider p: setting key: ${credential:../tsig}: bad credential name`},
		{"secret in a list", nil, "    api_token: [\"" + secret + "\"]\n", nil,
			`maildns.yaml:4: provider p: setting api_token must be a single value, not a list`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("MAILDNS_SECRET", secret)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			files := map[string]string{"maildns.yaml": "providers:\n  p:\n    type: test\n" + tt.config +
				"    other: \"${MAILDNS_SECRET}\"\n    literal: " + secret + "\n    x: {nested: " + secret + "}\n"}
			for k, v := range tt.files {
				files[k] = v
			}
			dir, cfgPath := writeTree(t, files)
			_, err := LoadConfig(cfgPath)
			if err == nil {
				t.Fatal("LoadConfig succeeded")
			}
			got := errorLines(t, err, dir)
			if !strings.HasPrefix(got[0], tt.want) {
				t.Errorf("error %q, want prefix %q", got[0], tt.want)
			}
			if strings.Contains(err.Error(), "NEVER-SHOW") {
				t.Errorf("error shows a secret value: %v", err)
			}
		})
	}
}

func TestLoadFiles(t *testing.T) {
	t.Run("huge policy", func(t *testing.T) {
		dir, cfgPath := writeTree(t, map[string]string{"policies/p.yaml": head + "# " + strings.Repeat("x", 1<<20) + "\n"})
		_, err := LoadConfig(cfgPath)
		got := errorLines(t, err, dir)
		if len(got) != 1 || !strings.Contains(got[0], "policies/p.yaml: cannot read policy:") || !strings.Contains(got[0], "over the 1 MiB limit") {
			t.Errorf("errors %q", got)
		}
	})
	t.Run("symlink loop", func(t *testing.T) {
		dir, cfgPath := writeTree(t, map[string]string{"policies/a.yaml": head})
		if err := os.Symlink("b.yaml", filepath.Join(dir, "policies/loop.yaml")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("loop.yaml", filepath.Join(dir, "policies/b.yaml")); err != nil {
			t.Fatal(err)
		}
		_, err := LoadConfig(cfgPath)
		got := errorLines(t, err, dir)
		if len(got) != 2 || !strings.Contains(got[0], "policies/b.yaml: cannot read policy:") || !strings.Contains(got[0], "too many levels of symbolic links") {
			t.Errorf("errors %q", got)
		}
	})
	t.Run("fifo", func(t *testing.T) {
		dir, cfgPath := writeTree(t, map[string]string{"policies/a.yaml": head})
		if err := mkfifo(filepath.Join(dir, "policies/b.yaml")); err != nil {
			t.Fatal(err)
		}
		_, err := LoadConfig(cfgPath)
		got := errorLines(t, err, dir)
		if len(got) != 1 || !strings.Contains(got[0], "is not a regular file") {
			t.Errorf("errors %q", got)
		}
	})
	t.Run("same file twice", func(t *testing.T) {
		_, cfgPath := writeTree(t, map[string]string{
			"maildns.yaml":    baseConfig + "policies: [\"policies/*.yaml\", \"policies/a.yaml\", \"./policies/a.yaml\"]\n",
			"policies/a.yaml": head,
		})
		// baseConfig has policies: too: that is a duplicate key.
		if _, err := LoadConfig(cfgPath); err == nil || !strings.Contains(err.Error(), `duplicate key "policies"`) {
			t.Fatalf("err = %v", err)
		}
		dir, cfgPath := writeTree(t, map[string]string{
			"maildns.yaml":    "policies: [\"policies/*.yaml\", \"policies/a.yaml\", \"./policies/a.yaml\"]\nproviders: {local: {type: x}}\n",
			"policies/a.yaml": head,
		})
		if err := os.Symlink("a.yaml", filepath.Join(dir, "policies/link.yaml")); err != nil {
			t.Fatal(err)
		}
		cfg, err := LoadConfig(cfgPath)
		if err != nil {
			t.Fatal(err)
		}
		if len(cfg.Domains) != 1 {
			t.Errorf("%d domains, want 1", len(cfg.Domains))
		}
	})
	t.Run("same bad file twice", func(t *testing.T) {
		// Its problems are told once, at the first name in glob order.
		dir, cfgPath := writeTree(t, map[string]string{"policies/b.yaml": head + "ttl: x\n"})
		if err := os.Symlink("b.yaml", filepath.Join(dir, "policies/a.yaml")); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(filepath.Join(dir, "policies/c.yaml"), 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := LoadConfig(cfgPath)
		got := errorLines(t, err, dir)
		if len(got) != 1 || !strings.HasPrefix(got[0], "policies/a.yaml:3: ttl must be a whole number") {
			t.Errorf("errors %q", got)
		}
	})
}

func TestReverseName(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.25":     "25.113.0.203.in-addr.arpa.",
		"::ffff:192.0.2.1": "1.2.0.192.in-addr.arpa.",
		"2001:db8::25":     "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.",
	} {
		if got := ReverseName(mustAddr(t, in)); got != want {
			t.Errorf("ReverseName(%s) = %s, want %s", in, got, want)
		}
	}
}

// ecdsaPEM is a P-256 public key: a key type DKIM does not use.
const ecdsaPEM = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEe7wXy4eW6BSVIrKg65RCHi39wLqo
Q1nt1irf+TmirmnyjQPefLAWJzfvvQKUsqCgwEH5kXeyjtncJY9Qy1gdpg==
-----END PUBLIC KEY-----
`
