package check

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/internal/canon"
	"github.com/maildns/maildns/policy"
)

// Finding kinds of the mail-authentication checks.
const (
	KindSPF   = "spf"
	KindDKIM  = "dkim"
	KindDMARC = "dmarc"
	KindMX    = "mx"
)

// Subjects of SPF findings: the record the policy compiles to, or the one
// live in the zone (when it differs from the desired one, or there is none).
const (
	SubjectDesired = "desired"
	SubjectLive    = "live"
)

// SkippedMessage is the message of the info finding a check that needs
// lookups gives when live checks are off.
const SkippedMessage = "skipped: live checks are off"

// SPFBlocked reports whether findings hold an spf error about the desired
// record of domain: the engine must then not publish the SPF change (SPEC
// §6: the record in place stays).
func SPFBlocked(findings []Finding, domain string) bool {
	for _, f := range findings {
		if f.Kind == KindSPF && f.Severity == SevError && f.Subject == SubjectDesired && f.Domain == domain {
			return true
		}
	}
	return false
}

// CheckSPF checks the domain's SPF records (RFC 7208): the desired record
// and the live one(s) when they differ. Without lookups: more than one
// v=spf1 record at the domain (error), syntax (error), +all (error), ?all
// and ptr (warnings), a record over 450 bytes (warning). With lookups,
// through the include tree: over 10 DNS-querying terms (error), over 2
// void lookups (error), an include loop (error), an include or redirect
// target without exactly one SPF record (error), a lookup that failed
// (warning: could not verify).
func CheckSPF(ctx context.Context, env *Env, d *policy.Domain) []Finding {
	c := newMailCheck(env, d, KindSPF)
	var live []string
	for _, v := range c.liveValues("", "TXT") {
		if policy.IsSPF(v) {
			live = append(live, v)
		}
	}
	desired, haveDesired := c.desiredValue("spf", "", "TXT", policy.IsSPF)
	if len(live) > 1 {
		c.add(SevError, SubjectLive, "%d SPF records at %s: receivers fail SPF (permerror) when a domain publishes more than one v=spf1 record (RFC 7208 §4.5): %s",
			len(live), d.Domain, quoteJoin(live))
	}
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
	needLookups := false
	var parsed []*policy.ParsedSPF
	var subjects []string
	for i, r := range recs {
		p, err := env.parseSPF(i, r.text)
		if err != nil {
			c.add(SevError, r.subject, "SPF record %q of %s is invalid (receivers return permerror): %v", r.text, d.Domain, err)
			continue
		}
		for _, is := range policy.LintSPF(p, r.text) {
			c.add(is.Severity, r.subject, "SPF record of %s: %s", d.Domain, is.Msg)
		}
		if p.LookupTerms() > 0 {
			needLookups = true
		}
		parsed = append(parsed, p)
		subjects = append(subjects, r.subject)
	}
	if !needLookups {
		return c.out
	}
	if !env.Live || env.Resolver == nil {
		c.add(SevInfo, "", SkippedMessage)
		return c.out
	}
	for i, p := range parsed {
		r := env.Resolver
		if subjects[i] == SubjectDesired {
			r = &desiredOverlay{desired: env.Desired, zone: c.zone, next: r}
		}
		c.walkSPF(ctx, r, p, subjects[i])
	}
	return c.out
}

// spfWalk evaluates an SPF record as a receiver would when nothing
// matches (the most lookups), counting DNS-querying terms and void lookups
// through the include tree.
type spfWalk struct {
	ctx       context.Context
	r         Resolver
	top       string
	lookups   int
	voids     []string
	per       []spfCount // lookups per record, in evaluation order
	overAt    string     // the path of the lookup over the limit
	stack     []string
	problems  []Finding
	unchecked []string // lookups that could not be made
	notFollow []string // targets with sender macros, not followed
}

type spfCount struct {
	domain string
	n      int
}

// spfWalkLimit stops the walk of pathological trees.
const spfWalkLimit = 100

func (c *mailCheck) walkSPF(ctx context.Context, r Resolver, p *policy.ParsedSPF, subject string) {
	w := &spfWalk{ctx: ctx, r: r, top: c.d.Domain}
	w.record(c, subject, c.d.Domain, p, []string{c.d.Domain})
	if w.lookups > policy.SPFMaxLookups {
		more := ""
		if w.lookups >= spfWalkLimit {
			more = " or more"
		}
		counts := make([]string, len(w.per))
		for i, pc := range w.per {
			counts[i] = fmt.Sprintf("%s %d", pc.domain, pc.n)
		}
		c.add(SevError, subject, "SPF needs %d%s DNS lookups, the limit is %d (RFC 7208 §4.6.4): the %dth is %s; lookups per record: %s",
			w.lookups, more, policy.SPFMaxLookups, policy.SPFMaxLookups+1, w.overAt, strings.Join(counts, ", "))
	}
	if len(w.voids) > policy.SPFMaxVoidLookups {
		c.add(SevError, subject, "SPF makes %d void lookups (no answer or NXDOMAIN), the limit is %d (RFC 7208 §4.6.4): %s",
			len(w.voids), policy.SPFMaxVoidLookups, strings.Join(w.voids, ", "))
	}
	c.out = append(c.out, w.problems...)
	if len(w.unchecked) > 0 {
		c.add(SevWarning, subject, "could not verify the SPF include tree of %s: %s", c.d.Domain, strings.Join(w.unchecked, "; "))
	}
	if len(w.notFollow) > 0 {
		c.add(SevInfo, subject, "SPF terms whose target depends on the sender were counted but not followed: %s", strings.Join(w.notFollow, ", "))
	}
}

func (w *spfWalk) problem(c *mailCheck, sev, subject, format string, args ...any) {
	w.problems = append(w.problems, c.finding(sev, subject, format, args...))
}

// record walks one record at domain; path is how it was reached: the
// domain checked, then each include:/redirect= term followed.
func (w *spfWalk) record(c *mailCheck, subject, domain string, p *policy.ParsedSPF, path []string) {
	w.stack = append(w.stack, domain)
	defer func() { w.stack = w.stack[:len(w.stack)-1] }()
	idx := len(w.per)
	w.per = append(w.per, spfCount{domain: domain})
	var terms []policy.SPFTerm
	for _, t := range p.Terms {
		if t.Mechanism != "" || t.Modifier == "redirect" && p.All() == nil {
			terms = append(terms, t)
		}
	}
	// redirect= is evaluated after every mechanism (RFC 7208 §6.1).
	for i := range terms {
		if terms[i].Modifier == "redirect" {
			terms = append(append(terms[:i:i], terms[i+1:]...), terms[i])
			break
		}
	}
	for _, t := range terms {
		if !t.QueriesDNS() || w.lookups >= spfWalkLimit {
			continue
		}
		w.lookups++
		w.per[idx].n++
		here := append(append([]string{}, path...), t.String())
		if w.lookups == policy.SPFMaxLookups+1 {
			w.overAt = strings.Join(here, " → ")
		}
		target := domain
		if t.Domain != "" {
			var ok bool
			if target, ok = w.expand(t.Domain, domain); !ok {
				w.notFollow = append(w.notFollow, t.String()+" at "+domain)
				continue
			}
		}
		switch {
		case t.Mechanism == "include" || t.Modifier == "redirect":
			w.follow(c, subject, domain, target, t, here)
		case t.Mechanism == "a":
			w.void(target, t, "A", "AAAA")
		case t.Mechanism == "mx":
			ans, ok := w.lookup(target, "MX", t)
			if !ok {
				continue
			}
			n := countType(ans.Records, "MX")
			if n == 0 {
				w.voids = append(w.voids, t.String()+" at "+domain)
			}
			if n > 10 {
				w.problem(c, SevError, subject, "%s at %s: %s has %d MX records, the limit is 10 (RFC 7208 §4.6.4)", t.String(), domain, target, n)
			}
		case t.Mechanism == "exists":
			w.void(target, t, "A")
		case t.Mechanism == "ptr":
			// Depends on the sender's address: counted, not looked up.
		}
	}
}

// expand returns the name a domain-spec queries at domain, or false when it
// depends on the sender (macros other than %{d} and %{o}).
func (w *spfWalk) expand(spec, domain string) (string, bool) {
	for _, l := range policy.SPFMacroLetters(spec) {
		if l != 'd' && l != 'o' {
			return "", false
		}
	}
	name, err := policy.ExpandSPFDomain(spec, &policy.SPFMacroEnv{Sender: "postmaster@" + w.top, Domain: domain})
	if err != nil {
		return "", false
	}
	return strings.ToLower(name), true
}

func (w *spfWalk) lookup(name, qtype string, t policy.SPFTerm) (Answer, bool) {
	ans, err := w.r.Lookup(w.ctx, name+".", qtype)
	if err != nil {
		w.unchecked = append(w.unchecked, fmt.Sprintf("%s (%s %s): %v", t.String(), name, qtype, err))
		return Answer{}, false
	}
	return ans, true
}

// void looks up the types at name and counts a void lookup when none has
// an answer.
func (w *spfWalk) void(name string, t policy.SPFTerm, qtypes ...string) {
	for _, q := range qtypes {
		ans, ok := w.lookup(name, q, t)
		if !ok || countType(ans.Records, q) > 0 {
			return
		}
	}
	w.voids = append(w.voids, t.String()+" ("+name+")")
}

// follow evaluates the SPF record at target for include: or redirect=;
// path ends with that term.
func (w *spfWalk) follow(c *mailCheck, subject, from, target string, t policy.SPFTerm, path []string) {
	for _, s := range w.stack {
		if s == target {
			w.problem(c, SevError, subject, "SPF include loop: %s (receivers return permerror)", strings.Join(path, " → "))
			return
		}
	}
	ans, ok := w.lookup(target, "TXT", t)
	if !ok {
		return
	}
	var spfs []string
	for _, r := range ans.Records {
		if r.Type == "TXT" && policy.IsSPF(r.Data) {
			spfs = append(spfs, r.Data)
		}
	}
	if countType(ans.Records, "TXT") == 0 {
		w.voids = append(w.voids, t.String()+" at "+from)
	}
	switch len(spfs) {
	case 0:
		what := "has no SPF record"
		if ans.Rcode == RcodeNXDomain {
			what = "does not exist"
		}
		w.problem(c, SevError, subject, "%s at %s: %s %s, so receivers return permerror (RFC 7208 §5.2)", t.String(), from, target, what)
		return
	case 1:
	default:
		w.problem(c, SevError, subject, "%s at %s: %s publishes %d SPF records, so receivers return permerror (RFC 7208 §4.5)", t.String(), from, target, len(spfs))
		return
	}
	p, err := policy.ParseSPF(spfs[0])
	if err != nil {
		w.problem(c, SevError, subject, "%s at %s: the SPF record of %s is invalid (permerror): %v", t.String(), from, target, err)
		return
	}
	if a := p.All(); a != nil && a.QualifierOrPlus() == '+' && t.Mechanism == "include" {
		w.problem(c, SevWarning, subject, "%s at %s: the included record of %s ends in %q", t.String(), from, target, a.String())
	}
	w.record(c, subject, target, p, path)
}

func countType(recs []libdns.RR, typ string) int {
	n := 0
	for _, r := range recs {
		if r.Type == typ {
			n++
		}
	}
	return n
}

// desiredOverlay answers the A, AAAA and MX questions that the policy
// itself answers (its mail hosts and MX), so the desired SPF record is
// judged as it will be once published; everything else goes to next.
type desiredOverlay struct {
	desired []policy.RRset
	zone    string
	next    Resolver
}

func (o *desiredOverlay) Lookup(ctx context.Context, name, qtype string) (Answer, error) {
	if qtype == "A" || qtype == "AAAA" || qtype == "MX" {
		for _, s := range o.desired {
			if s.Type != qtype || s.Absent || s.Own != policy.OwnAll {
				continue
			}
			if !strings.EqualFold(canon.AbsoluteName(s.Name, cmp.Or(s.Zone, o.zone)), name) {
				continue
			}
			ans := Answer{}
			for _, v := range s.Values {
				ans.Records = append(ans.Records, libdns.RR{Name: strings.ToLower(name), Type: qtype, TTL: s.TTL, Data: v})
			}
			return ans, nil
		}
	}
	return o.next.Lookup(ctx, name, qtype)
}

// mailCheck holds what the mail-auth checks share for one domain.
type mailCheck struct {
	env  *Env
	d    *policy.Domain
	kind string
	zone string // the domain's zone, lower case, no trailing dot
	out  []Finding
}

func newMailCheck(env *Env, d *policy.Domain, kind string) mailCheck {
	return mailCheck{env: env, d: d, kind: kind, zone: strings.ToLower(strings.TrimSuffix(cmp.Or(d.Zone, d.Domain), "."))}
}

func (c *mailCheck) finding(sev, subject, format string, args ...any) Finding {
	return Finding{Severity: sev, Kind: c.kind, Domain: c.d.Domain, Subject: subject, Message: fmt.Sprintf(format, args...)}
}

func (c *mailCheck) add(sev, subject, format string, args ...any) {
	c.out = append(c.out, c.finding(sev, subject, format, args...))
}

// fqdn returns label(s) prefix under the domain, fully qualified ("" is the domain).
func (c *mailCheck) fqdn(prefix string) string {
	if prefix == "" {
		return c.d.Domain + "."
	}
	return prefix + "." + c.d.Domain + "."
}

// liveValues returns the values of type typ at prefix under the domain in
// the zone as read this run.
func (c *mailCheck) liveValues(prefix, typ string) []string {
	return c.env.Values(c.relative(prefix), typ)
}

// relative is canon.RelativeName(c.fqdn(prefix), c.zone): the name itself
// when the domain is its zone's apex and both are plain lower-case names,
// as nearly always, without building the name to take it apart again.
func (c *mailCheck) relative(prefix string) string {
	if c.d.Domain == c.zone && plainLower(c.zone) && (prefix == "" || plainLower(prefix)) {
		if prefix == "" {
			return "@"
		}
		return prefix
	}
	return canon.RelativeName(c.fqdn(prefix), c.zone)
}

// plainLower reports whether s is a non-empty name of printable ASCII
// without upper case, spaces or a trailing dot (what canon leaves alone).
func plainLower(s string) bool {
	if s == "" || s[len(s)-1] == '.' || s == "@" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || ('A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// desiredValue returns the first value of the policy element's RRset of
// type typ at prefix that satisfies keep; false when the policy publishes
// none there (or removes it).
func (c *mailCheck) desiredValue(element, prefix, typ string, keep func(string) bool) (string, bool) {
	for _, v := range c.desiredValues(element, prefix, typ) {
		if keep == nil || keep(v) {
			return v, true
		}
	}
	return "", false
}

func (c *mailCheck) desiredValues(element, prefix, typ string) []string {
	// A domain at its zone's apex with plain names (nearly always)
	// compares the names relative to the zone, without building them.
	short := c.d.Domain == c.zone && plainLower(c.zone) && (prefix == "" || plainLower(prefix))
	want := ""
	for i := range c.env.Desired {
		s := &c.env.Desired[i]
		if s.Element.String() != element || s.Type != typ || s.Absent {
			continue
		}
		if short && cmp.Or(s.Zone, c.zone) == c.zone {
			if s.Name == "" || s.Name == "@" {
				if prefix == "" {
					return s.Values
				}
				continue
			}
			if plainLower(s.Name) {
				if s.Name == prefix {
					return s.Values
				}
				continue
			}
		}
		if want == "" {
			want = c.fqdn(prefix)
		}
		if strings.EqualFold(canon.AbsoluteName(s.Name, cmp.Or(s.Zone, c.zone)), want) {
			return s.Values
		}
	}
	return nil
}

func quoteJoin(v []string) string {
	q := make([]string, len(v))
	for i, s := range v {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
