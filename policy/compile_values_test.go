package policy

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// The record builders as they were written first, plainly: the faster
// ones must give the same text.
func refSPFRecord(d *Domain) string {
	s := d.SPF
	parts := []string{"v=spf1"}
	seen := map[string]bool{}
	if s.MailHosts {
		for _, h := range d.MailHosts {
			for _, a := range h.IPv4 {
				if t := "ip4:" + a; !seen[t] {
					seen[t] = true
					parts = append(parts, t)
				}
			}
			for _, a := range h.IPv6 {
				if t := "ip6:" + a; !seen[t] {
					seen[t] = true
					parts = append(parts, t)
				}
			}
		}
	}
	parts = append(parts, s.Mechanisms...)
	parts = append(parts, allQualifier[s.All])
	return strings.Join(parts, " ")
}

func refDMARCRecord(m *DMARC) string {
	parts := []string{"v=DMARC1", "p=" + m.Policy}
	if m.SubdomainPolicy != "" {
		parts = append(parts, "sp="+m.SubdomainPolicy)
	}
	if m.ADKIM == "strict" {
		parts = append(parts, "adkim=s")
	}
	if m.ASPF == "strict" {
		parts = append(parts, "aspf=s")
	}
	if m.Percent != 100 {
		parts = append(parts, "pct="+strconv.Itoa(int(m.Percent)))
	}
	if len(m.RUA) > 0 {
		parts = append(parts, "rua="+strings.Join(m.RUA, ","))
	}
	if len(m.RUF) > 0 {
		parts = append(parts, "ruf="+strings.Join(m.RUF, ","))
	}
	if m.FO != "" {
		parts = append(parts, "fo="+m.FO)
	}
	if m.RI > 0 {
		parts = append(parts, "ri="+strconv.Itoa(int(m.RI)))
	}
	return strings.Join(parts, "; ")
}

func TestRecordBuildersAsWritten(t *testing.T) {
	var many []MailHost
	for i := range 40 {
		// Addresses repeat across hosts: each is published once.
		many = append(many, MailHost{Name: fmt.Sprintf("m%d", i),
			IPv4: []string{fmt.Sprintf("192.0.2.%d", i%7), "198.51.100.1"},
			IPv6: []string{fmt.Sprintf("2001:db8::%d", i%5)}})
	}
	for i, d := range []*Domain{
		{SPF: &SPF{MailHosts: true, All: "fail"}, MailHosts: many[:1]},
		{SPF: &SPF{MailHosts: true, All: "softfail", Mechanisms: []string{"include:_spf.example", "mx"}}, MailHosts: many[:3]},
		{SPF: &SPF{MailHosts: true, All: "neutral"}, MailHosts: many[:17]},
		{SPF: &SPF{MailHosts: true, All: ""}, MailHosts: many},
		{SPF: &SPF{MailHosts: false, All: "fail", Mechanisms: []string{"a"}}, MailHosts: many},
		{SPF: &SPF{MailHosts: true, All: "fail"}},
	} {
		if got, want := SPFRecord(d), refSPFRecord(d); got != want {
			t.Errorf("spf %d: %q, want %q", i, got, want)
		}
	}
	for i, m := range []*DMARC{
		{Policy: "reject", Percent: 100},
		{Policy: "none", SubdomainPolicy: "quarantine", ADKIM: "strict", ASPF: "strict", Percent: 0,
			RUA: []string{"mailto:a@x.example", "mailto:b@y.example!10m"}, RUF: []string{"mailto:f@x.example"}, FO: "1:d", RI: 3600},
		{Policy: "quarantine", ADKIM: "relaxed", Percent: 50, RUF: []string{"mailto:f@x.example"}},
	} {
		if got, want := DMARCRecord(m), refDMARCRecord(m); got != want {
			t.Errorf("dmarc %d: %q, want %q", i, got, want)
		}
	}
	a := &strArena{} // as a load makes them, and on their own
	for _, h := range []string{"mail", "Mail", "@", "", ".", "mx.other.example.", "MX.Example.COM.", "a.b"} {
		for _, prio := range []int{0, 10, 65535} {
			want := strconv.Itoa(prio) + " " + mxTarget(h, "example.com")
			for _, in := range []*strArena{nil, a} {
				if got := mxValueIn(in, prio, h, "example.com"); got != want {
					t.Errorf("mx %d %q (arena %t): %q, want %q", prio, h, in != nil, got, want)
				}
			}
		}
		for _, dom := range []string{"example.com", "b", ""} {
			mh := MailHost{Name: h}
			f := strings.TrimSuffix(mh.FQDN(dom), ".")
			if got, want := mh.Outside(dom), f != dom && !strings.HasSuffix(f, "."+dom); got != want {
				t.Errorf("outside %q of %q: %v, want %v", h, dom, got, want)
			}
		}
	}
}
