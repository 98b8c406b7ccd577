package sync

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
	"github.com/maildns/maildns/sync/check"
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
	// The names of m3.example.com in zone example.com, as the checks ask them.
	scan := &CheckEnv{Zone: zone}
	indexed := &CheckEnv{Zone: zone, Index: indexLive(zone).forChecks()}
	for _, q := range []struct{ rel, typ string }{
		{"m3", "TXT"}, {"m3", "txt"}, {"m3", "MX"}, {"_dmarc.m3", "TXT"}, {"_DMARC.m3", "TXT"}, {"nope.m3", "TXT"}, {"m3", "AAAA"},
	} {
		want := scan.Values(q.rel, q.typ)
		if q.rel == "m3" && q.typ == "TXT" && len(want) != 3 {
			t.Fatalf("scan found %v, want 3 values (the test's premise)", want)
		}
		if d := cmp.Diff(want, indexed.Values(q.rel, q.typ)); d != "" {
			t.Errorf("%q %s: indexed (+) differs from scanned (-):\n%s", q.rel, q.typ, d)
		}
	}
}

// The zone resolver of a plan to be applied answers a large zone from the
// index of its names built beside the plan (liveNames), and only while the
// zone's records are those it was built from: once the zone is read again,
// from the new records.
func TestRunResolverNamesBuiltAhead(t *testing.T) {
	live, _ := oneZone(20)
	if len(live) <= indexedZone {
		t.Fatalf("zone of %d records is not over indexedZone", len(live))
	}
	z := &zoneState{key: zoneKey{"mem", "z.example"}, fqdn: "z.example.", live: live, zoneApply: &zoneApply{}}
	z.liveNames, z.namesOf = check.IndexNames(live), live
	e := &Engine{}
	ctx := context.Background()
	mailA := func() string {
		t.Helper()
		ans, err := e.runResolver(nil, []*zoneState{z}).Lookup(ctx, "mail.m7.z.example.", "A")
		if err != nil || len(ans.Records) != 1 {
			t.Fatalf("mail.m7 A: %+v, %v", ans, err)
		}
		return ans.Records[0].Data
	}
	if got := mailA(); got != "203.0.113.25" {
		t.Fatalf("mail.m7 A = %s, want 203.0.113.25", got)
	}
	// Read again: the same records but one, in a new array.
	again := slices.Clone(live)
	for i := range again {
		if again[i].Name == "mail.m7" && again[i].Type == "A" {
			again[i].Data = "203.0.113.77"
		}
	}
	z.live = again
	if got := mailA(); got != "203.0.113.77" {
		t.Errorf("after the zone is read again, mail.m7 A = %s (the index of the first read), want 203.0.113.77", got)
	}
}
