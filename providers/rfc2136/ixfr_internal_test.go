package rfc2136

import (
	"errors"
	"slices"
	"testing"

	"github.com/miekg/dns"
)

func rrs(t *testing.T, lines ...string) []dns.RR {
	t.Helper()
	var out []dns.RR
	for _, l := range lines {
		rr, err := dns.NewRR(l)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rr)
	}
	return out
}

func soaAt(t *testing.T, serial string) string {
	return "example.com. 300 IN SOA ns.example.com. h.example.com. " + serial + " 3600 600 86400 300"
}

func TestApplyDiffs(t *testing.T) {
	zone := []string{
		`example.com. 300 IN NS ns.example.com.`,
		`example.com. 300 IN TXT "v=spf1 a " "~all"`,
		`example.com. 300 IN TXT "A"`,
		`example.com. 300 IN TXT "a"`,
		`Mail.example.com. 300 IN A 192.0.2.25`,
		`example.com. 300 IN MX 10 Mail.Example.COM.`,
	}
	tests := []struct {
		name    string
		diffs   []string
		to      string
		want    []string // canonical strings, sorted
		chained bool
	}{
		{
			name: "two differences, deletes by value in another case and TTL",
			to:   "3",
			diffs: []string{
				soaAt(t, "1"), `example.com. 60 IN TXT "a"`, `MAIL.EXAMPLE.COM. 300 IN A 192.0.2.25`,
				soaAt(t, "2"), `mail.example.com. 300 IN A 192.0.2.26`,
				soaAt(t, "2"), `example.com. 300 IN MX 10 mail.example.com.`,
				soaAt(t, "3"), `example.com. 300 IN MX 20 mail.example.com.`, `example.com. 900 IN TXT "A"`,
				soaAt(t, "3"),
			},
			want: []string{
				`example.com.	300	IN	NS	ns.example.com.`,
				`example.com.	300	IN	TXT	"v=spf1 a " "~all"`,
				`example.com.	900	IN	TXT	"A"`,
				`example.com.	300	IN	MX	20 mail.example.com.`,
				`mail.example.com.	300	IN	A	192.0.2.26`,
			},
			chained: true,
		},
		{
			name:  "a delete the copy does not hold (TXT strings differ)",
			to:    "2",
			diffs: []string{soaAt(t, "1"), `example.com. 300 IN TXT "v=spf1 a ~all"`, soaAt(t, "2"), soaAt(t, "2")},
		},
		{
			name:  "differences from another serial",
			to:    "3",
			diffs: []string{soaAt(t, "2"), soaAt(t, "3"), soaAt(t, "3")},
		},
		{
			name:  "differences that stop short",
			to:    "3",
			diffs: []string{soaAt(t, "1"), soaAt(t, "2"), soaAt(t, "3")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var to uint32
			if tt.to == "2" {
				to = 2
			} else {
				to = 3
			}
			got, err := applyDiffs(rrs(t, zone...), 1, to, rrs(t, tt.diffs...))
			if !tt.chained {
				if !errors.Is(err, errNotChained) {
					t.Errorf("err = %v, want errNotChained", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var have []string
			for _, rr := range got {
				have = append(have, rr.String())
			}
			want := slices.Clone(tt.want)
			for i, w := range want {
				want[i] = rrs(t, w)[0].String()
			}
			slices.Sort(have)
			slices.Sort(want)
			if !slices.Equal(have, want) {
				t.Errorf("got\n%q\nwant\n%q", have, want)
			}
		})
	}
}

func TestBaseRoundTrip(t *testing.T) {
	old := ixfrMinRecords
	ixfrMinRecords = 2
	t.Cleanup(func() { ixfrMinRecords = old })
	in := rrs(t, `example.com. 300 IN TXT "x" "y"`, `a.example.com. 60 IN A 192.0.2.1`, `u.example.com. 300 IN TYPE65534 \# 3 010203`)
	b := newBase(7, in)
	if b == nil || b.serial != 7 {
		t.Fatalf("newBase = %+v", b)
	}
	out, err := b.records()
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("%d records back, %d in", len(out), len(in))
	}
	for i := range in {
		if !dns.IsDuplicate(in[i], out[i]) || in[i].Header().Ttl != out[i].Header().Ttl {
			t.Errorf("record %d: %s back as %s", i, in[i], out[i])
		}
	}
	if newBase(7, in[:1]) != nil {
		t.Error("a zone under ixfrMinRecords is kept")
	}
	if !serialNewer(1, 0xffffffff) || serialNewer(5, 5) || serialNewer(4, 5) {
		t.Error("serialNewer does not follow RFC 1982")
	}
}
