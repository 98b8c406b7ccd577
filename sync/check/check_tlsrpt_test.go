package check

import (
	"context"
	"testing"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
)

func TestCheckTLSRPT(t *testing.T) {
	desired := func(v string) []policy.RRset { return []policy.RRset{maSet("tls_rpt", "_smtp._tls", "TXT", v)} }
	good := "v=TLSRPTv1; rua=mailto:tlsrpt@example.com"
	cases := []struct {
		name string
		tc   maTest
		want []maWant
	}{
		{"in sync", maTest{zone: []libdns.RR{maTXT("_smtp._tls", good)}, desired: desired(good)}, nil},
		{"none at all", maTest{}, nil},
		{"live only, https", maTest{zone: []libdns.RR{maTXT("_smtp._tls", "v=TLSRPTv1;rua=https://r.example.net/t;")}}, nil},
		{"two records", maTest{zone: []libdns.RR{maTXT("_smtp._tls", good), maTXT("_smtp._tls", "v=TLSRPTv1; rua=mailto:other@example.com")}, desired: desired(good)}, []maWant{
			{SevError, SubjectLive, "2 TLS-RPT records at _smtp._tls.example.com.: senders then assume the domain has no TLS reporting"}}},
		{"version case", maTest{zone: []libdns.RR{maTXT("_smtp._tls", "v=tlsrptv1; rua=mailto:t@example.com")}}, []maWant{
			{SevError, SubjectLive, `is not a TLS-RPT record: it must begin with exactly "v=TLSRPTv1;"`}}},
		{"leading space", maTest{zone: []libdns.RR{maTXT("_smtp._tls", " v=TLSRPTv1; rua=mailto:t@example.com")}}, []maWant{
			{SevError, SubjectLive, "is not a TLS-RPT record"}}},
		{"bad scheme", maTest{zone: []libdns.RR{maTXT("_smtp._tls", "v=TLSRPTv1; rua=ftp://r.example.net/")}}, []maWant{
			{SevError, SubjectLive, `"ftp://r.example.net/" is not a mailto: or https: URI`}}},
		{"no rua", maTest{zone: []libdns.RR{maTXT("_smtp._tls", "v=TLSRPTv1; ruf=mailto:t@example.com")}}, []maWant{
			{SevError, SubjectLive, "rua is missing"}}},
		{"extension", maTest{zone: []libdns.RR{maTXT("_smtp._tls", good+"; x-ext=1")}}, []maWant{
			{SevWarning, SubjectLive, `unknown field "x-ext" is ignored`}}},
		{"a foreign TXT beside it", maTest{zone: []libdns.RR{maTXT("_smtp._tls", good), maTXT("_smtp._tls", "some-verification=abc")}, desired: desired(good)}, nil},
	}
	for _, c := range cases {
		got := CheckTLSRPT(context.Background(), maEnv(nil, c.tc), maDomain())
		maCheck(t, c.name, got, c.want)
	}
}

func TestCheckBIMI(t *testing.T) {
	rec := "v=BIMI1; l=https://example.com/logo.svg; a=https://example.com/vmc.pem"
	dom := func() *policy.Domain {
		d := maDomain()
		d.BIMI = &policy.BIMI{Selector: "default", Logo: "https://example.com/logo.svg", Authority: "https://example.com/vmc.pem"}
		return d
	}
	sets := func(dmarc string) []policy.RRset {
		out := []policy.RRset{maSet("bimi", "default._bimi", "TXT", rec)}
		if dmarc != "" {
			out = append(out, maSet("dmarc", "_dmarc", "TXT", dmarc))
		}
		return out
	}
	cases := []struct {
		name string
		tc   maTest
		want []maWant
	}{
		{"enforced", maTest{zone: []libdns.RR{maTXT("default._bimi", rec), maTXT("_dmarc", "v=DMARC1; p=reject")}, desired: sets("v=DMARC1; p=reject")}, nil},
		{"quarantine from the policy", maTest{desired: sets("v=DMARC1; p=quarantine")}, nil},
		{"p=none", maTest{zone: []libdns.RR{maTXT("_dmarc", "v=DMARC1; p=none; rua=mailto:d@example.com")}, desired: sets("")}, []maWant{
			{SevWarning, "default._bimi.example.com.", "receivers show no BIMI logo: DMARC at _dmarc.example.com. is p=none"}}},
		{"pct 50", maTest{zone: []libdns.RR{maTXT("_dmarc", "v=DMARC1; p=reject; pct=50")}, desired: sets("")}, []maWant{
			{SevWarning, "default._bimi.example.com.", "has pct=50, BIMI needs pct=100"}}},
		{"live beats desired", maTest{zone: []libdns.RR{maTXT("_dmarc", "v=DMARC1; p=quarantine; sp=none")}, desired: sets("v=DMARC1; p=reject")}, []maWant{
			{SevWarning, "default._bimi.example.com.", "has sp=none"}}},
		{"no DMARC", maTest{desired: sets("")}, []maWant{
			{SevWarning, "default._bimi.example.com.", "no single valid DMARC record"}}},
		{"live record invalid", maTest{zone: []libdns.RR{maTXT("default._bimi", "v=BIMI1; l=http://example.com/logo.svg"), maTXT("_dmarc", "v=DMARC1; p=reject")}, desired: sets("")}, []maWant{
			{SevError, SubjectLive, "is not an https: URL"}}},
		{"two live records", maTest{zone: []libdns.RR{maTXT("default._bimi", rec), maTXT("default._bimi", "v=BIMI1; l=https://example.com/b.svg"), maTXT("_dmarc", "v=DMARC1; p=reject")}, desired: sets("")}, []maWant{
			{SevError, SubjectLive, "2 BIMI records"}}},
	}
	for _, c := range cases {
		got := CheckBIMI(context.Background(), maEnv(nil, c.tc), dom())
		maCheck(t, c.name, got, c.want)
	}
	if got := CheckBIMI(context.Background(), maEnv(nil, maTest{}), maDomain()); got != nil {
		t.Errorf("no bimi element: %v", got)
	}
}
