package sync

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/libdns/libdns"

	"github.com/maildns/maildns/providers"
	_ "github.com/maildns/maildns/providers/zonefile"
)

// benchZoneText is a zone as scripts/benchgen writes them: 14 records, a
// DKIM key in two strings, an AAAA not in canonical form.
const benchZoneText = `$ORIGIN d00000.example.
$TTL 3600
@ IN SOA ns1.d00000.example. hostmaster.d00000.example. 2026010101 7200 3600 1209600 3600
@ IN NS ns1.d00000.example.
ns1 IN A 192.0.2.53
www IN A 192.0.2.80
www IN AAAA 2001:db8::80
@ IN TXT "google-site-verification=bench00000"
_acme-challenge IN TXT "token-00000"
blog IN CNAME www.d00000.example.
mail IN A 198.18.0.1
mail IN AAAA 2001:db8:0::25
@ IN MX 10 oldmail.d00000.example.
@ IN TXT "v=spf1 ip4:198.18.0.1 ip6:2001:db8:0::25 ~all"
s1._domainkey IN TXT "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAz9H/3bp2YLVXCtLV8pjopf557mXat+AlSINkFPvtWlHO5DzZA7Hwrb2GWfyyu/4c3kPwhj7PtfCJtvpRR2ICzxGAGJbodYWL578XNLEwdODWDqH/m/kbOPkv26B/fJd/TeE3OVV9gIfQBrGA6dRwBaKU/YRce7GZI27oxvJP5Xpeesn14rd1VSUTiP1mR9AOw" "sHHl99HLlkcBDY0INzTD9U4yMs+/7dOI3nJ39x42mDMrDCol3F0BXzl97J7FjK4ZltEHLAeJN+ZI6PZ3JOt1pxRyyCcG/W6HRbx1NHE3lAY3ZwjOL3wl0+zpq64UPeKROULmPNPcFc7saLhIU5FFwIDAQAB"
_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@d00000.example"
`

// BenchmarkReadZoneFile is the engine's whole read of one zone file, as a
// --dry-run makes it once per zone: the wrapped provider's GetRecords, the
// records normalised, the write guard asked. B/op is what a zone costs
// the heap, most of it kept as the zone's live records.
func BenchmarkReadZoneFile(b *testing.B) {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "d00000.example.zone"), []byte(benchZoneText), 0o644); err != nil {
		b.Fatal(err)
	}
	p, err := providers.NewWrapped("zonefile", &providers.Settings{Name: "local", Values: map[string]string{"directory": dir}}, providers.WrapOptions{Counts: &providers.Counts{}})
	if err != nil {
		b.Fatal(err)
	}
	// A run's context can be cancelled (signal.NotifyContext).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	read := func() []libdns.RR {
		z := &zoneState{key: zoneKey{"local", "d00000.example"}, fqdn: "d00000.example.", provider: p}
		readLive(ctx, z)
		if z.err != nil || len(z.live) != 13 {
			b.Fatalf("%d records, %v", len(z.live), z.err)
		}
		return z.live
	}
	b.ReportAllocs()
	for b.Loop() {
		read()
	}
	// What the run keeps of each zone: its live records.
	var before, after runtime.MemStats
	kept := make([][]libdns.RR, 1000)
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range kept {
		kept[i] = read()
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(len(kept)), "kept-B/zone")
	runtime.KeepAlive(kept)
}
