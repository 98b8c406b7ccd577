package check

import (
	"cmp"
	"slices"
	"strings"

	"github.com/maildns/maildns/internal/canon"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/sync/plan"
)

// Finding kinds the scorecard reads from checks outside this file.
const (
	kindMTASTS = "mta_sts"
	kindTLSA   = "tlsa"
)

// verifiedLive are the requirements whose verdict rests on the live check
// itself: skipped (--offline), they are not shown to hold. SPF and DMARC
// are records in the zone; only their lookups are skipped.
var verifiedLive = map[string]bool{"ptr": true, "mta_sts": true, "dane": true}

// Scorecard judges one domain. env holds the zone as it now is (after
// applying, in the apply modes) and the compiled policy; findings are the
// run's findings of this domain. A requirement fails on an error or action
// finding of its kind, on a record missing or not as the policy wants, and
// when the live check it rests on was skipped (live checks off): what was
// not seen is not passed. A warning leaves it passing and is shown.
func Scorecard(env *Env, d *policy.Domain, findings []Finding) []plan.Requirement {
	return AppendScorecard(make([]plan.Requirement, 0, len(plan.Requirements)), env, d, findings)
}

// AppendScorecard appends Scorecard's lines (one per plan.Requirements)
// to out: the engine judges each domain into one array for the run.
func AppendScorecard(out []plan.Requirement, env *Env, d *policy.Domain, findings []Finding) []plan.Requirement {
	c := newMailCheck(env, d, "")
	add := func(name string, status plan.ComplianceStatus, finding string) {
		out = append(out, plan.Requirement{Domain: d.Domain, Requirement: plan.RequirementNamed(name), Status: status, Finding: finding})
	}
	// judge turns the findings of kinds into a verdict, given what the
	// records say (problem: why they fail, "" when they are fine).
	judge := func(name, problem string, kinds ...string) {
		var note string
		skipped := false
		for _, f := range findings {
			if !slices.Contains(kinds, f.Kind) {
				continue
			}
			// A report destination that accepts no reports (a dmarc
			// action) leaves the policy applied: shown, not failing.
			reportsOnly := f.Kind == KindDMARC && f.Severity == SevAction
			switch {
			case (f.Severity == SevError || f.Severity == SevAction) && !reportsOnly:
				add(name, plan.ComplianceFail, f.Message)
				return
			case f.Severity == SevInfo && f.Message == SkippedMessage:
				skipped = true
			case (reportsOnly || f.Severity == SevWarning) && note == "":
				note = f.Message
			}
		}
		switch {
		case problem != "":
			add(name, plan.ComplianceFail, problem)
		case skipped && verifiedLive[name]:
			add(name, plan.ComplianceFail, "not verified: live checks are off")
		case skipped && note == "":
			add(name, plan.CompliancePass, "lookups not followed: live checks are off")
		default:
			add(name, plan.CompliancePass, note)
		}
	}
	noMail := "a parked domain sends no mail"

	// SPF: one v=spf1 record at the domain.
	spf := 0
	for _, v := range c.liveValues("", "TXT") {
		if (&policy.RRset{Own: policy.OwnPrefix}).Owns(v) {
			spf++
		}
	}
	spfProblem := ""
	switch {
	case spf == 0:
		spfProblem = "no SPF record at " + c.fqdn("") + c.pending("spf")
	case spf > 1:
		spfProblem = "more than one SPF record at " + c.fqdn("")
	}
	judge("spf", spfProblem, KindSPF)

	// DKIM: a key published at a selector the policy signs with.
	dkimKeys := 0
	var selectors []string
	for _, k := range d.DKIM {
		if k.State != "" || k.Key == "" {
			continue
		}
		selectors = append(selectors, k.Selector)
		for _, v := range c.liveValues(k.Selector+"._domainkey", "TXT") {
			if p, err := c.env.parseDKIMKey(v); err == nil && !p.Revoked {
				dkimKeys++
				break
			}
		}
	}
	switch {
	case d.Parked:
		add("dkim", plan.ComplianceNotConfigured, noMail)
	case len(selectors) == 0:
		add("dkim", plan.ComplianceNotConfigured, "the policy names no active DKIM selector, so maildns cannot tell which one signs")
	case dkimKeys == 0:
		judge("dkim", "no DKIM key published at "+c.fqdn(selectors[0]+"._domainkey")+c.pending("dkim"), KindDKIM)
	default:
		judge("dkim", "", KindDKIM)
	}

	// DMARC: one record receivers apply, any policy.
	var dmarcRecs []string
	for _, v := range c.liveValues("_dmarc", "TXT") {
		if policy.IsDMARC(v) {
			dmarcRecs = append(dmarcRecs, v)
		}
	}
	dmarcProblem := ""
	var dmarc *policy.ParsedDMARC
	switch len(dmarcRecs) {
	case 0:
		dmarcProblem = "no DMARC record at " + c.fqdn("_dmarc") + c.pending("dmarc")
	case 1:
		p, err := c.env.parseDMARC(dmarcRecs[0])
		if err != nil {
			dmarcProblem = "the DMARC record at " + c.fqdn("_dmarc") + " is discarded by receivers: " + err.Error()
		}
		dmarc = p
	default:
		dmarcProblem = "more than one DMARC record at " + c.fqdn("_dmarc")
	}
	judge("dmarc", dmarcProblem, KindDMARC)

	// Alignment: DMARC passes only on SPF or DKIM of the From: domain
	// itself (relaxed: its organisational domain); both are judged above.
	switch {
	case d.Parked:
		add("dmarc_alignment", plan.ComplianceNotConfigured, noMail)
	case dmarc == nil:
		add("dmarc_alignment", plan.ComplianceFail, "no DMARC record to align to")
	case dkimKeys == 0 && spf != 1:
		add("dmarc_alignment", plan.ComplianceFail, "neither a DKIM key nor an SPF record is published under "+d.Domain+": its mail cannot align with From: "+d.Domain)
	default:
		// One string made for each domain's line, not its parts first.
		var b strings.Builder
		b.Grow(len("mail can align by DKIM d= (adkim=) and SPF of  (aspf=)") + 2*len(d.Domain) + len(dmarc.ADKIM) + len(dmarc.ASPF))
		b.WriteString("mail can align by ")
		if dkimKeys > 0 {
			b.WriteString("DKIM d=")
			b.WriteString(d.Domain)
			b.WriteString(" (adkim=")
			b.WriteString(dmarc.ADKIM)
			b.WriteString(")")
			if spf == 1 {
				b.WriteString(" and ")
			}
		}
		if spf == 1 {
			b.WriteString("SPF of ")
			b.WriteString(d.Domain)
			b.WriteString(" (aspf=")
			b.WriteString(dmarc.ASPF)
			b.WriteString(")")
		}
		add("dmarc_alignment", plan.CompliancePass, b.String())
	}

	// Forward-confirmed reverse DNS of every mail host address.
	switch {
	case d.Parked:
		add("ptr", plan.ComplianceNotConfigured, noMail)
	case d.PTR != nil && d.PTR.Mode == "off":
		add("ptr", plan.ComplianceNotConfigured, "ptr mode is off")
	case len(ptrTargets(d)) == 0:
		add("ptr", plan.ComplianceNotConfigured, "the policy lists no mail host address in "+d.Domain)
	default:
		judge("ptr", "", KindPTR)
	}

	// The standards: configured when the policy has the element.
	for _, s := range standards {
		sets := c.elementSets(s.element)
		if len(sets) == 0 {
			add(s.name, plan.ComplianceNotConfigured, s.absent)
			continue
		}
		problem := c.notLive(sets)
		if problem == "" && s.name == "bimi" {
			problem = bimiDMARCProblem(&c)
		}
		judge(s.name, problem, s.kind)
	}
	return out
}

// standards are the scorecard's lines of a policy element, and what a
// line says when the policy lacks it (one string for every domain).
var standards = []struct{ name, element, kind, absent string }{
	{"mta_sts", "mta_sts", kindMTASTS, "the policy has no mta_sts"},
	{"tls_rpt", "tls_rpt", KindTLSRPT, "the policy has no tls_rpt"},
	{"dane", "tlsa", kindTLSA, "no mail host in the policy has tlsa"},
	{"bimi", "bimi", KindBIMI, "the policy has no bimi"},
}

// pending says that the policy publishes element's record, which this run
// planned or wrote; "" when the policy has no such element.
func (c *mailCheck) pending(element string) string {
	if len(c.elementSets(element)) > 0 {
		return " (the policy publishes it: see the plan)"
	}
	return ""
}

// elementSets are the RRsets of the policy's element that publish values.
func (c *mailCheck) elementSets(element string) []policy.RRset {
	var out []policy.RRset
	for _, s := range c.env.Desired {
		if s.Element.String() == element && !s.Absent && len(s.Values) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// notLive says which of sets, in the domain's zone, lacks a value the
// policy wants; "" when all are live.
func (c *mailCheck) notLive(sets []policy.RRset) string {
	for _, s := range sets {
		if !strings.EqualFold(cmp.Or(s.Zone, c.zone), c.zone) {
			continue // another zone: its own plan says
		}
		name := canon.AbsoluteName(s.Name, c.zone)
		live := c.liveAt(name, s.Type)
		for _, v := range s.Values {
			if !slices.Contains(live, v) {
				return s.Type + " " + name + " is not published as the policy wants (see the plan)"
			}
		}
	}
	return ""
}

// liveAt returns the values of type typ at the fully qualified name in the
// zone as read this run.
func (c *mailCheck) liveAt(fqdn, typ string) []string {
	dom := c.fqdn("")
	switch {
	case strings.EqualFold(fqdn, dom):
		return c.liveValues("", typ)
	case len(fqdn) > len(dom) && strings.EqualFold(fqdn[len(fqdn)-len(dom)-1:], "."+dom):
		return c.liveValues(fqdn[:len(fqdn)-len(dom)-1], typ)
	}
	return c.env.Values(canon.RelativeName(fqdn, c.zone), typ)
}
