package desec

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/libdns/libdns"

	"github.com/maildns/maildns/providers"
)

// An API answer that echoes the token shows it in no error, wherever the
// token falls: at the start, inside, and across the 600-byte cut of the
// excerpt (which must not leave the token's first bytes behind).
func TestErrorsRedactEchoedToken(t *testing.T) {
	const secret = "dsTok-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
	f, _ := newFake(t)
	p, err := New(Config{Token: secret, BaseURL: f.URL()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	txt := libdns.RR{Name: "@", Type: "TXT", TTL: time.Hour, Data: "v=spf1 -all"}
	f.Fail(1000, http.StatusUnauthorized, "echo")
	for _, at := range []int{0, 300, 590, 596, 599} {
		f.EchoToken = strings.Repeat("x", at) + "{token} is not a valid token; " + strings.Repeat("y", 700)
		for name, call := range map[string]func() error{
			"get":     func() error { _, err := p.GetRecords(ctx, zone); return err },
			"replace": func() error { _, err := p.ReplaceRecords(ctx, zone, nil, []libdns.Record{txt}); return err },
			"delete":  func() error { _, err := p.DeleteRecords(ctx, zone, []libdns.Record{txt}); return err },
			"zones":   func() error { _, err := p.ListZones(ctx); return err },
		} {
			err := call()
			if err == nil {
				t.Fatalf("%s: no error from an API that refuses every request", name)
			}
			msg := err.Error()
			if strings.Contains(msg, secret[:6]) {
				t.Errorf("token at byte %d, %s: the error shows (part of) the token: %s", at, name, msg)
			}
			if at < 590 && !strings.Contains(msg, providers.Redacted) {
				t.Errorf("token at byte %d, %s: the error does not show the API's answer (redacted): %s", at, name, msg)
			}
		}
	}
}
