package policy

import (
	"fmt"
	"net/mail"
	"strconv"
	"strings"
)

// DMARC records (RFC 7489 §6.3, §6.4).
//
// Choices where the RFC leaves room:
//   - v=DMARC1 must be the first tag, exactly (case-sensitive value); else
//     the record is not a DMARC record (error).
//   - p must be present and valid, with one exception from §6.6.3: a record
//     whose p is missing or invalid but whose rua holds at least one valid
//     URI is treated by receivers as p=none; ParseDMARC accepts it with
//     Policy "none", PolicyMissing set and a warning. Without such a rua it
//     is an error.
//   - p placed other than second (the ABNF order) is a warning: receivers
//     accept it.
//   - Invalid values of the other known tags are errors (receivers ignore
//     the tag, which is never what the author meant); unknown tags are
//     ignored with a warning; a tag given twice is an error (the tag-list
//     rules of RFC 6376 §3.2 that DMARC borrows).
//   - rua/ruf URIs other than mailto: are warnings (no other scheme is
//     defined); a mailto: URI must hold an address.

// ParsedDMARC is a parsed DMARC record.
type ParsedDMARC struct {
	Tags            []DMARCTag // in record order, names lower case
	Policy          string     // p (none|quarantine|reject); "none" when PolicyMissing
	PolicyMissing   bool       // p absent or invalid, accepted for a valid rua (§6.6.3)
	SubdomainPolicy string     // sp; "" when absent
	Percent         int        // pct; 100 when absent
	ADKIM, ASPF     string     // "r" | "s"; "r" when absent
	RUA, RUF        []DMARCURI
	FO              []string // "0" when absent
	RF              []string // "afrf" when absent
	RI              int      // 86400 when absent
	Warnings        []string
}

// DMARCTag is one tag of the record.
type DMARCTag struct {
	Name  string
	Value string
}

// DMARCURI is one report URI with its optional size limit.
type DMARCURI struct {
	URI     string // without the size limit
	Address string // the mailbox of a mailto: URI, "" otherwise
	Size    uint64 // 0: no limit
	Unit    string // "", "k", "m", "g", "t"
}

// Domain returns the domain of a mailto: address, lower case, or "".
func (u DMARCURI) Domain() string {
	at := strings.LastIndexByte(u.Address, '@')
	if at < 0 {
		return ""
	}
	return strings.ToLower(strings.TrimSuffix(u.Address[at+1:], "."))
}

func (u DMARCURI) String() string {
	if u.Size == 0 && u.Unit == "" {
		return u.URI
	}
	return u.URI + "!" + strconv.FormatUint(u.Size, 10) + u.Unit
}

// IsDMARC reports whether a TXT value starts with the DMARC version tag.
func IsDMARC(txt string) bool {
	name, value, ok := strings.Cut(strings.SplitN(txt, ";", 2)[0], "=")
	return ok && strings.EqualFold(strings.TrimSpace(name), "v") && strings.TrimSpace(value) == "DMARC1"
}

// DMARCError is a problem in a DMARC record, at a tag.
type DMARCError struct {
	Tag string // the tag's name, "" for the record as a whole
	Msg string
}

func (e *DMARCError) Error() string {
	if e.Tag == "" {
		return e.Msg
	}
	return e.Tag + "=: " + e.Msg
}

// ParseDMARC parses a DMARC record. The error is a *DMARCError.
func ParseDMARC(record string) (*ParsedDMARC, error) {
	tags, err := parseTagList(record, true)
	if err != nil {
		return nil, &DMARCError{Msg: err.Error()}
	}
	if len(tags) == 0 || tags[0].Name != "v" {
		return nil, &DMARCError{Msg: `a DMARC record starts with "v=DMARC1"`}
	}
	if tags[0].Value != "DMARC1" {
		return nil, &DMARCError{Tag: "v", Msg: fmt.Sprintf("version %q, want exactly DMARC1", tags[0].Value)}
	}
	r := &ParsedDMARC{Tags: tags, Percent: 100, ADKIM: "r", ASPF: "r", FO: []string{"0"}, RF: []string{"afrf"}, RI: 86400}
	var pErr string
	havePolicy := false
	for i, t := range tags[1:] {
		v := t.Value
		switch t.Name {
		case "v":
			return nil, &DMARCError{Tag: "v", Msg: "v must appear once, first"}
		case "p":
			if !dmarcPolicy(v) {
				pErr = fmt.Sprintf("p=%q is not none, quarantine or reject", v)
				continue
			}
			r.Policy, havePolicy = v, true
			if i != 0 {
				r.Warnings = append(r.Warnings, "p should be the second tag, right after v (RFC 7489 §6.4)")
			}
		case "sp":
			if !dmarcPolicy(v) {
				return nil, &DMARCError{Tag: "sp", Msg: fmt.Sprintf("%q is not none, quarantine or reject", v)}
			}
			r.SubdomainPolicy = v
		case "pct":
			n, err := strconv.Atoi(v)
			if err != nil || !spfIsDigits(v) || len(v) > 3 || n > 100 {
				return nil, &DMARCError{Tag: "pct", Msg: fmt.Sprintf("%q is not a whole number 0-100", v)}
			}
			r.Percent = n
		case "adkim", "aspf":
			if v != "r" && v != "s" {
				return nil, &DMARCError{Tag: t.Name, Msg: fmt.Sprintf("%q is not r (relaxed) or s (strict)", v)}
			}
			if t.Name == "adkim" {
				r.ADKIM = v
			} else {
				r.ASPF = v
			}
		case "rua", "ruf":
			uris, warns, err := parseDMARCURIs(v)
			if err != nil {
				return nil, &DMARCError{Tag: t.Name, Msg: err.Error()}
			}
			for _, w := range warns {
				r.Warnings = append(r.Warnings, t.Name+"=: "+w)
			}
			if t.Name == "rua" {
				r.RUA = uris
			} else {
				r.RUF = uris
			}
		case "fo":
			parts := strings.Split(v, ":")
			for _, p := range parts {
				p = strings.TrimSpace(p)
				if p != "0" && p != "1" && p != "d" && p != "s" {
					return nil, &DMARCError{Tag: "fo", Msg: fmt.Sprintf("%q: options are 0, 1, d, s separated by ':'", v)}
				}
			}
			r.FO = trimAll(parts)
		case "rf":
			parts := trimAll(strings.Split(v, ":"))
			for _, p := range parts {
				if p == "" {
					return nil, &DMARCError{Tag: "rf", Msg: fmt.Sprintf("%q: an empty format", v)}
				}
				if !strings.EqualFold(p, "afrf") {
					r.Warnings = append(r.Warnings, fmt.Sprintf("rf=: unknown report format %q (only afrf is defined)", p))
				}
			}
			r.RF = parts
		case "ri":
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil || !spfIsDigits(v) {
				return nil, &DMARCError{Tag: "ri", Msg: fmt.Sprintf("%q is not a whole number of seconds", v)}
			}
			r.RI = int(n)
		default:
			r.Warnings = append(r.Warnings, fmt.Sprintf("unknown tag %q is ignored", t.Name))
		}
	}
	if !havePolicy {
		if pErr == "" {
			pErr = "p (the policy) is missing"
		}
		if len(r.RUA) == 0 {
			return nil, &DMARCError{Tag: "p", Msg: pErr}
		}
		r.Policy, r.PolicyMissing = "none", true
		r.Warnings = append(r.Warnings, pErr+": receivers treat the record as p=none because rua is valid (RFC 7489 §6.6.3)")
	}
	return r, nil
}

// String prints the record: the tags in their order, "; " between them.
func (r *ParsedDMARC) String() string {
	parts := make([]string, len(r.Tags))
	for i, t := range r.Tags {
		parts[i] = t.Name + "=" + t.Value
	}
	return strings.Join(parts, "; ")
}

// ParseDMARCURI parses one report URI: "mailto:addr" with an optional
// "!size[kmgt]" limit (RFC 7489 §6.4).
func ParseDMARCURI(s string) (DMARCURI, error) {
	u, warn, err := parseDMARCURI(s)
	if err == nil && warn != "" {
		return u, fmt.Errorf("%s", warn)
	}
	return u, err
}

func parseDMARCURIs(v string) ([]DMARCURI, []string, error) {
	var out []DMARCURI
	var warns []string
	for _, part := range strings.Split(v, ",") {
		u, w, err := parseDMARCURI(strings.Trim(part, " \t"))
		if err != nil {
			return nil, nil, err
		}
		if w != "" {
			warns = append(warns, w)
		}
		out = append(out, u)
	}
	return out, warns, nil
}

// parseDMARCURI returns the URI, a warning for a scheme other than mailto,
// or an error.
func parseDMARCURI(s string) (DMARCURI, string, error) {
	var u DMARCURI
	if s == "" {
		return u, "", fmt.Errorf("an empty URI")
	}
	uri := s
	if k := strings.LastIndexByte(s, '!'); k >= 0 {
		size := s[k+1:]
		unit := ""
		if size != "" && strings.IndexByte("kmgt", size[len(size)-1]) >= 0 {
			unit, size = size[len(size)-1:], size[:len(size)-1]
		}
		n, err := strconv.ParseUint(size, 10, 64)
		if err != nil || !spfIsDigits(size) {
			return u, "", fmt.Errorf("%q: the size limit after '!' is digits with an optional unit k, m, g or t", s)
		}
		u.Size, u.Unit, uri = n, unit, s[:k]
	}
	for i := 0; i < len(uri); i++ {
		if c := uri[i]; c <= ' ' || c > '~' || c == ',' || c == ';' {
			return u, "", fmt.Errorf("%q: character %q must be percent-encoded", s, c)
		}
	}
	scheme, rest, ok := strings.Cut(uri, ":")
	if !ok || scheme == "" || !spfIsAlpha(scheme[0]) {
		return u, "", fmt.Errorf("%q is not a URI (want mailto:address)", s)
	}
	u.URI = uri
	if !strings.EqualFold(scheme, "mailto") {
		return u, fmt.Sprintf("%q: receivers only send reports to mailto: URIs", s), nil
	}
	addr, _, _ := strings.Cut(rest, "?")
	addr = percentDecode(addr)
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Address != addr || a.Name != "" {
		return u, "", fmt.Errorf("%q: %q is not a mail address", s, addr)
	}
	at := strings.LastIndexByte(addr, '@')
	dom := strings.ToLower(strings.TrimSuffix(addr[at+1:], "."))
	if msg := checkName(dom); msg != "" || !strings.Contains(dom, ".") {
		return u, "", fmt.Errorf("%q: %q is not a domain name", s, addr[at+1:])
	}
	u.Address = addr
	return u, "", nil
}

func percentDecode(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func dmarcPolicy(v string) bool { return v == "none" || v == "quarantine" || v == "reject" }

func trimAll(parts []string) []string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = strings.TrimSpace(p)
	}
	return out
}

// parseTagList parses a tag=value list (RFC 6376 §3.2): tags separated by
// ';', optional whitespace around names and values, an optional final ';'.
// With fold, names are returned lower case; a name given twice is an error.
func parseTagList(s string, fold bool) ([]DMARCTag, error) {
	var out []DMARCTag
	seen := map[string]bool{}
	parts := strings.Split(s, ";")
	for i, p := range parts {
		p = strings.Trim(p, " \t\r\n")
		if p == "" {
			if i == len(parts)-1 || i == len(parts)-2 && strings.Trim(parts[len(parts)-1], " \t\r\n") == "" {
				continue
			}
			return nil, fmt.Errorf("empty tag at position %d", i+1)
		}
		name, value, ok := strings.Cut(p, "=")
		name = strings.Trim(name, " \t\r\n")
		if !ok {
			return nil, fmt.Errorf("%q is not tag=value", p)
		}
		if name == "" || !spfIsAlpha(name[0]) {
			return nil, fmt.Errorf("%q: a tag name starts with a letter", p)
		}
		for j := 0; j < len(name); j++ {
			if c := name[j]; !spfIsAlpha(c) && !(c >= '0' && c <= '9') && c != '_' {
				return nil, fmt.Errorf("tag name %q: letters, digits and '_' only", name)
			}
		}
		value = strings.Trim(value, " \t\r\n")
		for j := 0; j < len(value); j++ {
			if c := value[j]; (c < 0x21 || c > 0x7e) && c != ' ' && c != '\t' && c != '\r' && c != '\n' {
				return nil, fmt.Errorf("tag %s: character %q is not allowed", name, c)
			}
		}
		lname := name
		if fold {
			lname = strings.ToLower(name)
		}
		if seen[lname] {
			return nil, fmt.Errorf("tag %s appears twice", lname)
		}
		seen[lname] = true
		out = append(out, DMARCTag{Name: lname, Value: value})
	}
	return out, nil
}
