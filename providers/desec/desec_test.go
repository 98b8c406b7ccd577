package desec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
	"github.com/libdns/libdns/libdnstest"

	dsfake "github.com/maildns/maildns/internal/fakes/desec"
	"github.com/maildns/maildns/internal/providertest"
	"github.com/maildns/maildns/providers"
)

const (
	zone  = "example.com."
	token = "test-token-s3cr3t"
)

func newFake(t *testing.T) (*dsfake.Server, *Provider) {
	t.Helper()
	f := dsfake.New()
	t.Cleanup(f.Close)
	f.Token = token
	f.AddZone(zone)
	p, err := New(Config{Token: token, BaseURL: f.URL()})
	if err != nil {
		t.Fatal(err)
	}
	return f, p
}

// rrs renders records sorted, for comparison.
var rrs = providertest.Render

func get(t *testing.T, p providers.Provider, name, typ string) []string {
	t.Helper()
	return providertest.Get(t, p, zone, name, typ)
}

// stored returns the records of one RRset as the fake holds them.
func stored(f *dsfake.Server, sub, typ string) (int, []string) {
	for _, r := range f.RRsets(zone) {
		if r.Subname == sub && r.Type == typ {
			return r.TTL, r.Records
		}
	}
	return 0, nil
}

func TestConformance(t *testing.T) {
	f, p := newFake(t)
	f.MinimumTTL = 0 // the suite writes TTLs of 300 and 600
	libdnstest.NewTestSuite(p, zone).RunTests(t)
}

// The apex TXT values another party keeps, as deSEC stores them.
var foreignRaw = []string{`"google-site-verification=abc123"`, `"MS=ms12345678"`, `"apple-domain-verification=xyz"`}

var foreign = []string{
	"@ 1h0m0s TXT MS=ms12345678",
	"@ 1h0m0s TXT apple-domain-verification=xyz",
	"@ 1h0m0s TXT google-site-verification=abc123",
}

func seedForeign(f *dsfake.Server) {
	f.Put(zone, dsfake.RRset{Subname: "", Type: "TXT", TTL: 3600, Records: foreignRaw})
	f.Put(zone, dsfake.RRset{Subname: "www", Type: "A", TTL: 3600, Records: []string{"192.0.2.10"}})
}

// foreignKept checks that the foreign apex values are still there byte for
// byte as deSEC stored them, in their order.
func foreignKept(t *testing.T, f *dsfake.Server, when string) {
	t.Helper()
	_, recs := stored(f, "", "TXT")
	var got []string
	for _, r := range recs {
		if !strings.Contains(r, "v=spf1") {
			got = append(got, r)
		}
	}
	if diff := cmp.Diff(foreignRaw, got); diff != "" {
		t.Errorf("%s: foreign apex TXT values (-want +got):\n%s", when, diff)
	}
}

func TestApexTXTForeignValuesSurvive(t *testing.T) {
	f, p := newFake(t)
	seedForeign(f)
	ctx := context.Background()
	spf := libdns.RR{Name: "@", Type: "TXT", TTL: time.Hour, Data: "v=spf1 mx -all"}
	spf2 := libdns.RR{Name: "@", Type: "TXT", TTL: time.Hour, Data: "v=spf1 mx include:_spf.example.net -all"}
	spf3 := libdns.RR{Name: "@", Type: "TXT", TTL: time.Hour, Data: "v=spf1 ip4:192.0.2.25 -all"}
	with := func(v string) []string {
		out := append(append([]string{}, foreign...), "@ 1h0m0s TXT "+v)
		sort.Strings(out)
		return out
	}
	writes := func() int { return f.Calls("PATCH rrsets") + f.Calls("PUT rrsets") + f.Calls("POST rrsets") }

	if got := get(t, p, "@", "TXT"); !cmp.Equal(got, foreign) {
		t.Fatalf("before: %s", cmp.Diff(foreign, got))
	}
	steps := []struct {
		name string
		do   func() error
		want []string
	}{
		{"append", func() error {
			_, err := p.AppendRecords(ctx, zone, []libdns.Record{spf})
			return err
		}, with(spf.Data)},
		{"set with the foreign values", func() error {
			set := []libdns.Record{spf2}
			for _, v := range []string{"google-site-verification=abc123", "MS=ms12345678", "apple-domain-verification=xyz"} {
				set = append(set, libdns.RR{Name: "@", Type: "TXT", TTL: time.Hour, Data: v})
			}
			_, err := p.SetRecords(ctx, zone, set)
			return err
		}, with(spf2.Data)},
		{"replace", func() error {
			_, err := p.ReplaceRecords(ctx, zone, []libdns.Record{spf2}, []libdns.Record{spf3})
			return err
		}, with(spf3.Data)},
		{"delete", func() error {
			del, err := p.DeleteRecords(ctx, zone, []libdns.Record{spf3})
			if err == nil && len(del) != 1 {
				err = fmt.Errorf("deleted %d records, want 1", len(del))
			}
			return err
		}, foreign},
	}
	for _, st := range steps {
		before := writes()
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if n := writes() - before; n != 1 {
			t.Errorf("%s: %d writes, want 1", st.name, n)
		}
		if got := get(t, p, "@", "TXT"); !cmp.Equal(got, st.want) {
			t.Errorf("after %s (-want +got):\n%s", st.name, cmp.Diff(st.want, got))
		}
		foreignKept(t, f, st.name)
	}
	if got := get(t, p, "www", "A"); len(got) != 1 {
		t.Errorf("www A: %v", got)
	}
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
	rec := libdns.RR{Name: "sel1._domainkey", Type: "TXT", TTL: time.Hour, Data: text}
	if _, err := p.AppendRecords(ctx, zone, []libdns.Record{rec}); err != nil {
		t.Fatal(err)
	}
	_, recs := stored(f, "sel1._domainkey", "TXT")
	want := `"` + text[:255] + `" "` + text[255:] + `"`
	if len(recs) != 1 || recs[0] != want {
		t.Fatalf("stored %q, want the text in two strings (255 + %d bytes)", recs, len(text)-255)
	}
	if got, want := get(t, p, "sel1._domainkey", "TXT"), []string{"sel1._domainkey 1h0m0s TXT " + text}; !cmp.Equal(got, want) {
		t.Errorf("read back (-want +got):\n%s", cmp.Diff(want, got))
	}
	// Setting it again writes nothing.
	f.ResetCalls()
	if _, err := p.SetRecords(ctx, zone, []libdns.Record{rec}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"GET rrset"}, f.CallLog()); diff != "" {
		t.Errorf("SetRecords of the record in place (-want +got):\n%s", diff)
	}
	del, err := p.DeleteRecords(ctx, zone, []libdns.Record{rec})
	if err != nil {
		t.Fatal(err)
	}
	if len(del) != 1 || len(f.RRsets(zone)) != 0 {
		t.Errorf("deleted %v, zone now %+v", del, f.RRsets(zone))
	}
	// The fake refuses a long TXT in one string, as deSEC does.
	f.Put(zone, dsfake.RRset{Subname: "x", Type: "TXT", TTL: 3600, Records: []string{`"a"`}})
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the fake took a TXT string of over 255 bytes")
			}
		}()
		f.Put(zone, dsfake.RRset{Subname: "x", Type: "TXT", TTL: 3600, Records: []string{`"` + text + `"`}})
	}()
}

func TestTXTEscapesRoundTrip(t *testing.T) {
	f, p := newFake(t)
	ctx := context.Background()
	text := `say "hi" \ café`
	rec := libdns.RR{Name: "odd", Type: "TXT", TTL: time.Hour, Data: text}
	if _, err := p.SetRecords(ctx, zone, []libdns.Record{rec}); err != nil {
		t.Fatal(err)
	}
	if _, recs := stored(f, "odd", "TXT"); !cmp.Equal(recs, []string{`"say \"hi\" \\ caf\195\169"`}) {
		t.Errorf("stored %q", recs)
	}
	if got := get(t, p, "odd", "TXT"); !cmp.Equal(got, []string{"odd 1h0m0s TXT " + text}) {
		t.Errorf("read back %q", got)
	}
	if _, err := p.DeleteRecords(ctx, zone, []libdns.Record{rec}); err != nil {
		t.Fatal(err)
	}
	if n := len(f.RRsets(zone)); n != 0 {
		t.Errorf("%d RRsets left after delete", n)
	}
}

// ReplaceRecords is one read and one bulk PATCH, whatever the number of
// RRsets it touches; deSEC applies it whole or not at all.
func TestReplaceIsOnePatch(t *testing.T) {
	f, p := newFake(t)
	seedForeign(f)
	f.Put(zone, dsfake.RRset{Subname: "", Type: "TXT", TTL: 3600, Records: append(append([]string{}, foreignRaw...), `"v=spf1 mx -all"`)})
	f.Put(zone, dsfake.RRset{Subname: "_dmarc", Type: "TXT", TTL: 3600, Records: []string{`"v=DMARC1; p=none"`}})
	f.Put(zone, dsfake.RRset{Subname: "", Type: "MX", TTL: 3600, Records: []string{"10 mx1.example.com.", "20 mx2.example.com."}})
	f.Put(zone, dsfake.RRset{Subname: "mail", Type: "A", TTL: 3600, Records: []string{"192.0.2.25"}})
	ctx := context.Background()
	remove := []libdns.Record{
		libdns.RR{Name: "@", Type: "TXT", TTL: time.Hour, Data: "v=spf1 mx -all"},
		libdns.RR{Name: "_dmarc", Type: "TXT", TTL: time.Hour, Data: "v=DMARC1; p=none"},
		libdns.RR{Name: "mail", Type: "A", TTL: time.Hour, Data: "192.0.2.25"},
		libdns.RR{Name: "@", Type: "MX", TTL: time.Hour, Data: "10 mx1.example.com."},
		libdns.RR{Name: "@", Type: "MX", TTL: time.Hour, Data: "20 mx2.example.com."},
	}
	add := []libdns.Record{
		libdns.RR{Name: "@", Type: "TXT", TTL: time.Hour, Data: "v=spf1 ip4:192.0.2.25 -all"},
		libdns.RR{Name: "_dmarc", Type: "TXT", TTL: time.Hour, Data: "v=DMARC1; p=reject"},
		libdns.RR{Name: "mail", Type: "A", TTL: 2 * time.Hour, Data: "192.0.2.25"}, // a new TTL
		libdns.RR{Name: "@", Type: "MX", TTL: time.Hour, Data: "0 ."},
		libdns.RR{Name: "_smtp._tls", Type: "TXT", TTL: time.Hour, Data: "v=TLSRPTv1; rua=mailto:tls@example.com"},
	}
	f.ResetCalls()
	if _, err := p.ReplaceRecords(ctx, zone, remove, add); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"GET rrsets", "PATCH rrsets"}, f.CallLog()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	foreignKept(t, f, "replace")
	wantApex := append(append([]string{}, foreign...), "@ 1h0m0s TXT v=spf1 ip4:192.0.2.25 -all")
	sort.Strings(wantApex)
	for _, tt := range []struct {
		name, typ string
		want      []string
	}{
		{"@", "TXT", wantApex},
		{"_dmarc", "TXT", []string{"_dmarc 1h0m0s TXT v=DMARC1; p=reject"}},
		{"mail", "A", []string{"mail 2h0m0s A 192.0.2.25"}},
		{"@", "MX", []string{"@ 1h0m0s MX 0 ."}},
		{"_smtp._tls", "TXT", []string{"_smtp._tls 1h0m0s TXT v=TLSRPTv1; rua=mailto:tls@example.com"}},
		{"www", "A", []string{"www 1h0m0s A 192.0.2.10"}},
	} {
		if diff := cmp.Diff(tt.want, get(t, p, tt.name, tt.typ)); diff != "" {
			t.Errorf("%s %s (-want +got):\n%s", tt.name, tt.typ, diff)
		}
	}
	// The same replacement again: read, nothing to write.
	f.ResetCalls()
	if _, err := p.ReplaceRecords(ctx, zone, remove[:1], add[:1]); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"GET rrset"}, f.CallLog()); diff != "" {
		t.Errorf("a replacement already done (-want +got):\n%s", diff)
	}
	// Never a wildcard.
	f.ResetCalls()
	if _, err := p.ReplaceRecords(ctx, zone, []libdns.Record{libdns.RR{Name: "@", Type: "TXT"}}, nil); err == nil {
		t.Error("an empty value to remove: no error")
	}
	if n := f.Total(); n != 0 {
		t.Errorf("a refused ReplaceRecords made %d requests", n)
	}
}

// A TTL under the domain's minimum is refused by deSEC with 400: the
// replacement changes nothing (not even its valid RRsets) and the error
// says which RRset, which zone and what to do.
func TestTTLBelowMinimumRefusedWhole(t *testing.T) {
	f, p := newFake(t)
	seedForeign(f)
	f.Put(zone, dsfake.RRset{Subname: "_dmarc", Type: "TXT", TTL: 3600, Records: []string{`"v=DMARC1; p=none"`}})
	before := f.RRsets(zone)
	_, err := p.ReplaceRecords(context.Background(), zone,
		[]libdns.Record{libdns.RR{Name: "_dmarc", Type: "TXT", Data: "v=DMARC1; p=none"}},
		[]libdns.Record{
			libdns.RR{Name: "_dmarc", Type: "TXT", TTL: time.Hour, Data: "v=DMARC1; p=reject"},
			libdns.RR{Name: "@", Type: "TXT", TTL: 300 * time.Second, Data: "v=spf1 -all"},
		})
	if err == nil {
		t.Fatal("a TTL of 300 was taken")
	}
	for _, w := range []string{`zone "example.com."`, "@ TXT (TTL 300)", "ttl: Ensure this value is greater than or equal to 3600", "minimum TTL", "HTTP 400"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not say %q: %v", w, err)
		}
	}
	if strings.Contains(err.Error(), token) {
		t.Errorf("error shows the token: %v", err)
	}
	if ok, _ := providers.IsTransient(err); ok {
		t.Errorf("a 400 is transient: %v", err)
	}
	if diff := cmp.Diff(before, f.RRsets(zone), cmp.AllowUnexported(dsfake.RRset{})); diff != "" {
		t.Errorf("a refused bulk write changed the zone (-before +after):\n%s", diff)
	}
}

func wrap(p providers.Provider, counts *providers.Counts, maxTime time.Duration) providers.Provider {
	return providertest.Wrap(p, "ds", Type, counts, maxTime)
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
	if got := f.Total(); got != 2 {
		t.Errorf("requests = %d, want 2", got)
	}
	if got := counts.Get("ds", providers.OpGetRecords, providers.ResultRetry); got != 1 {
		t.Errorf("retries counted = %d, want 1", got)
	}
	if got := counts.Get("ds", providers.OpRequest, providers.ResultSent); got != 2 {
		t.Errorf("requests counted = %d, want 2", got)
	}
	// A throttled write had no effect: it is sent again without a new read
	// of the zone by the wrapper.
	f.ResetCalls()
	f.Fail(1, 429, "1")
	if _, err := w.(providers.Replacer).ReplaceRecords(context.Background(), zone, nil,
		[]libdns.Record{libdns.RR{Name: "@", Type: "TXT", TTL: time.Hour, Data: "v=spf1 -all"}}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"GET rrset", "GET rrset", "PATCH rrsets"}, f.CallLog()); diff != "" {
		t.Errorf("requests of a throttled replacement (-want +got):\n%s", diff)
	}
	foreignKept(t, f, "throttled replace")
	// A long Retry-After (the daily limit) is not waited for past retry_max_time.
	f.Fail(1, 429, "79200")
	start = time.Now()
	_, err = wrap(p, counts, 2*time.Second).GetRecords(context.Background(), zone)
	if err == nil || !strings.Contains(err.Error(), "HTTP 429") || !strings.Contains(err.Error(), "giving up") {
		t.Errorf("err = %v, want giving up on HTTP 429", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("gave up after %s, want at once", el)
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
	_, err := w.SetRecords(context.Background(), zone, []libdns.Record{libdns.RR{Name: "@", Type: "TXT", Data: "v=spf1 -all"}})
	if err == nil || !strings.Contains(err.Error(), "giving up") || !strings.Contains(err.Error(), "HTTP 503") ||
		!strings.Contains(err.Error(), `zone "example.com."`) {
		t.Fatalf("err = %v, want giving up on HTTP 503 naming the zone", err)
	}
	var te *providers.TransientError
	if !errors.As(err, &te) {
		t.Errorf("the final error does not carry the transient cause: %v", err)
	}
}

func TestPagination(t *testing.T) {
	f, p := newFake(t)
	f.PageSize = 3
	for i := range 7 {
		f.Put(zone, dsfake.RRset{Subname: fmt.Sprintf("h%d", i), Type: "A", TTL: 3600, Records: []string{fmt.Sprintf("192.0.2.%d", i+1)}})
	}
	f.ResetCalls()
	recs, err := p.GetRecords(context.Background(), zone)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 7 {
		t.Errorf("%d records, want 7: %v", len(recs), rrs(recs))
	}
	if n := f.Calls("GET rrsets"); n != 3 {
		t.Errorf("%d list requests for 7 RRsets in pages of 3, want 3", n)
	}
	zones, err := p.ListZones(context.Background())
	if err != nil || len(zones) != 1 || zones[0].Name != zone {
		t.Errorf("ListZones = %v, %v", zones, err)
	}
}

func TestCallCounts(t *testing.T) {
	f, p := newFake(t)
	seedForeign(f)
	f.Put(zone, dsfake.RRset{Subname: "", Type: "MX", TTL: 3600, Records: []string{"10 mx1.example.com."}})
	f.Put(zone, dsfake.RRset{Subname: "_dmarc", Type: "TXT", TTL: 3600, Records: []string{`"v=DMARC1; p=none"`}})
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
	measure("GetRecords", []string{"GET rrsets"}, func() error { _, err := p.GetRecords(ctx, zone); return err })
	measure("AppendRecords of 1", []string{"GET rrset", "PATCH rrsets"}, func() error {
		_, err := p.AppendRecords(ctx, zone, []libdns.Record{libdns.RR{Name: "_dmarc2", Type: "TXT", TTL: time.Hour, Data: "v=DMARC1; p=none"}})
		return err
	})
	measure("SetRecords of the MX RRset (1 value replaced)", []string{"GET rrset", "PATCH rrsets"}, func() error {
		_, err := p.SetRecords(ctx, zone, []libdns.Record{libdns.RR{Name: "@", Type: "MX", TTL: time.Hour, Data: "10 mx2.example.com."}})
		return err
	})
	measure("update of SPF and DMARC (one replacement)", []string{"GET rrsets", "PATCH rrsets"}, func() error {
		_, err := p.ReplaceRecords(ctx, zone,
			[]libdns.Record{libdns.RR{Name: "_dmarc", Type: "TXT", Data: "v=DMARC1; p=none"}},
			[]libdns.Record{
				libdns.RR{Name: "_dmarc", Type: "TXT", TTL: time.Hour, Data: "v=DMARC1; p=reject"},
				libdns.RR{Name: "@", Type: "TXT", TTL: time.Hour, Data: "v=spf1 mx -all"},
			})
		return err
	})
	measure("update of SPF, DMARC and MX (one replacement)", []string{"GET rrsets", "PATCH rrsets"}, func() error {
		_, err := p.ReplaceRecords(ctx, zone,
			[]libdns.Record{
				libdns.RR{Name: "_dmarc", Type: "TXT", Data: "v=DMARC1; p=reject"},
				libdns.RR{Name: "@", Type: "MX", Data: "10 mx2.example.com."},
			},
			[]libdns.Record{
				libdns.RR{Name: "_dmarc", Type: "TXT", TTL: time.Hour, Data: "v=DMARC1; p=quarantine"},
				libdns.RR{Name: "@", Type: "MX", TTL: time.Hour, Data: "10 mx3.example.com."},
			})
		return err
	})
	measure("DeleteRecords of 1", []string{"GET rrset", "PATCH rrsets"}, func() error {
		_, err := p.DeleteRecords(ctx, zone, []libdns.Record{libdns.RR{Name: "_dmarc2", Type: "TXT", Data: "v=DMARC1; p=none"}})
		return err
	})
	measure("DeleteRecords of what is not there", []string{"GET rrset"}, func() error {
		_, err := p.DeleteRecords(ctx, zone, []libdns.Record{libdns.RR{Name: "_dmarc2", Type: "TXT", Data: "v=DMARC1; p=none"}})
		return err
	})
	measure("DeleteRecords of every type at a name", []string{"GET rrsets", "PATCH rrsets"}, func() error {
		del, err := p.DeleteRecords(ctx, zone, []libdns.Record{libdns.RR{Name: "www"}})
		if err == nil && len(del) != 1 {
			err = fmt.Errorf("deleted %v", del)
		}
		return err
	})
}

func TestSettings(t *testing.T) {
	tests := []struct {
		name    string
		values  map[string]string
		wantKey string
	}{
		{"ok", map[string]string{"token": "abc"}, ""},
		{"with base_url", map[string]string{"token": "abc", "base_url": "https://desec.example.net/api/v1/"}, ""},
		{"loopback http", map[string]string{"token": "abc", "base_url": "http://127.0.0.1:8080/api/v1"}, ""},
		{"missing", map[string]string{}, "token"},
		{"empty", map[string]string{"token": ""}, "token"},
		{"newline", map[string]string{"token": "s3cr3t-value\n"}, "token"},
		{"clear text to a remote host", map[string]string{"token": "abc", "base_url": "http://desec.io/api/v1"}, "base_url"},
		{"not a URL", map[string]string{"token": "abc", "base_url": "desec.io"}, "base_url"},
		{"unknown", map[string]string{"token": "abc", "api_token": "x"}, "api_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := providers.New(Type, &providers.Settings{Name: "ds", Values: tt.values})
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
	p, err := New(Config{Token: "wrong-s3cr3t", BaseURL: f.URL()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	spf := []libdns.Record{libdns.RR{Name: "@", Type: "TXT", TTL: time.Hour, Data: "v=spf1 -all"}}
	for name, fn := range map[string]func() error{
		"get":     func() error { _, err := p.GetRecords(ctx, zone); return err },
		"append":  func() error { _, err := p.AppendRecords(ctx, zone, spf); return err },
		"replace": func() error { _, err := p.ReplaceRecords(ctx, zone, nil, spf); return err },
		"delete": func() error {
			_, err := p.DeleteRecords(ctx, zone, []libdns.Record{libdns.RR{Name: "@", Type: "TXT"}})
			return err
		},
		"zones": func() error { _, err := p.ListZones(ctx); return err },
	} {
		err := fn()
		if err == nil || !strings.Contains(err.Error(), "HTTP 401") || !strings.Contains(err.Error(), "token") {
			t.Errorf("%s: err = %v, want an authentication error", name, err)
			continue
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%s: error shows the token: %v", name, err)
		}
	}
	if s := fmt.Sprintf("%v %+v %#v %s", p, p, p, p.GoString()); strings.Contains(s, "s3cr3t") {
		t.Errorf("printing the provider shows the token: %s", s)
	}
	// An unknown zone is named.
	_, good := newFake(t)
	_, err = good.GetRecords(ctx, "example.org.")
	if err == nil || !strings.Contains(err.Error(), `zone "example.org." is not a domain of this deSEC account`) {
		t.Errorf("unknown zone: %v", err)
	}
}

func TestRateLimitPerRequest(t *testing.T) {
	f, p := newFake(t)
	counts := &providers.Counts{}
	w := providers.Wrap(p, providers.WrapOptions{Name: "ds", Type: Type, Counts: counts, RateLimit: 20})
	ctx := context.Background()
	start := time.Now()
	for i := range 3 { // a read and a write each
		if _, err := w.AppendRecords(ctx, zone, []libdns.Record{libdns.RR{Name: "r", Type: "A", TTL: time.Hour, Data: fmt.Sprintf("192.0.2.%d", i+1)}}); err != nil {
			t.Fatal(err)
		}
	}
	el := time.Since(start)
	if n := f.Total(); n != 6 {
		t.Errorf("requests = %d, want 6", n)
	}
	if min := 5 * 50 * time.Millisecond; el < min-10*time.Millisecond {
		t.Errorf("6 requests took %s, want at least %s at 20/s", el, min)
	}
	if got := counts.Get("ds", providers.OpRequest, providers.ResultSent); got != 6 {
		t.Errorf("requests counted = %d, want 6", got)
	}
}

// landThenFail sends the first PATCH, then answers 502 as if its answer
// was lost on the way back.
type landThenFail struct {
	base http.RoundTripper
	done bool
}

func (l *landThenFail) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.base.RoundTrip(req)
	if err != nil || req.Method != http.MethodPatch || l.done {
		return resp, err
	}
	l.done = true
	resp.Body.Close()
	return &http.Response{StatusCode: 502, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("bad gateway")), Request: req}, nil
}

// A replacement whose write landed but whose answer was lost is retried by
// the wrapper: the zone is read again, nothing is left to send.
func TestReplaceAfterLostAnswer(t *testing.T) {
	f, _ := newFake(t)
	seedForeign(f)
	f.Put(zone, dsfake.RRset{Subname: "", Type: "TXT", TTL: 3600, Records: append(append([]string{}, foreignRaw...), `"v=spf1 mx -all"`)})
	p, err := New(Config{Token: token, BaseURL: f.URL(), HTTPClient: &http.Client{Transport: &landThenFail{base: http.DefaultTransport}}})
	if err != nil {
		t.Fatal(err)
	}
	w := wrap(p, &providers.Counts{}, time.Minute)
	f.ResetCalls()
	_, err = w.(providers.Replacer).ReplaceRecords(context.Background(), zone,
		[]libdns.Record{libdns.RR{Name: "@", Type: "TXT", TTL: time.Hour, Data: "v=spf1 mx -all"}},
		[]libdns.Record{libdns.RR{Name: "@", Type: "TXT", TTL: time.Hour, Data: "v=spf1 a mx -all"}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"GET rrset", "PATCH rrsets", "GET rrsets"}, f.CallLog()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	want := append(append([]string{}, foreign...), "@ 1h0m0s TXT v=spf1 a mx -all")
	sort.Strings(want)
	if got := get(t, p, "@", "TXT"); !cmp.Equal(got, want) {
		t.Errorf("(-want +got):\n%s", cmp.Diff(want, got))
	}
	foreignKept(t, f, "replace after a lost answer")
}

// Concurrent writes to different RRsets of one zone through one provider.
func TestConcurrentUse(t *testing.T) {
	f, p := newFake(t)
	w := wrap(p, &providers.Counts{}, time.Minute)
	ctx := context.Background()
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			name := fmt.Sprintf("c%d", i)
			_, err := w.SetRecords(ctx, zone, []libdns.Record{libdns.RR{Name: name, Type: "TXT", TTL: time.Hour, Data: "v"}})
			if err == nil {
				_, err = w.GetRecords(ctx, zone)
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := len(f.RRsets(zone)); n != 8 {
		t.Errorf("zone holds %d RRsets, want 8", n)
	}
}
