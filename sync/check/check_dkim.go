package check

import (
	"context"

	"github.com/maildns/maildns/policy"
)

// CheckDKIM checks the DKIM key records of the policy's selectors (RFC 6376
// §3.6.1). It needs no lookups: the records are in the zone read this run.
// A key that differs from the policy's is drift the engine corrects, not a
// finding. Findings (subject: the selector's record name):
//   - the policy's RSA key under 2048 bits: warning (under 1024: error);
//   - a live record at an active selector that does not parse (bad tags,
//     v not first, missing p, a key that does not decode): error; its key
//     under 2048/1024 bits: warning/error; t=y (testing): warning;
//   - more than one TXT record at a selector: warning (verifiers pick one);
//   - a selector the policy retired or removed that still publishes a key:
//     warning.
func CheckDKIM(ctx context.Context, env *Env, d *policy.Domain) []Finding {
	c := newMailCheck(env, d, KindDKIM)
	for _, k := range d.DKIM {
		prefix := k.Selector + "._domainkey"
		// The record's name, for a finding: made only for one.
		subject := func() string { return c.fqdn(prefix) }
		live := c.liveValues(prefix, "TXT")
		if len(live) > 1 {
			c.add(SevWarning, subject(), "%d TXT records at %s: verifiers use one of them, not necessarily the right one", len(live), subject())
		}
		if k.State != "" {
			for _, v := range live {
				if p, err := c.env.parseDKIMKey(v); err == nil && !p.Revoked {
					c.add(SevWarning, subject(), "selector %s is %s in the policy but %s still publishes a key: mail signed with it still verifies", k.Selector, k.State, subject())
					break
				}
			}
			continue
		}
		if k.Key != "" {
			kt := k.KeyType
			if kt == "" {
				kt = "rsa"
			}
			if sev, msg := policy.DKIMKeyStrength(kt, k.KeyBits); sev != "" {
				c.add(sev, subject(), "the policy's key for selector %s: %s", k.Selector, msg)
			}
		}
		for _, v := range c.desiredValues("dkim", prefix, "TXT") {
			if _, err := c.env.parseDKIMKey(v); err != nil {
				c.add(SevError, subject(), "the DKIM record the policy compiles for %s is invalid: %v", subject(), err)
			}
		}
		for _, v := range live {
			p, err := c.env.parseDKIMKey(v)
			if err != nil {
				c.add(SevError, subject(), "the live DKIM record at %s is invalid, so signatures with selector %s fail: %v", subject(), k.Selector, err)
				continue
			}
			if p.Revoked {
				continue // the engine publishes the policy's key
			}
			if p.Key != k.Key { // the policy's own key is judged above
				if sev, msg := policy.DKIMKeyStrength(p.KeyType, p.Bits); sev != "" {
					c.add(sev, subject(), "the live key at %s: %s", subject(), msg)
				}
			}
			for _, w := range p.Warnings {
				c.add(SevWarning, subject(), "the live DKIM record at %s: %s", subject(), w)
			}
		}
	}
	return c.out
}
