package check

import (
	"context"
	"strconv"
	"strings"

	"github.com/maildns/maildns/policy"
)

// Finding kinds of TLS reporting and BIMI.
const (
	KindTLSRPT = "tls_rpt"
	KindBIMI   = "bimi"
)

// CheckTLSRPT checks the TLS-RPT record at _smtp._tls (RFC 8460 §3), from
// the zone read this run: more than one record (error: senders then
// assume the domain has no TLS-RPT), a TXT that starts like one but not
// exactly with "v=TLSRPTv1;" (error: senders discard it), the syntax of
// the desired and the live record (error), unknown fields (warning).
func CheckTLSRPT(ctx context.Context, env *Env, d *policy.Domain) []Finding {
	c := newMailCheck(env, d, KindTLSRPT)
	const prefix = "_smtp._tls"
	// The record's name, for a finding's message: made only for one.
	name := func() string { return c.fqdn(prefix) }
	var live []string
	for _, v := range c.liveValues(prefix, "TXT") {
		switch {
		case policy.IsTLSRPT(v):
			live = append(live, v)
		case strings.HasPrefix(strings.ToLower(strings.TrimSpace(v)), "v=tlsrpt"):
			c.add(SevError, SubjectLive, "TXT %q at %s is not a TLS-RPT record: it must begin with exactly \"v=TLSRPTv1;\", so senders ignore it (RFC 8460 §3)", v, name())
		}
	}
	if len(live) > 1 {
		c.add(SevError, SubjectLive, "%d TLS-RPT records at %s: senders then assume the domain has no TLS reporting (RFC 8460 §3): %s", len(live), name(), quoteJoin(live))
	}
	desired, haveDesired := c.desiredValue("tls_rpt", prefix, "TXT", nil)
	if haveDesired {
		if _, err := policy.ParseTLSRPT(desired); err != nil {
			c.add(SevError, SubjectDesired, "the TLS-RPT record the policy compiles for %s is invalid: %v", name(), err)
		}
	}
	for _, v := range live {
		if haveDesired && v == desired {
			continue
		}
		p, err := policy.ParseTLSRPT(v)
		if err != nil {
			c.add(SevError, SubjectLive, "the TLS-RPT record at %s is invalid, so senders send no reports: %v", name(), err)
			continue
		}
		for _, w := range p.Warnings {
			c.add(SevWarning, SubjectLive, "the TLS-RPT record at %s: %s", name(), w)
		}
	}
	return c.out
}

// CheckBIMI checks the policy's BIMI record at <selector>._bimi: the syntax
// of the desired and the live record (error; more than one: error), and
// that the domain's DMARC policy lets receivers show the logo at all: BIMI
// needs p=quarantine or p=reject with pct=100 (a warning otherwise: the
// record is right, the logo never shows).
func CheckBIMI(ctx context.Context, env *Env, d *policy.Domain) []Finding {
	b := d.BIMI
	if b == nil || b.State == "absent" {
		return nil
	}
	c := newMailCheck(env, d, KindBIMI)
	prefix := policy.BIMIName(b)
	name := c.fqdn(prefix)
	var live []string
	for _, v := range c.liveValues(prefix, "TXT") {
		if policy.IsBIMI(v) {
			live = append(live, v)
		}
	}
	if len(live) > 1 {
		c.add(SevError, SubjectLive, "%d BIMI records at %s: receivers show no logo: %s", len(live), name, quoteJoin(live))
	}
	desired, haveDesired := c.desiredValue("bimi", prefix, "TXT", nil)
	if haveDesired {
		if _, err := policy.ParseBIMI(desired); err != nil {
			c.add(SevError, SubjectDesired, "the BIMI record the policy compiles for %s is invalid: %v", name, err)
		}
	}
	for _, v := range live {
		if haveDesired && v == desired {
			continue
		}
		if _, err := policy.ParseBIMI(v); err != nil {
			c.add(SevError, SubjectLive, "the BIMI record at %s is invalid: %v", name, err)
		}
	}
	if msg := bimiDMARCProblem(&c); msg != "" {
		c.add(SevWarning, name, "%s", msg)
	}
	return c.out
}

// bimiDMARCProblem says why receivers would show no BIMI logo for the
// domain's DMARC policy, or "". It reads the live DMARC record, else the
// one the policy compiles.
func bimiDMARCProblem(c *mailCheck) string {
	var recs []string
	for _, v := range c.liveValues("_dmarc", "TXT") {
		if policy.IsDMARC(v) {
			recs = append(recs, v)
		}
	}
	if len(recs) == 0 {
		if v, ok := c.desiredValue("dmarc", "_dmarc", "TXT", nil); ok {
			recs = append(recs, v)
		}
	}
	dmarc := c.fqdn("_dmarc")
	if len(recs) != 1 {
		return "receivers show no BIMI logo: the domain has no single valid DMARC record at " + dmarc
	}
	p, err := c.env.parseDMARC(recs[0])
	switch {
	case err != nil:
		return "receivers show no BIMI logo: the DMARC record at " + dmarc + " is invalid"
	case p.Policy != "quarantine" && p.Policy != "reject":
		return "receivers show no BIMI logo: DMARC at " + dmarc + " is p=" + p.Policy + ", BIMI needs p=quarantine or p=reject"
	case p.Percent != 100:
		return "receivers show no BIMI logo: DMARC at " + dmarc + " has pct=" + strconv.Itoa(p.Percent) + ", BIMI needs pct=100"
	case p.SubdomainPolicy == "none":
		return "receivers show no BIMI logo: DMARC at " + dmarc + " has sp=none, BIMI needs every policy at quarantine or reject"
	}
	return ""
}
