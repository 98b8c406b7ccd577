package contract

import (
	"fmt"
	stdsync "sync"
	"testing"
	"time"

	"github.com/libdns/libdns"

	"github.com/maildns/maildns/internal/testbind"
	"github.com/maildns/maildns/sync"
)

// wireStep is what one daemon cycle sent to an RFC 2136 server.
type wireStep struct {
	requests, soa, axfr, ixfr, updates int
	reqBytes, respBytes, answers       int
}

func (s wireStep) String() string {
	return fmt.Sprintf("%d requests (SOA %d, AXFR %d, IXFR %d, UPDATE %d), %d bytes out, %d bytes back, %d answer records",
		s.requests, s.soa, s.axfr, s.ixfr, s.updates, s.reqBytes, s.respBytes, s.answers)
}

func stepOf(c testbind.Counts, tr testbind.Traffic) wireStep {
	return wireStep{requests: c.Requests, soa: tr.ByType["SOA"], axfr: tr.ByType["AXFR"], ixfr: tr.ByType["IXFR"],
		updates: tr.ByType["UPDATE"], reqBytes: tr.RequestBytes, respBytes: tr.ResponseBytes, answers: tr.AnswerRecords}
}

// TestDaemonCycleRFC2136 runs daemon cycles (one engine, its providers and
// its zone cache kept between cycles, as the daemon keeps them) against
// BIND, Knot DNS and PowerDNS and counts every message on the wire. A cycle
// in which nothing changed sends one SOA query per zone and nothing else;
// an UPDATE made outside maildns moves that zone's serial and the next
// cycle transfers that zone, and only it; when full_read_every has passed,
// every zone is transferred whole whatever its serial says.
func TestDaemonCycleRFC2136(t *testing.T) {
	var mu stdsync.Mutex
	rows := map[string][]string{}
	for _, b := range backends {
		if b.name != testbind.BIND && b.name != testbind.Knot && b.name != testbind.PowerDNS {
			continue
		}
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, "daemon_cycle", b, bothZones())
			now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
			h.cache = &sync.ZoneCache{FullReadEvery: time.Hour, Now: func() time.Time { return now }}
			h.policy(full.yaml())
			cycle := func(step string) wireStep {
				t.Helper()
				plan, _, err := h.run(sync.ModeDaemon)
				if err != nil {
					t.Fatalf("%s: %v\n%s", step, err, planText(plan))
				}
				s := stepOf(h.fx.counts(), h.fx.traffic())
				mu.Lock()
				rows[b.name] = append(rows[b.name], step+": "+s.String())
				mu.Unlock()
				return s
			}
			cycle("1 first (writes)")
			h.assertConverged()
			cycle("2 after own write (full read)")

			for i := 0; i < 2; i++ {
				s := cycle("3 no drift")
				if s != (wireStep{requests: 2, soa: 2, reqBytes: s.reqBytes, respBytes: s.respBytes, answers: 2}) {
					t.Errorf("no-drift cycle: %s, want one SOA query per zone (2) and nothing else", s)
				}
			}

			h.fx.add(t, zone, rr("outside", "TXT", 300, "made outside maildns"))
			s := cycle("4 one outside change")
			if s.soa != 2 || s.axfr+s.ixfr != 1 || s.updates != 0 {
				t.Errorf("cycle after an outside UPDATE: %s, want 2 SOA queries and one transfer", s)
			}
			if s := cycle("5 no drift again"); s.requests != 2 || s.soa != 2 {
				t.Errorf("no-drift cycle after the change was read: %s", s)
			}

			// A hand edit that leaves the serial alone (pdnsutil on
			// PowerDNS's database): unseen until the full read.
			handEdit := b.name == testbind.PowerDNS
			if handEdit {
				if err := h.fx.server.PDNSUtil("replace-rrset", zone, "_dmarc", "TXT", "300", `"v=DMARC1; p=none"`); err != nil {
					t.Fatal(err)
				}
				plan, _, err := h.run(sync.ModeDryRun)
				if err != nil {
					t.Fatal(err)
				}
				if got := changes(plan); len(got) != 0 {
					t.Errorf("a hand edit without a serial change seen before the full read: %q", got)
				}
				h.fx.reset()
			}

			now = now.Add(time.Hour)
			if handEdit {
				plan, _, err := h.run(sync.ModeDaemon)
				if err != nil {
					t.Fatal(err)
				}
				h.wantChanges(plan, zone+" update _dmarc TXT")
				h.assertConverged()
				s := stepOf(h.fx.counts(), h.fx.traffic())
				mu.Lock()
				rows[b.name] = append(rows[b.name], "6 full read due, hand edit without a serial change: "+s.String())
				mu.Unlock()
				if s.axfr < 2 || s.updates != 1 {
					t.Errorf("full read after a hand edit: %s, want 2 AXFR and the DMARC written back", s)
				}
				return
			}
			s = cycle("6 full read due")
			if s.soa != 2 || s.axfr != 2 || s.ixfr != 0 || s.updates != 0 {
				t.Errorf("cycle with a full read due: %s, want 2 SOA queries and 2 AXFR", s)
			}
			if s := cycle("7 no drift after the full read"); s.requests != 2 || s.soa != 2 {
				t.Errorf("no-drift cycle after the full read: %s", s)
			}
		})
	}
	t.Cleanup(func() {
		for _, k := range []string{testbind.BIND, testbind.Knot, testbind.PowerDNS} {
			for _, r := range rows[k] {
				t.Logf("%-8s %s", k, r)
			}
		}
	})
}

// TestDaemonCycleIXFR: in a daemon cycle, a zone big enough to keep a copy
// of (300 records more than the policy's) whose serial moved after an
// UPDATE made outside maildns is read by IXFR where the server offers it,
// PowerDNS answering with the whole zone; once full_read_every has passed
// the zone is read by AXFR even though its serial moved.
func TestDaemonCycleIXFR(t *testing.T) {
	var pad []libdns.RR
	for i := range 300 {
		pad = append(pad, rr(fmt.Sprintf("h%03d", i), "A", 300, fmt.Sprintf("10.0.%d.%d", i/256, i%256)))
	}
	for _, b := range backends {
		if b.name != testbind.BIND && b.name != testbind.Knot && b.name != testbind.PowerDNS {
			continue
		}
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, "daemon_ixfr", b, bothZones(pad...))
			now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
			h.cache = &sync.ZoneCache{FullReadEvery: time.Hour, Now: func() time.Time { return now }}
			h.policy(full.yaml())
			cycle := func(step string) wireStep {
				t.Helper()
				plan, _, err := h.run(sync.ModeDaemon)
				if err != nil {
					t.Fatalf("%s: %v\n%s", step, err, planText(plan))
				}
				if step != "first" {
					if got := changes(plan); len(got) != 0 {
						t.Errorf("%s: changes %q", step, got)
					}
				}
				s := stepOf(h.fx.counts(), h.fx.traffic())
				t.Logf("%s %s: %s", b.name, step, s)
				return s
			}
			cycle("first")
			cycle("after own write")
			if s := cycle("no drift"); s.requests != 2 || s.soa != 2 {
				t.Errorf("no drift: %s", s)
			}

			h.fx.add(t, zone, rr("outside", "TXT", 300, "made outside maildns"))
			s := cycle("one outside change")
			if s.soa != 2 || s.ixfr != 1 || s.axfr != 0 || s.requests != 3 {
				t.Errorf("one outside change: %s, want 2 SOA queries and one IXFR", s)
			}
			if b.name != testbind.PowerDNS && s.answers > 2+10 {
				t.Errorf("one outside change: %d answer records, want a few", s.answers)
			}

			h.fx.add(t, zone, rr("outside2", "TXT", 300, "made outside maildns"))
			now = now.Add(time.Hour)
			if s := cycle("outside change, full read due"); s.soa != 2 || s.axfr != 2 || s.ixfr != 0 {
				t.Errorf("full read due after a change: %s, want 2 SOA queries and 2 AXFR", s)
			}
		})
	}
}
