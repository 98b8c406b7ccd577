package desec

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libdns/libdns"

	dsfake "github.com/maildns/maildns/internal/fakes/desec"
	pt "github.com/maildns/maildns/internal/providertest"
	"github.com/maildns/maildns/providers"
)

var _ providers.ConditionalReplacer = (*Provider)(nil)

var foreign300 = strings.Repeat("f", 300)

// seedMessy stores mail records as people make them by hand (deSEC keeps
// the strings a TXT was split into, and a target's case): the SPF and
// DMARC split at odd places, the DKIM key in 250-byte strings, an MX with
// a mixed-case target, foreign apex TXT (one split at 200 bytes).
func seedMessy(f *dsfake.Server) {
	for _, r := range []dsfake.RRset{
		{Subname: "", Type: "TXT", TTL: 3600, Records: []string{pt.Quoted("v=spf1 a ", "~all"), `"google-site-verification=abc123"`, pt.Quoted(pt.SplitAt(foreign300, 200)...)}},
		{Subname: "s1._domainkey", Type: "TXT", TTL: 3600, Records: []string{pt.Quoted(pt.SplitAt(pt.OldDKIM, 250)...)}},
		{Subname: "_dmarc", Type: "TXT", TTL: 3600, Records: []string{pt.Quoted("v=DMARC1; ", "p=quarantine")}},
		{Subname: "", Type: "MX", TTL: 3600, Records: []string{"10 OldMX.Example.COM."}},
		{Subname: "www", Type: "A", TTL: 3600, Records: []string{"192.0.2.10"}},
	} {
		f.Put(zone, r)
	}
}

func storedRecords(f *dsfake.Server, sub, typ string) []string {
	_, recs := stored(f, sub, typ)
	return recs
}

// Records made by hand are written back as deSEC holds them: one owned
// value of each kind afterwards, every foreign value byte for byte as
// stored, conditional or not.
func TestReplaceHandMadeRecords(t *testing.T) {
	for _, conditional := range []bool{false, true} {
		f, p := newFake(t)
		seedMessy(f)
		foreignRaw := storedRecords(f, "", "TXT")[1:]
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
		apex := storedRecords(f, "", "TXT")
		for _, v := range foreignRaw {
			if !slices.Contains(apex, v) {
				t.Errorf("conditional %v: foreign %q not kept as stored: %q", conditional, v, apex)
			}
		}
		if www := storedRecords(f, "www", "A"); !slices.Equal(www, []string{"192.0.2.10"}) {
			t.Errorf("www A now %q", www)
		}
	}
}

// Another writer changes the apex TXT after maildns read the zone: the
// backend's read just before its write finds it, writes nothing, and
// returns ErrChanged; the other write survives.
func TestReplaceIfChangedSinceRead(t *testing.T) {
	f, p := newFake(t)
	seedMessy(f)
	u := pt.PlanMailUpdate(t, p, zone)
	other := []string{`"v=spf1 include:other.example -all"`, `"google-site-verification=abc123"`}
	f.Put(zone, dsfake.RRset{Subname: "", Type: "TXT", TTL: 3600, Records: other})
	f.ResetCalls()
	_, err := p.ReplaceRecordsIf(context.Background(), zone, u.Expect, u.Remove, u.Add)
	var ce *providers.ChangedError
	if !errors.Is(err, providers.ErrChanged) || !errors.As(err, &ce) || ce.Name != "@" || ce.Type != "TXT" {
		t.Fatalf("error %v, want ErrChanged at @ TXT", err)
	}
	if n := f.Calls("PATCH rrsets") + f.Calls("POST rrsets"); n != 0 {
		t.Errorf("%d writes sent", n)
	}
	if got := storedRecords(f, "", "TXT"); !slices.Equal(got, other) {
		t.Errorf("apex TXT now %q, want the other write", got)
	}
	if got := storedRecords(f, "_dmarc", "TXT"); len(got) != 1 || strings.Contains(got[0], "reject") {
		t.Errorf("_dmarc written: %q", got)
	}
	if got := storedRecords(f, "", "MX"); !slices.Equal(got, []string{"10 OldMX.Example.COM."}) {
		t.Errorf("MX written: %q", got)
	}
}

// RRsets expected absent are created by a bulk POST, which deSEC refuses
// whole when another writer created one of them between the backend's read
// and its write: ErrChanged, nothing of ours written, the other write kept.
func TestReplaceIfCreateRacesOtherWriter(t *testing.T) {
	f, p := newFake(t)
	expect := []providers.RRsetState{{Name: "_dmarc", Type: "TXT"}, {Name: "_smtp._tls", Type: "TXT"}}
	add := []libdns.Record{
		libdns.RR{Name: "_dmarc", Type: "TXT", TTL: time.Hour, Data: "v=DMARC1; p=reject"},
		libdns.RR{Name: "_smtp._tls", Type: "TXT", TTL: time.Hour, Data: "v=TLSRPTv1; rua=mailto:tls@example.com"},
	}
	f.BeforeWrite = func() {
		f.BeforeWrite = nil
		f.Put(zone, dsfake.RRset{Subname: "_dmarc", Type: "TXT", TTL: 3600, Records: []string{`"v=DMARC1; p=none"`}})
	}
	_, err := p.ReplaceRecordsIf(context.Background(), zone, expect, nil, add)
	var ce *providers.ChangedError
	if !errors.Is(err, providers.ErrChanged) || !errors.As(err, &ce) || ce.Name != "_dmarc" || !slices.Equal(ce.Have, []string{"v=DMARC1; p=none"}) {
		t.Fatalf("error %v, want ErrChanged at _dmarc holding the other write", err)
	}
	if f.Calls("POST rrsets") != 1 || f.Calls("PATCH rrsets") != 0 {
		t.Errorf("writes: POST %d, PATCH %d; want one POST", f.Calls("POST rrsets"), f.Calls("PATCH rrsets"))
	}
	if got := storedRecords(f, "_dmarc", "TXT"); !slices.Equal(got, []string{`"v=DMARC1; p=none"`}) {
		t.Errorf("_dmarc now %q, want the other write", got)
	}
	if got := storedRecords(f, "_smtp._tls", "TXT"); got != nil {
		t.Errorf("_smtp._tls created though the bulk write was refused: %q", got)
	}
	// Without the other writer the same call creates both.
	f.Put(zone, dsfake.RRset{Subname: "_dmarc", Type: "TXT"})
	if _, err := p.ReplaceRecordsIf(context.Background(), zone, expect, nil, add); err != nil {
		t.Fatal(err)
	}
	if got := storedRecords(f, "_dmarc", "TXT"); !slices.Equal(got, []string{`"v=DMARC1; p=reject"`}) {
		t.Errorf("_dmarc now %q", got)
	}
}
