package sync

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/maildns/maildns/internal/heaptest"
)

// quietPlan is a daemon's plan over n domains in sync, one zone each, a
// domain in ten with a warning.
func quietPlan(n int) *Plan {
	p := &Plan{Zones: make([]ZonePlan, 0, n)}
	for i := range n {
		d := fmt.Sprintf("d%05d.example", i)
		p.Zones = append(p.Zones, ZonePlan{Domain: d, Zone: d, Provider: "local", Status: StatusInSync})
		if i%10 == 0 {
			p.Findings = append(p.Findings, Finding{Domain: d, Severity: SevWarning, Kind: "dmarc", Message: "rua outside the domain"})
		}
	}
	return p
}

// What a daemon keeps of the status file between cycles (to write the next
// one without parsing it, re-encoding only the domains that changed) is
// the file's bytes, each domain's state and where its entry is: the file
// is about 370 bytes a domain here, so 1 KB a domain bounds it. Before,
// each entry was kept twice more (its state and its JSON apart from the
// file's): 1.5 KB a domain.
func TestRecordRunKeepsLittle(t *testing.T) {
	const n = 10000
	dir := t.TempDir()
	plan := quietPlan(n)
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	record := func(i int) {
		at := t0.Add(time.Duration(i) * time.Minute)
		if err := RecordRun(dir, ModeDaemon, plan, nil, at, at.Add(time.Second), at.Add(time.Minute), "@every 1m"); err != nil {
			t.Fatal(err)
		}
	}
	record(0)
	forgetWritten()
	before := heaptest.Live()
	for i := 1; i <= 3; i++ {
		record(i)
	}
	per := (int64(heaptest.Live()) - int64(before)) / n
	runtime.KeepAlive(plan)
	t.Logf("status kept: %d bytes a domain", per)
	if per > 1024 {
		t.Errorf("the status record keeps %d bytes a domain after 3 cycles of %d domains, want at most 1024", per, n)
	}
	statusBytesAsMarshalled(t, dir)
}

// forgetWritten drops what this process wrote to every status file.
func forgetWritten() {
	writtenStates.Lock()
	defer writtenStates.Unlock()
	clear(writtenStates.m)
}

// BenchmarkRecordRunQuiet is a quiet daemon cycle's status record over
// 10,000 domains.
func BenchmarkRecordRunQuiet(b *testing.B) {
	dir := b.TempDir()
	plan := quietPlan(10000)
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		at := t0.Add(time.Duration(i) * time.Minute)
		if err := RecordRun(dir, ModeDaemon, plan, nil, at, at.Add(time.Second), at.Add(time.Minute), "@every 1m"); err != nil {
			b.Fatal(err)
		}
	}
}
