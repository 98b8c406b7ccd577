package sync

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
)

// A large zone's checks look names up through the engine's index: the same
// values, in the same order, as a scan of the zone finds (names and types in
// any case).
func TestLiveValuesIndexedAsScanned(t *testing.T) {
	var zone []libdns.RR
	for i := range 40 {
		zone = append(zone,
			libdns.RR{Name: fmt.Sprintf("m%d", i), Type: "MX", TTL: time.Hour, Data: fmt.Sprintf("10 mail.m%d.example.com.", i)},
			libdns.RR{Name: fmt.Sprintf("m%d", i), Type: "TXT", TTL: time.Hour, Data: "v=spf1 -all"})
	}
	zone = append(zone,
		libdns.RR{Name: "_dmarc.m3", Type: "TXT", TTL: time.Hour, Data: "v=DMARC1; p=reject"},
		libdns.RR{Name: "m3", Type: "txt", TTL: time.Hour, Data: "second"},
		libdns.RR{Name: "M3", Type: "TXT", TTL: time.Hour, Data: "third"},
		libdns.RR{Name: "@", Type: "TXT", TTL: time.Hour, Data: "apex"},
	)
	if len(zone) <= indexedZone {
		t.Fatalf("zone of %d records is not over indexedZone", len(zone))
	}
	d := &policy.Domain{Domain: "m3.example.com", Zone: "example.com"}
	scan := newMailCheck(&CheckEnv{Zone: zone}, d, KindSPF)
	indexed := newMailCheck(&CheckEnv{Zone: zone, index: indexLive(zone)}, d, KindSPF)
	for _, q := range []struct{ prefix, typ string }{
		{"", "TXT"}, {"", "txt"}, {"", "MX"}, {"_dmarc", "TXT"}, {"_DMARC", "TXT"}, {"nope", "TXT"}, {"", "AAAA"},
	} {
		want := scan.liveValues(q.prefix, q.typ)
		if q.prefix == "" && q.typ == "TXT" && len(want) != 3 {
			t.Fatalf("scan found %v, want 3 values (the test's premise)", want)
		}
		if d := cmp.Diff(want, indexed.liveValues(q.prefix, q.typ)); d != "" {
			t.Errorf("%q %s: indexed (+) differs from scanned (-):\n%s", q.prefix, q.typ, d)
		}
	}
}
