package zonefile

import (
	"testing"

	"github.com/libdns/libdns"
)

// TestEntryNameIsKeyName: an entry's name, known before its canonical forms
// are worked out, is the name of its key, for records of every type and
// owners in any case (an SRV's key name is made from its labels).
func TestEntryNameIsKeyName(t *testing.T) {
	text := `$ORIGIN Example.COM.
$TTL 3600
@ IN SOA ns1 hostmaster 1 7200 3600 1209600 3600
@ IN NS ns1
Mail IN A 192.0.2.25
MAIL.example.com. IN AAAA 2001:db8::25
@ IN MX 10 Mail
_DMARC IN TXT "v=DMARC1; p=reject"
*.Wild IN TXT "x"
www IN CNAME Target.example.net.
25.2.0.192.in-addr IN PTR mail
@ IN SPF "v=spf1 -all"
_25._TCP.mail IN TLSA 3 1 1 ABCDEF0123
@ IN CAA 0 issue "letsencrypt.org"
_Sip._TCP IN SRV 10 5 5060 sip
_sip._tcp.Sub IN SRV 10 5 5060 sip
nolabels IN SRV 10 5 5060 sip
_x IN SRV 1 1 1 .
@ IN HTTPS 1 . alpn=h2
svc IN SVCB 0 target.example.net.
host IN SSHFP 1 1 123456789ABCDEF67890123456789ABCDEF67890
sub IN DS 60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118
naptr IN NAPTR 100 10 "u" "E2U+sip" "!^.*$!sip:info@example.com!" .
loc IN LOC 52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m
hinfo IN HINFO "PC" "Linux"
odd IN TYPE65534 \# 3 010203
`
	rrs, ok := libraryZone([]byte(text), "example.com.")
	if !ok || len(rrs) < 20 {
		t.Fatalf("the test zone did not parse (%d records)", len(rrs))
	}
	for i := range fastZoneCases {
		if more, ok := libraryZone([]byte(fastZoneCases[i]), "example.com."); ok {
			rrs = append(rrs, more...)
		}
	}
	for _, origin := range []string{"example.com.", "com."} {
		for _, rr := range rrs {
			e := newEntry(0, rr, origin)
			want := toLibdns(rr, origin).RR()
			if e.name != want.Name {
				t.Errorf("%s (zone %s): entry name %q, key name %q", rr, origin, e.name, want.Name)
			}
			z := &zoneData{origin: origin, rrs: rrs, readKeys: make([]libdns.RR, 1)}
			if got := z.full(&e).key; got != want {
				t.Errorf("%s: worked out %v, want %v", rr, got, want)
			}
		}
	}
}
