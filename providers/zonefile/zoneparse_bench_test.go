package zonefile

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkZoneParse reads a small zone like those of scripts/benchgen
// (SOA, NS, foreign records and a domain's mail records: 14 records) as
// the engine does once per zone and run: read the file, parse it,
// normalise each record.
func BenchmarkZoneParse(b *testing.B) {
	p := benchParseZone(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		recs, err := p.GetRecords(ctx, "d00003.example.")
		if err != nil || len(recs) != 13 {
			b.Fatalf("%d records, %v", len(recs), err)
		}
	}
}

// BenchmarkReadCanonical is BenchmarkZoneParse's zone read as the engine
// reads it: straight into canonical records (GetRecordsCanonical), and
// without the file (readCanonical alone).
func BenchmarkReadCanonical(b *testing.B) {
	p := benchParseZone(b)
	ctx := context.Background()
	b.Run("file", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			recs, _, err := p.GetRecordsCanonical(ctx, "d00003.example.")
			if err != nil || len(recs) != 13 {
				b.Fatalf("%d records, %v", len(recs), err)
			}
		}
	})
	b.Run("parse", func(b *testing.B) {
		data, err := os.ReadFile(filepath.Join(p.Directory, "d00003.example.zone"))
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			recs, ok := readCanonical(data, "d00003.example.")
			if !ok || len(recs) != 13 {
				b.Fatalf("%d records, %v", len(recs), ok)
			}
		}
	})
}

// benchParseZone writes the zone of BenchmarkZoneParse.
func benchParseZone(b *testing.B) *Provider {
	dir := b.TempDir()
	text := `$ORIGIN d00003.example.
$TTL 3600
@ IN SOA ns1.d00003.example. hostmaster.d00003.example. 2026010101 7200 3600 1209600 3600
@ IN NS ns1.d00003.example.
ns1 IN A 192.0.2.53
www IN A 192.0.2.80
www IN AAAA 2001:db8::80
@ IN TXT "google-site-verification=bench00003"
_acme-challenge IN TXT "token-00003"
blog IN CNAME www.d00003.example.
mail IN A 198.18.0.4
mail IN AAAA 2001:db8:3::25
@ IN MX 10 mail.d00003.example.
@ IN TXT "v=spf1 ip4:198.18.0.4 ip6:2001:db8:3::25 -all"
s1._domainkey IN TXT "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@d00003.example"
`
	if err := os.WriteFile(filepath.Join(dir, "d00003.example.zone"), []byte(text), 0o644); err != nil {
		b.Fatal(err)
	}
	return &Provider{Directory: dir}
}
