package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cffake "github.com/maildns/maildns/internal/fakes/cloudflare"
	dsfake "github.com/maildns/maildns/internal/fakes/desec"
	r53fake "github.com/maildns/maildns/internal/fakes/route53"
)

// The secrets of the API test; none may appear in any output or file.
const (
	apiSecretCF      = "cfE2Esecret0a1b2c3d4e5f6a7b8c9d0e1f2"
	apiSecretKeyID   = "ASIAE2ESECRETKEYID01"
	apiSecretAWS     = "e2eAwsSecretKey/0a1b2c3d4e5f6a7b8c9d0e1f2a3b"
	apiSecretSession = "FwoGZXIvYXdzEBYaDE2Esession0a1b2c3d4e5f6a7b8c9d0e1f2=="
	apiSecretDesec   = "dsE2Esecret9f8e7d6c5b4a39281706f5e4d3c2"
	apiSecretServer  = "127.0.0.1:1"
	apiSecretBadSrv  = "s3cret-nameserver-without-port"
	apiSecretTSIG    = "c2VjcmV0LXRzaWcta2V5LWZvci1lMmUtdGVzdHM="
	apiSecretZoneDir = "zones-s3cret-dir-5d1e"
	apiSecretSuffix  = "s3cret/suffix"
)

var apiSecrets = []string{apiSecretCF, apiSecretKeyID, apiSecretAWS, apiSecretSession, apiSecretDesec,
	apiSecretBadSrv, apiSecretTSIG, apiSecretZoneDir, apiSecretSuffix}

const apiPolicy = `domain: example.com
provider: p
ttl: 3600
mail_hosts:
  - name: mail
    ipv4: [203.0.113.25]
mx:
  - {host: mail, priority: 10}
spf:
  all: fail
dmarc:
  policy: reject
ptr:
  mode: "off"
`

// cfRoute sends the Cloudflare backend's requests (api.cloudflare.com,
// through the default transport) to a fake.
type cfRoute struct {
	base http.RoundTripper
	fake *cffake.Server
}

func (r cfRoute) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != "api.cloudflare.com" {
		return r.base.RoundTrip(req)
	}
	return r.fake.Client().Transport.RoundTrip(req)
}

// TestSecretsNeverShownByAPIs makes each backend's API (a fake) or its
// settings echo every secret it was given, the token, the access key id,
// the session token, the TSIG key, a ${...} value in any setting, and
// searches every output, log line, plan and journal entry for them.
func TestSecretsNeverShownByAPIs(t *testing.T) {
	for _, k := range []string{"AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_ROUTE_53"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("MAILDNS_T_CF", apiSecretCF)
	t.Setenv("MAILDNS_T_KEYID", apiSecretKeyID)
	t.Setenv("MAILDNS_T_SESSION", apiSecretSession)
	t.Setenv("MAILDNS_T_DESEC", apiSecretDesec)
	t.Setenv("MAILDNS_T_SERVER", apiSecretServer)
	t.Setenv("MAILDNS_T_BADSERVER", apiSecretBadSrv)
	t.Setenv("MAILDNS_T_ZDIR", apiSecretZoneDir)
	t.Setenv("MAILDNS_T_SUFFIX", apiSecretSuffix)
	creds := t.TempDir()
	if err := os.WriteFile(filepath.Join(creds, "tsig"), []byte(apiSecretTSIG+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CREDENTIALS_DIRECTORY", creds)

	type mode struct {
		args []string
		want int
	}
	once := []mode{
		{[]string{"--validate"}, exitOK},
		{[]string{"--dry-run", "--offline", "--output", "json"}, exitDrift},
		{[]string{"--once", "--offline"}, exitFailed},
		{[]string{"--once", "--offline", "--output", "json"}, exitFailed},
	}
	invalid := []mode{{[]string{"--validate"}, exitFailed}, {[]string{"--once", "--offline"}, exitFailed}}
	unreachable := []mode{
		{[]string{"--validate"}, exitOK},
		{[]string{"--dry-run", "--offline", "--output", "json"}, exitFailed},
		{[]string{"--once", "--offline"}, exitFailed},
	}
	for _, tc := range []struct {
		name     string
		provider func(t *testing.T) string // the provider's settings; starts its fake
		modes    []mode
		echoed   bool // the API's answer reached the output, redacted
		daemon   bool // run the daemon's first sync too
	}{
		{"cloudflare", func(t *testing.T) string {
			f := cffake.New()
			t.Cleanup(f.Close)
			f.Token = apiSecretCF
			f.AddZone("example.com")
			f.Put("example.com", cffake.Record{Name: "@", Type: "TXT", Content: `"v=spf1 mx ~all"`, TTL: 3600})
			// Every write: the conditional one is a batch.
			for _, k := range []string{"POST dns_records", "PATCH dns_records", "PUT dns_records", "DELETE dns_records", "POST batch"} {
				f.FailOn(k, 1000, http.StatusForbidden, "echo")
			}
			old := http.DefaultTransport
			http.DefaultTransport = cfRoute{base: old, fake: f}
			t.Cleanup(func() { http.DefaultTransport = old })
			return `{type: cloudflare, api_token: "${MAILDNS_T_CF}", retry_max_time: 0s, rate_limit: 0}`
		}, once, true, true},
		{"route53", func(t *testing.T) string {
			f := r53fake.New()
			t.Cleanup(f.Close)
			f.AddZone("example.com")
			f.FailOn("ChangeResourceRecordSets", 1000, http.StatusForbidden, "SignatureDoesNotMatch")
			return fmt.Sprintf(`{type: route53, access_key_id: "${MAILDNS_T_KEYID}", secret_access_key: "${file:aws.secret}", `+
				`session_token: "${MAILDNS_T_SESSION}", endpoint: %q, retry_max_time: 0s, rate_limit: 0}`, f.URL())
		}, once, true, true},
		{"desec", func(t *testing.T) string {
			f := dsfake.New()
			t.Cleanup(f.Close)
			f.Token = apiSecretDesec
			f.AddZone("example.com")
			// The token across the 600-byte cut of the excerpt.
			f.EchoToken = strings.Repeat("x", 590) + "{token} is not allowed to write" + strings.Repeat("y", 200)
			f.FailOn("PATCH rrsets", 1000, http.StatusUnauthorized, "echo")
			f.FailOn("POST rrsets", 1000, http.StatusUnauthorized, "echo") // a conditional create
			return fmt.Sprintf(`{type: desec, token: "${MAILDNS_T_DESEC}", base_url: %q, retry_max_time: 0s, rate_limit: 0}`, f.URL())
		}, once, true, true},
		{"rfc2136 unreachable", func(t *testing.T) string {
			return `{type: rfc2136, server: "${MAILDNS_T_SERVER}", key_name: maildns, key: "${credential:tsig}", retry_max_time: 0s, timeout: 2s}`
		}, unreachable, false, true},
		{"rfc2136 invalid server", func(t *testing.T) string {
			return `{type: rfc2136, server: "${MAILDNS_T_BADSERVER}", key_name: maildns, key: "${credential:tsig}"}`
		}, invalid, true, false},
		{"zonefile missing directory", func(t *testing.T) string {
			return `{type: zonefile, directory: "${MAILDNS_T_ZDIR}", retry_max_time: 0s, rate_limit: 0}`
		}, unreachable, false, true},
		{"zonefile invalid suffix", func(t *testing.T) string {
			return `{type: zonefile, directory: zones, file_suffix: "${MAILDNS_T_SUFFIX}"}`
		}, invalid, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "policies"), 0o755); err != nil {
				t.Fatal(err)
			}
			files := map[string]string{
				"aws.secret":              apiSecretAWS + "\n",
				"policies/example.yaml":   apiPolicy,
				"maildns.yaml":            "policies: [\"policies/*.yaml\"]\nstate_dir: state\nlive_checks: false\nlog: {level: debug, format: json}\nproviders:\n  p: " + tc.provider(t) + "\n",
				"zones/example.com.zone":  "",
				"zones/.keep-this-folder": "",
			}
			for name, body := range files {
				p := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			cfg := filepath.Join(dir, "maildns.yaml")
			var all strings.Builder
			for _, m := range tc.modes {
				var stdout, stderr bytes.Buffer
				code := run(append([]string{"--config", cfg}, m.args...), &stdout, &stderr)
				if code != m.want {
					t.Errorf("%v: exit %d, want %d\nstdout: %s\nstderr: %s", m.args, code, m.want, stdout.String(), stderr.String())
				}
				all.WriteString(stdout.String())
				all.WriteString(stderr.String())
			}
			if tc.daemon {
				// The daemon's first sync, then a stop: its log lines.
				ctx, cancel := context.WithCancel(context.Background())
				var dlog secretBuf
				done := make(chan int, 1)
				go func() { done <- runDaemon(ctx, cfg, "", &dlog) }()
				deadline := time.Now().Add(20 * time.Second)
				for !strings.Contains(dlog.String(), "sync finished") && time.Now().Before(deadline) {
					time.Sleep(20 * time.Millisecond)
				}
				cancel()
				select {
				case <-done:
				case <-time.After(20 * time.Second):
					t.Fatal("the daemon did not stop")
				}
				if !strings.Contains(dlog.String(), "sync finished") {
					t.Errorf("the daemon did not sync:\n%s", dlog.String())
				}
				all.WriteString(dlog.String())
			}
			journal := 0
			_ = filepath.WalkDir(filepath.Join(dir, "state"), func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return nil
				}
				b, err := os.ReadFile(p)
				if err == nil {
					journal++
					all.WriteString(string(b))
				}
				return nil
			})
			out := all.String()
			secrets := apiSecrets
			if strings.HasPrefix(tc.name, "rfc2136") {
				secrets = append(secrets, apiSecretServer) // a loopback address: only this provider's
			}
			for _, s := range secrets {
				if i := strings.Index(out, s); i >= 0 {
					t.Errorf("secret %q shown: ...%s...", s, out[max(0, i-300):min(len(out), i+len(s)+50)])
				}
			}
			if strings.Contains(out, apiSecretDesec[:8]) {
				t.Errorf("a prefix of the deSEC token is shown")
			}
			if tc.echoed && !strings.Contains(out, "[redacted]") {
				t.Errorf("the secret never reached an error (nothing redacted): the test proves nothing\n%s", out)
			}
			t.Logf("searched %d bytes of output, logs, plans and %d state files", len(out), journal)
		})
	}
}
