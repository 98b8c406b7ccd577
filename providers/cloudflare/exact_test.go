package cloudflare

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libdns/libdns"

	cffake "github.com/maildns/maildns/internal/fakes/cloudflare"
	pt "github.com/maildns/maildns/internal/providertest"
	"github.com/maildns/maildns/providers"
)

var foreign300 = strings.Repeat("f", 300)

// seedMessy stores mail records as people make them in the dashboard or
// through other tools: the SPF and DMARC split at odd places, the DKIM key
// in 250-byte strings, an MX with a mixed-case target, foreign apex TXT
// (one split at 200 bytes) with TTLs that differ inside the RRset. It
// returns the IDs of the owned records and the foreign records.
func seedMessy(f *cffake.Server) (map[string]string, []cffake.Record) {
	ids := map[string]string{
		"spf":   f.Put(zone, cffake.Record{Name: "@", Type: "TXT", Content: pt.Quoted("v=spf1 a ", "~all"), TTL: 300}),
		"dkim":  f.Put(zone, cffake.Record{Name: "s1._domainkey", Type: "TXT", Content: pt.Quoted(pt.SplitAt(pt.OldDKIM, 250)...), TTL: 3600}),
		"dmarc": f.Put(zone, cffake.Record{Name: "_dmarc", Type: "TXT", Content: pt.Quoted("v=DMARC1; ", "p=quarantine"), TTL: 3600}),
		"mx":    f.Put(zone, cffake.Record{Name: "@", Type: "MX", Content: "OldMX.Example.COM", Priority: ptr(uint16(10)), TTL: 3600}),
	}
	f.Put(zone, cffake.Record{Name: "@", Type: "TXT", Content: `"google-site-verification=abc123"`, TTL: 3600})
	f.Put(zone, cffake.Record{Name: "@", Type: "TXT", Content: pt.Quoted(pt.SplitAt(foreign300, 200)...), TTL: 1})
	f.Put(zone, cffake.Record{Name: "www", Type: "A", Content: "192.0.2.10", TTL: 300})
	var foreign []cffake.Record
	for _, r := range f.Records(zone) {
		if !slices.Contains([]string{ids["spf"], ids["dkim"], ids["dmarc"], ids["mx"]}, r.ID) {
			foreign = append(foreign, r)
		}
	}
	return ids, foreign
}

func foreignKept(t *testing.T, f *cffake.Server, foreign []cffake.Record, when string) {
	t.Helper()
	now := map[string]cffake.Record{}
	for _, r := range f.Records(zone) {
		now[r.ID] = r
	}
	for _, r := range foreign {
		got, ok := now[r.ID]
		if !ok || got.Content != r.Content || got.TTL != r.TTL || !got.Modified.Equal(r.Modified) {
			t.Errorf("%s: foreign record %s %s %q (TTL %d) now %+v", when, r.Name, r.Type, r.Content, r.TTL, got)
		}
	}
}

// Records made by hand are removed by their Cloudflare ID, whatever form
// they are stored in: one owned value of each kind afterwards, every
// foreign record untouched (content, TTL, not even modified), conditional
// (one batch request) or not.
func TestReplaceHandMadeRecords(t *testing.T) {
	for _, conditional := range []bool{false, true} {
		f, p := newFake(t)
		ids, foreign := seedMessy(f)
		u := pt.PlanMailUpdate(t, p, zone)
		if len(u.Remove) != 4 {
			t.Fatalf("planned removes %v, want SPF, DKIM, DMARC, MX", u.Remove)
		}
		f.ResetCalls()
		var err error
		if conditional {
			_, err = p.ReplaceRecordsIf(context.Background(), zone, u.Expect, u.Remove, u.Add)
		} else {
			_, err = p.ReplaceRecords(context.Background(), zone, u.Remove, u.Add)
		}
		if err != nil {
			t.Fatalf("conditional %v: %v", conditional, err)
		}
		if conditional {
			if n := f.Calls("POST batch"); n != 1 || f.Calls("PATCH dns_records")+f.Calls("POST dns_records")+f.Calls("DELETE dns_records") != 0 {
				t.Errorf("conditional: %d batches, calls %v; want one batch and no other write", n, f.CallLog())
			}
		}
		pt.CheckMailUpdated(t, p, zone, []string{"google-site-verification=abc123", foreign300})
		foreignKept(t, f, foreign, "after the replace")
		now := map[string]bool{}
		for _, r := range f.Records(zone) {
			now[r.ID] = true
		}
		for kind, id := range ids {
			if !now[id] {
				t.Errorf("conditional %v: the %s record was not changed in place (ID %s gone)", conditional, kind, id)
			}
		}
	}
}

// Another writer replaces the SPF after maildns read the zone: before the
// backend reads it again (nothing sent) or between that read and the batch
// (the batch changes a record ID that is gone: Cloudflare refuses it
// whole). Nothing of maildns is written, the error is ErrChanged, the
// other write survives.
func TestReplaceIfChangedSinceRead(t *testing.T) {
	for _, tc := range []struct {
		when string
		many bool // expect enough RRsets that the zone is read whole
	}{{"before the backend's read", false}, {"between read and batch", false}, {"before the backend's read", true}, {"between read and batch", true}} {
		when := tc.when
		f, p := newFake(t)
		f.MaxPerPage = 3 // the zone read whole takes several pages
		ids, foreign := seedMessy(f)
		u := pt.PlanMailUpdate(t, p, zone)
		if tc.many {
			for i := range zoneReadAt {
				u.Expect = append(u.Expect, providers.RRsetState{Name: fmt.Sprintf("absent%d", i), Type: "TXT"})
			}
		}
		var otherID string
		otherWrite := func() {
			f.Remove(zone, ids["spf"])
			otherID = f.Put(zone, cffake.Record{Name: "@", Type: "TXT", Content: `"v=spf1 include:other.example -all"`, TTL: 300})
		}
		if when == "before the backend's read" {
			otherWrite()
		} else {
			f.BeforeWrite = func() { f.BeforeWrite = nil; otherWrite() }
		}
		dmarcBefore := recordByID(f, ids["dmarc"])
		f.ResetCalls()
		_, err := p.ReplaceRecordsIf(context.Background(), zone, u.Expect, u.Remove, u.Add)
		var ce *providers.ChangedError
		if !errors.Is(err, providers.ErrChanged) || !errors.As(err, &ce) {
			t.Fatalf("%s: error %v, want ErrChanged", when, err)
		}
		if ce.Name != "@" || ce.Type != "TXT" || !slices.Contains(ce.Have, "v=spf1 include:other.example -all") {
			t.Errorf("%s: changed error names %s %s holding %q", when, ce.Name, ce.Type, ce.Have)
		}
		if want := map[bool]int{true: 0, false: 1}[when == "before the backend's read"]; f.Calls("POST batch") != want {
			t.Errorf("%s: %d batches, want %d", when, f.Calls("POST batch"), want)
		}
		if other := recordByID(f, otherID); other.Content != `"v=spf1 include:other.example -all"` {
			t.Errorf("%s: the other write is gone: %+v", when, other)
		}
		if d := recordByID(f, ids["dmarc"]); d.Content != dmarcBefore.Content || !d.Modified.Equal(dmarcBefore.Modified) {
			t.Errorf("%s: DMARC written: %q", when, d.Content)
		}
		if mx := recordByID(f, ids["mx"]); mx.Content != "OldMX.Example.COM" {
			t.Errorf("%s: MX written: %q", when, mx.Content)
		}
		foreignKept(t, f, foreign, when)
	}
}

func recordByID(f *cffake.Server, id string) cffake.Record {
	for _, r := range f.Records(zone) {
		if r.ID == id {
			return r
		}
	}
	return cffake.Record{}
}

// A write of more records than a batch takes (200 on the free plan) goes
// in batches of whole RRsets.
func TestReplaceIfManyRecordsInBatches(t *testing.T) {
	f, p := newFake(t)
	var add []libdns.Record
	var expect []providers.RRsetState
	for i := range 210 {
		name := fmt.Sprintf("h%d", i)
		add = append(add, libdns.RR{Name: name, Type: "A", TTL: time.Hour, Data: fmt.Sprintf("192.0.2.%d", i%250)})
		expect = append(expect, providers.RRsetState{Name: name, Type: "A"})
	}
	f.ResetCalls()
	if _, err := p.ReplaceRecordsIf(context.Background(), zone, expect, nil, add); err != nil {
		t.Fatal(err)
	}
	if n := f.Calls("POST batch"); n != 2 {
		t.Errorf("%d batches, want 2", n)
	}
	if n := f.Calls("GET dns_records"); n != 1 {
		t.Errorf("%d reads for 210 RRsets, want 1 (the zone)", n)
	}
	if n := len(f.Records(zone)); n != 210 {
		t.Errorf("%d records in the zone, want 210", n)
	}
}
