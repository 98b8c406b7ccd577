package sync

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/providers"
)

// DefaultMaxChanges is the per-zone change limit when the config sets none.
const DefaultMaxChanges = 10

// maxChanges is the per-zone change limit of cfg.
func maxChanges(cfg *policy.Config) int {
	if cfg == nil || cfg.Safety.MaxChanges <= 0 {
		return DefaultMaxChanges
	}
	return cfg.Safety.MaxChanges
}

// zoneLimitFindings applies max_changes to a provider zone as a whole: the
// changes of every domain's share (shares) together. Over the limit, each
// share with changes gets a finding (its index in shares) and, in the apply
// modes, the whole zone is refused.
func zoneLimitFindings(cfg *policy.Config, opts Options, apply bool, zone, provider string, shares []*ZonePlan) map[int]Finding {
	limit := maxChanges(cfg)
	total, domains := 0, 0
	for _, zp := range shares {
		total += len(zp.Changes)
		if len(zp.Changes) > 0 {
			domains++
		}
	}
	if opts.Force || total <= limit {
		return nil
	}
	of := ""
	if domains > 1 {
		of = fmt.Sprintf(" (%d domains together)", domains)
	}
	out := map[int]Finding{}
	for i, zp := range shares {
		if len(zp.Changes) == 0 {
			continue
		}
		f := Finding{Kind: "safety", Domain: zp.Domain, Subject: zone, Severity: SevWarning,
			Message: fmt.Sprintf("%d changes in zone %s at %s%s exceed max_changes (%d): a sync would refuse them without --force",
				total, zone, provider, of, limit)}
		if apply {
			f.Severity = SevError
			f.Message = fmt.Sprintf("refused %d changes in zone %s at %s%s: more than max_changes (%d), counted per provider zone; review the plan and run with --force to apply it",
				total, zone, provider, of, limit)
		}
		out[i] = f
	}
	return out
}

// changeFindings runs the rules of SPEC §6 that judge each change alone:
// records that cannot be served and weakening.
func changeFindings(cfg *policy.Config, opts Options, apply bool, d *policy.Domain, zp *ZonePlan) []Finding {
	var out []Finding
	for _, c := range zp.Changes {
		why := Unservable(c)
		if why == "" {
			continue
		}
		subject := c.Name + " " + c.Type
		f := Finding{Kind: "safety", Domain: zp.Domain, Subject: subject, Severity: SevWarning,
			Message: fmt.Sprintf("a sync would refuse to %s %s in zone %s at %s: %s", c.Action, subject, zp.Zone, zp.Provider, why)}
		if apply {
			f.Severity = SevError
			f.Message = fmt.Sprintf("refused to %s %s in zone %s at %s: %s", c.Action, subject, zp.Zone, zp.Provider, why)
		}
		out = append(out, f)
	}
	out = append(out, filesWeakening(cfg, opts, apply, d, zp)...) // MTA-STS mode going down
	if weakeningAllowed(cfg, opts, d) {
		return out
	}
	for _, c := range zp.Changes {
		why := Weakens(c)
		if why == "" {
			continue
		}
		subject := c.Name + " " + c.Type
		f := Finding{Kind: "safety", Domain: zp.Domain, Subject: subject}
		how := "set allow_weakening: true in the policy"
		if d != nil && d.Pos.File != "" {
			how += " (" + d.Pos.File + ")"
		}
		how += " or under safety: in maildns.yaml, or run with --allow-weakening"
		if apply {
			f.Severity = SevError
			f.Message = fmt.Sprintf("refused to %s %s in zone %s at %s: it %s; %s",
				c.Action, subject, zp.Zone, zp.Provider, why, how)
		} else {
			f.Severity = SevWarning
			f.Message = fmt.Sprintf("a sync would refuse to %s %s in zone %s at %s: it %s; %s",
				c.Action, subject, zp.Zone, zp.Provider, why, how)
		}
		out = append(out, f)
	}
	return out
}

// DNS message limits: an RDATA and a whole message are at most 65535 bytes.
const (
	maxRDATA   = 65535
	maxMessage = 65535
	// rrOverhead is the wire size of one record besides its RDATA: a
	// compressed owner name (2), type, class, TTL and RDLENGTH (10).
	rrOverhead = 12
	// msgOverhead is the header and a question of a long name.
	msgOverhead = 12 + 255 + 4
)

// Unservable says why the values a change writes could not be served in a
// DNS answer (a TXT value over 65535 bytes on the wire, or an RRset larger
// than a DNS message), or returns "". Such a record is never written, with
// --force or not: a name server would refuse it or fail to answer.
func Unservable(c Change) string {
	if len(c.After) == 0 {
		return ""
	}
	total := msgOverhead
	for _, v := range c.After {
		n := rdataSize(c.Type, v)
		if n > maxRDATA {
			return fmt.Sprintf("a value is %d bytes on the wire, over the %d an RDATA can hold (cannot be published)", n, maxRDATA)
		}
		total += rrOverhead + n
	}
	if total > maxMessage {
		return fmt.Sprintf("its %d values are %d bytes on the wire, over the %d a DNS message can hold (cannot be published)", len(c.After), total, maxMessage)
	}
	return ""
}

// rdataSize estimates the wire size of one value's RDATA: exact for TXT
// (255-byte strings, each with a length byte), A and AAAA, and the text's
// length plus two for the rest (names are at most as long as their text).
func rdataSize(typ, v string) int {
	switch strings.ToUpper(typ) {
	case "TXT", "SPF":
		n := len(v)/255 + len(v)
		if len(v)%255 != 0 || len(v) == 0 {
			n++
		}
		return n
	case "A":
		return 4
	case "AAAA":
		return 16
	}
	return len(v) + 2
}

// weakeningAllowed reports whether this run may weaken d's records: the
// --allow-weakening flag, else the policy's allow_weakening, else the
// config's.
func weakeningAllowed(cfg *policy.Config, opts Options, d *policy.Domain) bool {
	if opts.AllowWeakening {
		return true
	}
	if d != nil && d.AllowWeakening != nil {
		return *d.AllowWeakening
	}
	return cfg != nil && cfg.Safety.AllowWeakening
}

// Weakens says how a change weakens mail authentication ("lowers DMARC p=
// from reject to none"), or returns "" when it does not. Weakening is: a
// DMARC p=, sp= or pct= going down, the DMARC record removed, the SPF all
// going from fail (-all) to anything laxer, the SPF record removed, every MX
// removed. A DKIM key retired or deleted is not weakening (rotation).
func Weakens(c Change) string {
	switch strings.ToUpper(c.Type) {
	case "MX":
		if len(c.Before) > 0 && len(c.After) == 0 {
			return "removes every MX of " + c.Name
		}
		// A null MX ("0 .", by mx: [{host: "."}] or parked: true) in place
		// of real MX stops the domain receiving mail as surely.
		if realMX(c.Before) && !realMX(c.After) {
			return "replaces every MX of " + c.Name + " with a null MX (the domain stops receiving mail)"
		}
		return ""
	case "TLSA":
		if len(c.Before) > 0 && len(c.After) == 0 {
			return "removes every TLSA of " + c.Name + " (DANE senders fall back to unauthenticated TLS)"
		}
		return ""
	case "TXT":
	default:
		return ""
	}
	if why := dmarcWeakens(c.Before, c.After); why != "" {
		return why
	}
	return spfWeakens(c.Before, c.After)
}

// dmarcTags parses the DMARC records among vals: ok is false when there is none.
func dmarcTags(vals []string) (recs []map[string]string, ok bool) {
	for _, v := range vals {
		if !hasPrefixFold(strings.TrimSpace(v), "v=DMARC1") {
			continue
		}
		tags := map[string]string{}
		for _, part := range strings.Split(v, ";") {
			k, val, found := strings.Cut(part, "=")
			if !found {
				continue
			}
			tags[strings.ToLower(strings.TrimSpace(k))] = strings.ToLower(strings.TrimSpace(val))
		}
		recs = append(recs, tags)
	}
	return recs, len(recs) > 0
}

var dmarcRank = map[string]int{"none": 0, "quarantine": 1, "reject": 2}

// dmarcLevels returns the p, sp and pct levels of one DMARC record; an
// unknown policy ranks as none (receivers ignore such a record).
func dmarcLevels(t map[string]string) (p, sp, pct int) {
	p = dmarcRank[t["p"]]
	sp = p
	if v, ok := t["sp"]; ok {
		sp = dmarcRank[v]
	}
	pct = 100
	if v, ok := t["pct"]; ok {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 && n <= 100 {
			pct = n
		}
	}
	return p, sp, pct
}

var rankName = []string{"none", "quarantine", "reject"}

func dmarcWeakens(before, after []string) string {
	bs, ok := dmarcTags(before)
	if !ok {
		return ""
	}
	as, aok := dmarcTags(after)
	if !aok {
		return "removes the DMARC record"
	}
	// The strongest record before against the weakest after.
	var bp, bsp, bpct int
	for _, t := range bs {
		p, sp, pct := dmarcLevels(t)
		bp, bsp, bpct = max(bp, p), max(bsp, sp), max(bpct, pct)
	}
	ap, asp, apct := 2, 2, 100
	for _, t := range as {
		p, sp, pct := dmarcLevels(t)
		ap, asp, apct = min(ap, p), min(asp, sp), min(apct, pct)
	}
	switch {
	case ap < bp:
		return fmt.Sprintf("lowers the DMARC policy p= from %s to %s", rankName[bp], rankName[ap])
	case asp < bsp:
		return fmt.Sprintf("lowers the DMARC subdomain policy sp= from %s to %s", rankName[bsp], rankName[asp])
	case apct < bpct:
		return fmt.Sprintf("lowers the DMARC pct= from %d to %d", bpct, apct)
	}
	return ""
}

// spfAll returns the qualifier of an SPF record's all mechanism ('-', '~',
// '?', '+'), 'r' when it has none but a redirect= (decided elsewhere), or
// '?' when it has neither (the default result is neutral).
func spfAll(rec string) byte {
	redirect := false
	for _, term := range strings.Fields(strings.ToLower(rec)) {
		switch term {
		case "all", "+all":
			return '+'
		case "-all", "~all", "?all":
			return term[0]
		}
		if strings.HasPrefix(term, "redirect=") {
			redirect = true
		}
	}
	if redirect {
		return 'r'
	}
	return '?'
}

var spfAllName = map[byte]string{'-': "-all (fail)", '~': "~all (softfail)", '?': "?all (neutral) or no all", '+': "+all (pass)"}

// spfRank orders the SPF all qualifiers from the laxest (+all) to the
// strictest (-all).
var spfRank = map[byte]int{'+': 0, '?': 1, '~': 2, '-': 3}

func spfWeakens(before, after []string) string {
	var bs, as []string
	for _, v := range before {
		if hasPrefixFold(v, "v=spf1") {
			bs = append(bs, v)
		}
	}
	for _, v := range after {
		if hasPrefixFold(v, "v=spf1") {
			as = append(as, v)
		}
	}
	if len(bs) == 0 {
		return ""
	}
	if len(as) == 0 {
		return "removes the SPF record"
	}
	// The strictest all before against the laxest after; a redirect is
	// decided by its target and is not ranked.
	best, bq := -1, byte(0)
	for _, v := range bs {
		if q := spfAll(v); q != 'r' && spfRank[q] > best {
			best, bq = spfRank[q], q
		}
	}
	if best < 0 {
		return ""
	}
	for _, v := range as {
		if q := spfAll(v); q != 'r' && spfRank[q] < best {
			return "changes the SPF all from " + spfAllName[bq] + " to " + spfAllName[q]
		}
	}
	return ""
}

// realMX reports whether vals hold an MX other than the null MX "0 .".
func realMX(vals []string) bool {
	for _, v := range vals {
		if _, host, ok := strings.Cut(v, " "); ok && strings.TrimSpace(host) != "." {
			return true
		}
	}
	return false
}

// subdomainDMARCWeakens says how a change to a sub-domain's DMARC record
// makes it weaker than what the sub-domain gets now, or returns "": a
// sub-domain without its own record is held to its parent's sp= (p= when
// there is no sp), so a record with a lower p= there weakens it (a p=none
// under a parent's sp=reject). parent is the parent's DMARC record, at the
// nearest ancestor that has one ("" when none is known).
func subdomainDMARCWeakens(c Change, parent, parentName string) string {
	if parent == "" || strings.ToUpper(c.Type) != "TXT" {
		return ""
	}
	if _, ok := dmarcTags(c.Before); ok {
		return "" // its own record already applies: dmarcWeakens judges the change
	}
	as, ok := dmarcTags(c.After)
	if !ok {
		return ""
	}
	pt, ok := dmarcTags([]string{parent})
	if !ok {
		return ""
	}
	_, psp, _ := dmarcLevels(pt[0])
	ap := 2
	for _, t := range as {
		p, _, _ := dmarcLevels(t)
		ap = min(ap, p)
	}
	if ap < psp {
		return fmt.Sprintf("sets DMARC p=%s, weaker than the sp=%s %s gives its sub-domains", rankName[ap], rankName[psp], parentName)
	}
	return ""
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// subDMARCChange reports whether c changes a sub-domain's _dmarc record,
// the one change parentDMARCFindings judges by the zone's records.
func subDMARCChange(c Change) bool {
	name := strings.ToLower(c.Name)
	return strings.ToUpper(c.Type) == "TXT" && strings.HasPrefix(name, "_dmarc.")
}

// parentDMARCFindings applies the sub-domain rule of subdomainDMARCWeakens to
// the changes of zp, a share of the zone zoneName whose records live holds:
// a sub-domain's _dmarc record judged against the nearest ancestor in the
// zone that has a DMARC record.
func parentDMARCFindings(cfg *policy.Config, opts Options, apply bool, d *policy.Domain, zp *ZonePlan, live []libdns.RR) []Finding {
	if weakeningAllowed(cfg, opts, d) {
		return nil
	}
	var out []Finding
	for _, c := range zp.Changes {
		if !subDMARCChange(c) {
			continue
		}
		rel := strings.TrimPrefix(strings.ToLower(c.Name), "_dmarc.")
		var parent, parentName string
		for rel != "" && parent == "" {
			next := "@"
			if _, rest, ok := strings.Cut(rel, "."); ok {
				next = rest
			}
			at := "_dmarc"
			if next != "@" {
				at += "." + next
			}
			for _, rr := range live {
				if strings.EqualFold(rr.Name, at) && strings.EqualFold(rr.Type, "TXT") && hasPrefixFold(strings.TrimSpace(rr.Data), "v=DMARC1") {
					parent, parentName = rr.Data, providers.AbsoluteName(next, zp.Zone+".")
					break
				}
			}
			if next == "@" {
				break
			}
			rel = next
		}
		why := subdomainDMARCWeakens(c, parent, strings.TrimSuffix(parentName, "."))
		if why == "" {
			continue
		}
		subject := c.Name + " " + c.Type
		f := Finding{Kind: "safety", Domain: zp.Domain, Subject: subject, Severity: SevWarning,
			Message: fmt.Sprintf("a sync would refuse to %s %s in zone %s at %s: it %s; set allow_weakening: true in the policy or run with --allow-weakening", c.Action, subject, zp.Zone, zp.Provider, why)}
		if apply {
			f.Severity = SevError
			f.Message = fmt.Sprintf("refused to %s %s in zone %s at %s: it %s; set allow_weakening: true in the policy or run with --allow-weakening", c.Action, subject, zp.Zone, zp.Provider, why)
		}
		out = append(out, f)
	}
	return out
}
