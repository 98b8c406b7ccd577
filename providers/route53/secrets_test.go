package route53

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/libdns/libdns"

	r53fake "github.com/maildns/maildns/internal/fakes/route53"
	"github.com/maildns/maildns/providers"
)

// An AWS-style SignatureDoesNotMatch error quotes the request: the
// canonical request with the session token, the Authorization header with
// the access key id. No error of the backend shows either, nor the secret
// key.
func TestSignatureErrorHidesCredentials(t *testing.T) {
	isolate(t)
	const (
		keyID   = "ASIAQWERTYUIOPASDFGH"
		secret  = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
		session = "FwoGZXIvYXdzEBYaDH7gJ0X3xZ0sEXAMPLEsessionTOKEN0123456789=="
	)
	f := r53fake.New()
	t.Cleanup(f.Close)
	f.AddZone(zone)
	f.SignatureMismatch = true
	p, err := New(Config{Endpoint: f.URL(), AccessKeyID: keyID, SecretAccessKey: secret, SessionToken: session})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	txt := libdns.RR{Name: "@", Type: "TXT", TTL: time.Hour, Data: "v=spf1 -all"}
	w := providers.Wrap(p, providers.WrapOptions{Name: "aws", Type: Type, Counts: &providers.Counts{}, RetryMaxTime: -1})
	for name, call := range map[string]func() error{
		"get":     func() error { _, err := p.GetRecords(ctx, zone); return err },
		"replace": func() error { _, err := p.ReplaceRecords(ctx, zone, nil, []libdns.Record{txt}); return err },
		"set":     func() error { _, err := p.SetRecords(ctx, zone, []libdns.Record{txt}); return err },
		"zones":   func() error { _, err := p.ListZones(ctx); return err },
		"wrapped": func() error { _, err := w.GetRecords(ctx, zone); return err },
	} {
		err := call()
		if err == nil {
			t.Fatalf("%s: no error from an API that refuses every request", name)
		}
		msg := err.Error()
		for _, s := range []string{keyID, secret, session, session[:16]} {
			if strings.Contains(msg, s) {
				t.Errorf("%s: the error shows a credential (%.6s...): %s", name, s, msg)
			}
		}
		if !strings.Contains(msg, "SignatureDoesNotMatch") || !strings.Contains(msg, "x-amz-security-token:"+providers.Redacted) {
			t.Errorf("%s: the error does not carry AWS's message (redacted): %s", name, msg)
		}
	}
}
