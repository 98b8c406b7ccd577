package policy

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
)

// SPF records (RFC 7208). ParseSPF checks a record against the ABNF of §12
// (terms, qualifiers, mechanisms, modifiers, macros, CIDR lengths) and keeps
// each term's place so errors can point at it; LintSPF adds what is legal but
// unwise. Neither touches the network.

// SPFMaxLookups is the limit of DNS-querying terms (RFC 7208 §4.6.4).
const SPFMaxLookups = 10

// SPFMaxVoidLookups is the recommended limit of void lookups (RFC 7208 §4.6.4).
const SPFMaxVoidLookups = 2

// SPFMaxSize is the record length above which a TXT answer may not fit a
// 512-byte UDP response (RFC 7208 §3.4).
const SPFMaxSize = 450

// ParsedSPF is a parsed SPF record.
type ParsedSPF struct {
	Terms []SPFTerm
}

// SPFTerm is one directive or modifier.
type SPFTerm struct {
	Pos       int    // byte offset of the term in the record (0-based)
	Mechanism string // lower case: all include a mx ptr ip4 ip6 exists; "" for a modifier
	Modifier  string // lower case modifier name; "" for a mechanism
	// Domain is the domain-spec of include, exists, a, mx, ptr and the value
	// of a modifier, as written (may hold macros); "" when none was written.
	Domain string
	Prefix netip.Prefix // ip4/ip6: the network, with the full length when none was written
	HasLen bool         // ip4/ip6: a CIDR length was written
	// Qualifier is '+', '-', '~' or '?' as written; 0 when none was
	// written ('+'). Beside HasLen: a term is 112 bytes, not 120.
	Qualifier byte
	CIDR4     int // a/mx ip4-cidr-length; -1 when absent
	CIDR6     int // a/mx ip6-cidr-length; -1 when absent
}

// SPFSyntaxError is a syntax error in an SPF record, at a byte offset.
type SPFSyntaxError struct {
	Pos  int    // byte offset in the record (0-based)
	Term string // the term the error is in; "" for the record as a whole
	Msg  string
}

func (e *SPFSyntaxError) Error() string {
	if e.Term == "" {
		return fmt.Sprintf("column %d: %s", e.Pos+1, e.Msg)
	}
	return fmt.Sprintf("column %d, term %q: %s", e.Pos+1, e.Term, e.Msg)
}

// IsSPF reports whether a TXT value is an SPF record: it starts with the
// version section "v=spf1" ended by a space or the end (RFC 7208 §4.5).
func IsSPF(txt string) bool {
	return len(txt) >= 6 && strings.EqualFold(txt[:6], "v=spf1") && (len(txt) == 6 || txt[6] == ' ')
}

// ParseSPF parses an SPF record. The error is an *SPFSyntaxError.
func ParseSPF(record string) (*ParsedSPF, error) { return ParseSPFInto(nil, record) }

// ParseSPFInto is ParseSPF into r (nil: a new one), reusing its array of
// terms: a caller that parses record after record (the checks, a domain
// each) makes no array once it is large enough. It returns r, or nil and
// the error (r's contents are then undefined).
func ParseSPFInto(r *ParsedSPF, record string) (*ParsedSPF, error) {
	if !IsSPF(record) {
		return nil, &SPFSyntaxError{Pos: 0, Msg: `an SPF record starts with "v=spf1" followed by a space or the end`}
	}
	// One array for the terms, sized by the runs of non-spaces: appended
	// one by one, a record of three terms made three arrays.
	terms := 0
	for j := 6; j < len(record); j++ {
		if record[j] != ' ' && record[j-1] == ' ' {
			terms++
		}
	}
	if r == nil {
		r = &ParsedSPF{}
	}
	r.Terms = r.Terms[:0] // nil stays nil: a record of no terms has none
	if cap(r.Terms) < terms {
		r.Terms = make([]SPFTerm, 0, terms)
	}
	i := 6
	var redirect, exp *SPFTerm
	for i < len(record) {
		// 1*SP before each term; trailing spaces are allowed.
		if record[i] != ' ' {
			return nil, &SPFSyntaxError{Pos: i, Msg: "terms are separated by spaces"}
		}
		for i < len(record) && record[i] == ' ' {
			i++
		}
		if i == len(record) {
			break
		}
		end := strings.IndexByte(record[i:], ' ')
		if end < 0 {
			end = len(record)
		} else {
			end += i
		}
		t, err := ParseSPFTerm(record[i:end])
		if err != nil {
			se := err.(*SPFSyntaxError)
			se.Pos += i
			return nil, se
		}
		t.Pos = i
		r.Terms = append(r.Terms, t)
		switch t.Modifier {
		case "redirect":
			if redirect != nil {
				return nil, &SPFSyntaxError{Pos: i, Term: record[i:end], Msg: "redirect= appears twice (RFC 7208 §6)"}
			}
			redirect = &r.Terms[len(r.Terms)-1]
		case "exp":
			if exp != nil {
				return nil, &SPFSyntaxError{Pos: i, Term: record[i:end], Msg: "exp= appears twice (RFC 7208 §6)"}
			}
			exp = &r.Terms[len(r.Terms)-1]
		}
		i = end
	}
	return r, nil
}

// ParseSPFTerm parses one term (a directive or a modifier) on its own, as a
// policy's spf.mechanisms items are written. Pos in the error is the offset
// within term.
func ParseSPFTerm(term string) (SPFTerm, error) {
	t := SPFTerm{CIDR4: -1, CIDR6: -1}
	fail := func(off int, format string, args ...any) (SPFTerm, error) {
		return SPFTerm{}, &SPFSyntaxError{Pos: off, Term: term, Msg: fmt.Sprintf(format, args...)}
	}
	if term == "" {
		return fail(0, "empty term")
	}
	for i := 0; i < len(term); i++ {
		if c := term[i]; c <= ' ' || c > '~' {
			return fail(i, "character %q is not allowed (one term, visible ASCII only)", c)
		}
	}
	body, off := term, 0
	if strings.IndexByte("+-~?", body[0]) >= 0 {
		t.Qualifier = body[0]
		body, off = body[1:], 1
	}
	n := 0
	for n < len(body) && isSPFNameChar(body[n]) {
		n++
	}
	name, rest := strings.ToLower(body[:n]), body[n:]
	if strings.HasPrefix(rest, "=") {
		if t.Qualifier != 0 {
			return fail(0, "a modifier takes no qualifier")
		}
		if name == "" || !spfIsAlpha(name[0]) {
			return fail(off, "a modifier name starts with a letter")
		}
		t.Modifier = name
		t.Domain = rest[1:]
		voff := off + n + 1
		switch name {
		case "redirect", "exp":
			if t.Domain == "" {
				return fail(voff, "%s= needs a domain", name)
			}
			if p, msg := spfCheckDomainSpec(t.Domain); msg != "" {
				return fail(voff+p, "%s", msg)
			}
		default:
			if _, p, msg := spfExpandMacros(t.Domain, nil, false); msg != "" {
				return fail(voff+p, "%s", msg)
			}
		}
		return t, nil
	}
	t.Mechanism = name
	roff := off + n // offset of rest in term
	switch name {
	case "all":
		if rest != "" {
			return fail(roff, "all takes no argument")
		}
	case "include", "exists":
		if !strings.HasPrefix(rest, ":") || len(rest) == 1 {
			return fail(roff, "%s needs \":domain\"", name)
		}
		t.Domain = rest[1:]
		if p, msg := spfCheckDomainSpec(t.Domain); msg != "" {
			return fail(roff+1+p, "%s", msg)
		}
	case "ptr":
		if rest != "" {
			if rest[0] != ':' || len(rest) == 1 {
				return fail(roff, "ptr takes only \":domain\"")
			}
			t.Domain = rest[1:]
			if p, msg := spfCheckDomainSpec(t.Domain); msg != "" {
				return fail(roff+1+p, "%s", msg)
			}
		}
	case "a", "mx":
		spec := rest
		// dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ], at the end.
		if k := strings.LastIndex(spec, "//"); k >= 0 && spfIsDigits(spec[k+2:]) {
			v, ok := spfCIDRLen(spec[k+2:], 128)
			if !ok {
				return fail(roff+k+2, "bad IPv6 CIDR length %q (0-128, no leading zeros)", spec[k+2:])
			}
			t.CIDR6 = v
			spec = spec[:k]
		}
		if k := strings.LastIndex(spec, "/"); k >= 0 && spfIsDigits(spec[k+1:]) {
			v, ok := spfCIDRLen(spec[k+1:], 32)
			if !ok {
				return fail(roff+k+1, "bad IPv4 CIDR length %q (0-32, no leading zeros)", spec[k+1:])
			}
			t.CIDR4 = v
			spec = spec[:k]
		}
		if spec != "" {
			if spec[0] != ':' || len(spec) == 1 {
				return fail(roff, "%s takes \":domain\" and CIDR lengths \"/n\" \"//n\"", name)
			}
			t.Domain = spec[1:]
			if p, msg := spfCheckDomainSpec(t.Domain); msg != "" {
				return fail(roff+1+p, "%s", msg)
			}
		}
	case "ip4", "ip6":
		if !strings.HasPrefix(rest, ":") || len(rest) == 1 {
			return fail(roff, "%s needs \":network\"", name)
		}
		netw := rest[1:]
		addrText, lenText, hasLen := strings.Cut(netw, "/")
		addr, err := netip.ParseAddr(addrText)
		if err != nil || addr.Zone() != "" || (name == "ip4") != addr.Is4() {
			return fail(roff+1, "bad %s address %q", name, addrText)
		}
		if name == "ip6" && strings.Count(addrText, ":") < 2 {
			return fail(roff+1, "bad ip6 address %q", addrText)
		}
		bits := addr.BitLen()
		if hasLen {
			v, ok := spfCIDRLen(lenText, bits)
			if !ok {
				return fail(roff+2+len(addrText), "bad CIDR length %q (0-%d, no leading zeros)", lenText, bits)
			}
			bits = v
		}
		t.Prefix = netip.PrefixFrom(addr, bits)
		t.HasLen = hasLen
	case "":
		return fail(off, "a mechanism or modifier name is missing")
	default:
		return fail(off, "unknown mechanism %q", name)
	}
	return t, nil
}

// QueriesDNS reports whether the term costs a DNS lookup against the limit
// of RFC 7208 §4.6.4 (include, a, mx, ptr, exists, redirect).
func (t SPFTerm) QueriesDNS() bool {
	switch t.Mechanism {
	case "include", "a", "mx", "ptr", "exists":
		return true
	}
	return t.Modifier == "redirect"
}

// QualifierOrPlus returns the qualifier, '+' when none was written.
func (t SPFTerm) QualifierOrPlus() byte {
	if t.Qualifier == 0 {
		return '+'
	}
	return t.Qualifier
}

// String prints the term as it would be written.
func (t SPFTerm) String() string {
	var b strings.Builder
	if t.Modifier != "" {
		return t.Modifier + "=" + t.Domain
	}
	if t.Qualifier != 0 {
		b.WriteByte(t.Qualifier)
	}
	b.WriteString(t.Mechanism)
	switch t.Mechanism {
	case "ip4", "ip6":
		b.WriteString(":" + t.Prefix.Addr().String())
		if t.HasLen {
			b.WriteString("/" + strconv.Itoa(t.Prefix.Bits()))
		}
		return b.String()
	}
	if t.Domain != "" {
		b.WriteString(":" + t.Domain)
	}
	if t.CIDR4 >= 0 {
		b.WriteString("/" + strconv.Itoa(t.CIDR4))
	}
	if t.CIDR6 >= 0 {
		b.WriteString("//" + strconv.Itoa(t.CIDR6))
	}
	return b.String()
}

// String prints the record with single spaces between terms.
func (r *ParsedSPF) String() string {
	var b strings.Builder
	b.WriteString("v=spf1")
	for _, t := range r.Terms {
		b.WriteByte(' ')
		b.WriteString(t.String())
	}
	return b.String()
}

// All returns the all mechanism, or nil.
func (r *ParsedSPF) All() *SPFTerm {
	for i := range r.Terms {
		if r.Terms[i].Mechanism == "all" {
			return &r.Terms[i]
		}
	}
	return nil
}

// Redirect returns the redirect modifier, or nil.
func (r *ParsedSPF) Redirect() *SPFTerm {
	for i := range r.Terms {
		if r.Terms[i].Modifier == "redirect" {
			return &r.Terms[i]
		}
	}
	return nil
}

// LookupTerms counts the terms of this record that cost a DNS lookup
// (not those of included records).
func (r *ParsedSPF) LookupTerms() int {
	n := 0
	for _, t := range r.Terms {
		if t.QueriesDNS() {
			n++
		}
	}
	return n
}

// SPFIssue is something legal but unwise (or ignored) in an SPF record.
type SPFIssue struct {
	Severity string // "error" | "warning"
	Pos      int    // byte offset of the term
	Msg      string
}

// LintSPF reports what is legal but wrong or unwise in a parsed record:
// +all (error), ?all and ptr (warnings), terms after all and a redirect
// beside all (ignored, warnings), and a record longer than SPFMaxSize.
// text is the record as published (for its length); it may be "".
func LintSPF(r *ParsedSPF, text string) []SPFIssue {
	var out []SPFIssue
	sawAll := false
	for _, t := range r.Terms {
		if sawAll && t.Mechanism != "" {
			out = append(out, SPFIssue{"warning", t.Pos, fmt.Sprintf("%q comes after all and is never evaluated", t.String())})
		}
		switch t.Mechanism {
		case "all":
			sawAll = true
			switch t.QualifierOrPlus() {
			case '+':
				out = append(out, SPFIssue{"error", t.Pos, fmt.Sprintf("%q lets every host on the internet send as the domain", t.String())})
			case '?':
				out = append(out, SPFIssue{"warning", t.Pos, `"?all" (neutral) gives receivers nothing to act on; use ~all or -all`})
			}
		case "ptr":
			out = append(out, SPFIssue{"warning", t.Pos, fmt.Sprintf("%q: the ptr mechanism is deprecated, slow and unreliable (RFC 7208 §5.5)", t.String())})
		}
	}
	if why := passesEveryone(r); why != "" {
		out = append(out, SPFIssue{"error", 0, why + ": the same as +all, every host on the internet may send as the domain"})
	}
	if rd := r.Redirect(); rd != nil && r.All() != nil {
		out = append(out, SPFIssue{"warning", rd.Pos, "redirect= is ignored because the record has an all mechanism (RFC 7208 §6.1)"})
	}
	if len(text) > SPFMaxSize {
		out = append(out, SPFIssue{"warning", 0, fmt.Sprintf("the record is %d bytes, over %d: the answer may not fit a 512-byte UDP response (RFC 7208 §3.4)", len(text), SPFMaxSize)})
	}
	return out
}

func isSPFNameChar(c byte) bool {
	return spfIsAlpha(c) || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
}

func spfIsAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func spfIsDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// spfCIDRLen parses a CIDR length: "0" or digits without a leading zero, <= max.
func spfCIDRLen(s string, max int) (int, bool) {
	if !spfIsDigits(s) || len(s) > 3 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	v, _ := strconv.Atoi(s)
	return v, v <= max
}

// spfCheckDomainSpec validates a domain-spec: a macro-string ending in a
// macro-expand or in "." toplabel [ "." ]. It returns the offset and message
// of the first problem, or "" when it is valid.
func spfCheckDomainSpec(spec string) (int, string) {
	_, p, msg := spfExpandMacros(spec, nil, false)
	if msg != "" {
		return p, msg
	}
	if spfEndsWithMacroExpand(spec) {
		return 0, ""
	}
	s := strings.TrimSuffix(spec, ".")
	dot := strings.LastIndexByte(s, '.')
	if dot < 0 {
		return 0, fmt.Sprintf("%q is not a domain: it needs a dot and a top label (RFC 7208 §7.1)", spec)
	}
	if !spfIsTopLabel(s[dot+1:]) {
		return dot + 1, fmt.Sprintf("%q does not end in a valid top label (letters, digits, inner hyphens, not all digits)", spec)
	}
	return 0, ""
}

// spfEndsWithMacroExpand reports whether spec (already valid) ends with a
// macro-expand: "%{...}", "%%", "%_" or "%-".
func spfEndsWithMacroExpand(spec string) bool {
	if strings.HasSuffix(spec, "}") {
		if k := strings.LastIndex(spec, "%{"); k >= 0 && !strings.Contains(spec[k:len(spec)-1], "}") && !spfEscapedPercent(spec, k) {
			return true
		}
	}
	if len(spec) >= 2 {
		switch spec[len(spec)-2:] {
		case "%%", "%_", "%-":
			return !spfEscapedPercent(spec, len(spec)-2)
		}
	}
	return false
}

// spfEscapedPercent reports whether the '%' at k is the second of a "%%".
func spfEscapedPercent(s string, k int) bool {
	n := 0
	for j := k - 1; j >= 0 && s[j] == '%'; j-- {
		n++
	}
	return n%2 == 1
}

func spfIsTopLabel(l string) bool {
	if l == "" || len(l) > 63 {
		return false
	}
	alpha, hyphen := false, false
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case spfIsAlpha(c):
			alpha = true
		case c >= '0' && c <= '9':
		case c == '-':
			hyphen = true
		default:
			return false
		}
	}
	if l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	return alpha || hyphen
}

// passesEveryone says how a record without +all still passes every IPv4 or
// every IPv6 address before its all ("ip4:0.0.0.0/1 ip4:128.0.0.0/1",
// "ip6:::/0", "a/0"), or returns "". Only pass-qualified mechanisms count.
func passesEveryone(r *ParsedSPF) string {
	// The addresses the ip4 and ip6 terms pass, overlaps counted twice: a
	// record passes every address of a family only if they add up to all
	// of them, so the usual record (a few hosts) is not taken apart.
	var span4, span6 float64
	for _, t := range r.Terms {
		if t.Mechanism == "all" {
			break
		}
		if t.QualifierOrPlus() != '+' {
			continue
		}
		switch t.Mechanism {
		case "ip4", "ip6":
			if !t.Prefix.IsValid() {
				continue
			}
			bits := t.Prefix.Addr().BitLen() - t.Prefix.Bits()
			if t.Prefix.Addr().Is4() {
				span4 += math.Ldexp(1, bits)
			} else {
				span6 += math.Ldexp(1, bits)
			}
		case "a", "mx":
			// "a/0" matches every address once the name has any.
			if t.CIDR4 == 0 {
				return fmt.Sprintf("%q passes every IPv4 address", t.String())
			}
			if t.CIDR6 == 0 {
				return fmt.Sprintf("%q passes every IPv6 address", t.String())
			}
		}
	}
	// Sums of powers of two, exact but for rounding far below this margin.
	const margin = 1 - 1e-9
	if span4 >= math.Ldexp(1, 32)*margin {
		if v4, terms4 := passingPrefixes(r, true); prefixesCover(netip.MustParsePrefix("0.0.0.0/0"), v4) {
			return fmt.Sprintf("%s pass every IPv4 address", strings.Join(terms4, " "))
		}
	}
	if span6 >= math.Ldexp(1, 128)*margin {
		if v6, terms6 := passingPrefixes(r, false); prefixesCover(netip.MustParsePrefix("::/0"), v6) {
			return fmt.Sprintf("%s pass every IPv6 address", strings.Join(terms6, " "))
		}
	}
	return ""
}

// passingPrefixes returns the networks of the pass-qualified ip4 (v4) or
// ip6 terms before the record's all, and the terms as written.
func passingPrefixes(r *ParsedSPF, v4 bool) ([]netip.Prefix, []string) {
	var nets []netip.Prefix
	var terms []string
	for _, t := range r.Terms {
		if t.Mechanism == "all" {
			break
		}
		if t.QualifierOrPlus() != '+' || (t.Mechanism != "ip4" && t.Mechanism != "ip6") || !t.Prefix.IsValid() || t.Prefix.Addr().Is4() != v4 {
			continue
		}
		nets = append(nets, t.Prefix.Masked())
		terms = append(terms, t.String())
	}
	return nets, terms
}

// prefixesCover reports whether the union of list covers target: a prefix
// of list holds it, or both its halves are covered. Only halves that hold a
// prefix of list are split, so the work is bounded by the list's size
// times the address length.
func prefixesCover(target netip.Prefix, list []netip.Prefix) bool {
	inside := false
	for _, p := range list {
		if p.Bits() <= target.Bits() && p.Contains(target.Addr()) {
			return true
		}
		if p.Bits() > target.Bits() && target.Contains(p.Addr()) {
			inside = true
		}
	}
	if !inside || target.Bits() >= target.Addr().BitLen() {
		return false
	}
	lo := netip.PrefixFrom(target.Addr(), target.Bits()+1)
	hiAddr := target.Addr().AsSlice()
	bit := target.Bits()
	hiAddr[bit/8] |= 0x80 >> (bit % 8)
	hi, _ := netip.AddrFromSlice(hiAddr)
	return prefixesCover(lo, list) && prefixesCover(netip.PrefixFrom(hi, bit+1), list)
}
