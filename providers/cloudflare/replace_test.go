package cloudflare

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"

	cffake "github.com/maildns/maildns/internal/fakes/cloudflare"
	"github.com/maildns/maildns/providers"
)

var _ providers.Replacer = (*Provider)(nil)

// ReplaceRecords changes a value into another in place (the record keeps
// its ID: no moment with both values or neither), creates the added values
// left over and deletes the removed ones left over; foreign values are
// never touched.
func TestReplaceRecords(t *testing.T) {
	f, p := newFake(t)
	seedForeign(f)
	u16 := func(n uint16) *uint16 { return &n }
	ids := map[string]string{
		"spf":   f.Put(zone, cffake.Record{Name: "@", Type: "TXT", Content: `"v=spf1 mx -all"`, TTL: 300}),
		"dmarc": f.Put(zone, cffake.Record{Name: "_dmarc", Type: "TXT", Content: `"v=DMARC1; p=none"`, TTL: 3600}),
		"mail":  f.Put(zone, cffake.Record{Name: "mail", Type: "A", Content: "192.0.2.25", TTL: 300}),
		"mx1":   f.Put(zone, cffake.Record{Name: "@", Type: "MX", Content: "mx1.example.com", Priority: u16(10), TTL: 3600}),
		"mx2":   f.Put(zone, cffake.Record{Name: "@", Type: "MX", Content: "mx2.example.com", Priority: u16(20), TTL: 3600}),
	}
	before := f.Records(zone)
	ctx := context.Background()
	if _, err := p.zoneID(ctx, zone); err != nil {
		t.Fatal(err)
	}
	f.ResetCalls()
	remove := []libdns.Record{
		libdns.RR{Name: "@", Type: "TXT", TTL: 300 * time.Second, Data: "v=spf1 mx -all"},
		libdns.RR{Name: "_dmarc", Type: "TXT", TTL: time.Hour, Data: "v=DMARC1; p=none"},
		libdns.RR{Name: "mail", Type: "A", TTL: 300 * time.Second, Data: "192.0.2.25"},
		libdns.RR{Name: "@", Type: "MX", TTL: time.Hour, Data: "10 mx1.example.com."},
		libdns.RR{Name: "@", Type: "MX", TTL: time.Hour, Data: "20 mx2.example.com."},
	}
	add := []libdns.Record{
		libdns.RR{Name: "@", Type: "TXT", TTL: 300 * time.Second, Data: "v=spf1 ip4:192.0.2.25 -all"},
		libdns.RR{Name: "_dmarc", Type: "TXT", TTL: time.Hour, Data: "v=DMARC1; p=reject"},
		libdns.RR{Name: "mail", Type: "A", TTL: time.Hour, Data: "192.0.2.25"}, // a new TTL
		libdns.RR{Name: "@", Type: "MX", TTL: time.Hour, Data: "0 ."},
		libdns.RR{Name: "_smtp._tls", Type: "TXT", TTL: time.Hour, Data: "v=TLSRPTv1; rua=mailto:tls@example.com"},
	}
	if _, err := p.ReplaceRecords(ctx, zone, remove, add); err != nil {
		t.Fatal(err)
	}
	wantCalls := []string{
		"GET dns_records", "PATCH dns_records", // SPF
		"GET dns_records", "PATCH dns_records", // DMARC
		"GET dns_records", "PATCH dns_records", // mail A TTL
		"GET dns_records", "PATCH dns_records", "DELETE dns_records", // two MX to one
		"GET dns_records", "GET zones", "POST dns_records", // a new RRset (the library looks the zone up itself)
	}
	if diff := cmp.Diff(wantCalls, f.CallLog()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	byID := map[string]cffake.Record{}
	for _, r := range f.Records(zone) {
		byID[r.ID] = r
	}
	for key, want := range map[string]string{
		"spf":   `"v=spf1 ip4:192.0.2.25 -all"`,
		"dmarc": `"v=DMARC1; p=reject"`,
		"mail":  "192.0.2.25",
		"mx1":   ".",
	} {
		if r, ok := byID[ids[key]]; !ok || r.Content != want {
			t.Errorf("%s: record %s now %+v, want it changed in place to %q", key, ids[key], r, want)
		}
	}
	if _, ok := byID[ids["mx2"]]; ok {
		t.Errorf("the second MX is still there")
	}
	// The foreign records, untouched (IDs, content, TTLs).
	checked := 0
	for _, r := range before {
		if r.Type == "TXT" && r.Name == "example.com" && r.ID != ids["spf"] || r.Name == "www.example.com" {
			checked++
			got, ok := byID[r.ID]
			if !ok || got.Content != r.Content || got.TTL != r.TTL || !got.Modified.Equal(r.Modified) {
				t.Errorf("foreign record %+v now %+v", r, got)
			}
		}
	}
	if checked != 4 {
		t.Errorf("%d foreign records checked, want 4", checked)
	}
	wantApex := []string{
		"@ 5m0s TXT MS=ms12345678", "@ 5m0s TXT apple-domain-verification=xyz",
		"@ 5m0s TXT google-site-verification=abc123", "@ 5m0s TXT v=spf1 ip4:192.0.2.25 -all",
	}
	sort.Strings(wantApex)
	for _, tt := range []struct {
		name, typ string
		want      []string
	}{
		{"@", "TXT", wantApex},
		{"_dmarc", "TXT", []string{"_dmarc 1h0m0s TXT v=DMARC1; p=reject"}},
		{"mail", "A", []string{"mail 1h0m0s A 192.0.2.25"}},
		{"@", "MX", []string{"@ 1h0m0s MX 0 ."}},
		{"_smtp._tls", "TXT", []string{"_smtp._tls 1h0m0s TXT v=TLSRPTv1; rua=mailto:tls@example.com"}},
	} {
		if diff := cmp.Diff(tt.want, get(t, p, tt.name, tt.typ)); diff != "" {
			t.Errorf("%s %s (-want +got):\n%s", tt.name, tt.typ, diff)
		}
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
