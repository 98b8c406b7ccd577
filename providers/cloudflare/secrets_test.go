package cloudflare

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/libdns/libdns"

	"github.com/maildns/maildns/providers"
)

// An API that echoes the request's credentials in its errors (the
// Authorization header, the token alone) shows them in no error of the
// backend, whether the library or this backend built the error text.
func TestErrorsRedactEchoedToken(t *testing.T) {
	const secret = "cfTok-4f9a1b2c3d4e5f60718293a4b5c6d7e8"
	const zoneSecret = "cfZone-0a1b2c3d4e5f60718293a4b5c6d7e8f9"
	f, _ := newFake(t)
	f.EchoCredentials = true
	ctx := context.Background()
	for _, zt := range []string{"", zoneSecret} {
		p, err := New(Config{APIToken: secret, ZoneToken: zt, HTTPClient: f.Client()})
		if err != nil {
			t.Fatal(err)
		}
		mx := libdns.RR{Name: "@", Type: "MX", TTL: time.Hour, Data: "10 mail.example.com."}
		txt := libdns.RR{Name: "@", Type: "TXT", TTL: time.Hour, Data: "v=spf1 -all"}
		calls := map[string]func() error{
			"get":    func() error { _, err := p.GetRecords(ctx, zone); return err },
			"append": func() error { _, err := p.AppendRecords(ctx, zone, []libdns.Record{txt}); return err },
			"mx":     func() error { _, err := p.AppendRecords(ctx, zone, []libdns.Record{mx}); return err },
			"delete": func() error { _, err := p.DeleteRecords(ctx, zone, []libdns.Record{txt}); return err },
			"replace": func() error {
				_, err := p.ReplaceRecords(ctx, zone, []libdns.Record{txt}, []libdns.Record{mx})
				return err
			},
			"zones": func() error { _, err := p.ListZones(ctx); return err },
		}
		// Through the wrapper too, as the engine calls it: one attempt.
		w := providers.Wrap(p, providers.WrapOptions{Name: "cf", Type: Type, Counts: &providers.Counts{}, RetryMaxTime: -1})
		calls["wrapped"] = func() error { _, err := w.GetRecords(ctx, zone); return err }
		for name, call := range calls {
			err := call()
			if err == nil {
				t.Fatalf("%s: no error from an API that refuses every request", name)
			}
			msg := err.Error()
			for _, s := range []string{secret, zoneSecret, secret[:12], zoneSecret[:12]} {
				if strings.Contains(msg, s) {
					t.Errorf("%s (zone token %v): the error shows a token: %s", name, zt != "", msg)
				}
			}
			if !strings.Contains(msg, providers.Redacted) {
				t.Errorf("%s: the error does not show the API's echoed answer (redacted): %s", name, msg)
			}
		}
	}
}
