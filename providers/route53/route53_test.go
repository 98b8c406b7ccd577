package route53

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
	"github.com/libdns/libdns/libdnstest"

	r53fake "github.com/maildns/maildns/internal/fakes/route53"
	"github.com/maildns/maildns/internal/providertest"
	"github.com/maildns/maildns/providers"
)

const zone = "example.com."

// isolate keeps the host's AWS configuration out of the test.
func isolate(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	for _, k := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
		"AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_ROUTE_53"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

func newFake(t *testing.T) (*r53fake.Server, *Provider) {
	t.Helper()
	isolate(t)
	f := r53fake.New()
	t.Cleanup(f.Close)
	f.AddZone(zone)
	p, err := New(Config{Endpoint: f.URL(), AccessKeyID: "AKIDFAKEFAKEFAKE", SecretAccessKey: "fake-secret-key"})
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
	suite.RunTests(t)
}

func TestConformanceThroughEnvEndpoint(t *testing.T) {
	isolate(t)
	f := r53fake.New()
	t.Cleanup(f.Close)
	f.AddZone(zone)
	t.Setenv("AWS_ENDPOINT_URL_ROUTE_53", f.URL())
	p, err := providers.New(Type, &providers.Settings{Values: map[string]string{
		"access_key_id": "AKIDFAKEFAKEFAKE", "secret_access_key": "fake-secret-key"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.GetRecords(context.Background(), zone); err != nil {
		t.Fatalf("GetRecords through AWS_ENDPOINT_URL_ROUTE_53: %v", err)
	}
	if f.Total() != 2 {
		t.Errorf("the fake served %d requests, want 2 (zone lookup, list)", f.Total())
	}
}

var foreignValues = []string{`"google-site-verification=abc123"`, `"MS=ms12345678"`, `"apple-domain-verification=xyz"`}

var foreign = []string{
	"@ 5m0s TXT MS=ms12345678",
	"@ 5m0s TXT apple-domain-verification=xyz",
	"@ 5m0s TXT google-site-verification=abc123",
}

func seedForeign(f *r53fake.Server) {
	f.Put(zone, r53fake.RRset{Name: zone, Type: "TXT", TTL: 300, Values: foreignValues})
	f.Put(zone, r53fake.RRset{Name: "www." + zone, Type: "A", TTL: 300, Values: []string{"192.0.2.10"}})
}

func TestApexTXTForeignValuesSurvive(t *testing.T) {
	f, p := newFake(t)
	seedForeign(f)
	ctx := context.Background()
	spf := libdns.RR{Name: "@", Type: "TXT", TTL: 300 * time.Second, Data: "v=spf1 mx -all"}
	spf2 := libdns.RR{Name: "@", Type: "TXT", TTL: 300 * time.Second, Data: "v=spf1 mx include:_spf.example.net -all"}
	if got := get(t, p, "@", "TXT"); !cmp.Equal(got, foreign) {
		t.Fatalf("before: %s", cmp.Diff(foreign, got))
	}
	if _, err := p.AppendRecords(ctx, zone, []libdns.Record{spf}); err != nil {
		t.Fatal(err)
	}
	want := append(append([]string{}, foreign...), "@ 5m0s TXT v=spf1 mx -all")
	sort.Strings(want)
	if got := get(t, p, "@", "TXT"); !cmp.Equal(got, want) {
		t.Errorf("after append (-want +got):\n%s", cmp.Diff(want, got))
	}
	set := []libdns.Record{spf2}
	for _, v := range []string{"google-site-verification=abc123", "MS=ms12345678", "apple-domain-verification=xyz"} {
		set = append(set, libdns.RR{Name: "@", Type: "TXT", TTL: 300 * time.Second, Data: v})
	}
	if _, err := p.SetRecords(ctx, zone, set); err != nil {
		t.Fatal(err)
	}
	want = append(append([]string{}, foreign...), "@ 5m0s TXT v=spf1 mx include:_spf.example.net -all")
	sort.Strings(want)
	if got := get(t, p, "@", "TXT"); !cmp.Equal(got, want) {
		t.Errorf("after set (-want +got):\n%s", cmp.Diff(want, got))
	}
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
	// The foreign values are stored exactly as they were.
	for _, s := range f.RRsets(zone) {
		if s.Type == "TXT" && !cmp.Equal(s.Values, foreignValues) {
			t.Errorf("foreign values rewritten: %q", s.Values)
		}
	}
}

const dkimKey = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwHtfhYCF1UljKtqmhpFh1ecmNpSNyLArAyaDjbAYF2JzZCk9iUhNEGGpWfp5e2nI/58lMv0xzHR5u1uBjHqc61hI01X9B0hfXZTDlFUjzLGPxF3pZuHxYCcahkJwd8hSSTQFMsj5gXeKE5XxU5ib2yFG+vxBwDVVWwrfgO0R3y6rzFYKZrbOlqOEDaW5oo1UmhtaCYVIJr6nZ0tRk2tmKDBsTcH1q2bOpBYbFVRcOtBAb8tSXkxG4X7d+nc7/f0x2LEnSi2SGTzZvn8aFJlj5OxutkAoNsPKnIyUJwDnqkH5whnCUsHx0y6qNaPHyeBaeaxEdu9Y+7a9E2PLFr3HjwIDAQAB"

func TestLongDKIMRoundTrip(t *testing.T) {
	f, p := newFake(t)
	ctx := context.Background()
	text := "v=DKIM1; k=rsa; p=" + dkimKey
	rec := libdns.RR{Name: "sel1._domainkey", Type: "TXT", TTL: time.Hour, Data: text}
	if _, err := p.AppendRecords(ctx, zone, []libdns.Record{rec}); err != nil {
		t.Fatal(err)
	}
	var stored string
	for _, s := range f.RRsets(zone) {
		if s.Type == "TXT" {
			stored = s.Values[0]
		}
	}
	if want := `"` + text[:255] + `" "` + text[255:] + `"`; stored != want {
		t.Errorf("stored %s\nwant %s", stored, want)
	}
	if got, want := get(t, p, "sel1._domainkey", "TXT"), []string{"sel1._domainkey 1h0m0s TXT " + text}; !cmp.Equal(got, want) {
		t.Errorf("read back (-want +got):\n%s", cmp.Diff(want, got))
	}
	if _, err := p.DeleteRecords(ctx, zone, []libdns.Record{rec}); err != nil {
		t.Fatal(err)
	}
	if got := get(t, p, "sel1._domainkey", "TXT"); len(got) != 0 {
		t.Errorf("still there after delete: %v", got)
	}
}

func TestTXTEscapesRoundTrip(t *testing.T) {
	f, p := newFake(t)
	ctx := context.Background()
	text := `say "hi" \ café`
	if _, err := p.SetRecords(ctx, zone, []libdns.Record{libdns.RR{Name: "odd", Type: "TXT", TTL: time.Hour, Data: text}}); err != nil {
		t.Fatal(err)
	}
	want := `"say \"hi\" \\ caf\303\251"`
	for _, s := range f.RRsets(zone) {
		if s.Type == "TXT" && s.Values[0] != want {
			t.Errorf("stored %s, want %s", s.Values[0], want)
		}
	}
	if got := get(t, p, "odd", "TXT"); !cmp.Equal(got, []string{"odd 1h0m0s TXT " + text}) {
		t.Errorf("read back %q", got)
	}
}

func TestFakeRejectsLikeRoute53(t *testing.T) {
	f, p := newFake(t)
	seedForeign(f)
	ctx := context.Background()
	cl, err := p.api(ctx)
	if err != nil {
		t.Fatal(err)
	}
	zid, err := p.zoneID(ctx, cl, zone)
	if err != nil {
		t.Fatal(err)
	}
	k := rrsetKey{Name: "@", Type: "TXT"}
	tests := []struct {
		name   string
		action string
		values []string
	}{
		{"create existing", "CREATE", []string{`"x"`}},
		{"delete non-matching", "DELETE", []string{`"google-site-verification=abc123"`}},
		{"string over 255", "UPSERT", []string{`"` + strings.Repeat("a", 256) + `"`}},
	}
	for _, tt := range tests {
		err := p.change(ctx, cl, zid, zone, tt.name, changes(tt.action, newSet(k, zone, 300, tt.values)))
		var icb interface{ ErrorCode() string }
		if !errors.As(err, &icb) || icb.ErrorCode() != "InvalidChangeBatch" {
			t.Errorf("%s: err = %v, want InvalidChangeBatch", tt.name, err)
		}
	}
	if got := get(t, p, "@", "TXT"); !cmp.Equal(got, foreign) {
		t.Errorf("a rejected batch changed the zone: %v", got)
	}
}

func wrap(p providers.Provider, counts *providers.Counts, maxTime time.Duration) providers.Provider {
	return providertest.Wrap(p, "aws", Type, counts, maxTime)
}

func TestRetryOnThrottling(t *testing.T) {
	f, p := newFake(t)
	seedForeign(f)
	counts := &providers.Counts{}
	w := wrap(p, counts, time.Minute)
	f.Fail(2, 400, "Throttling")
	recs, err := w.GetRecords(context.Background(), zone)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 7 { // NS x2, SOA, TXT x3, A
		t.Errorf("got %d records, want 7", len(recs))
	}
	if got := f.Total(); got != 4 {
		t.Errorf("requests = %d, want 4 (2 throttled, zone lookup, list)", got)
	}
	if got := counts.Get("aws", providers.OpGetRecords, providers.ResultRetry); got != 2 {
		t.Errorf("retries counted = %d, want 2", got)
	}
	if got := counts.Get("aws", providers.OpRequest, providers.ResultSent); got != 4 {
		t.Errorf("requests counted = %d, want 4", got)
	}
}

func TestRetryOn5xxThenGiveUp(t *testing.T) {
	f, p := newFake(t)
	w := wrap(p, &providers.Counts{}, 400*time.Millisecond)
	f.Fail(2, 503, "")
	if _, err := w.GetRecords(context.Background(), zone); err != nil {
		t.Fatalf("after 2 x 503: %v", err)
	}
	f.Fail(1000, 500, "InternalFailure")
	start := time.Now()
	_, err := w.SetRecords(context.Background(), zone, []libdns.Record{libdns.RR{Name: "@", Type: "TXT", Data: "v=spf1 -all"}})
	if err == nil || !strings.Contains(err.Error(), "giving up") || !strings.Contains(err.Error(), `zone "example.com."`) {
		t.Fatalf("err = %v, want giving up naming the zone", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("gave up after %s, want about 400ms", el)
	}
}

func TestCallCounts(t *testing.T) {
	f, p := newFake(t)
	f.MaxItems = 3
	seedForeign(f)
	f.Put(zone, r53fake.RRset{Name: zone, Type: "MX", TTL: 3600, Values: []string{"10 mx1.example.com."}})
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
	// 5 record sets (NS, SOA, TXT, MX, www A), 3 per page.
	measure("first GetRecords", []string{"ListHostedZonesByName", "ListResourceRecordSets", "ListResourceRecordSets"}, getRecs)
	measure("GetRecords", []string{"ListResourceRecordSets", "ListResourceRecordSets"}, getRecs)
	f.MaxItems = 0
	measure("GetRecords, one page", []string{"ListResourceRecordSets"}, getRecs)
	measure("AppendRecords of 1 (new RRset)", []string{"ListResourceRecordSets", "ChangeResourceRecordSets"}, func() error {
		_, err := p.AppendRecords(ctx, zone, []libdns.Record{libdns.RR{Name: "_dmarc", Type: "TXT", TTL: time.Hour, Data: "v=DMARC1; p=none"}})
		return err
	})
	measure("AppendRecords of 1 (to the apex TXT)", []string{"ListResourceRecordSets", "ChangeResourceRecordSets"}, func() error {
		_, err := p.AppendRecords(ctx, zone, []libdns.Record{libdns.RR{Name: "@", Type: "TXT", TTL: time.Hour, Data: "v=spf1 -all"}})
		return err
	})
	measure("update of the MX RRset", []string{"ChangeResourceRecordSets"}, func() error {
		_, err := p.SetRecords(ctx, zone, []libdns.Record{libdns.RR{Name: "@", Type: "MX", TTL: time.Hour, Data: "10 mx2.example.com."}})
		return err
	})
	measure("DeleteRecords of 1", []string{"ListResourceRecordSets", "ChangeResourceRecordSets"}, func() error {
		_, err := p.DeleteRecords(ctx, zone, []libdns.Record{libdns.RR{Name: "_dmarc", Type: "TXT", Data: "v=DMARC1; p=none"}})
		return err
	})
	if got := get(t, p, "@", "MX"); !cmp.Equal(got, []string{"@ 1h0m0s MX 10 mx2.example.com."}) {
		t.Errorf("MX after update: %v", got)
	}
}

func TestZoneLookup(t *testing.T) {
	isolate(t)
	f := r53fake.New()
	t.Cleanup(f.Close)
	pub := f.AddZone("example.org")
	f.AddPrivateZone("example.org")
	f.AddZone("dup.example")
	f.AddZone("dup.example")
	p, err := New(Config{Endpoint: f.URL(), AccessKeyID: "AKIDFAKE", SecretAccessKey: "fake"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cl, err := p.api(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := p.zoneID(ctx, cl, "example.org."); err != nil || id != pub {
		t.Errorf("public and private zone: got %q, %v; want the public %q", id, err, pub)
	}
	if _, err := p.zoneID(ctx, cl, "dup.example."); err == nil || !strings.Contains(err.Error(), "hosted_zone_id") {
		t.Errorf("two public zones: err = %v, want advice to set hosted_zone_id", err)
	}
	if _, err := p.zoneID(ctx, cl, "nosuch.example."); err == nil {
		t.Error("missing zone: want an error")
	}
	p2, _ := New(Config{Endpoint: f.URL(), AccessKeyID: "AKIDFAKE", SecretAccessKey: "fake", HostedZoneID: "/hostedzone/" + pub})
	f.ResetCalls()
	if _, err := p2.GetRecords(ctx, "example.org."); err != nil {
		t.Fatal(err)
	}
	if got := f.CallLog(); !cmp.Equal(got, []string{"ListResourceRecordSets"}) {
		t.Errorf("with hosted_zone_id: calls %v, want no zone lookup", got)
	}
}

func TestConfigLoadFailureIsAnError(t *testing.T) {
	isolate(t)
	// A profile that does not exist makes the AWS configuration fail to
	// load: the call fails, the process goes on.
	p, err := New(Config{Profile: "nosuch", Endpoint: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.GetRecords(context.Background(), zone)
	if err == nil || !strings.Contains(err.Error(), "loading the AWS configuration") {
		t.Fatalf("err = %v, want a configuration error", err)
	}
}

func TestSettings(t *testing.T) {
	tests := []struct {
		name    string
		values  map[string]string
		wantKey string
	}{
		{"defaults", map[string]string{}, ""},
		{"full", map[string]string{"region": "eu-west-1", "hosted_zone_id": "/hostedzone/Z0123ABC", "access_key_id": "AKID",
			"secret_access_key": "s3cr3t", "session_token": "tok", "max_retries": "3", "endpoint": "https://route53.example"}, ""},
		{"profile", map[string]string{"profile": "maildns"}, ""},
		{"bad region", map[string]string{"region": "Europe"}, "region"},
		{"bad zone id", map[string]string{"hosted_zone_id": "z-123"}, "hosted_zone_id"},
		{"key without secret", map[string]string{"access_key_id": "AKID"}, "secret_access_key"},
		{"secret without key", map[string]string{"secret_access_key": "s3cr3t"}, "access_key_id"},
		{"token alone", map[string]string{"session_token": "s3cr3t"}, "session_token"},
		{"profile and keys", map[string]string{"profile": "p", "access_key_id": "AKID", "secret_access_key": "s3cr3t"}, "profile"},
		{"secret with newline", map[string]string{"access_key_id": "AKID", "secret_access_key": "s3cr3t\n"}, "secret_access_key"},
		{"bad retries", map[string]string{"max_retries": "many"}, "max_retries"},
		{"too many retries", map[string]string{"max_retries": "50"}, "max_retries"},
		{"bad endpoint", map[string]string{"endpoint": "localhost:9000"}, "endpoint"},
		{"unknown", map[string]string{"zone_id": "Z1"}, "zone_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := providers.New(Type, &providers.Settings{Name: "aws", Values: tt.values})
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

func changes(action string, set *types.ResourceRecordSet) []types.Change {
	return []types.Change{{Action: types.ChangeAction(action), ResourceRecordSet: set}}
}

func TestConcurrentUse(t *testing.T) {
	_, p := newFake(t)
	w := wrap(p, &providers.Counts{}, time.Minute)
	ctx := context.Background()
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func() {
			name := "c" + string(rune('a'+i))
			_, err := w.AppendRecords(ctx, zone, []libdns.Record{libdns.RR{Name: name, Type: "TXT", TTL: time.Hour, Data: "v"}})
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
	recs, err := p.GetRecords(ctx, zone)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3+8 {
		t.Errorf("zone holds %d records, want 11", len(recs))
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		code       string
		status     int
		transient  bool
		notApplied bool
	}{
		{"Throttling", 400, true, true},
		{"PriorRequestNotComplete", 400, true, true},
		{"ServiceUnavailable", 503, true, false},
		{"InternalFailure", 500, true, false},
		{"InvalidChangeBatch", 400, false, false},
		{"AccessDenied", 403, false, false},
	}
	for _, tt := range tests {
		f, p := newFake(t)
		f.Fail(1, tt.status, tt.code)
		_, err := p.GetRecords(context.Background(), zone)
		if err == nil {
			t.Fatalf("%s: want an error", tt.code)
		}
		tr, _ := providers.IsTransient(err)
		var te *providers.TransientError
		na := errors.As(err, &te) && te.NotApplied
		if tr != tt.transient || na != tt.notApplied {
			t.Errorf("%s (HTTP %d): transient %v not applied %v, want %v %v (%v)", tt.code, tt.status, tr, na, tt.transient, tt.notApplied, err)
		}
	}
}
