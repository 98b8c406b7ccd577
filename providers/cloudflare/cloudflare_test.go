package cloudflare

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
	"github.com/libdns/libdns/libdnstest"

	cffake "github.com/maildns/maildns/internal/fakes/cloudflare"
	"github.com/maildns/maildns/internal/providertest"
	"github.com/maildns/maildns/providers"
)

const (
	zone  = "example.com."
	token = "test-token-not-secret"
)

func newFake(t *testing.T) (*cffake.Server, *Provider) {
	t.Helper()
	f := cffake.New()
	t.Cleanup(f.Close)
	f.Token = token
	f.AddZone(zone)
	p, err := New(Config{APIToken: token, HTTPClient: f.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return f, p
}

func get(t *testing.T, p providers.Provider, name, typ string) []string {
	t.Helper()
	return providertest.Get(t, p, zone, name, typ)
}

func TestConformance(t *testing.T) {
	_, p := newFake(t)
	suite := libdnstest.NewTestSuite(p, zone)
	// Cloudflare sends SRV, HTTPS and SVCB as structured data the fake does
	// not render into content; maildns never writes them.
	suite.SkipRRTypes = map[string]bool{"SRV": true, "HTTPS": true, "SVCB": true}
	suite.RunTests(t)
}

func seedForeign(f *cffake.Server) {
	f.Put(zone, cffake.Record{Name: "@", Type: "TXT", Content: `"google-site-verification=abc123"`, TTL: 300})
	f.Put(zone, cffake.Record{Name: "example.com", Type: "TXT", Content: `MS=ms12345678`, TTL: 300}) // unquoted, as older records are
	f.Put(zone, cffake.Record{Name: "@", Type: "TXT", Content: `"apple-domain-verification=xyz"`, TTL: 300})
	f.Put(zone, cffake.Record{Name: "www", Type: "A", Content: "192.0.2.10", TTL: 300})
}

var foreign = []string{
	"@ 5m0s TXT MS=ms12345678",
	"@ 5m0s TXT apple-domain-verification=xyz",
	"@ 5m0s TXT google-site-verification=abc123",
}

func TestApexTXTForeignValuesSurvive(t *testing.T) {
	f, p := newFake(t)
	seedForeign(f)
	ctx := context.Background()
	spf := libdns.RR{Name: "@", Type: "TXT", TTL: 300 * time.Second, Data: "v=spf1 mx -all"}
	spf2 := libdns.RR{Name: "@", Type: "TXT", TTL: 300 * time.Second, Data: "v=spf1 mx include:_spf.example.net -all"}

	if got, want := get(t, p, "@", "TXT"), foreign; !cmp.Equal(got, want) {
		t.Fatalf("before: %s", cmp.Diff(want, got))
	}
	// Append the SPF.
	if _, err := p.AppendRecords(ctx, zone, []libdns.Record{spf}); err != nil {
		t.Fatal(err)
	}
	want := append(append([]string{}, foreign...), "@ 5m0s TXT v=spf1 mx -all")
	sort.Strings(want)
	if got := get(t, p, "@", "TXT"); !cmp.Equal(got, want) {
		t.Errorf("after append (-want +got):\n%s", cmp.Diff(want, got))
	}
	// Set the whole RRset with the SPF changed: the foreign values are kept
	// untouched (same IDs), only the SPF is replaced.
	idsBefore := ids(f, "TXT")
	set := []libdns.Record{spf2}
	for _, fv := range []string{"google-site-verification=abc123", "MS=ms12345678", "apple-domain-verification=xyz"} {
		set = append(set, libdns.RR{Name: "@", Type: "TXT", TTL: 300 * time.Second, Data: fv})
	}
	if _, err := p.SetRecords(ctx, zone, set); err != nil {
		t.Fatal(err)
	}
	want = append(append([]string{}, foreign...), "@ 5m0s TXT v=spf1 mx include:_spf.example.net -all")
	sort.Strings(want)
	if got := get(t, p, "@", "TXT"); !cmp.Equal(got, want) {
		t.Errorf("after set (-want +got):\n%s", cmp.Diff(want, got))
	}
	idsAfter := ids(f, "TXT")
	kept := 0
	for id := range idsBefore {
		if idsAfter[id] {
			kept++
		}
	}
	if kept != 3 {
		t.Errorf("%d foreign records kept their ID, want 3 (they must not be rewritten)", kept)
	}
	// Delete the SPF.
	del, err := p.DeleteRecords(ctx, zone, []libdns.Record{spf2})
	if err != nil {
		t.Fatal(err)
	}
	if len(del) != 1 {
		t.Errorf("deleted %d records, want 1", len(del))
	}
	if got := get(t, p, "@", "TXT"); !cmp.Equal(got, foreign) {
		t.Errorf("after delete (-want +got):\n%s", cmp.Diff(foreign, got))
	}
	if got := get(t, p, "www", "A"); len(got) != 1 {
		t.Errorf("www A: %v", got)
	}
}

func ids(f *cffake.Server, typ string) map[string]bool {
	out := map[string]bool{}
	for _, r := range f.Records(zone) {
		if r.Type == typ {
			out[r.ID] = true
		}
	}
	return out
}

// A 2048-bit RSA DKIM key: 392 bytes of base64 in a TXT of about 410 bytes.
const dkimKey = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwHtfhYCF1UljKtqmhpFh1ecmNpSNyLArAyaDjbAYF2JzZCk9iUhNEGGpWfp5e2nI/58lMv0xzHR5u1uBjHqc61hI01X9B0hfXZTDlFUjzLGPxF3pZuHxYCcahkJwd8hSSTQFMsj5gXeKE5XxU5ib2yFG+vxBwDVVWwrfgO0R3y6rzFYKZrbOlqOEDaW5oo1UmhtaCYVIJr6nZ0tRk2tmKDBsTcH1q2bOpBYbFVRcOtBAb8tSXkxG4X7d+nc7/f0x2LEnSi2SGTzZvn8aFJlj5OxutkAoNsPKnIyUJwDnqkH5whnCUsHx0y6qNaPHyeBaeaxEdu9Y+7a9E2PLFr3HjwIDAQAB"

func TestLongDKIMRoundTrip(t *testing.T) {
	f, p := newFake(t)
	ctx := context.Background()
	text := "v=DKIM1; k=rsa; p=" + dkimKey
	if len(text) < 400 {
		t.Fatalf("test key too short: %d", len(text))
	}
	rec := libdns.RR{Name: "sel1._domainkey", Type: "TXT", TTL: 3600 * time.Second, Data: text}
	if _, err := p.AppendRecords(ctx, zone, []libdns.Record{rec}); err != nil {
		t.Fatal(err)
	}
	stored := f.Records(zone)
	if len(stored) != 1 || !strings.Contains(stored[0].Content, `" "`) {
		t.Fatalf("fake did not split the long TXT as Cloudflare does: %+v", stored)
	}
	want := []string{"sel1._domainkey 1h0m0s TXT " + text}
	if got := get(t, p, "sel1._domainkey", "TXT"); !cmp.Equal(got, want) {
		t.Errorf("read back (-want +got):\n%s", cmp.Diff(want, got))
	}
	// Setting it again is a no-op (no write).
	f.ResetCalls()
	if _, err := p.SetRecords(ctx, zone, []libdns.Record{rec}); err != nil {
		t.Fatal(err)
	}
	if n := f.Calls("POST dns_records") + f.Calls("DELETE dns_records") + f.Calls("PATCH dns_records"); n != 0 {
		t.Errorf("SetRecords of the record in place made %d writes, want 0", n)
	}
	del, err := p.DeleteRecords(ctx, zone, []libdns.Record{rec})
	if err != nil {
		t.Fatal(err)
	}
	if len(del) != 1 || len(f.Records(zone)) != 0 {
		t.Errorf("deleted %v, zone now %+v", del, f.Records(zone))
	}
}

func TestSetSeveralValuesKeepsAll(t *testing.T) {
	f, p := newFake(t)
	ctx := context.Background()
	mx := []libdns.Record{
		libdns.RR{Name: "@", Type: "MX", TTL: time.Hour, Data: "10 mx1.example.com."},
		libdns.RR{Name: "@", Type: "MX", TTL: time.Hour, Data: "20 mx2.example.com."},
	}
	if _, err := p.SetRecords(ctx, zone, mx); err != nil {
		t.Fatal(err)
	}
	want := []string{"@ 1h0m0s MX 10 mx1.example.com.", "@ 1h0m0s MX 20 mx2.example.com."}
	if got := get(t, p, "@", "MX"); !cmp.Equal(got, want) {
		t.Errorf("(-want +got):\n%s", cmp.Diff(want, got))
	}
	// Replace one value, change the TTL of the other.
	mx = []libdns.Record{
		libdns.RR{Name: "@", Type: "MX", TTL: 2 * time.Hour, Data: "10 mx1.example.com."},
		libdns.RR{Name: "@", Type: "MX", TTL: 2 * time.Hour, Data: "30 mx3.example.com."},
	}
	f.ResetCalls()
	if _, err := p.SetRecords(ctx, zone, mx); err != nil {
		t.Fatal(err)
	}
	// One list, one TTL patch, one create, one delete.
	wantCalls := []string{"GET dns_records", "PATCH dns_records", "POST dns_records", "DELETE dns_records"}
	if diff := cmp.Diff(wantCalls, f.CallLog()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	want = []string{"@ 2h0m0s MX 10 mx1.example.com.", "@ 2h0m0s MX 30 mx3.example.com."}
	if got := get(t, p, "@", "MX"); !cmp.Equal(got, want) {
		t.Errorf("(-want +got):\n%s", cmp.Diff(want, got))
	}
}

func wrap(p providers.Provider, counts *providers.Counts, maxTime time.Duration) providers.Provider {
	return providertest.Wrap(p, "cf", Type, counts, maxTime)
}

func TestRetryOn429HonoursRetryAfter(t *testing.T) {
	f, p := newFake(t)
	seedForeign(f)
	counts := &providers.Counts{}
	w := wrap(p, counts, time.Minute)
	f.Fail(1, 429, "1")
	start := time.Now()
	recs, err := w.GetRecords(context.Background(), zone)
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < time.Second {
		t.Errorf("retried after %s, want at least the 1s of Retry-After", el)
	}
	if len(recs) != 4 {
		t.Errorf("got %d records, want 4", len(recs))
	}
	// zone lookup answered 429; then zone lookup + one list.
	if got := f.Total(); got != 3 {
		t.Errorf("requests = %d, want 3", got)
	}
	if got := counts.Get("cf", providers.OpGetRecords, providers.ResultRetry); got != 1 {
		t.Errorf("retries counted = %d, want 1", got)
	}
	if got := counts.Get("cf", providers.OpRequest, providers.ResultSent); got != 3 {
		t.Errorf("requests counted = %d, want 3", got)
	}
}

func TestRetryOn5xxThenGiveUp(t *testing.T) {
	f, p := newFake(t)
	w := wrap(p, &providers.Counts{}, 400*time.Millisecond)
	f.Fail(3, 502, "")
	if _, err := w.GetRecords(context.Background(), zone); err != nil {
		t.Fatalf("after 3 x 502: %v", err)
	}
	f.Fail(1000, 503, "")
	start := time.Now()
	_, err := w.SetRecords(context.Background(), zone, []libdns.Record{libdns.RR{Name: "@", Type: "TXT", Data: "v=spf1 -all"}})
	if err == nil || !strings.Contains(err.Error(), "giving up") || !strings.Contains(err.Error(), "HTTP 503") ||
		!strings.Contains(err.Error(), `zone "example.com."`) {
		t.Fatalf("err = %v, want giving up on HTTP 503 naming the zone", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("gave up after %s, want about 400ms", el)
	}
	var te *providers.TransientError
	if !errors.As(err, &te) {
		t.Errorf("the final error does not carry the transient cause: %v", err)
	}
}

func TestAppendAfterLostAnswerIsNotDuplicated(t *testing.T) {
	f, p := newFake(t)
	w := wrap(p, &providers.Counts{}, time.Minute)
	ctx := context.Background()
	if _, err := w.GetRecords(ctx, zone); err != nil { // warm the zone cache
		t.Fatal(err)
	}
	// The create lands but its answer is a 502 (as from a proxy timing out).
	p.client = &landThenFail{inner: p.client}
	rec := libdns.RR{Name: "@", Type: "TXT", TTL: 300 * time.Second, Data: "v=spf1 -all"}
	got, err := w.AppendRecords(ctx, zone, []libdns.Record{rec})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(f.Records(zone)) != 1 {
		t.Errorf("returned %d, zone holds %d records; want 1 and 1", len(got), len(f.Records(zone)))
	}
}

func TestCallCounts(t *testing.T) {
	f, p := newFake(t)
	f.MaxPerPage = 3
	seedForeign(f)
	f.Put(zone, cffake.Record{Name: "@", Type: "MX", Content: "mx1.example.com", Priority: ptr(uint16(10)), TTL: 3600})
	ctx := context.Background()
	measure := func(name string, want []string, fn func() error) {
		t.Helper()
		f.ResetCalls()
		if err := fn(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := f.CallLog()
		t.Logf("%s: %d requests %v", name, len(got), got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: calls (-want +got):\n%s", name, diff)
		}
	}
	getRecs := func() error { _, err := p.GetRecords(ctx, zone); return err }
	// 5 records, 3 per page: zone lookup once, then 2 pages.
	measure("first GetRecords", []string{"GET zones", "GET dns_records", "GET dns_records"}, getRecs)
	measure("GetRecords", []string{"GET dns_records", "GET dns_records"}, getRecs)
	f.MaxPerPage = 0
	measure("GetRecords, one page", []string{"GET dns_records"}, getRecs)
	measure("AppendRecords of 1", []string{"POST dns_records"}, func() error {
		_, err := p.AppendRecords(ctx, zone, []libdns.Record{libdns.RR{Name: "_dmarc2", Type: "TXT", TTL: time.Hour, Data: "v=DMARC1; p=none"}})
		return err
	})
	// The first set or delete looks the zone up for our own requests.
	measure("first update of the MX RRset (1 value replaced)", []string{"GET zones", "GET dns_records", "POST dns_records", "DELETE dns_records"}, func() error {
		_, err := p.SetRecords(ctx, zone, []libdns.Record{libdns.RR{Name: "@", Type: "MX", TTL: time.Hour, Data: "10 mx2.example.com."}})
		return err
	})
	measure("update of the MX RRset (1 value replaced)", []string{"GET dns_records", "POST dns_records", "DELETE dns_records"}, func() error {
		_, err := p.SetRecords(ctx, zone, []libdns.Record{libdns.RR{Name: "@", Type: "MX", TTL: time.Hour, Data: "10 mx3.example.com."}})
		return err
	})
	measure("SetRecords with no change", []string{"GET dns_records"}, func() error {
		_, err := p.SetRecords(ctx, zone, []libdns.Record{libdns.RR{Name: "@", Type: "MX", TTL: time.Hour, Data: "10 mx3.example.com."}})
		return err
	})
	measure("DeleteRecords of 1", []string{"GET dns_records", "DELETE dns_records"}, func() error {
		_, err := p.DeleteRecords(ctx, zone, []libdns.Record{libdns.RR{Name: "_dmarc2", Type: "TXT", Data: "v=DMARC1; p=none"}})
		return err
	})
}

// landThenFail sends a create, then answers 502 as if the answer was lost.
type landThenFail struct {
	inner interface {
		Do(*http.Request) (*http.Response, error)
	}
	done bool
}

func (l *landThenFail) Do(req *http.Request) (*http.Response, error) {
	resp, err := l.inner.Do(req)
	if err != nil || req.Method != http.MethodPost || l.done {
		return resp, err
	}
	l.done = true
	resp.Body.Close()
	return &http.Response{StatusCode: 502, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("bad gateway")), Request: req}, nil
}

func ptr[T any](v T) *T { return &v }

func TestSettings(t *testing.T) {
	tests := []struct {
		name    string
		values  map[string]string
		wantKey string
	}{
		{"ok", map[string]string{"api_token": "abc"}, ""},
		{"with zone token", map[string]string{"api_token": "abc", "zone_token": "def"}, ""},
		{"missing", map[string]string{}, "api_token"},
		{"empty", map[string]string{"api_token": ""}, "api_token"},
		{"newline", map[string]string{"api_token": "s3cr3t-value\n"}, "api_token"},
		{"unknown", map[string]string{"api_token": "abc", "apitoken": "x"}, "apitoken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := providers.New(Type, &providers.Settings{Name: "cf", Values: tt.values})
			if tt.wantKey == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var se *providers.SettingError
			if !errors.As(err, &se) || se.Key != tt.wantKey {
				t.Fatalf("err = %v, want a SettingError for %q", err, tt.wantKey)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error shows the secret: %v", err)
			}
		})
	}
}

func TestErrorsHideToken(t *testing.T) {
	f, _ := newFake(t)
	p, err := New(Config{APIToken: "wrong-s3cr3t", HTTPClient: f.Client()})
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range []func() error{
		func() error { _, err := p.GetRecords(context.Background(), zone); return err },
		func() error {
			_, err := p.DeleteRecords(context.Background(), zone, []libdns.Record{libdns.RR{Name: "@", Type: "TXT"}})
			return err
		},
	} {
		err := fn()
		if err == nil {
			t.Fatal("want an authentication error")
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("error shows the token: %v", err)
		}
	}
	if s := p.String() + p.GoString(); strings.Contains(s, "s3cr3t") {
		t.Errorf("printing the provider shows the token: %s", s)
	}
}

// The fake reproduces the library defects this backend works around, so the
// tests above would catch a regression to using the library directly.
func TestFakeReproducesLibraryDefects(t *testing.T) {
	_, p := newFake(t)
	ctx := context.Background()
	// #31: SetRecords with several values keeps only the last.
	_, err := p.lib.SetRecords(ctx, zone, []libdns.Record{
		libdns.TXT{Name: "multi", TTL: time.Hour, Text: "one"},
		libdns.TXT{Name: "multi", TTL: time.Hour, Text: "two"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := get(t, p, "multi", "TXT"); len(got) != 1 {
		t.Errorf("library SetRecords kept %v; the fake no longer shows #31", got)
	}
	// #32: a TXT over 255 bytes cannot be deleted through the library.
	long := libdns.TXT{Name: "long", TTL: time.Hour, Text: "v=DKIM1; k=rsa; p=" + dkimKey}
	if _, err := p.lib.AppendRecords(ctx, zone, []libdns.Record{long}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.lib.DeleteRecords(ctx, zone, []libdns.Record{long}); err != nil {
		t.Fatal(err)
	}
	if got := get(t, p, "long", "TXT"); len(got) != 1 {
		t.Errorf("library DeleteRecords removed the long TXT; the fake no longer shows #32")
	}
}

func TestTXTEscapesRoundTrip(t *testing.T) {
	f, p := newFake(t)
	ctx := context.Background()
	text := `say "hi" \ café`
	rec := libdns.RR{Name: "odd", Type: "TXT", TTL: time.Hour, Data: text}
	if _, err := p.SetRecords(ctx, zone, []libdns.Record{rec}); err != nil {
		t.Fatal(err)
	}
	if got := get(t, p, "odd", "TXT"); !cmp.Equal(got, []string{"odd 1h0m0s TXT " + text}) {
		t.Errorf("read back %q (stored %+v)", got, f.Records(zone))
	}
	if _, err := p.DeleteRecords(ctx, zone, []libdns.Record{rec}); err != nil {
		t.Fatal(err)
	}
	if n := len(f.Records(zone)); n != 0 {
		t.Errorf("%d records left after delete", n)
	}
}

func TestRateLimitBoundsRequests(t *testing.T) {
	f, p := newFake(t)
	counts := &providers.Counts{}
	w := providers.Wrap(p, providers.WrapOptions{Name: "cf", Type: Type, Counts: counts, RateLimit: 20})
	ctx := context.Background()
	start := time.Now()
	for i := 0; i < 5; i++ { // 1 zone lookup + 5 lists = 6 requests
		if _, err := w.GetRecords(ctx, zone); err != nil {
			t.Fatal(err)
		}
	}
	// and 4 creates.
	for i := 0; i < 4; i++ {
		if _, err := w.AppendRecords(ctx, zone, []libdns.Record{libdns.RR{Name: "r", Type: "A", TTL: time.Hour, Data: "192.0.2." + string(rune('1'+i))}}); err != nil {
			t.Fatal(err)
		}
	}
	el := time.Since(start)
	n := f.Total()
	if n != 10 {
		t.Errorf("requests = %d, want 10", n)
	}
	// Burst 1 at 20/s: n requests take at least (n-1)/20 s.
	if min := time.Duration(n-1) * 50 * time.Millisecond; el < min-10*time.Millisecond {
		t.Errorf("%d requests took %s, want at least %s at 20/s", n, el, min)
	}
	if got := counts.Get("cf", providers.OpRequest, providers.ResultSent); got != int64(n) {
		t.Errorf("requests counted = %d, want %d", got, n)
	}
}

func TestConcurrentUse(t *testing.T) {
	f, p := newFake(t)
	w := wrap(p, &providers.Counts{}, time.Minute)
	ctx := context.Background()
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func() {
			name := "c" + string(rune('a'+i))
			_, err := w.SetRecords(ctx, zone, []libdns.Record{libdns.RR{Name: name, Type: "TXT", TTL: time.Hour, Data: "v"}})
			if err == nil {
				_, err = w.GetRecords(ctx, zone)
			}
			errs <- err
		}()
	}
	for i := 0; i < 8; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := len(f.Records(zone)); n != 8 {
		t.Errorf("zone holds %d records, want 8", n)
	}
}

// answerWithout answers list requests without result_info, as a broken
// proxy might; the library would panic on it.
type answerWithout struct {
	inner interface {
		Do(*http.Request) (*http.Response, error)
	}
}

func (a answerWithout) Do(req *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(req.URL.Path, "/dns_records") {
		return a.inner.Do(req)
	}
	return &http.Response{StatusCode: 200, Header: http.Header{}, Request: req,
		Body: io.NopCloser(strings.NewReader(`{"success":true,"errors":[],"result":[]}`))}, nil
}

func TestMalformedAnswerIsAnError(t *testing.T) {
	f, _ := newFake(t)
	p, err := New(Config{APIToken: token, HTTPClient: answerWithout{f.Client()}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.GetRecords(context.Background(), zone)
	if err == nil || !strings.Contains(err.Error(), "malformed answer") {
		t.Fatalf("err = %v, want a malformed-answer error", err)
	}
}
