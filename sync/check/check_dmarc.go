package check

import (
	"context"
	"slices"
	"sort"
	"strings"

	"github.com/maildns/maildns/policy"
	"golang.org/x/net/publicsuffix"
)

// CheckDMARC checks the domain's DMARC record (RFC 7489). Without lookups:
// more than one DMARC record at _dmarc (error: receivers apply none), a
// TXT there that starts like one but is not (error), the syntax of the
// desired and the live record (error when receivers discard it, and for
// what they apply otherwise than written: a policy read as p=none, a value
// replaced by its default; warnings for what is merely ignored), a record
// with whitespace before "v=DMARC1" (error: receivers discard it). With lookups: each rua/ruf destination in
// another organisational domain must authorise the reports with a TXT
// "v=DMARC1" at <domain>._report._dmarc.<destination> (RFC 7489 §7.1):
// missing is an action finding naming that record; a failed lookup a
// warning.
func CheckDMARC(ctx context.Context, env *Env, d *policy.Domain) []Finding {
	c := newMailCheck(env, d, KindDMARC)
	// The record's name, for a finding's message: made only for one.
	name := func() string { return c.fqdn("_dmarc") }
	var live []string
	for _, v := range c.liveValues("_dmarc", "TXT") {
		switch {
		case policy.IsDMARC(v):
			live = append(live, v)
		case strings.TrimLeft(v, " \t") != v && policy.IsDMARC(strings.TrimLeft(v, " \t")):
			c.add(SevError, SubjectLive, "TXT %q at %s starts with whitespace: receivers discard a record that does not start with \"v=DMARC1\", so the domain has no DMARC policy (RFC 7489 §6.6.3)", v, name())
		case strings.HasPrefix(strings.ToLower(strings.TrimSpace(v)), "v=dmarc"):
			c.add(SevError, SubjectLive, "TXT %q at %s is not a DMARC record: it must start with exactly \"v=DMARC1\" (RFC 7489 §6.3)", v, name())
		}
	}
	if len(live) > 1 {
		c.add(SevError, SubjectLive, "%d DMARC records at %s: receivers apply no DMARC policy at all (RFC 7489 §6.6.3): %s", len(live), name(), quoteJoin(live))
	}
	desired, haveDesired := c.desiredValue("dmarc", "_dmarc", "TXT", nil)
	type rec struct{ subject, text string }
	var recs []rec
	if haveDesired {
		recs = append(recs, rec{SubjectDesired, desired})
	}
	for _, v := range live {
		if !haveDesired || v != desired {
			recs = append(recs, rec{SubjectLive, v})
		}
	}
	dests := map[string][]string{} // destination domain -> URIs
	for _, r := range recs {
		p, err := env.parseDMARC(r.text)
		if err != nil {
			c.add(SevError, r.subject, "DMARC record %q at %s is invalid: %v", r.text, name(), err)
			continue
		}
		for _, e := range p.Errors {
			c.add(SevError, r.subject, "DMARC record at %s: %s", name(), e)
		}
		for _, w := range p.Warnings {
			c.add(SevWarning, r.subject, "DMARC record at %s: %s", name(), w)
		}
		for _, uris := range [2][]policy.DMARCURI{p.RUA, p.RUF} {
			for _, u := range uris {
				dest := u.Domain()
				if dest == "" || !externalDestination(d.Domain, dest) {
					continue
				}
				if !slices.Contains(dests[dest], u.URI) {
					dests[dest] = append(dests[dest], u.URI)
				}
			}
		}
	}
	if len(dests) == 0 {
		return c.out
	}
	if !env.Live || env.Resolver == nil {
		c.add(SevInfo, "", SkippedMessage)
		return c.out
	}
	names := make([]string, 0, len(dests))
	for dest := range dests {
		names = append(names, dest)
	}
	sort.Strings(names)
	for _, dest := range names {
		auth := d.Domain + "._report._dmarc." + dest + "."
		ans, err := env.Resolver.Lookup(ctx, auth, "TXT")
		if err != nil {
			c.add(SevWarning, dest, "could not verify that %s accepts DMARC reports for %s (TXT %s): %v", dest, d.Domain, auth, err)
			continue
		}
		ok := false
		for _, r := range ans.Records {
			if r.Type == "TXT" && policy.IsDMARC(r.Data) {
				ok = true
			}
		}
		if !ok {
			c.add(SevAction, dest, "%s does not accept DMARC reports for %s, so receivers send none to %s: %s must publish TXT %s \"v=DMARC1\" (RFC 7489 §7.1)",
				dest, d.Domain, strings.Join(dests[dest], ", "), dest, auth)
		}
	}
	return c.out
}

// externalDestination reports whether reports for domain sent to dest
// cross an organisational boundary (RFC 7489 §7.1): dest is not domain or
// below it, and their registered domains (public suffix plus one) differ.
func externalDestination(domain, dest string) bool {
	domain, dest = strings.ToLower(domain), strings.ToLower(dest)
	if dest == domain || strings.HasSuffix(dest, "."+domain) {
		return false
	}
	a, errA := publicsuffix.EffectiveTLDPlusOne(domain)
	b, errB := publicsuffix.EffectiveTLDPlusOne(dest)
	if errA != nil || errB != nil {
		return true
	}
	return a != b
}
