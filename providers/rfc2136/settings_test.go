package rfc2136_test

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/maildns/maildns/providers"
	"github.com/maildns/maildns/providers/rfc2136"
)

const goodSecret = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA=="

func TestSettings(t *testing.T) {
	base := func() map[string]string {
		return map[string]string{
			"server":   "192.0.2.53:53",
			"key_name": "maildns",
			"key":      goodSecret,
		}
	}
	tests := []struct {
		name    string
		change  map[string]string // "" deletes the key
		wantKey string            // the setting named by the error; "" for no error
		wantMsg string
	}{
		{"good", nil, "", ""},
		{"good IPv6 and options", map[string]string{"server": "[2001:db8::53]:5353", "key_algorithm": "HMAC-SHA512.", "timeout": "5s"}, "", ""},
		{"good host name", map[string]string{"server": "ns1.example.net:53", "key_name": "maildns.example.net."}, "", ""},
		{"server missing", map[string]string{"server": ""}, "server", "required setting is missing"},
		{"server without port", map[string]string{"server": "ns1.example.net"}, "server", "the port is missing"},
		{"IPv6 without brackets", map[string]string{"server": "2001:db8::53"}, "server", "brackets"},
		{"port out of range", map[string]string{"server": "192.0.2.53:70000"}, "server", "port must be 1 to 65535"},
		{"no host", map[string]string{"server": ":53"}, "server", "no host"},
		{"key name missing", map[string]string{"key_name": ""}, "key_name", "required setting is missing"},
		{"bad key name", map[string]string{"key_name": "a..b"}, "key_name", "want a key name"},
		{"unsupported algorithm", map[string]string{"key_algorithm": "hmac-md5"}, "key_algorithm", "hmac-sha256"},
		{"key missing", map[string]string{"key": ""}, "key", "required setting is missing"},
		{"key not base64", map[string]string{"key": "not*base64*Sekr3t"}, "key", "not valid base64"},
		{"bad timeout", map[string]string{"timeout": "soon"}, "timeout", "duration"},
		{"zero timeout", map[string]string{"timeout": "0s"}, "timeout", "above 0s"},
		{"unknown setting", map[string]string{"zone": "example.com"}, "zone", "unknown setting"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			values := base()
			for k, v := range tt.change {
				if v == "" {
					delete(values, k)
				} else {
					values[k] = v
				}
			}
			p, err := providers.New(rfc2136.Type, &providers.Settings{Values: values, Secret: map[string]bool{"key": true}})
			if tt.wantKey == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if p == nil {
					t.Fatal("New returned no provider")
				}
				return
			}
			var se *providers.SettingError
			if !errors.As(err, &se) || se.Key != tt.wantKey {
				t.Fatalf("New: err = %v, want a *SettingError for %q", err, tt.wantKey)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), values["key"]) && values["key"] != "" {
				t.Errorf("error %q holds the key", err)
			}
		})
	}
}

func TestRegistered(t *testing.T) {
	found := false
	for _, typ := range providers.Types() {
		found = found || typ == rfc2136.Type
	}
	if !found {
		t.Errorf("providers.Types() = %v lacks %q", providers.Types(), rfc2136.Type)
	}
}

func TestProviderNeverPrintsItsSecret(t *testing.T) {
	p, err := providers.New(rfc2136.Type, &providers.Settings{Values: map[string]string{
		"server": "192.0.2.53:53", "key_name": "maildns", "key": goodSecret,
	}})
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	slog.New(slog.NewTextHandler(&log, nil)).Info("provider", "p", p)
	printed := []string{
		fmt.Sprint(p), fmt.Sprintf("%+v", p), fmt.Sprintf("%#v", p), log.String(),
	}
	for _, s := range printed {
		if strings.Contains(s, goodSecret) || strings.Contains(s, "secret-secret") {
			t.Errorf("the secret is printed: %s", s)
		}
	}
	if !strings.Contains(printed[0], "192.0.2.53:53") {
		t.Errorf("String() = %q, want it to name the server", printed[0])
	}
}
