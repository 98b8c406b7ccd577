package zonefile

import "testing"

// BenchmarkSplitEntries is the editor's tokenizer on a zone shared by
// 10,000 domains (110,000 records).
func BenchmarkSplitEntries(b *testing.B) {
	text := sharedZoneText(10000)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		splitEntries(text)
	}
}
