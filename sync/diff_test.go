package sync

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
)

const tHour = time.Hour

func tRR(name, typ string, ttl time.Duration, data string) libdns.RR {
	return libdns.RR{Name: name, Type: typ, TTL: ttl, Data: data}
}

func tSet(name, typ string, ttl time.Duration, values ...string) policy.RRset {
	return policy.RRset{Provider: "local", Zone: "example.com", Name: name, Type: typ, TTL: ttl, Values: values}
}

func tSPF(ttl time.Duration, values ...string) policy.RRset {
	s := tSet("@", "TXT", ttl, values...)
	s.Own = policy.OwnPrefix
	s.Element = policy.ElemSPF
	return s
}

func TestDiff(t *testing.T) {
	// A 2048-bit RSA key: the TXT value is longer than 255 bytes.
	dkim := "v=DKIM1; k=rsa; p=" + strings.Repeat("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", 9) + "IDAQAB"
	if len(dkim) <= 255 {
		t.Fatalf("test DKIM value is only %d bytes", len(dkim))
	}
	absent := func(s policy.RRset) policy.RRset { s.Absent = true; s.Values = nil; return s }
	foreignTXT := []libdns.RR{
		tRR("@", "TXT", tHour, "google-site-verification=abc"),
		tRR("@", "TXT", tHour, "MS=ms123"),
		tRR("@", "TXT", 300, "some other text"),
	}
	tests := []struct {
		name    string
		desired []policy.RRset
		live    []libdns.RR
		want    []Change
	}{
		{
			name:    "in sync",
			desired: []policy.RRset{tSet("mail", "A", tHour, "203.0.113.25")},
			live:    []libdns.RR{tRR("mail", "A", tHour, "203.0.113.25"), tRR("www", "A", 60, "192.0.2.1")},
		},
		{
			name:    "create",
			desired: []policy.RRset{tSet("mail", "AAAA", tHour, "2001:db8::25")},
			live:    []libdns.RR{tRR("mail", "A", tHour, "203.0.113.25")},
			want:    []Change{{Action: ActionCreate, Name: "mail", Type: "AAAA", TTL: 3600, After: []string{"2001:db8::25"}}},
		},
		{
			name:    "update values",
			desired: []policy.RRset{tSet("@", "MX", tHour, "10 mail.example.com.", "20 backup.example.com.")},
			live:    []libdns.RR{tRR("@", "MX", tHour, "10 mx.isp.example.")},
			want: []Change{{Action: ActionUpdate, Name: "@", Type: "MX", TTL: 3600,
				Before: []string{"10 mx.isp.example."}, After: []string{"10 mail.example.com.", "20 backup.example.com."}}},
		},
		{
			name:    "TTL only",
			desired: []policy.RRset{tSet("_dmarc", "TXT", tHour, "v=DMARC1; p=reject")},
			live:    []libdns.RR{tRR("_dmarc", "TXT", 300*time.Second, "v=DMARC1; p=reject")},
			want: []Change{{Action: ActionUpdate, Name: "_dmarc", Type: "TXT", TTL: 3600, BeforeTTL: 300,
				Before: []string{"v=DMARC1; p=reject"}, After: []string{"v=DMARC1; p=reject"}}},
		},
		{
			name:    "delete with absent",
			desired: []policy.RRset{absent(tSet("old._domainkey", "TXT", tHour))},
			live:    []libdns.RR{tRR("old._domainkey", "TXT", 300*time.Second, "v=DKIM1; p=")},
			want:    []Change{{Action: ActionDelete, Name: "old._domainkey", Type: "TXT", TTL: 300, Before: []string{"v=DKIM1; p="}}},
		},
		{
			name:    "absent and already gone",
			desired: []policy.RRset{absent(tSet("old._domainkey", "TXT", tHour))},
			live:    []libdns.RR{tRR("new._domainkey", "TXT", tHour, "v=DKIM1; p=")},
		},
		{
			name:    "apex SPF among three foreign TXT: only SPF changes",
			desired: []policy.RRset{tSPF(tHour, "v=spf1 ip4:203.0.113.25 -all")},
			live:    append(append([]libdns.RR{}, foreignTXT...), tRR("@", "TXT", tHour, "v=spf1 mx ~all")),
			want: []Change{{Action: ActionUpdate, Name: "@", Type: "TXT", TTL: 3600,
				Before: []string{"v=spf1 mx ~all"}, After: []string{"v=spf1 ip4:203.0.113.25 -all"}}},
		},
		{
			name:    "apex SPF missing among foreign TXT: create",
			desired: []policy.RRset{tSPF(tHour, "v=spf1 -all")},
			live:    foreignTXT,
			want:    []Change{{Action: ActionCreate, Name: "@", Type: "TXT", TTL: 3600, After: []string{"v=spf1 -all"}}},
		},
		{
			name:    "apex SPF in sync: foreign TTLs do not matter",
			desired: []policy.RRset{tSPF(tHour, "v=spf1 -all")},
			live:    append(append([]libdns.RR{}, foreignTXT...), tRR("@", "TXT", tHour, "v=spf1 -all")),
		},
		{
			name:    "apex SPF takes the TTL the foreign values share",
			desired: []policy.RRset{tSPF(tHour, "v=spf1 -all")},
			live:    []libdns.RR{tRR("@", "TXT", 300*time.Second, "MS=ms123"), tRR("@", "TXT", 300*time.Second, "v=spf1 -all")},
		},
		{
			name:    "apex SPF created with the TTL the foreign values share",
			desired: []policy.RRset{tSPF(tHour, "v=spf1 -all")},
			live:    []libdns.RR{tRR("@", "TXT", 300*time.Second, "MS=ms123"), tRR("@", "TXT", 300*time.Second, "other")},
			want:    []Change{{Action: ActionCreate, Name: "@", Type: "TXT", TTL: 300, After: []string{"v=spf1 -all"}}},
		},
		{
			name:    "apex SPF alone: its TTL is the policy's",
			desired: []policy.RRset{tSPF(tHour, "v=spf1 -all")},
			live:    []libdns.RR{tRR("@", "TXT", 300*time.Second, "v=spf1 -all")},
			want: []Change{{Action: ActionUpdate, Name: "@", Type: "TXT", TTL: 3600, BeforeTTL: 300,
				Before: []string{"v=spf1 -all"}, After: []string{"v=spf1 -all"}}},
		},
		{
			name:    "apex SPF absent deletes only SPF",
			desired: []policy.RRset{absent(tSPF(tHour))},
			live:    append(append([]libdns.RR{}, foreignTXT...), tRR("@", "TXT", tHour, "v=spf1 mx ~all")),
			want:    []Change{{Action: ActionDelete, Name: "@", Type: "TXT", TTL: 3600, Before: []string{"v=spf1 mx ~all"}}},
		},
		{
			name:    "two SPF values become one",
			desired: []policy.RRset{tSPF(tHour, "v=spf1 -all")},
			live:    []libdns.RR{tRR("@", "TXT", tHour, "v=spf1 -all"), tRR("@", "TXT", tHour, "V=SPF1 mx -all")},
			want: []Change{{Action: ActionUpdate, Name: "@", Type: "TXT", TTL: 3600,
				Before: []string{"V=SPF1 mx -all", "v=spf1 -all"}, After: []string{"v=spf1 -all"}}},
		},
		{
			name:    "2048-bit DKIM longer than 255 bytes",
			desired: []policy.RRset{tSet("s2026._domainkey", "TXT", tHour, dkim)},
			live:    []libdns.RR{tRR("s2026._domainkey", "TXT", tHour, dkim)},
		},
		{
			name:    "2048-bit DKIM create",
			desired: []policy.RRset{tSet("s2026._domainkey", "TXT", tHour, dkim)},
			want:    []Change{{Action: ActionCreate, Name: "s2026._domainkey", Type: "TXT", TTL: 3600, After: []string{dkim}}},
		},
		{
			// TXT is not: a policy's TXT is the text itself (see
			// TestDiffTXTBackslashIsText).
			name: "desired values are canonicalised",
			desired: []policy.RRset{
				tSet("@", "MX", tHour, "10 Mail.Example.COM."),
				tSet("mail", "AAAA", tHour, "2001:DB8:0::25"),
			},
			live: []libdns.RR{
				tRR("@", "MX", tHour, "10 mail.example.com."),
				tRR("mail", "AAAA", tHour, "2001:db8::25"),
			},
		},
		{
			name: "sorted by name and type",
			desired: []policy.RRset{
				tSet("mail", "AAAA", tHour, "2001:db8::25"),
				tSet("mail", "A", tHour, "203.0.113.25"),
				tSet("@", "MX", tHour, "10 mail.example.com."),
				tSet("_dmarc", "TXT", tHour, "v=DMARC1; p=reject"),
			},
			want: []Change{
				{Action: ActionCreate, Name: "@", Type: "MX", TTL: 3600, After: []string{"10 mail.example.com."}},
				{Action: ActionCreate, Name: "_dmarc", Type: "TXT", TTL: 3600, After: []string{"v=DMARC1; p=reject"}},
				{Action: ActionCreate, Name: "mail", Type: "A", TTL: 3600, After: []string{"203.0.113.25"}},
				{Action: ActionCreate, Name: "mail", Type: "AAAA", TTL: 3600, After: []string{"2001:db8::25"}},
			},
		},
		{
			name:    "other types at an owned name are foreign",
			desired: []policy.RRset{tSet("mail", "A", tHour, "203.0.113.25")},
			live:    []libdns.RR{tRR("mail", "A", tHour, "203.0.113.25"), tRR("mail", "TXT", tHour, "hello"), tRR("mail", "CAA", tHour, `0 issue "ca.example"`)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Diff(tc.desired, tc.live)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Diff (-want +got):\n%s", diff)
			}
		})
	}
}

// TestOpsNeverTouchForeign checks the writes of an apex SPF change: the
// foreign TXT values at the apex are neither deleted nor re-added.
func TestOpsNeverTouchForeign(t *testing.T) {
	live := []libdns.RR{
		tRR("@", "TXT", tHour, "google-site-verification=abc"),
		tRR("@", "TXT", tHour, "MS=ms123"),
		tRR("@", "TXT", 300*time.Second, "some other text"),
		tRR("@", "TXT", 300*time.Second, "v=spf1 mx ~all"),
	}
	tests := []struct {
		name string
		want policy.RRset
		ops  writeOps
	}{
		{
			name: "value change",
			want: tSPF(300*time.Second, "v=spf1 -all"),
			ops: writeOps{
				Append: []libdns.RR{tRR("@", "TXT", 300*time.Second, "v=spf1 -all")},
				Delete: []libdns.RR{tRR("@", "TXT", 300*time.Second, "v=spf1 mx ~all")},
			},
		},
		{
			name: "value and TTL change",
			want: tSPF(tHour, "v=spf1 -all"),
			ops: writeOps{
				Append: []libdns.RR{tRR("@", "TXT", tHour, "v=spf1 -all")},
				Delete: []libdns.RR{tRR("@", "TXT", 300*time.Second, "v=spf1 mx ~all")},
			},
		},
		{
			name: "TTL change only",
			want: tSPF(tHour, "v=spf1 mx ~all"),
			ops: writeOps{
				Replace:     []libdns.RR{tRR("@", "TXT", 300*time.Second, "v=spf1 mx ~all")},
				ReplaceWith: []libdns.RR{tRR("@", "TXT", tHour, "v=spf1 mx ~all")},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds := diffRRsets([]policy.RRset{tc.want}, live)
			if len(ds) != 1 || ds[0].Change == nil {
				t.Fatalf("want one change, have %+v", ds)
			}
			if len(ds[0].Foreign) != 3 {
				t.Errorf("foreign values = %d, want 3", len(ds[0].Foreign))
			}
			got := opsFor(&ds[0])
			if diff := cmp.Diff(tc.ops, got); diff != "" {
				t.Errorf("ops (-want +got):\n%s", diff)
			}
			for _, r := range append(append(append(got.Append, got.Delete...), got.Replace...), got.ReplaceWith...) {
				if !strings.HasPrefix(r.Data, "v=spf1") {
					t.Errorf("write touches foreign value %q", r.Data)
				}
			}
		})
	}
}

// A policy TXT value with a backslash or quotes is compared as the text it
// is: in sync with the same text live, never rewritten.
func TestDiffTXTBackslashIsText(t *testing.T) {
	const text = `v=DKIM1; n=C:\keys "quoted"; p=`
	want := []policy.RRset{{Zone: "example.com", Name: "s1._domainkey", Type: "TXT", TTL: time.Hour, Values: []string{text}, Own: policy.OwnAll}}
	live := []libdns.RR{{Name: "s1._domainkey", Type: "TXT", TTL: time.Hour, Data: text}}
	if got := Diff(want, live); len(got) != 0 {
		t.Errorf("changes %+v for a TXT value that is in sync", got)
	}
}
