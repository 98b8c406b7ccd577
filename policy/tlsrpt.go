package policy

import (
	"fmt"
	"net/url"
	"strings"
)

// TLS reporting (RFC 8460) and BIMI: the policy elements tls_rpt and bimi,
// their records and their readers.

func init() {
	// Registered here, not in the key lists of domain.go, so that other
	// elements can be added there without touching the same lines.
	policyKeys = append(policyKeys, "tls_rpt", "bimi")
	mailSections = append(mailSections, "tls_rpt", "bimi")
}

// TLSRPT is the tls_rpt element: where sending servers report TLS
// failures when they deliver to the domain (RFC 8460).
type TLSRPT struct {
	Pos   Pos
	RUA   []string // mailto: and https: URIs
	State string   // "" | absent
}

// BIMI is the bimi element: the logo receivers may show beside the
// domain's authenticated mail.
type BIMI struct {
	Pos       Pos
	Selector  string // "default" when not given
	Logo      string // https: URL of an SVG Tiny PS logo (l=)
	Authority string // https: URL of the mark certificate (a=), may be empty
	State     string // "" | absent
}

// TLSRPTRecord is the TXT value of t: "v=TLSRPTv1; rua=uri,uri".
func TLSRPTRecord(t *TLSRPT) string {
	return "v=TLSRPTv1; rua=" + strings.Join(t.RUA, ",")
}

// BIMIRecord is the TXT value of b: "v=BIMI1; l=logo; a=authority".
func BIMIRecord(b *BIMI) string {
	return "v=BIMI1; l=" + b.Logo + "; a=" + b.Authority
}

// BIMIName is the record's name under the domain: "<selector>._bimi".
func BIMIName(b *BIMI) string { return b.Selector + "._bimi" }

func (l *domainLoader) tlsRPT(e entry) {
	fields, ok := l.mapping(node{l.file, e.node}, "tls_rpt", []string{"rua", "state"})
	if !ok {
		return
	}
	t := &TLSRPT{Pos: e.pos}
	for _, f := range fields {
		switch f.key {
		case "rua":
			list, pos, _ := l.strList(f, l.file)
			for i, u := range list {
				u = strings.TrimSpace(u)
				if msg := checkTLSRPTURI(u); msg != "" {
					l.errorf(pos[i], "tls_rpt rua: %q %s", u, msg)
					continue
				}
				t.RUA = append(t.RUA, u)
			}
			if len(list) == 0 {
				l.errorf(l.at(f), "tls_rpt rua: give at least one mailto: or https: URI")
			}
		case "state":
			if v, ok := l.state(f, []string{"present", "absent"}); ok {
				t.State = v
			}
		}
	}
	if t.State == "" && !hasKey(fields, "rua") {
		l.errorf(e.pos, "tls_rpt: rua is required (mailto: or https: URIs, RFC 8460 §3)")
	}
	l.d.TLSRPT = t
}

func (l *domainLoader) bimi(e entry) {
	fields, ok := l.mapping(node{l.file, e.node}, "bimi", []string{"selector", "logo", "authority", "state"})
	if !ok {
		return
	}
	b := &BIMI{Pos: e.pos, Selector: "default"}
	for _, f := range fields {
		switch f.key {
		case "selector":
			if s, ok := l.str(f, l.file); ok {
				sel := strings.ToLower(strings.TrimSpace(s))
				if msg := checkName(sel); msg != "" || strings.HasSuffix(s, ".") {
					if msg == "" {
						msg = "a selector is relative"
					}
					l.errorf(l.at(f), "bimi selector %q is not valid: %s", s, msg)
					continue
				}
				b.Selector = sel
			}
		case "logo", "authority":
			s, ok := l.str(f, l.file)
			if !ok {
				continue
			}
			s = strings.TrimSpace(s)
			if msg := checkHTTPSURL(s); msg != "" {
				l.errorf(l.at(f), "bimi %s: %q %s", f.key, s, msg)
				continue
			}
			if f.key == "logo" {
				b.Logo = s
			} else {
				b.Authority = s
			}
		case "state":
			if v, ok := l.state(f, []string{"present", "absent"}); ok {
				b.State = v
			}
		}
	}
	if b.State == "" && !hasKey(fields, "logo") {
		l.errorf(e.pos, "bimi: logo is required (the https: URL of the SVG logo)")
	}
	l.d.BIMI = b
}

// checkHTTPSURL says what is wrong with a BIMI URL, or "": receivers fetch
// the logo and the certificate over https only.
func checkHTTPSURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "is not a URL"
	case !strings.EqualFold(u.Scheme, "https"):
		return "is not an https: URL (receivers fetch BIMI files over https only)"
	case u.Host == "" || u.Hostname() == "":
		return "has no host"
	case strings.ContainsAny(s, ",; \t\"\\"):
		return "contains ',', ';', a space, a quote or a backslash (percent-encode them)"
	}
	return ""
}

// checkTLSRPTURI says what is wrong with a TLS-RPT report URI, or "".
func checkTLSRPTURI(s string) string {
	switch scheme, rest, _ := strings.Cut(s, ":"); {
	case strings.EqualFold(scheme, "mailto"):
		addr, _, _ := strings.Cut(rest, "?")
		at := strings.LastIndexByte(addr, '@')
		if at <= 0 || at == len(addr)-1 || !strings.Contains(addr[at+1:], ".") {
			return "has no mail address"
		}
		if strings.ContainsAny(s, ",; \t\"\\") {
			return "contains ',', ';', a space, a quote or a backslash (percent-encode them)"
		}
		return ""
	case strings.EqualFold(scheme, "https"):
		u, err := url.Parse(s)
		if err != nil || u.Hostname() == "" {
			return "is not an https: URL with a host"
		}
		if strings.ContainsAny(s, ",; \t\"\\") {
			return "contains ',', ';', a space, a quote or a backslash (percent-encode them)"
		}
		return ""
	}
	return "is not a mailto: or https: URI (RFC 8460 §3)"
}

// ParsedTLSRPT is a TLS-RPT record (RFC 8460 §3).
type ParsedTLSRPT struct {
	RUA      []string
	Warnings []string
}

// IsTLSRPT reports whether a TXT value is a TLS-RPT record to a sender:
// it begins with "v=TLSRPTv1;" (RFC 8460 §3, case-sensitive).
func IsTLSRPT(txt string) bool {
	v, _, _ := strings.Cut(txt, ";")
	return strings.TrimRight(v, " \t") == "v=TLSRPTv1"
}

// ParseTLSRPT reads a TLS-RPT record by the ABNF of RFC 8460 §3: the
// version first and exactly (%s: case-sensitive), then fields separated by
// ';' with optional whitespace, exactly one rua of mailto: or https: URIs
// separated by ','; other fields are extensions, ignored.
func ParseTLSRPT(s string) (*ParsedTLSRPT, error) {
	if !IsTLSRPT(s) {
		return nil, fmt.Errorf("a TLS-RPT record starts with exactly \"v=TLSRPTv1;\" (RFC 8460 §3)")
	}
	items := strings.Split(s, ";")[1:]
	r := &ParsedTLSRPT{}
	seenRUA := false
	for i, it := range items {
		it = strings.Trim(it, " \t")
		if it == "" {
			if i == len(items)-1 && i > 0 {
				continue
			}
			return nil, fmt.Errorf("an empty field (RFC 8460 §3)")
		}
		name, value, ok := strings.Cut(it, "=")
		if !ok || !tlsrptExtName(name) {
			return nil, fmt.Errorf("%q is not name=value (RFC 8460 §3)", it)
		}
		if name != "rua" {
			if !tlsrptExtValue(value) {
				return nil, fmt.Errorf("field %s: value %q is not allowed (RFC 8460 §3)", name, value)
			}
			r.Warnings = append(r.Warnings, fmt.Sprintf("unknown field %q is ignored", name))
			continue
		}
		if seenRUA {
			return nil, fmt.Errorf("rua appears twice")
		}
		seenRUA = true
		for _, u := range strings.Split(value, ",") {
			u = strings.Trim(u, " \t")
			if msg := checkTLSRPTURI(u); msg != "" {
				return nil, fmt.Errorf("rua: %q %s", u, msg)
			}
			r.RUA = append(r.RUA, u)
		}
	}
	if !seenRUA {
		return nil, fmt.Errorf("rua is missing: the record names no report destination (RFC 8460 §3)")
	}
	return r, nil
}

// tlsrptExtValue: 1*(%x21-3A / %x3C / %x3E-7E).
func tlsrptExtValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == '=' {
			return false
		}
	}
	return s != ""
}

// tlsrptExtName: (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".").
func tlsrptExtName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := spfIsAlpha(c) || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '_' && c != '-' && c != '.') {
			return false
		}
	}
	return true
}

// ParsedBIMI is a BIMI assertion record.
type ParsedBIMI struct {
	Logo, Authority string
	Warnings        []string
}

// IsBIMI reports whether a TXT value starts with the BIMI version tag.
func IsBIMI(txt string) bool {
	name, value, ok := strings.Cut(strings.SplitN(txt, ";", 2)[0], "=")
	return ok && strings.TrimRight(name, " \t") == "v" && strings.Trim(value, " \t") == "BIMI1"
}

// ParseBIMI reads a BIMI assertion record: "v=BIMI1" first, then l= (the
// logo) and a= (the mark certificate), each empty or an https: URL; a tag
// given twice or a syntax error makes the record invalid.
func ParseBIMI(s string) (*ParsedBIMI, error) {
	if !IsBIMI(s) {
		return nil, fmt.Errorf("a BIMI record starts with \"v=BIMI1\"")
	}
	tags, err := parseTagList(s, false)
	if err != nil {
		return nil, err
	}
	r := &ParsedBIMI{}
	for _, t := range tags[1:] {
		switch t.Name {
		case "l", "a":
			if t.Value != "" {
				if msg := checkHTTPSURL(t.Value); msg != "" {
					return nil, fmt.Errorf("%s=%q %s", t.Name, t.Value, msg)
				}
			}
			if t.Name == "l" {
				r.Logo = t.Value
			} else {
				r.Authority = t.Value
			}
		case "v":
			return nil, fmt.Errorf("v must appear once, first")
		default:
			r.Warnings = append(r.Warnings, fmt.Sprintf("unknown tag %q is ignored", t.Name))
		}
	}
	return r, nil
}
