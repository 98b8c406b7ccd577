package route53

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"

	r53fake "github.com/maildns/maildns/internal/fakes/route53"
	"github.com/maildns/maildns/providers"
)

var _ providers.Replacer = (*Provider)(nil)

// ReplaceRecords reads each RRset it touches and sends one batch for all of
// them (Route 53 applies it whole or not at all); the foreign values of a
// touched RRset are sent back byte for byte.
func TestReplaceRecords(t *testing.T) {
	f, p := newFake(t)
	f.Put(zone, r53fake.RRset{Name: zone, Type: "TXT", TTL: 300, Values: append([]string{`"v=spf1 mx -all"`}, foreignValues...)})
	f.Put(zone, r53fake.RRset{Name: "www." + zone, Type: "A", TTL: 300, Values: []string{"192.0.2.10"}})
	f.Put(zone, r53fake.RRset{Name: "_dmarc." + zone, Type: "TXT", TTL: 3600, Values: []string{`"v=DMARC1; p=none"`}})
	f.Put(zone, r53fake.RRset{Name: "mail." + zone, Type: "A", TTL: 300, Values: []string{"192.0.2.25"}})
	ctx := context.Background()
	if _, err := p.GetRecords(ctx, zone); err != nil { // the zone lookup, out of the count
		t.Fatal(err)
	}
	f.ResetCalls()
	remove := []libdns.Record{
		libdns.RR{Name: "@", Type: "TXT", TTL: 300 * time.Second, Data: "v=spf1 mx -all"},
		libdns.RR{Name: "_dmarc", Type: "TXT", TTL: time.Hour, Data: "v=DMARC1; p=none"},
		libdns.RR{Name: "mail", Type: "A", TTL: 300 * time.Second, Data: "192.0.2.25"}, // a new TTL
	}
	add := []libdns.Record{
		libdns.RR{Name: "@", Type: "TXT", TTL: 300 * time.Second, Data: "v=spf1 ip4:192.0.2.25 -all"},
		libdns.RR{Name: "_dmarc", Type: "TXT", TTL: time.Hour, Data: "v=DMARC1; p=reject"},
		libdns.RR{Name: "mail", Type: "A", TTL: time.Hour, Data: "192.0.2.25"},
		libdns.RR{Name: "@", Type: "MX", TTL: time.Hour, Data: "10 mail.example.com."}, // a new RRset
	}
	if _, err := p.ReplaceRecords(ctx, zone, remove, add); err != nil {
		t.Fatal(err)
	}
	want := []string{"ListResourceRecordSets", "ListResourceRecordSets", "ListResourceRecordSets", "ListResourceRecordSets", "ChangeResourceRecordSets"}
	if diff := cmp.Diff(want, f.CallLog()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	wantApex := append([]string{"@ 5m0s TXT v=spf1 ip4:192.0.2.25 -all"}, foreign...)
	sort.Strings(wantApex)
	if diff := cmp.Diff(wantApex, get(t, p, "@", "TXT")); diff != "" {
		t.Errorf("apex TXT (-want +got):\n%s", diff)
	}
	for _, tt := range []struct {
		name, typ string
		want      []string
	}{
		{"_dmarc", "TXT", []string{"_dmarc 1h0m0s TXT v=DMARC1; p=reject"}},
		{"mail", "A", []string{"mail 1h0m0s A 192.0.2.25"}},
		{"@", "MX", []string{"@ 1h0m0s MX 10 mail.example.com."}},
		{"www", "A", []string{"www 5m0s A 192.0.2.10"}},
	} {
		if diff := cmp.Diff(tt.want, get(t, p, tt.name, tt.typ)); diff != "" {
			t.Errorf("%s %s (-want +got):\n%s", tt.name, tt.typ, diff)
		}
	}
	// The foreign values are stored exactly as they were, in their order.
	for _, s := range f.RRsets(zone) {
		if s.Name == zone && s.Type == "TXT" && !cmp.Equal(s.Values[:3], foreignValues) {
			t.Errorf("foreign values rewritten: %q", s.Values)
		}
	}

	// A batch Route 53 refuses changes nothing.
	f.ResetCalls()
	_, err := p.ReplaceRecords(ctx, zone,
		[]libdns.Record{libdns.RR{Name: "@", Type: "TXT", TTL: 300 * time.Second, Data: "v=spf1 ip4:192.0.2.25 -all"}},
		[]libdns.Record{
			libdns.RR{Name: "@", Type: "TXT", TTL: 300 * time.Second, Data: "v=spf1 -all"},
			libdns.RR{Name: "www.example.org.", Type: "A", TTL: time.Hour, Data: "192.0.2.99"},
		})
	if err == nil || !strings.Contains(err.Error(), "not permitted") {
		t.Fatalf("a batch with an out-of-zone name: err = %v", err)
	}
	if diff := cmp.Diff(wantApex, get(t, p, "@", "TXT")); diff != "" {
		t.Errorf("apex TXT after the refused batch (-want +got):\n%s", diff)
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
