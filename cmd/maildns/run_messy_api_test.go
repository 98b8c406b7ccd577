package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	cffake "github.com/maildns/maildns/internal/fakes/cloudflare"
	dsfake "github.com/maildns/maildns/internal/fakes/desec"
	r53fake "github.com/maildns/maildns/internal/fakes/route53"
	pt "github.com/maildns/maildns/internal/providertest"
	"github.com/maildns/maildns/providers"
)

const messyPolicy = `domain: example.com
provider: p
ttl: 3600
mail_hosts:
  - name: mail
    ipv4: [203.0.113.25]
mx:
  - {host: mail, priority: 10}
spf:
  all: fail
dkim:
  - selector: s1
    key_file: s1.pem
dmarc:
  policy: reject
ptr:
  mode: "off"
`

var messyForeign300 = strings.Repeat("f", 300)

// TestOnceOnHandMadeAPIRecords runs --once against each API fake holding
// mail records as people make them by hand (the SPF and DMARC split at odd
// places, the DKIM key in 250-byte strings, an MX with a mixed-case
// target, foreign apex TXT, one split at 200 bytes): --once exits 0, the
// next --dry-run exits 0, each owned kind holds exactly the policy's one
// value, and every foreign record is stored as it was.
func TestOnceOnHandMadeAPIRecords(t *testing.T) {
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	key, err := os.ReadFile(filepath.Join("..", "..", "configs", "example", "keys", "s2026.pem"))
	if err != nil {
		t.Fatal(err)
	}
	spfOld := pt.Quoted("v=spf1 a ", "~all")
	dkimOld := pt.Quoted(pt.SplitAt(pt.OldDKIM, 250)...)
	dmarcOld := pt.Quoted("v=DMARC1; ", "p=quarantine")
	google := `"google-site-verification=abc123"`
	long := pt.Quoted(pt.SplitAt(messyForeign300, 200)...)

	type backend struct {
		yaml     string
		settings map[string]string
		foreign  func() []string // the foreign records as the fake stores them
	}
	for _, name := range []string{"cloudflare", "route53", "desec"} {
		t.Run(name, func(t *testing.T) {
			var b backend
			switch name {
			case "cloudflare":
				f := cffake.New()
				t.Cleanup(f.Close)
				f.Token = "messy-cf-token-0123456789"
				f.AddZone("example.com")
				u16 := uint16(10)
				for _, r := range []cffake.Record{
					{Name: "@", Type: "TXT", Content: spfOld, TTL: 300},
					{Name: "@", Type: "TXT", Content: google, TTL: 3600},
					{Name: "@", Type: "TXT", Content: long, TTL: 1},
					{Name: "s1._domainkey", Type: "TXT", Content: dkimOld, TTL: 3600},
					{Name: "_dmarc", Type: "TXT", Content: dmarcOld, TTL: 3600},
					{Name: "@", Type: "MX", Content: "OldMX.Example.COM", Priority: &u16, TTL: 3600},
					{Name: "www", Type: "A", Content: "192.0.2.10", TTL: 300},
				} {
					f.Put("example.com", r)
				}
				old := http.DefaultTransport
				http.DefaultTransport = cfRoute{base: old, fake: f}
				t.Cleanup(func() { http.DefaultTransport = old })
				b = backend{
					yaml:     `{type: cloudflare, api_token: messy-cf-token-0123456789, rate_limit: 0}`,
					settings: map[string]string{"api_token": f.Token},
					foreign: func() []string {
						var out []string
						for _, r := range f.Records("example.com") {
							if r.Name == "www.example.com" || r.Type == "TXT" && r.Name == "example.com" && !strings.Contains(r.Content, "v=spf1") {
								out = append(out, fmt.Sprintf("%s %s %d %s %s", r.ID, r.Name, r.TTL, r.Content, r.Modified))
							}
						}
						return out
					},
				}
			case "route53":
				f := r53fake.New()
				t.Cleanup(f.Close)
				f.AddZone("example.com")
				for _, s := range []r53fake.RRset{
					{Name: "example.com.", Type: "TXT", Values: []string{spfOld, google, long}},
					{Name: "s1._domainkey.example.com.", Type: "TXT", Values: []string{dkimOld}},
					{Name: "_dmarc.example.com.", Type: "TXT", Values: []string{dmarcOld}},
					{Name: "example.com.", Type: "MX", Values: []string{"10 OldMX.Example.COM."}},
					{Name: "www.example.com.", Type: "A", Values: []string{"192.0.2.10"}},
					{Name: "example.com.", Type: "CAA", Values: []string{`0 issue "letsencrypt.org"`}},
				} {
					s.TTL = 3600
					f.Put("example.com", s)
				}
				b = backend{
					yaml: fmt.Sprintf(`{type: route53, access_key_id: AKIDMESSYTEST, secret_access_key: messy-secret, endpoint: %q, rate_limit: 0}`, f.URL()),
					settings: map[string]string{"access_key_id": "AKIDMESSYTEST", "secret_access_key": "messy-secret",
						"endpoint": f.URL()},
					foreign: func() []string {
						var out []string
						for _, s := range f.RRsets("example.com") {
							for _, v := range s.Values {
								if s.Type == "CAA" || s.Name == "www.example.com." || s.Type == "TXT" && s.Name == "example.com." && !strings.Contains(v, "v=spf1") {
									out = append(out, fmt.Sprintf("%s %s %s", s.Name, s.Type, v))
								}
							}
						}
						return out
					},
				}
			case "desec":
				f := dsfake.New()
				t.Cleanup(f.Close)
				f.Token = "messy-desec-token-0123456789"
				f.AddZone("example.com")
				for _, r := range []dsfake.RRset{
					{Subname: "", Type: "TXT", Records: []string{spfOld, google, long}},
					{Subname: "s1._domainkey", Type: "TXT", Records: []string{dkimOld}},
					{Subname: "_dmarc", Type: "TXT", Records: []string{dmarcOld}},
					{Subname: "", Type: "MX", Records: []string{"10 OldMX.Example.COM."}},
					{Subname: "www", Type: "A", Records: []string{"192.0.2.10"}},
					{Subname: "", Type: "CAA", Records: []string{`0 issue "letsencrypt.org"`}},
				} {
					r.TTL = 3600
					f.Put("example.com", r)
				}
				b = backend{
					yaml:     fmt.Sprintf(`{type: desec, token: messy-desec-token-0123456789, base_url: %q, rate_limit: 0}`, f.URL()),
					settings: map[string]string{"token": f.Token, "base_url": f.URL()},
					foreign: func() []string {
						var out []string
						for _, s := range f.RRsets("example.com") {
							for _, v := range s.Records {
								if s.Type == "CAA" || s.Subname == "www" || s.Type == "TXT" && s.Subname == "" && !strings.Contains(v, "v=spf1") {
									out = append(out, fmt.Sprintf("%s %s %s", s.Subname, s.Type, v))
								}
							}
						}
						return out
					},
				}
			}
			dir := t.TempDir()
			for name, body := range map[string]string{
				"maildns.yaml":          "policies: [\"policies/*.yaml\"]\nstate_dir: state\nlive_checks: false\nproviders:\n  p: " + b.yaml + "\n",
				"policies/example.yaml": messyPolicy,
				"policies/s1.pem":       string(key),
			} {
				p := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			foreignBefore := b.foreign()
			if len(foreignBefore) < 3 {
				t.Fatalf("seeded foreign records: %q", foreignBefore)
			}
			cfg := filepath.Join(dir, "maildns.yaml")
			for _, m := range []struct {
				args []string
				want int
			}{
				{[]string{"--once", "--offline"}, exitOK},
				{[]string{"--dry-run", "--offline"}, exitOK},
			} {
				var stdout, stderr bytes.Buffer
				if code := run(append([]string{"--config", cfg}, m.args...), &stdout, &stderr); code != m.want {
					t.Fatalf("%v: exit %d, want %d\nstdout: %s\nstderr: %s", m.args, code, m.want, stdout.String(), stderr.String())
				}
			}
			if after := b.foreign(); !slices.Equal(after, foreignBefore) {
				t.Errorf("foreign records changed:\nbefore %q\nafter  %q", foreignBefore, after)
			}
			p, err := providers.New(name, &providers.Settings{Name: "reader", Values: maps.Clone(b.settings)})
			if err != nil {
				t.Fatal(err)
			}
			recs, err := p.GetRecords(context.Background(), "example.com.")
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			for _, r := range recs {
				rr := r.RR()
				got[providers.RelativeName(rr.Name, "example.com.")+" "+rr.Type] = append(got[providers.RelativeName(rr.Name, "example.com.")+" "+rr.Type], rr.Data)
			}
			var spf []string
			for _, v := range got["@ TXT"] {
				if strings.HasPrefix(v, "v=spf1") {
					spf = append(spf, v)
				}
			}
			checks := []struct {
				what string
				have []string
				ok   func(string) bool
			}{
				{"SPF", spf, func(v string) bool { return v == "v=spf1 ip4:203.0.113.25 -all" }},
				{"DKIM", got["s1._domainkey TXT"], func(v string) bool { return strings.HasPrefix(v, "v=DKIM1;") && !strings.Contains(v, pt.OldDKIMKey) }},
				{"DMARC", got["_dmarc TXT"], func(v string) bool { return strings.HasPrefix(v, "v=DMARC1; p=reject") }},
				{"MX", got["@ MX"], func(v string) bool { return v == "10 mail.example.com." }},
				{"mail A", got["mail A"], func(v string) bool { return v == "203.0.113.25" }},
			}
			for _, c := range checks {
				if len(c.have) != 1 || !c.ok(c.have[0]) {
					t.Errorf("%s: %q, want exactly the policy's one value", c.what, c.have)
				}
			}
		})
	}
}
