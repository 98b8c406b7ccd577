package zonefile

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libdns/libdns"

	"github.com/maildns/maildns/providers"
)

// sharedZoneText is a zone of n mail domains (m<i>) as scripts/benchgen
// makes one shared zone: 11 records a domain, foreign ones beside its own.
func sharedZoneText(n int) string {
	var b strings.Builder
	b.WriteString("$ORIGIN z.example.\n$TTL 3600\n@ IN SOA ns1.z.example. hostmaster.z.example. 2026010101 7200 3600 1209600 3600\n@ IN NS ns1.z.example.\nns1 IN A 192.0.2.53\n")
	for i := range n {
		fmt.Fprintf(&b, "www.m%d IN A 192.0.2.80\nwww.m%d IN AAAA 2001:db8::80\n", i, i)
		fmt.Fprintf(&b, "m%d IN TXT \"google-site-verification=bench%05d\"\n_acme-challenge.m%d IN TXT \"token-%05d\"\n", i, i, i, i)
		fmt.Fprintf(&b, "blog.m%d IN CNAME www.m%d.z.example.\nmail.m%d IN A 198.18.%d.%d\nmail.m%d IN AAAA 2001:db8:%x::25\n", i, i, i, i/250, i%250+1, i, i)
		fmt.Fprintf(&b, "m%d IN MX 10 oldmail.m%d.z.example.\nm%d IN TXT \"v=spf1 mx ~all\"\n", i, i, i)
		fmt.Fprintf(&b, "s1._domainkey.m%d IN TXT \"v=DKIM1; k=ed25519; p=CyT/t301sZ/FldCYVYcpg844TNhsYHw3jLzVWXs2XBE=\"\n", i)
		fmt.Fprintf(&b, "_dmarc.m%d IN TXT \"v=DMARC1; p=reject; rua=mailto:dmarc@m%d.z.example\"\n", i, i)
	}
	return b.String()
}

// sharedZoneWrite is the conditional write of --once on a shared zone
// where every tenth of n domains drifts (MX and SPF), from the state of
// the file (old) to the other (!old).
func sharedZoneWrite(n int, old bool) (expect []providers.RRsetState, remove, add []libdns.Record) {
	mx := [2]string{"oldmail", "mail"}
	spf := [2]string{"v=spf1 mx ~all", "v=spf1 mx -all"}
	from, to := 0, 1
	if !old {
		from, to = 1, 0
	}
	for i := 0; i < n; i += 10 {
		m := fmt.Sprintf("m%d", i)
		target := func(k int) string { return mx[k] + "." + m + ".z.example." }
		expect = append(expect,
			providers.RRsetState{Name: m, Type: "MX", Values: []string{"10 " + target(from)}},
			providers.RRsetState{Name: m, Type: "TXT", Values: []string{fmt.Sprintf("google-site-verification=bench%05d", i), spf[from]}})
		remove = append(remove,
			libdns.RR{Name: m, Type: "MX", TTL: time.Hour, Data: "10 " + target(from)},
			libdns.RR{Name: m, Type: "TXT", TTL: time.Hour, Data: spf[from]})
		add = append(add,
			libdns.RR{Name: m, Type: "MX", TTL: time.Hour, Data: "10 " + target(to)},
			libdns.RR{Name: m, Type: "TXT", TTL: time.Hour, Data: spf[to]})
	}
	return expect, remove, add
}

// BenchmarkReplaceIfSharedZone is --once's write of a zone shared by
// 10,000 domains (110,000 records), 1,000 of them drifting: one
// ReplaceRecordsIf of 2,000 RRsets (read, check what it expects, edit in
// place, check the edited text, rename).
func BenchmarkReplaceIfSharedZone(b *testing.B) {
	const n = 10000
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "z.example.zone"), []byte(sharedZoneText(n)), 0o644); err != nil {
		b.Fatal(err)
	}
	p := &Provider{Directory: dir}
	ctx := context.Background()
	writes := [2][3]any{}
	for k, old := range []bool{true, false} {
		e, r, a := sharedZoneWrite(n, old)
		writes[k] = [3]any{e, r, a}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		w := writes[i%2]
		if _, err := p.ReplaceRecordsIf(ctx, "z.example.", w[0].([]providers.RRsetState), w[1].([]libdns.Record), w[2].([]libdns.Record)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkReplaceIfReadBackSharedZone is BenchmarkReplaceIfSharedZone
// followed by the engine's read back of the zone (GetRecordsCanonical).
func BenchmarkReplaceIfReadBackSharedZone(b *testing.B) {
	const n = 10000
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "z.example.zone"), []byte(sharedZoneText(n)), 0o644); err != nil {
		b.Fatal(err)
	}
	p := &Provider{Directory: dir}
	ctx := context.Background()
	type write struct {
		expect      []providers.RRsetState
		remove, add []libdns.Record
	}
	var writes [2]write
	for k, old := range []bool{true, false} {
		writes[k].expect, writes[k].remove, writes[k].add = sharedZoneWrite(n, old)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		w := writes[i%2]
		if _, err := p.ReplaceRecordsIf(ctx, "z.example.", w.expect, w.remove, w.add); err != nil {
			b.Fatal(err)
		}
		if recs, _, err := p.GetRecordsCanonical(ctx, "z.example."); err != nil || len(recs) != 11*n+2 {
			b.Fatalf("%d records, %v", len(recs), err)
		}
		i++
	}
}

// BenchmarkParseSharedZone is the parse of a zone shared by 10,000 domains
// (110,000 records) that a write makes twice: of the file, and of the
// edited text for its check.
func BenchmarkParseSharedZone(b *testing.B) {
	data := []byte(sharedZoneText(10000))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := parseZoneFast(data, "z.example."); !ok {
			b.Fatal("not taken by the fast parser")
		}
	}
}
