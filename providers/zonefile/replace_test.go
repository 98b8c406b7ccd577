package zonefile

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
)

// ReplaceRecords swaps values in one rewrite of the file (one serial step:
// a reader of the file sees the old values or the new ones, never both),
// and leaves the other values of the RRsets it touches as they were.
func TestReplaceRecords(t *testing.T) {
	p := newTestProvider(t, "example.com.zone")
	ctx := context.Background()
	before := getRRs(t, p, "example.com.")
	remove := []libdns.Record{
		libdns.RR{Name: "@", Type: "TXT", TTL: h(3600), Data: "v=spf1 mx -all"},
		libdns.RR{Name: "_dmarc", Type: "TXT", TTL: h(3600), Data: "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"},
		libdns.RR{Name: "@", Type: "MX", TTL: h(300), Data: "10 mail.example.com."}, // a new TTL
		libdns.RR{Name: "gone", Type: "A", TTL: h(300), Data: "192.0.2.99"},         // not there: ignored
	}
	add := []libdns.Record{
		libdns.RR{Name: "@", Type: "TXT", TTL: h(3600), Data: "v=spf1 ip4:192.0.2.10 -all"},
		libdns.RR{Name: "_dmarc", Type: "TXT", TTL: h(3600), Data: "v=DMARC1; p=quarantine"},
		libdns.RR{Name: "@", Type: "MX", TTL: h(600), Data: "10 mail.example.com."},
		libdns.RR{Name: "@", Type: "TXT", TTL: h(3600), Data: "google-site-verification=abc123"}, // there already
	}
	got, err := p.ReplaceRecords(ctx, "example.com.", remove, add)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(add) {
		t.Errorf("returned %d records, want %d", len(got), len(add))
	}
	if s := soaSerial(t, p, "example.com."); s != 2026112600 {
		t.Errorf("serial %d, want 2026112600 (one rewrite)", s)
	}
	after := getRRs(t, p, "example.com.")
	var gone, added []libdns.RR
	for _, r := range before {
		if !slices.Contains(after, r) {
			gone = append(gone, r)
		}
	}
	for _, r := range after {
		if !slices.Contains(before, r) {
			added = append(added, r)
		}
	}
	wantGone := []libdns.RR{
		{Name: "@", Type: "MX", TTL: h(300), Data: "10 mail.example.com."},
		{Name: "@", Type: "TXT", TTL: h(3600), Data: "v=spf1 mx -all"},
		{Name: "_dmarc", Type: "TXT", TTL: h(3600), Data: "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"},
	}
	wantAdded := []libdns.RR{
		{Name: "@", Type: "MX", TTL: h(600), Data: "10 mail.example.com."},
		{Name: "@", Type: "TXT", TTL: h(3600), Data: "v=spf1 ip4:192.0.2.10 -all"},
		{Name: "_dmarc", Type: "TXT", TTL: h(3600), Data: "v=DMARC1; p=quarantine"},
	}
	if diff := cmp.Diff(wantGone, gone); diff != "" {
		t.Errorf("records removed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantAdded, added); diff != "" {
		t.Errorf("records added (-want +got):\n%s", diff)
	}
	// The foreign values at the touched RRsets, with their TTLs.
	for _, want := range []libdns.RR{
		{Name: "@", Type: "TXT", TTL: h(3600), Data: "google-site-verification=abc123"},
		{Name: "@", Type: "MX", TTL: h(300), Data: "20 mx2.example.net."},
	} {
		if !slices.Contains(after, want) {
			t.Errorf("foreign %v lost", want)
		}
	}

	// Nothing to change: no rewrite.
	if _, err := p.ReplaceRecords(ctx, "example.com.", remove[3:], add[3:]); err != nil {
		t.Fatal(err)
	}
	if s := soaSerial(t, p, "example.com."); s != 2026112600 {
		t.Errorf("serial %d after a replacement that changes nothing, want 2026112600", s)
	}
}

func TestReplaceRecordsRefusesWildcards(t *testing.T) {
	p := newTestProvider(t, "example.com.zone")
	ctx := context.Background()
	before := getRRs(t, p, "example.com.")
	for _, rm := range []libdns.RR{
		{Name: "@", Type: "TXT"},
		{Name: "@", Data: "v=spf1 mx -all"},
	} {
		_, err := p.ReplaceRecords(ctx, "example.com.", []libdns.Record{rm},
			[]libdns.Record{libdns.RR{Name: "@", Type: "TXT", TTL: h(3600), Data: "v=spf1 -all"}})
		if err == nil || !strings.Contains(err.Error(), "exact records only") {
			t.Errorf("remove %v: err %v, want a refusal", rm, err)
		}
	}
	if diff := cmp.Diff(before, getRRs(t, p, "example.com.")); diff != "" {
		t.Errorf("zone changed (-before +after):\n%s", diff)
	}
	if s := soaSerial(t, p, "example.com."); s != 2026010101 {
		t.Errorf("serial %d, want 2026010101 (no rewrite)", s)
	}
}
