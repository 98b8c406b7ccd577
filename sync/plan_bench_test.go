package sync

import (
	"testing"
)

// BenchmarkPlan plans one domain's share of its zone as the engine does:
// merge the desired RRsets, compare them with the live records, and
// collect the changes of the zone plan (benchDomain 3 drifts in one RRset, 7 in none).
func BenchmarkPlan(b *testing.B) {
	for _, c := range []struct {
		name string
		i    int
	}{{"in_sync", 7}, {"drift", 3}} {
		_, sets, live := benchDomain(c.i)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				plan := ZonePlan{Changes: []Change{}}
				for _, d := range diffRRsets(sets, live) {
					if d.Change != nil {
						plan.Changes = append(plan.Changes, *d.Change)
					}
				}
				if (len(plan.Changes) > 0) != (c.name == "drift") {
					b.Fatalf("%d changes", len(plan.Changes))
				}
			}
		})
	}
}
