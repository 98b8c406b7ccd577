package sync

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
)

// In DNS an RRset has one TTL: an SPF value written into the apex TXT next
// to foreign values takes their TTL, so that a backend that applies a new
// value's TTL to the whole set (RFC 2136 servers, Route 53) does not change
// the foreign values' TTL, and a run after it is in sync.
func TestApexSPFTakesTheSharedTTL(t *testing.T) {
	foreign := []libdns.RR{
		tRR("@", "TXT", 300*time.Second, "google-site-verification=abc"),
		tRR("@", "TXT", 300*time.Second, "MS=ms123"),
	}
	for _, tc := range []struct {
		name string
		live []libdns.RR
	}{
		{"created", foreign},
		{"replaced", append(slices.Clone(foreign), tRR("@", "TXT", 300*time.Second, "v=spf1 mx ~all"))},
		{"ttl fixed", append(slices.Clone(foreign), tRR("@", "TXT", tHour, "v=spf1 ip4:203.0.113.25 -all"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spf := tOwnedSPF("example.com", "example.com", "v=spf1 ip4:203.0.113.25 -all") // TTL 1h
			e, st, _ := testEngine(t, map[string][]libdns.RR{"example.com.": tc.live}, map[string][]policy.RRset{"example.com": {spf}})
			plan, err := e.Run(context.Background(), Options{Mode: ModeOnce})
			if err != nil || plan.Zones[0].Status != StatusApplied {
				t.Fatalf("status %s, err %v", plan.Zones[0].Status, err)
			}
			if c := plan.Zones[0].Changes[0]; c.TTL != 300 {
				t.Errorf("change TTL %d, want the set's 300", c.TTL)
			}
			want := append(slices.Clone(foreign), tRR("@", "TXT", 300*time.Second, "v=spf1 ip4:203.0.113.25 -all"))
			if got := sortedRRs(st.records("example.com.")); !slices.Equal(got, sortedRRs(want)) {
				t.Errorf("zone %v, want %v", got, want)
			}
			plan, _ = e.Run(context.Background(), Options{Mode: ModeDryRun})
			if plan.Zones[0].Status != StatusInSync {
				t.Errorf("next run: %s %+v", plan.Zones[0].Status, plan.Zones[0].Changes)
			}
		})
	}
}

func TestUnservable(t *testing.T) {
	many := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("10.%d.%d.1", i/250, i%250)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		c    Change
		want string
	}{
		{"spf 442 KB", Change{Type: "TXT", After: []string{"v=spf1 " + strings.Repeat("include:_spf.example.net ", 17000) + "-all"}}, "RDATA"},
		{"txt 60,000 bytes", Change{Type: "TXT", After: []string{strings.Repeat("a", 60000)}}, ""},
		{"txt 65,000 bytes", Change{Type: "TXT", After: []string{strings.Repeat("a", 65000)}}, "DNS message"},
		{"10,000 addresses", Change{Type: "A", After: many(10000)}, "DNS message"},
		{"1,000 addresses", Change{Type: "A", After: many(1000)}, ""},
		{"deleted", Change{Type: "A", Before: many(10000)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Unservable(tc.c)
			if (got == "") != (tc.want == "") || !strings.Contains(got, tc.want) {
				t.Errorf("Unservable = %q, want %q", got, tc.want)
			}
		})
	}
}

// A record no name server could serve is refused even with --force.
func TestRunRefusesUnservable(t *testing.T) {
	huge := "v=spf1 " + strings.Repeat("include:_spf.example.net ", 3000) + "-all"
	e, st, _ := testEngine(t, map[string][]libdns.RR{"example.com.": comZone()}, map[string][]policy.RRset{"example.com": {tOwnedSPF("example.com", "example.com", huge)}})
	plan, _ := e.Run(context.Background(), Options{Mode: ModeOnce, Force: true, AllowWeakening: true})
	if plan.Zones[0].Status != StatusRefused || st.appends+st.deletes != 0 {
		t.Errorf("status %s, %d writes", plan.Zones[0].Status, st.appends+st.deletes)
	}
	if len(plan.Findings) != 1 || plan.Findings[0].Kind != "safety" || plan.Findings[0].Severity != SevError || !strings.Contains(plan.Findings[0].Message, "cannot be published") {
		t.Errorf("findings %+v", plan.Findings)
	}
}
