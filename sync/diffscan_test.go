package sync

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
)

// TestDiffScanMatchesIndex diffs a small zone by a scan of its records
// (planZone's way for a zone of a few records) and by its index (a large
// zone's), on records as people have them: mixed-case names and types, a
// name with a non-ASCII letter, foreign values beside owned ones, odd TTLs,
// duplicates, a set merged from two; both must give the same diffs.
func TestDiffScanMatchesIndex(t *testing.T) {
	spf := tSet("@", "TXT", time.Hour, "v=spf1 mx -all")
	spf.Own, spf.Element = policy.OwnPrefix, policy.ElemSPF
	desired := []policy.RRset{
		tSet("mail", "A", time.Hour, "192.0.2.1", "192.0.2.2"),
		tSet("mail", "a", time.Hour, "192.0.2.3"), // merged into mail A
		tSet("@", "mx", time.Hour, "10 mail.example.com."),
		spf,
		tSet("_dmarc", "TXT", time.Hour, "v=DMARC1; p=reject"),
		tSet("www", "AAAA", time.Hour, "2001:db8::1"),
		{Provider: "local", Zone: "example.com", Name: "old", Type: "A", Absent: true},
		tSet("café", "A", time.Hour, "192.0.2.9"),
	}
	live := []libdns.RR{
		tRR("MAIL", "a", time.Hour, "192.0.2.1"),
		tRR("mail", "A", 300*time.Second, "192.0.2.2"),
		tRR("Mail", "A", time.Hour, "192.0.2.2"),
		tRR("@", "MX", 7*time.Second, "10 mail.example.com."),
		tRR("@", "txt", time.Hour, "google-site-verification=abc"),
		tRR("@", "TXT", time.Hour, "v=spf1 a ~all"),
		tRR("_DMARC", "TXT", time.Hour, "v=DMARC1; p=reject"),
		tRR("old", "A", time.Hour, "198.51.100.1"),
		tRR("CAFÉ", "A", time.Hour, "192.0.2.9"),
		tRR("www", "CNAME", time.Hour, "web.example.com."),
		tRR("@", "NS", time.Hour, "ns1.example.com."),
	}
	scanned := diffLive(desired, live, nil)
	indexed := diffIndexed(desired, indexLive(live))
	if diff := cmp.Diff(indexed, scanned); diff != "" {
		t.Errorf("scan differs from index (-index +scan):\n%s", diff)
	}
	changes := 0
	for _, d := range scanned {
		if d.Change != nil {
			changes++
		}
	}
	// mail A (a third value, a TTL), MX TTL, SPF, old A deleted, café A in
	// sync, DMARC in sync, www AAAA created.
	if changes != 5 {
		t.Errorf("%d changes, want 5: %+v", changes, scanned)
	}
}

// TestIndexLiveGroupsRuns indexes records whose names and types come in
// runs, come back further on, and differ in case: each entry holds the
// records of its lower-case name and upper-case type in the zone's order,
// and live itself is left as it was.
func TestIndexLiveGroupsRuns(t *testing.T) {
	live := []libdns.RR{
		tRR("m1", "TXT", time.Hour, "google-site-verification=a"),
		tRR("M1", "txt", time.Hour, "token"),
		tRR("www.m1", "A", time.Hour, "192.0.2.80"),
		tRR("m1", "MX", time.Hour, "10 mail.m1.z."),
		tRR("m1", "TXT", time.Hour, "v=spf1 -all"),
		tRR("www.m1", "A", time.Hour, "192.0.2.81"),
		tRR("www.m1", "AAAA", time.Hour, "2001:db8::80"),
		tRR("Www.M1", "a", time.Hour, "192.0.2.82"),
	}
	orig := slices.Clone(live)
	want := map[nameType][]libdns.RR{}
	for _, rr := range live {
		k := nameType{strings.ToLower(rr.Name), strings.ToUpper(rr.Type)}
		want[k] = append(want[k], rr)
	}
	got := indexLive(live)
	if diff := cmp.Diff(want, map[nameType][]libdns.RR(got), cmp.AllowUnexported(nameType{})); diff != "" {
		t.Errorf("index (-want +got):\n%s", diff)
	}
	if !slices.Equal(live, orig) {
		t.Errorf("live changed: %v", live)
	}
}
