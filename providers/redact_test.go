package providers

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/libdns/libdns"
)

const (
	testToken   = "cf-T0ken/with+odd=chars_0123456789"
	testKeyID   = "ASIAIOSFODNN7EXAMPLE"
	testSession = "FwoGZXIvYXdzEBYaDH7gJ0X3xZ0+session/token=="
	testTSIG    = "c2VjcmV0IHRzaWcga2V5IGZvciB0ZXN0cw=="
)

// Every secret is removed in every form an API may echo it, credentials
// are found by shape, and the rest of the text stays.
func TestRedact(t *testing.T) {
	r := NewRedactor(testToken, testSession, testTSIG, "ab", "")
	for _, tt := range []struct{ in, gone, keep string }{
		{"token " + testToken + " refused", testToken, "refused"},
		{`{"detail":"` + strings.ReplaceAll(testToken, "/", `\/`) + `"}`, "cf-T0ken", "detail"},
		{"GET /x?token=" + url.QueryEscape(testToken) + " 401", "cf-T0ken", "401"},
		{"x-amz-security-token:" + testSession + "\nhost:route53", testSession, "host:route53"},
		{"X-Amz-Security-Token=abcdef0123456789&X-Amz-Date=1", "abcdef0123456789", "X-Amz-Date=1"},
		{"Credential=" + testKeyID + "/20261201/us-east-1/route53/aws4_request, SignedHeaders=host", testKeyID, "SignedHeaders=host"},
		{"the key id AKIAIOSFODNN7EXAMPLE is unknown", "AKIAIOSFODNN7EXAMPLE", "is unknown"},
		{"Authorization: Bearer abc.def-ghi\nAccept: json", "abc.def-ghi", "Accept: json"},
		{"sent Token 0123456789abcdef0123 to the API", "0123456789abcdef0123", "to the API"},
		{`key "maildns" { algorithm hmac-sha256; secret "c2VjcmV0"; };`, "c2VjcmV0", "hmac-sha256"},
		{"tsig " + testTSIG, testTSIG, "tsig"},
		{"ab cd stays", "", "ab cd stays"}, // a two-letter value is no secret
	} {
		got := r.Redact(tt.in)
		if tt.gone != "" && strings.Contains(got, tt.gone) {
			t.Errorf("Redact(%q) = %q: still holds %q", tt.in, got, tt.gone)
		}
		if !strings.Contains(got, tt.keep) {
			t.Errorf("Redact(%q) = %q: lost %q", tt.in, got, tt.keep)
		}
	}
	var nilR *Redactor
	if got := nilR.Redact("Authorization: Bearer x"); strings.Contains(got, "Bearer x") {
		t.Errorf("a nil Redactor left a credential: %q", got)
	}
}

// A redacted error keeps what it wraps: ErrChanged, a transient error's
// retry advice, a setting's key.
func TestRedactError(t *testing.T) {
	r := NewRedactor(testToken)
	ce := &ChangedError{Zone: "example.com.", Name: "@", Type: "TXT"}
	err := r.Error(fmt.Errorf("with %s: %w", testToken, ce))
	if strings.Contains(err.Error(), testToken) || !errors.Is(err, ErrChanged) {
		t.Errorf("changed: %v (Is ErrChanged %v)", err, errors.Is(err, ErrChanged))
	}
	err = r.Error(Transient(errors.New("503 for "+testToken), 2*time.Second, true))
	if ok, after := IsTransient(err); !ok || after != 2*time.Second || strings.Contains(err.Error(), testToken) {
		t.Errorf("transient: %v %v %v", err, ok, after)
	}
	err = r.Error(&SettingError{Key: "server", Err: fmt.Errorf("have %q", testToken)})
	var se *SettingError
	if !errors.As(err, &se) || se.Key != "server" || strings.Contains(err.Error(), testToken) || strings.Contains(se.Err.Error(), testToken) {
		t.Errorf("setting: %v", err)
	}
	// A setting's error deeper in the chain comes out redacted as well.
	err = r.Error(fmt.Errorf("building: %w", &SettingError{Key: "server", Err: fmt.Errorf("have %q", testToken)}))
	if !errors.As(err, &se) || se.Key != "server" || strings.Contains(se.Err.Error(), testToken) || strings.Contains(se.Error(), testToken) {
		t.Errorf("wrapped setting: %v / %v", err, se)
	}
	plain := errors.New("nothing secret")
	if r.Error(plain) != plain || r.Error(nil) != nil {
		t.Error("an error with nothing to redact was changed")
	}
}

// The settings' Redactor holds the values of ${...} settings and of the
// keys known to be secret, and no others.
func TestRedactorFor(t *testing.T) {
	s := &Settings{Values: map[string]string{
		"server": "198.51.100.7:5353", "key": testTSIG, "access_key_id": testKeyID, "region": "us-east-1",
	}, Secret: map[string]bool{"server": true}}
	got := RedactorFor(s).Redact("server 198.51.100.7:5353 key " + testTSIG + " id " + testKeyID + " in us-east-1")
	for _, v := range []string{"198.51.100.7:5353", testTSIG, testKeyID} {
		if strings.Contains(got, v) {
			t.Errorf("%q still holds %q", got, v)
		}
	}
	if !strings.Contains(got, "us-east-1") {
		t.Errorf("%q lost a setting that is no secret", got)
	}
}

// echoProvider fails every call with an error that quotes its secret.
type echoProvider struct{ memProvider }

func (e *echoProvider) GetRecords(ctx context.Context, zone string) ([]libdns.Record, error) {
	return nil, errors.New("HTTP 403: the token " + testToken + " may not read " + zone)
}

// The wrapper redacts what a backend forgot to: the provider's secret
// settings, read by NewWrapped.
func TestWrapRedacts(t *testing.T) {
	if !Known("echo-secret-test") {
		Register("echo-secret-test", func(s *Settings) (Provider, error) {
			s.String("api_token", "")
			if v := s.String("port", ""); v != "" && v != "53" {
				return nil, &SettingError{Key: "port", Err: fmt.Errorf("want a port, have %q", v)}
			}
			return &echoProvider{}, nil
		})
	}
	p, err := NewWrapped("echo-secret-test", &Settings{Name: "e", Values: map[string]string{"api_token": testToken}},
		WrapOptions{Counts: &Counts{}, RetryMaxTime: -1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.GetRecords(context.Background(), "example.com.")
	if err == nil || strings.Contains(err.Error(), testToken) || !strings.Contains(err.Error(), Redacted) {
		t.Errorf("GetRecords error: %v", err)
	}
	// A value placed through ${...} in a setting the backend quotes.
	_, err = NewWrapped("echo-secret-test", &Settings{Name: "e", Values: map[string]string{"port": "s3cret-port-value"},
		Secret: map[string]bool{"port": true}}, WrapOptions{Counts: &Counts{}})
	var se *SettingError
	if err == nil || strings.Contains(err.Error(), "s3cret-port-value") || !errors.As(err, &se) || se.Key != "port" {
		t.Errorf("build error: %v", err)
	}
}
