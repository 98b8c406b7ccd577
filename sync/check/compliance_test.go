package check

import (
	"context"
	"strings"
	"testing"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/internal/testdns"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/sync/plan"
)

// TestScorecardStandards: MTA-STS and DANE take their verdict from the
// findings of kinds mta_sts and tlsa and from the records the policy
// compiles; not configured without such an element.
func TestScorecardStandards(t *testing.T) {
	d := &policy.Domain{Domain: "example.com", Zone: "example.com"}
	sts := maSet("mta_sts", "_mta-sts", "TXT", "v=STSv1; id=abc")
	tlsa := maSet("tlsa", "_25._tcp.mail", "TLSA", "3 1 1 aabb")
	live := []libdns.RR{maTXT("_mta-sts", "v=STSv1; id=abc"), {Name: "_25._tcp.mail", Type: "TLSA", Data: "3 1 1 aabb"}}
	status := func(reqs []plan.Requirement, name string) (plan.ComplianceStatus, string) {
		for _, r := range reqs {
			if r.Requirement.String() == name {
				return r.Status, r.Finding
			}
		}
		t.Fatalf("no requirement %s in %v", name, reqs)
		return 0, ""
	}
	cases := []struct {
		name           string
		desired        []policy.RRset
		zone           []libdns.RR
		findings       []Finding
		mtasts, dane   plan.ComplianceStatus
		mtastsF, daneF string // finding substrings
	}{
		{"not configured", nil, live, nil, plan.ComplianceNotConfigured, plan.ComplianceNotConfigured, "no mta_sts", "no mail host"},
		{"both pass", []policy.RRset{sts, tlsa}, live, nil, plan.CompliancePass, plan.CompliancePass, "", ""},
		{"errors fail", []policy.RRset{sts, tlsa}, live, []Finding{
			{Severity: SevError, Kind: "mta_sts", Domain: "example.com", Message: "the served policy is stale"},
			{Severity: SevError, Kind: "tlsa", Domain: "example.com", Message: "the zone is not signed"},
		}, plan.ComplianceFail, plan.ComplianceFail, "stale", "not signed"},
		{"a warning passes, shown", []policy.RRset{sts, tlsa}, live, []Finding{
			{Severity: SevWarning, Kind: "mta_sts", Domain: "example.com", Message: "could not verify https://mta-sts.example.com/"},
			{Severity: SevInfo, Kind: "tlsa", Domain: "example.com", Message: SkippedMessage},
		}, plan.CompliancePass, plan.ComplianceFail, "could not verify", "not verified: live checks are off"},
		{"not published yet", []policy.RRset{sts, tlsa}, nil, nil, plan.ComplianceFail, plan.ComplianceFail, "_mta-sts.example.com. is not published", "_25._tcp.mail.example.com. is not published"},
	}
	for _, c := range cases {
		env := &Env{Zone: c.zone, Desired: c.desired}
		reqs := Scorecard(env, d, c.findings)
		if len(reqs) != len(plan.Requirements) {
			t.Errorf("%s: %d requirements", c.name, len(reqs))
		}
		for _, x := range []struct {
			req  string
			want plan.ComplianceStatus
			sub  string
		}{{"mta_sts", c.mtasts, c.mtastsF}, {"dane", c.dane, c.daneF}} {
			st, f := status(reqs, x.req)
			if st != x.want || !strings.Contains(f, x.sub) {
				t.Errorf("%s: %s = %s %q, want %s with %q", c.name, x.req, st, f, x.want, x.sub)
			}
		}
	}
}

// TestScorecardDMARC: a record receivers apply otherwise than written
// fails (the check's error); a report destination that does not accept
// reports is shown but leaves DMARC passing; two records fail.
func TestScorecardDMARC(t *testing.T) {
	d := &policy.Domain{Domain: "example.com", Zone: "example.com"}
	cases := []struct {
		name    string
		status  plan.ComplianceStatus
		finding string
		zone    []libdns.RR
	}{
		{"fallback to p=none", plan.ComplianceFail, "receivers act as if the record said p=none",
			[]libdns.RR{maTXT("_dmarc", "v=DMARC1; rua=mailto:d@example.com")}},
		{"leading whitespace", plan.ComplianceFail, "starts with whitespace: receivers discard",
			[]libdns.RR{maTXT("_dmarc", " v=DMARC1; p=reject")}},
		{"two records", plan.ComplianceFail, "2 DMARC records",
			[]libdns.RR{maTXT("_dmarc", "v=DMARC1; p=reject"), maTXT("_dmarc", "v=DMARC1; p=none")}},
		{"reports not accepted", plan.CompliancePass, "does not accept DMARC reports",
			[]libdns.RR{maTXT("_dmarc", "v=DMARC1; p=none; rua=mailto:d@reports.example.net")}},
	}
	srv := testdns.Start(t)
	for _, c := range cases {
		env := maEnv(srv, maTest{zone: c.zone, live: true})
		findings := CheckDMARC(context.Background(), env, d)
		for _, r := range Scorecard(env, d, findings) {
			if r.Requirement.String() == "dmarc" && (r.Status != c.status || !strings.Contains(r.Finding, c.finding)) {
				t.Errorf("%s: dmarc %s %q, want %s with %q", c.name, r.Status, r.Finding, c.status, c.finding)
			}
		}
	}
}

// TestScorecardSkipped: with live checks off, SPF and DMARC (records in the
// zone) still pass with a note; PTR, which rests on its lookups, fails.
func TestScorecardSkipped(t *testing.T) {
	d := &policy.Domain{Domain: "example.com", Zone: "example.com",
		MailHosts: []policy.MailHost{{Name: "mail", IPv4: []string{"192.0.2.1"}}}}
	env := &Env{Zone: []libdns.RR{maTXT("@", "v=spf1 include:_spf.example.net -all"), maTXT("_dmarc", "v=DMARC1; p=reject")}}
	skip := func(kind string) Finding {
		return Finding{Severity: SevInfo, Kind: kind, Domain: "example.com", Message: SkippedMessage}
	}
	want := map[string]string{
		"spf":   "pass lookups not followed: live checks are off",
		"dmarc": "pass lookups not followed: live checks are off",
		"ptr":   "fail not verified: live checks are off",
	}
	for _, r := range Scorecard(env, d, []Finding{skip(KindSPF), skip(KindDMARC), skip(KindPTR)}) {
		if w, ok := want[r.Requirement.String()]; ok && r.Status.String()+" "+r.Finding != w {
			t.Errorf("%s = %s %q, want %s", r.Requirement, r.Status, r.Finding, w)
		}
	}
}
