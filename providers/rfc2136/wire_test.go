package rfc2136

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
	"github.com/miekg/dns"
)

func TestToRRTXT(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string // strings as package dns keeps them (escaped)
	}{
		{"plain", "v=spf1 -all", []string{"v=spf1 -all"}},
		{"quotes and backslash", `a"b\c`, []string{`a\"b\\c`}},
		{"control and UTF-8 bytes", "t\tcaf\u00e9", []string{`t\009caf\195\169`}},
		{"empty", "", []string{""}},
		{"exactly 255", strings.Repeat("x", 255), []string{strings.Repeat("x", 255)}},
		{"256 split by bytes", strings.Repeat("x", 256), []string{strings.Repeat("x", 255), "x"}},
		// The split counts bytes before escaping: a quote is one byte.
		{"escape after split", strings.Repeat(`"`, 256), []string{strings.Repeat(`\"`, 255), `\"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rr, err := toRR(libdns.RR{Name: "@", Type: "TXT", TTL: time.Hour, Data: tt.text}, "example.com.")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, rr.(*dns.TXT).Txt); diff != "" {
				t.Errorf("strings (-want +got):\n%s", diff)
			}
			// What we read back is the text again.
			back, err := fromRR(rr, "example.com.")
			if err != nil {
				t.Fatal(err)
			}
			if back.Data != tt.text || back.Name != "@" {
				t.Errorf("read back %q at %q, want %q at @", back.Data, back.Name, tt.text)
			}
		})
	}
}

func TestToRRTargets(t *testing.T) {
	tests := []struct {
		zone string
		rec  libdns.RR
		want string
	}{
		{"113.0.203.in-addr.arpa.", libdns.RR{Name: "25", Type: "PTR", TTL: time.Hour, Data: "mail.example.com"},
			"25.113.0.203.in-addr.arpa.\t3600\tIN\tPTR\tmail.example.com."},
		{"113.0.203.in-addr.arpa.", libdns.RR{Name: "25", Type: "PTR", TTL: time.Hour, Data: "Mail.Example.com."},
			"25.113.0.203.in-addr.arpa.\t3600\tIN\tPTR\tMail.Example.com."},
		{"example.com.", libdns.RR{Name: "@", Type: "MX", TTL: time.Hour, Data: "10 mail"},
			"example.com.\t3600\tIN\tMX\t10 mail.example.com."},
		{"example.com", libdns.RR{Name: "WWW", Type: "CNAME", TTL: time.Minute, Data: "@"},
			"www.example.com.\t60\tIN\tCNAME\texample.com."},
		{"example.com.", libdns.RR{Name: "v6", Type: "AAAA", TTL: time.Hour, Data: "2001:DB8::1"},
			"v6.example.com.\t3600\tIN\tAAAA\t2001:db8::1"},
	}
	for _, tt := range tests {
		rr, err := toRR(tt.rec, fqdnZone(tt.zone))
		if err != nil {
			t.Errorf("%v: %v", tt.rec, err)
			continue
		}
		if got := rr.String(); got != tt.want {
			t.Errorf("%v:\n got %q\nwant %q", tt.rec, got, tt.want)
		}
	}
}
