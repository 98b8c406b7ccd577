package route53

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libdns/libdns"

	r53fake "github.com/maildns/maildns/internal/fakes/route53"
	pt "github.com/maildns/maildns/internal/providertest"
	"github.com/maildns/maildns/providers"
)

var _ providers.ConditionalReplacer = (*Provider)(nil)

// A foreign TXT of 300 bytes, split where its writer split it.
var foreign300 = strings.Repeat("f", 300)

// seedMessy stores mail records as people make them by hand: the SPF and
// DMARC split at odd places, the DKIM key in 250-byte strings, an MX with
// a mixed-case target, foreign apex TXT (one split at 200 bytes).
func seedMessy(f *r53fake.Server) map[string][]string {
	raw := map[string][]string{
		zone + " TXT":                    {pt.Quoted("v=spf1 a ", "~all"), `"google-site-verification=abc123"`, pt.Quoted(pt.SplitAt(foreign300, 200)...)},
		"s1._domainkey." + zone + " TXT": {pt.Quoted(pt.SplitAt(pt.OldDKIM, 250)...)},
		"_dmarc." + zone + " TXT":        {pt.Quoted("v=DMARC1; ", "p=quarantine")},
		zone + " MX":                     {"10 OldMX.Example.COM."},
		"www." + zone + " A":             {"192.0.2.10"},
	}
	for k, v := range raw {
		name, typ, _ := strings.Cut(k, " ")
		f.Put(zone, r53fake.RRset{Name: name, Type: typ, TTL: 300, Values: v})
	}
	return raw
}

func storedValues(f *r53fake.Server, name, typ string) ([]string, int64) {
	for _, s := range f.RRsets(zone) {
		if s.Name == name && s.Type == typ {
			return s.Values, s.TTL
		}
	}
	return nil, 0
}

// Records made by hand are replaced whole where maildns owns the RRset and
// by value beside foreign ones: one owned value of each kind afterwards,
// every foreign value byte for byte as stored, whether the write is
// conditional or not.
func TestReplaceHandMadeRecords(t *testing.T) {
	for _, conditional := range []bool{false, true} {
		f, p := newFake(t)
		raw := seedMessy(f)
		u := pt.PlanMailUpdate(t, p, zone)
		if len(u.Remove) != 4 {
			t.Fatalf("planned removes %v, want SPF, DKIM, DMARC, MX", u.Remove)
		}
		var err error
		if conditional {
			_, err = p.ReplaceRecordsIf(context.Background(), zone, u.Expect, u.Remove, u.Add)
		} else {
			_, err = p.ReplaceRecords(context.Background(), zone, u.Remove, u.Add)
		}
		if err != nil {
			t.Fatalf("conditional %v: %v", conditional, err)
		}
		pt.CheckMailUpdated(t, p, zone, []string{"google-site-verification=abc123", foreign300})
		apex, ttl := storedValues(f, zone, "TXT")
		for _, v := range raw[zone+" TXT"][1:] {
			if !slices.Contains(apex, v) {
				t.Errorf("conditional %v: foreign %q not kept as stored: %q", conditional, v, apex)
			}
		}
		if ttl != 3600 {
			t.Errorf("apex TXT TTL %d, want 3600", ttl)
		}
		if www, _ := storedValues(f, "www."+zone, "A"); !slices.Equal(www, raw["www."+zone+" A"]) {
			t.Errorf("www A now %q", www)
		}
	}
}

// Another writer changes the apex TXT after maildns read the zone: before
// the backend reads it again (the expectation fails, no batch is sent) and
// between that read and the batch (Route 53 refuses the batch, whose
// DELETE no longer matches). Either way nothing of maildns is written, the
// error is ErrChanged, and the other write survives.
func TestReplaceIfChangedSinceRead(t *testing.T) {
	other := `"v=spf1 include:other.example -all"`
	for _, tc := range []struct {
		when string
		many bool // expect enough RRsets that the zone is read whole
	}{{"before the backend's read", false}, {"between read and batch", false}, {"before the backend's read", true}, {"between read and batch", true}} {
		when := tc.when
		f, p := newFake(t)
		seedMessy(f)
		u := pt.PlanMailUpdate(t, p, zone)
		if tc.many {
			for i := range zoneReadAt {
				u.Expect = append(u.Expect, providers.RRsetState{Name: fmt.Sprintf("absent%d", i), Type: "TXT"})
			}
		}
		otherWrite := func() {
			f.Put(zone, r53fake.RRset{Name: zone, Type: "TXT", TTL: 300, Values: []string{other, `"google-site-verification=abc123"`}})
		}
		if when == "before the backend's read" {
			otherWrite()
		} else {
			f.BeforeChange = func() { f.BeforeChange = nil; otherWrite() }
		}
		f.ResetCalls()
		_, err := p.ReplaceRecordsIf(context.Background(), zone, u.Expect, u.Remove, u.Add)
		var ce *providers.ChangedError
		if !errors.Is(err, providers.ErrChanged) || !errors.As(err, &ce) {
			t.Fatalf("%s: error %v, want ErrChanged", when, err)
		}
		if ce.Name != "@" || ce.Type != "TXT" || !slices.Contains(ce.Have, "v=spf1 include:other.example -all") {
			t.Errorf("%s: changed error names %s %s holding %q", when, ce.Name, ce.Type, ce.Have)
		}
		if reads := f.Calls("ListResourceRecordSets"); tc.many && reads > 2 {
			t.Errorf("%s: %d reads, want the zone read whole", when, reads)
		}
		batches := f.Calls("ChangeResourceRecordSets")
		if want := map[bool]int{true: 0, false: 1}[when == "before the backend's read"]; batches != want {
			t.Errorf("%s: %d change batches sent, want %d", when, batches, want)
		}
		apex, _ := storedValues(f, zone, "TXT")
		if !slices.Equal(apex, []string{other, `"google-site-verification=abc123"`}) {
			t.Errorf("%s: apex TXT now %q, want the other write", when, apex)
		}
		for _, k := range []string{"_dmarc." + zone, "s1._domainkey." + zone} {
			if v, _ := storedValues(f, k, "TXT"); len(v) != 1 || strings.Contains(v[0], "reject") || strings.Contains(v[0], "yZ0Xq3") {
				t.Errorf("%s: %s was written: %q", when, k, v)
			}
		}
		if mx, _ := storedValues(f, zone, "MX"); !slices.Equal(mx, []string{"10 OldMX.Example.COM."}) {
			t.Errorf("%s: MX was written: %q", when, mx)
		}
	}
}

// An RRset expected absent that another writer created meanwhile fails the
// batch's CREATE; an expected RRset the write does not touch is checked by
// the batch too.
func TestReplaceIfCreateAndUntouched(t *testing.T) {
	f, p := newFake(t)
	seedMessy(f)
	add := pt.PlanMailUpdate(t, p, zone).Add[:0:0]
	add = append(add, pt.PlanMailUpdate(t, p, zone).Add[2]) // the DMARC record
	expect := []providers.RRsetState{{Name: "_mta-sts", Type: "TXT"}}
	expect = append(expect, providers.RRsetState{Name: "www", Type: "A", Values: []string{"192.0.2.10"}})
	// _dmarc is expected absent here, as a plan made before it existed.
	expect = append(expect, providers.RRsetState{Name: "_dmarc", Type: "TXT"})
	f.Put(zone, r53fake.RRset{Name: "_dmarc." + zone, Type: "TXT", TTL: 300})
	f.BeforeChange = func() {
		f.BeforeChange = nil
		f.Put(zone, r53fake.RRset{Name: "_dmarc." + zone, Type: "TXT", TTL: 300, Values: []string{`"v=DMARC1; p=none"`}})
	}
	_, err := p.ReplaceRecordsIf(context.Background(), zone, expect, nil, add)
	if !errors.Is(err, providers.ErrChanged) {
		t.Fatalf("a CREATE of an RRset another writer made: %v, want ErrChanged", err)
	}
	if v, _ := storedValues(f, "_dmarc."+zone, "TXT"); !slices.Equal(v, []string{`"v=DMARC1; p=none"`}) {
		t.Errorf("_dmarc now %q, want the other write", v)
	}

	// www A, expected and untouched, changed between read and batch.
	f.BeforeChange = func() {
		f.BeforeChange = nil
		f.Put(zone, r53fake.RRset{Name: "www." + zone, Type: "A", TTL: 300, Values: []string{"192.0.2.99"}})
	}
	expect[2] = providers.RRsetState{Name: "_dmarc", Type: "TXT", Values: []string{"v=DMARC1; p=none"}}
	_, err = p.ReplaceRecordsIf(context.Background(), zone, expect, pt.PlanMailUpdate(t, p, zone).Remove[:0], add)
	if !errors.Is(err, providers.ErrChanged) {
		t.Fatalf("an untouched expected RRset changed: %v, want ErrChanged", err)
	}
	if v, _ := storedValues(f, "_dmarc."+zone, "TXT"); !slices.Equal(v, []string{`"v=DMARC1; p=none"`}) {
		t.Errorf("_dmarc now %q: written though www changed", v)
	}
}

// A write beyond Route 53's limits for one batch (1,000 values) goes in
// batches of whole RRsets; the fake refuses one batch that large.
func TestReplaceIfManyRecordsInBatches(t *testing.T) {
	f, p := newFake(t)
	var add []libdns.Record
	var expect []providers.RRsetState
	for i := range 600 {
		name := fmt.Sprintf("h%d", i)
		for _, ip := range []string{"192.0.2.1", "192.0.2.2"} {
			add = append(add, libdns.RR{Name: name, Type: "A", TTL: time.Hour, Data: ip})
		}
		expect = append(expect, providers.RRsetState{Name: name, Type: "A"})
	}
	if _, err := p.SetRecords(context.Background(), zone, add); err == nil || !strings.Contains(err.Error(), "limit of 1000") {
		t.Fatalf("one batch of 1,200 values: %v, want Route 53's limit", err)
	}
	f.ResetCalls()
	if _, err := p.ReplaceRecordsIf(context.Background(), zone, expect, nil, add); err != nil {
		t.Fatal(err)
	}
	if n := f.Calls("ChangeResourceRecordSets"); n != 2 {
		t.Errorf("%d batches, want 2", n)
	}
	if n := f.Calls("ListResourceRecordSets"); n != 1 {
		t.Errorf("%d reads for 600 RRsets, want 1 (the zone, one page)", n)
	}
	if n := len(f.RRsets(zone)); n != 602 {
		t.Errorf("%d RRsets in the zone, want 602 (600 and SOA, NS)", n)
	}
}
