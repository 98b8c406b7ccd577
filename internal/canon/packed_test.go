package canon

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libdns/libdns"
)

// sets is a Dict over a list of value lists, as the engine's compiled sets.
type sets [][]string

func (d sets) Ref(data string) (int, int, bool) {
	for i, vs := range d {
		if j := slices.Index(vs, data); j >= 0 {
			return i, j, true
		}
	}
	return 0, 0, false
}

func (d sets) Value(i, j int) string { return d[i][j] }

// Packed records come back as they were: every field, the order, odd
// TTLs, names and types repeated or not, empty and long data, any bytes,
// with or without a Dict.
func TestPackedRoundTrip(t *testing.T) {
	long := strings.Repeat("v=DKIM1; k=rsa; p=MIIBIjANBgkq", 40)
	dict := sets{{"x"}, {"192.0.2.1", long}}
	for _, rrs := range [][]libdns.RR{
		nil,
		{{Name: "@", Type: "TXT", TTL: time.Hour, Data: `"v=spf1 mx -all"`}},
		{
			{Name: "Mail", Type: "A", TTL: 0, Data: "192.0.2.1"},
			{Name: "Mail", Type: "AAAA", TTL: 0, Data: "2001:db8::1"},
			{Name: "s1._domainkey", Type: "TXT", TTL: 299 * time.Second, Data: long},
			{Name: "s1._domainkey", Type: "TXT", TTL: 299*time.Second + 1, Data: long},
			{Name: "", Type: "", TTL: -time.Second, Data: ""},
			{Name: "x\x00y", Type: "TYPE65534", TTL: 1<<62 + 7, Data: "\xff\x80 ünï"},
			{Name: "x\x00y", Type: "CERT", TTL: -1 << 63, Data: "x"},
			{Name: "@", Type: "MX", TTL: 1<<63 - 1, Data: "0 ."},
			{Name: "@", Type: "mx", TTL: 86400 * time.Second, Data: "0 ."},
		},
	} {
		for _, d := range []Dict{nil, dict} {
			p := Pack(rrs, d)
			got := p.Unpack()
			if len(rrs) == 0 && got != nil {
				t.Errorf("unpack of no records = %v", got)
			}
			if !slices.Equal(got, rrs) || p.Len() != len(rrs) {
				t.Errorf("Pack(%q).Unpack() = %q", rrs, got)
			}
			if again := p.Unpack(); len(again) > 0 && &again[0] == &got[0] {
				t.Error("unpack returned the same slice twice")
			}
		}
	}
}

// A value the Dict holds is kept as where it holds it, not copied.
func TestPackedSharesDictValues(t *testing.T) {
	long := strings.Repeat("k", 500)
	rrs := []libdns.RR{{Name: "s1._domainkey", Type: "TXT", TTL: time.Hour, Data: long}}
	with, without := Pack(rrs, sets{{long}}), Pack(rrs, nil)
	if len(with.s) > 20 || len(without.s) < 500 {
		t.Errorf("packed with the value in the Dict: %d bytes, without: %d", len(with.s), len(without.s))
	}
	if got := with.Unpack(); got[0].Data != long {
		t.Errorf("unpacked %q", got[0].Data)
	}
}

// Lookup and Values find a name and type in any case, in the zone's order.
func TestPackedLookup(t *testing.T) {
	rrs := []libdns.RR{
		{Name: "@", Type: "TXT", TTL: time.Hour, Data: "a"},
		{Name: "_dmarc", Type: "TXT", TTL: time.Hour, Data: "v=DMARC1; p=none"},
		{Name: "@", Type: "MX", TTL: time.Hour, Data: "10 mx."},
		{Name: "@", Type: "TXT", TTL: time.Hour, Data: "b"},
	}
	p := Pack(rrs, sets{{"b"}})
	if got := p.Values("@", "txt"); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Values(@, txt) = %q", got)
	}
	if got := p.Lookup("_DMARC", "TXT"); len(got) != 1 || got[0] != rrs[1] {
		t.Errorf("Lookup(_DMARC, TXT) = %q", got)
	}
	if got := p.Values("www", "A"); got != nil {
		t.Errorf("Values(www, A) = %q", got)
	}
}

// Values and Lookup answer as a scan of the records does, whatever the
// records: names repeated or not, in any case, types known and not, long
// bodies, values in the Dict or not.
func TestPackedLookupAsScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{"@", "www", "WWW", "_dmarc", "s1._domainkey", strings.Repeat("n", 130)}
	types := []string{"A", "TXT", "txt", "MX", "CERT", "TYPE65280", "SPF"}
	datas := []string{"", "x", "192.0.2.1", strings.Repeat("d", 127), strings.Repeat("e", 128), strings.Repeat("f", 300)}
	dict := sets{{"x", strings.Repeat("f", 300)}, {"192.0.2.1"}}
	for round := range 200 {
		rrs := make([]libdns.RR, rng.IntN(20))
		for i := range rrs {
			rrs[i] = libdns.RR{Name: names[rng.IntN(len(names))], Type: types[rng.IntN(len(types))],
				TTL: time.Duration(rng.IntN(3)) * time.Hour, Data: datas[rng.IntN(len(datas))]}
			if i > 0 && rng.IntN(3) == 0 {
				rrs[i].Name = rrs[i-1].Name
			}
		}
		for _, d := range []Dict{nil, dict} {
			p := Pack(rrs, d)
			for _, n := range names {
				for _, typ := range append(types, "aaaa") {
					var want []libdns.RR
					var wantData []string
					for _, r := range rrs {
						if strings.EqualFold(r.Type, typ) && strings.EqualFold(r.Name, n) {
							want = append(want, r)
							wantData = append(wantData, r.Data)
						}
					}
					if got := p.Lookup(n, typ); !slices.Equal(got, want) {
						t.Fatalf("round %d: Lookup(%q, %q) = %q, want %q", round, n, typ, got, want)
					}
					if got := p.Values(n, typ); !slices.Equal(got, wantData) {
						t.Fatalf("round %d: Values(%q, %q) = %q, want %q", round, n, typ, got, wantData)
					}
				}
			}
		}
	}
}
