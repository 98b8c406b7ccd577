package zonefile

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"

	"github.com/maildns/maildns/providers"
)

// realWorldZone holds mail records as control panels and hand edits leave
// them: SPF and DMARC split at odd places, a DKIM key in 250-byte strings
// with an old key, MX and PTR targets in mixed case, different TTLs in one
// RRset, and foreign records of many types.
var realWorldZone = `$ORIGIN example.org.
$TTL 3600
@ IN SOA ns1.example.net. hostmaster.example.org. 2026010101 3600 900 1209600 300
@ IN NS ns1.example.net.
@ IN NS ns2.example.net.
@ 300 IN MX 10 OldMX.Example.ORG.
@ 600 IN MX 20 Backup.Example.NET.
@ IN TXT "v=spf1 a " "~all"
@ IN TXT "google-site-verification=abc"
@ IN TXT "` + strings.Repeat("x", 255) + `" "` + strings.Repeat("y", 45) + `"
@ IN CAA 0 issue "letsencrypt.org"
OldMX IN A 192.0.2.10
Mail IN A 192.0.2.25
www IN A 192.0.2.80
_sip._tcp IN SRV 10 20 5060 sip.example.net.
_dmarc IN TXT "v=DMARC1; " "p=quarantine"
sel._domainkey IN TXT ( "v=DKIM1; k=rsa; p=` + strings.Repeat("O", 232) + `"
                        "` + strings.Repeat("L", 250) + `" )
25 IN PTR Wrong.ISP.Example.NET.
26 IN PTR foreign.example.net.
`

func TestReplaceRecordsIfRealWorld(t *testing.T) {
	p, path := zoneProvider(t, "example.org.", realWorldZone)
	ctx := context.Background()
	if !providers.CanReplaceIf(p) {
		t.Fatal("the zonefile backend does not implement ReplaceRecordsIf")
	}
	before, err := p.GetRecords(ctx, "example.org.")
	if err != nil {
		t.Fatal(err)
	}
	oldDKIM := "v=DKIM1; k=rsa; p=" + strings.Repeat("O", 232) + strings.Repeat("L", 250)
	newDKIM := "v=DKIM1; k=rsa; p=" + strings.Repeat("N", 392)
	long := strings.Repeat("x", 255) + strings.Repeat("y", 45)
	expect := []providers.RRsetState{
		{Name: "@", Type: "TXT", Values: []string{"v=spf1 a ~all", "google-site-verification=abc", long}},
		{Name: "@", Type: "MX", Values: []string{"10 oldmx.example.org.", "20 backup.example.net."}},
		{Name: "_dmarc", Type: "TXT", Values: []string{"v=DMARC1; p=quarantine"}},
		{Name: "sel._domainkey", Type: "TXT", Values: []string{oldDKIM}},
		{Name: "25", Type: "PTR", Values: []string{"wrong.isp.example.net."}},
		{Name: "mail", Type: "AAAA"},
	}
	remove := []libdns.Record{
		libdns.TXT{Name: "@", Text: "v=spf1 a ~all"},
		libdns.MX{Name: "@", Preference: 10, Target: "oldmx.example.org."},
		libdns.MX{Name: "@", Preference: 20, Target: "backup.example.net."},
		libdns.TXT{Name: "_dmarc", Text: "v=DMARC1; p=quarantine"},
		libdns.TXT{Name: "sel._domainkey", Text: oldDKIM},
		libdns.RR{Name: "25", Type: "PTR", Data: "wrong.isp.example.net."},
	}
	add := []libdns.Record{
		libdns.TXT{Name: "@", TTL: time.Hour, Text: "v=spf1 mx -all"},
		libdns.MX{Name: "@", TTL: time.Hour, Preference: 10, Target: "mail.example.org."},
		libdns.TXT{Name: "_dmarc", TTL: time.Hour, Text: "v=DMARC1; p=reject"},
		libdns.TXT{Name: "sel._domainkey", TTL: time.Hour, Text: newDKIM},
		libdns.RR{Name: "25", Type: "PTR", TTL: time.Hour, Data: "mail.example.org."},
		libdns.Address{Name: "mail", TTL: time.Hour, IP: mustAddr("2001:db8::25")},
	}
	if _, err := p.ReplaceRecordsIf(ctx, "example.org.", expect, remove, add); err != nil {
		t.Fatal(err)
	}
	after, err := p.GetRecords(ctx, "example.org.")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(afterReplace(t, "example.org.", before, remove, add), canon(t, "example.org.", after)); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	// Exactly one value of each RRset maildns replaced, every foreign one kept.
	count := map[string]int{}
	for _, r := range canon(t, "example.org.", after) {
		count[r.Name+" "+r.Type]++
		if r.Type == "TXT" && strings.HasPrefix(r.Data, "v=spf1") {
			count["spf"]++
		}
	}
	for k, n := range map[string]int{"spf": 1, "@ MX": 1, "_dmarc TXT": 1, "sel._domainkey TXT": 1, "25 PTR": 1, "26 PTR": 1, "@ TXT": 3, "@ CAA": 1} {
		if count[k] != n {
			t.Errorf("%s: %d records, want %d", k, count[k], n)
		}
	}
	checkZone(t, "example.org", path)
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// TestReplaceRecordsIfChanged: a write planned from a read that another
// writer made stale writes nothing; the other write survives; no zone holds
// two SPF records; planning again from a fresh read succeeds.
func TestReplaceRecordsIfChanged(t *testing.T) {
	p, path := zoneProvider(t, "example.org.", realWorldZone)
	ctx := context.Background()
	long := strings.Repeat("x", 255) + strings.Repeat("y", 45)
	stale := []providers.RRsetState{{Name: "@", Type: "TXT", Values: []string{"v=spf1 a ~all", "google-site-verification=abc", long}}}
	remove := []libdns.Record{libdns.TXT{Name: "@", Text: "v=spf1 a ~all"}}
	add := []libdns.Record{libdns.TXT{Name: "@", TTL: time.Hour, Text: "v=spf1 mx -all"}}

	// Another writer changes the SPF after our read.
	if _, err := p.ReplaceRecords(ctx, "example.org.", remove, []libdns.Record{libdns.TXT{Name: "@", TTL: time.Hour, Text: "v=spf1 ip4:192.0.2.0/24 -all"}}); err != nil {
		t.Fatal(err)
	}
	between := readText(t, path)
	_, err := p.ReplaceRecordsIf(ctx, "example.org.", stale, remove, add)
	var ce *providers.ChangedError
	if !errors.Is(err, providers.ErrChanged) || !errors.As(err, &ce) {
		t.Fatalf("write from a stale read: %v, want a ChangedError", err)
	}
	if ce.Name != "@" || ce.Type != "TXT" || !strings.Contains(strings.Join(ce.Have, " "), "ip4:192.0.2.0/24") {
		t.Errorf("ChangedError %+v does not name the apex TXT as it is now", ce)
	}
	if readText(t, path) != between {
		t.Error("a write refused as changed touched the file")
	}

	// A foreign value added meanwhile is a change too.
	if _, err := p.AppendRecords(ctx, "example.org.", []libdns.Record{libdns.TXT{Name: "@", TTL: time.Hour, Text: "ms=123"}}); err != nil {
		t.Fatal(err)
	}
	fresh := []providers.RRsetState{{Name: "@", Type: "TXT", Values: []string{"v=spf1 ip4:192.0.2.0/24 -all", "google-site-verification=abc", long}}}
	if _, err := p.ReplaceRecordsIf(ctx, "example.org.", fresh, nil, add); !errors.Is(err, providers.ErrChanged) {
		t.Fatalf("write expecting the TXT set without a foreign value added since: %v", err)
	}

	// Planned again from a fresh read, the write goes through.
	fresh[0].Values = append(fresh[0].Values, "ms=123")
	if _, err := p.ReplaceRecordsIf(ctx, "example.org.", fresh,
		[]libdns.Record{libdns.TXT{Name: "@", Text: "v=spf1 ip4:192.0.2.0/24 -all"}}, add); err != nil {
		t.Fatal(err)
	}
	spf := 0
	for _, r := range getRRs(t, p, "example.org.") {
		if r.Type == "TXT" && strings.HasPrefix(r.Data, "v=spf1") {
			spf++
		}
	}
	if spf != 1 {
		t.Errorf("%d SPF records, want 1", spf)
	}
	// An RRset expected absent that exists is a change.
	if _, err := p.ReplaceRecordsIf(ctx, "example.org.", []providers.RRsetState{{Name: "www", Type: "A"}}, nil,
		[]libdns.Record{libdns.Address{Name: "www", TTL: time.Hour, IP: mustAddr("192.0.2.81")}}); !errors.Is(err, providers.ErrChanged) {
		t.Errorf("expecting no www A where there is one: %v", err)
	}
	checkZone(t, "example.org", path)
}

// TestReplaceRecordsIfConcurrent: writers that all planned from the same
// read race; the check and the write are one step under the lock, so
// exactly one wins and the zone holds one SPF record.
func TestReplaceRecordsIfConcurrent(t *testing.T) {
	p, _ := zoneProvider(t, "example.org.", realWorldZone)
	long := strings.Repeat("x", 255) + strings.Repeat("y", 45)
	expect := []providers.RRsetState{{Name: "@", Type: "TXT", Values: []string{"v=spf1 a ~all", "google-site-verification=abc", long}}}
	const n = 8
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, err := p.ReplaceRecordsIf(context.Background(), "example.org.", expect,
				[]libdns.Record{libdns.TXT{Name: "@", Text: "v=spf1 a ~all"}},
				[]libdns.Record{libdns.TXT{Name: "@", TTL: time.Hour, Text: "v=spf1 ip4:192.0.2." + string(rune('0'+i)) + " -all"}})
			errs <- err
		}()
	}
	won := 0
	for range n {
		switch err := <-errs; {
		case err == nil:
			won++
		case !errors.Is(err, providers.ErrChanged):
			t.Errorf("unexpected error: %v", err)
		}
	}
	spf := 0
	for _, r := range getRRs(t, p, "example.org.") {
		if r.Type == "TXT" && strings.HasPrefix(r.Data, "v=spf1") {
			spf++
		}
	}
	if won != 1 || spf != 1 {
		t.Errorf("%d writers won, %d SPF records; want 1 and 1", won, spf)
	}
}
