package zonefile

import (
	"context"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
)

// TestReadAfterWriteIsTheParse: the read that follows a write returns the
// records the write already knew, and they are exactly what a parse of the
// file gives (a provider that never wrote it), for zones as people have
// them: TTL-only changes, records moved by a $GENERATE cut, TXT split at
// odd places, new records, mixed case.
func TestReadAfterWriteIsTheParse(t *testing.T) {
	ctx := context.Background()
	long := strings.Repeat("x", 255) + strings.Repeat("y", 45)
	cases := []struct {
		name, zone, text string
		remove, add      []libdns.Record
	}{
		{"real world", "example.org.", realWorldZone,
			[]libdns.Record{libdns.TXT{Name: "@", Text: "v=spf1 a ~all"}, libdns.TXT{Name: "@", Text: long},
				libdns.MX{Name: "@", Preference: 10, Target: "oldmx.example.org."}},
			[]libdns.Record{libdns.TXT{Name: "@", TTL: time.Hour, Text: "v=spf1 mx -all"},
				libdns.MX{Name: "@", TTL: 2 * time.Hour, Preference: 10, Target: "Mail.Example.ORG."},
				libdns.Address{Name: "mail", TTL: time.Hour, IP: mustAddr("2001:db8::25")}}},
		{"TTL only", "example.org.", handZone,
			[]libdns.Record{libdns.TXT{Name: "@", Text: "v=spf1 a ~all"}},
			[]libdns.Record{libdns.TXT{Name: "@", TTL: 600 * time.Second, Text: "v=spf1 a ~all"}}},
		{"generated", "example.org.", "$ORIGIN example.org.\n$TTL 60\n@ IN SOA a. b. 1 2 3 4 5\n$GENERATE 1-9/2 h$ IN A 192.0.2.$ ; pool\nh3 IN TXT \"x\"\n",
			[]libdns.Record{libdns.RR{Name: "h5", Type: "A", Data: "192.0.2.5"}},
			[]libdns.Record{libdns.RR{Name: "h5", Type: "A", TTL: time.Minute, Data: "192.0.2.50"}}},
		{"shared zone", "z.example.", sharedZoneText(50), nil, nil},
	}
	expect, remove, add := sharedZoneWrite(50, true)
	cases[3].remove, cases[3].add = remove, add
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, path := zoneProvider(t, c.zone, c.text)
			var err error
			if c.name == "shared zone" {
				_, err = p.ReplaceRecordsIf(ctx, c.zone, expect, c.remove, c.add)
			} else {
				_, err = p.ReplaceRecords(ctx, c.zone, c.remove, c.add)
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := p.written.m[path]; !ok {
				t.Fatal("the write left nothing for the read that follows it")
			}
			got, err := p.GetRecords(ctx, c.zone)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.written.m) != 0 {
				t.Error("the write's records were not used, or kept after")
			}
			parsed, err := (&Provider{Directory: p.Directory}).GetRecords(ctx, c.zone)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(parsed, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Fatalf("read after the write differs from a parse of the file (-parse +read):\n%s", diff)
			}
			if readText(t, path) == c.text {
				t.Fatal("nothing written")
			}
		})
	}
}

// TestReadAfterWriteSeesTheFile: a file changed after maildns wrote it (a
// hand edit of the same size) is read as it is, not as written.
func TestReadAfterWriteSeesTheFile(t *testing.T) {
	ctx := context.Background()
	p, path := zoneProvider(t, "example.org.", handZone)
	if _, err := p.ReplaceRecords(ctx, "example.org.",
		[]libdns.Record{libdns.TXT{Name: "@", Text: "v=spf1 a ~all"}},
		[]libdns.Record{libdns.TXT{Name: "@", TTL: time.Hour, Text: "v=spf1 mx -all"}}); err != nil {
		t.Fatal(err)
	}
	text := readText(t, path)
	edited := strings.Replace(text, "192.0.2.25", "192.0.2.26", 1)
	if edited == text {
		t.Fatal("test zone lacks the address")
	}
	if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	recs, err := p.GetRecords(ctx, "example.org.")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range recs {
		if rr := r.RR(); rr.Type == "A" && rr.Data == "192.0.2.26" {
			found = true
		}
	}
	if !found {
		t.Fatalf("the hand edit after the write was not read: %v", recs)
	}
}
