package policy

import (
	"fmt"
	"net/mail"
	"strconv"
	"strings"
)

// DMARC records (RFC 7489 §6.3, §6.4), read as receivers read them.
//
// ParseDMARC says what a receiver does with a record and what in it the
// operator must fix. The RFC's words decide each case:
//   - The record must start with "v=DMARC1" (the name and '=' may have
//     whitespace around them, "DMARC1" is %x-coded, so case-sensitive,
//     §6.4); "Records that do not start with a "v=" tag that identifies the
//     current version of DMARC are discarded" (§6.6.3 step 3): whitespace
//     before "v" or anything else first is an error, the record discarded.
//   - Tag values are ABNF strings, case-insensitive (RFC 5234 §2.3):
//     p=ReJect, adkim=R, fo=D, the size unit in "!10M" are valid; only the
//     version is case-sensitive.
//   - A missing or invalid p, or an invalid sp: "if a "rua" tag is present
//     and contains at least one syntactically valid reporting URI, the Mail
//     Receiver SHOULD act as if a record containing a valid "v" tag and
//     "p=none" was retrieved ... otherwise, the Mail Receiver applies no
//     DMARC processing" (§6.6.3 step 6). So with such a rua the record is
//     read as p=none (PolicyFallback) and that is an error, since the
//     policy written is not the one applied; without it the record is
//     discarded (an error from ParseDMARC). Invalid sp is handled exactly
//     like invalid p: the same sentence covers both.
//   - "the "v" and "p" tags MUST be present and MUST appear in that order"
//     (§6.3) and the ABNF puts p right after v (§6.4): p elsewhere is an
//     error, though receivers that follow §6.6.3 still apply the record.
//   - rf: "The values MUST be present in the registry of reporting formats
//     defined in Section 11 [afrf]; a Mail Receiver observing a different
//     value SHOULD ignore it or MAY ignore the entire DMARC record" (§6.3):
//     an unregistered format is an error.
//   - "Syntax errors in the remainder of the record SHOULD be discarded in
//     favor of default values (if any) or ignored outright" (§6.3): a
//     malformed item ("fo:0", ";;"), a bad value of pct, adkim, aspf, fo,
//     ri, or a bad report URI is an error, and the record is still applied
//     with the default in its place.
//   - A tag given twice makes the tag-list invalid (DMARC uses the DKIM
//     tag-value syntax, §6.3; RFC 6376 §3.2: "the entire tag-list is
//     invalid"): the record is discarded.
//   - "Unknown tags MUST be ignored" (§6.3): a warning. A report URI other
//     than mailto: is a valid URI, so it counts for step 6, but receivers
//     only send mail reports: a warning.

// ParsedDMARC is a DMARC record as a receiver applies it.
type ParsedDMARC struct {
	Tags            []DMARCTag // every item in record order, names lower case
	Policy          string     // p (none|quarantine|reject), lower case; "none" with PolicyFallback
	PolicyFallback  bool       // p missing or invalid, or sp invalid: applied as p=none (§6.6.3)
	SubdomainPolicy string     // sp, lower case; "" when absent or with PolicyFallback
	Percent         int        // pct; 100 when absent or invalid
	ADKIM, ASPF     string     // "r" | "s"; "r" when absent or invalid
	RUA, RUF        []DMARCURI // the valid URIs
	FO              []string   // "0" when absent or invalid
	RF              []string   // "afrf" when absent or invalid
	RI              int        // 86400 when absent or invalid
	// Errors are what the operator must fix although receivers apply the
	// record: a policy applied as p=none, a value ignored for its default.
	Errors   []string
	Warnings []string
}

// DMARCTag is one item of the record. An item that is not tag=value has
// no Name; Value holds it as written.
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

// IsDMARC reports whether a TXT value is a DMARC record to a receiver: it
// starts, with no whitespace before, with the version tag "v=DMARC1"
// (RFC 7489 §6.6.3 step 3).
func IsDMARC(txt string) bool {
	first, _, _ := strings.Cut(txt, ";")
	name, value, ok := strings.Cut(first, "=")
	return ok && strings.EqualFold(strings.TrimRight(name, " \t"), "v") && strings.Trim(value, " \t") == "DMARC1"
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

// ParseDMARC reads a DMARC record as a receiver does (see the rules at the
// top of this file). An error (a *DMARCError) means receivers discard the
// record; a record they apply may still carry Errors.
func ParseDMARC(record string) (*ParsedDMARC, error) { return ParseDMARCInto(nil, record) }

// ParseDMARCInto is ParseDMARC into r (nil: a new one), reusing its arrays
// of tags and report URIs: a caller that parses record after record (the
// checks, a domain each) makes only the record's errors and warnings once
// they are large enough. It returns r, or nil and the error (r's contents
// are then undefined).
func ParseDMARCInto(r *ParsedDMARC, record string) (*ParsedDMARC, error) {
	// The items are taken one by one from the record, not split into a
	// slice: a parse per checked domain made one more array each.
	first, tail, _ := strings.Cut(record, ";")
	nRest := strings.Count(tail, ";") + 1 // the items after the first
	if len(first) == len(record) {
		nRest = 0
	}
	vName, vValue, ok := strings.Cut(first, "=")
	switch {
	case record == "":
		return nil, &DMARCError{Msg: "an empty record"}
	case strings.TrimLeft(record, " \t\r\n") != record:
		return nil, &DMARCError{Tag: "v", Msg: "whitespace before \"v=DMARC1\": receivers discard a record that does not start with v=DMARC1 (RFC 7489 §6.6.3)"}
	case !ok || !strings.EqualFold(strings.TrimRight(vName, " \t"), "v"):
		return nil, &DMARCError{Msg: `a DMARC record starts with "v=DMARC1"`}
	case strings.Trim(vValue, " \t") != "DMARC1":
		return nil, &DMARCError{Tag: "v", Msg: fmt.Sprintf("version %q, want exactly DMARC1", strings.Trim(vValue, " \t"))}
	}
	var tags []DMARCTag
	var rua, ruf []DMARCURI
	if r == nil {
		r = &ParsedDMARC{}
	} else {
		tags, rua, ruf = r.Tags[:0], r.RUA[:0], r.RUF[:0]
	}
	if cap(tags) < 1+nRest {
		tags = make([]DMARCTag, 0, 1+nRest)
	}
	*r = ParsedDMARC{Tags: append(tags, DMARCTag{Name: "v", Value: "DMARC1"}), Percent: 100, ADKIM: "r", ASPF: "r",
		FO: dmarcDefaultFO[:1:1], RF: dmarcDefaultRF[:1:1], RI: 86400}
	errf := func(format string, args ...any) { r.Errors = append(r.Errors, fmt.Sprintf(format, args...)) }
	var seen map[string]bool // the names of a record of many tags
	var pErr, spErr string
	pSeen := false
	ruaURI := false // rua holds a syntactically valid URI (§6.6.3 step 6)
	for i := range nRest {
		var item string
		item, tail, _ = strings.Cut(tail, ";")
		item = strings.Trim(item, " \t")
		if item == "" {
			if i == nRest-1 {
				continue // the optional final separator
			}
			r.Tags = append(r.Tags, DMARCTag{})
			errf("an empty item (\";;\") is a syntax error; receivers skip it (RFC 7489 §6.3)")
			continue
		}
		name, value, ok := strings.Cut(item, "=")
		name, value = strings.ToLower(strings.TrimRight(name, " \t")), strings.TrimLeft(value, " \t")
		if !ok || !dmarcTagName(name) || !dmarcValueChars(value) {
			r.Tags = append(r.Tags, DMARCTag{Value: item})
			errf("%q is not tag=value: receivers ignore it (RFC 7489 §6.3)", item)
			continue
		}
		if dmarcTagSeen(r.Tags, name, &seen) {
			return nil, &DMARCError{Tag: name, Msg: "the tag appears twice: receivers discard the record (RFC 7489 §6.3, RFC 6376 §3.2)"}
		}
		r.Tags = append(r.Tags, DMARCTag{Name: name, Value: value})
		lv := strings.ToLower(value)
		switch name {
		case "v":
			return nil, &DMARCError{Tag: "v", Msg: "v must appear once, first"}
		case "p":
			pSeen = true
			if !dmarcPolicy(lv) {
				pErr = fmt.Sprintf("p=%q is not none, quarantine or reject", value)
				continue
			}
			r.Policy = lv
			if len(r.Tags) != 2 {
				errf("p must be the second tag, right after v (RFC 7489 §6.3, §6.4)")
			}
		case "sp":
			if !dmarcPolicy(lv) {
				spErr = fmt.Sprintf("sp=%q is not none, quarantine or reject", value)
				continue
			}
			r.SubdomainPolicy = lv
		case "pct":
			n, err := strconv.Atoi(value)
			if err != nil || !spfIsDigits(value) || len(value) > 3 || n > 100 {
				errf("pct=: %q is not a whole number 0-100: receivers use 100 (RFC 7489 §6.3)", value)
				continue
			}
			r.Percent = n
		case "adkim", "aspf":
			if lv != "r" && lv != "s" {
				errf("%s=: %q is not r (relaxed) or s (strict): receivers use r (RFC 7489 §6.3)", name, value)
				continue
			}
			if name == "adkim" {
				r.ADKIM = lv
			} else {
				r.ASPF = lv
			}
		case "rua", "ruf":
			uris := rua // nil, or r's array before (ParseDMARCInto)
			if name == "ruf" {
				uris = ruf
			}
			for part := range strings.SplitSeq(value, ",") {
				u, w, err := parseDMARCURI(strings.Trim(part, " \t"))
				if name == "rua" && u.URI != "" {
					ruaURI = true
				}
				if err != nil {
					errf("%s=: %v: receivers skip it", name, err)
					continue
				}
				if w != "" {
					r.Warnings = append(r.Warnings, name+"=: "+w)
				}
				uris = append(uris, u)
			}
			if len(uris) == 0 {
				uris = nil // as a new record has it
			}
			if name == "rua" {
				r.RUA = uris
			} else {
				r.RUF = uris
			}
		case "fo":
			parts := trimAll(strings.Split(lv, ":"))
			good := true
			for _, p := range parts {
				if p != "0" && p != "1" && p != "d" && p != "s" {
					good = false
				}
			}
			if !good {
				errf("fo=: %q: options are 0, 1, d, s separated by ':'; receivers use 0 (RFC 7489 §6.3)", value)
				continue
			}
			r.FO = parts
		case "rf":
			parts := trimAll(strings.Split(lv, ":"))
			good := true
			for _, p := range parts {
				if p != "afrf" {
					good = false
					errf("rf=: report format %q is not registered (only afrf is): receivers SHOULD ignore it or MAY ignore the whole record (RFC 7489 §6.3)", p)
				}
			}
			if good {
				r.RF = parts
			}
		case "ri":
			n, err := strconv.ParseUint(value, 10, 32)
			if err != nil || !spfIsDigits(value) {
				errf("ri=: %q is not a whole number of seconds (32 bits): receivers use 86400 (RFC 7489 §6.3)", value)
				continue
			}
			r.RI = int(n)
		default:
			r.Warnings = append(r.Warnings, fmt.Sprintf("unknown tag %q is ignored (RFC 7489 §6.3)", name))
		}
	}
	if r.Policy == "" && pErr == "" {
		pErr = "p (the policy) is missing"
		if pSeen {
			pErr = "p is empty"
		}
	}
	if r.Policy == "" || spErr != "" {
		why := strings.Join(nonEmpty(pErr, spErr), "; ")
		if r.Policy != "" {
			why = spErr
		}
		if !ruaURI {
			tag := "p"
			if r.Policy != "" {
				tag = "sp"
			}
			return nil, &DMARCError{Tag: tag, Msg: why + ": without a valid rua receivers apply no DMARC policy (RFC 7489 §6.6.3)"}
		}
		r.Policy, r.SubdomainPolicy, r.PolicyFallback = "none", "", true
		errf("%s: because rua is valid, receivers act as if the record said p=none (RFC 7489 §6.6.3)", why)
	}
	return r, nil
}

// The defaults of fo and rf, shared by every record that leaves them out
// (a ParsedDMARC is read, never changed in place).
var dmarcDefaultFO, dmarcDefaultRF = []string{"0"}, []string{"afrf"}

// dmarcTagSeen reports whether the tags so far name name, and notes it: a
// record has a few tags, found by a scan, not a map made for each record
// (one of many tags, a TXT record can be long, gets the map).
func dmarcTagSeen(tags []DMARCTag, name string, seen *map[string]bool) bool {
	const scanned = 16
	if len(tags) <= scanned {
		for i := range tags {
			if tags[i].Name == name {
				return true
			}
		}
		return false
	}
	if *seen == nil {
		*seen = make(map[string]bool, 2*len(tags))
		for i := range tags {
			(*seen)[tags[i].Name] = true
		}
	}
	if (*seen)[name] {
		return true
	}
	(*seen)[name] = true
	return false
}

func nonEmpty(s ...string) []string {
	var out []string
	for _, v := range s {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// dmarcTagName: letters, digits and '_', starting with a letter (RFC 6376 §3.2).
func dmarcTagName(s string) bool {
	if s == "" || !spfIsAlpha(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !spfIsAlpha(c) && !(c >= '0' && c <= '9') && c != '_' {
			return false
		}
	}
	return true
}

// dmarcValueChars: printable ASCII and inner spaces (RFC 6376 §3.2 tval).
func dmarcValueChars(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x21 || c > 0x7e) && c != ' ' && c != '\t' {
			return false
		}
	}
	return true
}

// String prints the record: the tags in their order, "; " between them.
func (r *ParsedDMARC) String() string {
	parts := make([]string, len(r.Tags))
	for i, t := range r.Tags {
		if t.Name == "" {
			parts[i] = t.Value // an item that is not tag=value, as written
			continue
		}
		parts[i] = t.Name + "=" + t.Value
	}
	out := strings.Join(parts, "; ")
	if len(r.Tags) > 1 && r.Tags[len(r.Tags)-1] == (DMARCTag{}) {
		out += ";" // an empty last item, not the optional final separator
	}
	return out
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

// uriScheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 §3.1).
func uriScheme(s string) bool {
	if s == "" || !spfIsAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !spfIsAlpha(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// parseDMARCURI returns the URI, a warning for a scheme other than mailto,
// or an error. With an error, URI is set when s is still a syntactically
// valid URI (a mailto: without a usable address).
func parseDMARCURI(s string) (DMARCURI, string, error) {
	var u DMARCURI
	if s == "" {
		return u, "", fmt.Errorf("an empty URI")
	}
	uri := s
	if k := strings.LastIndexByte(s, '!'); k >= 0 {
		size := s[k+1:]
		unit := ""
		if size != "" && strings.IndexByte("kmgtKMGT", size[len(size)-1]) >= 0 {
			// Units are ABNF strings: case-insensitive (RFC 5234 §2.3).
			unit, size = strings.ToLower(size[len(size)-1:]), size[:len(size)-1]
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
	if !ok || !uriScheme(scheme) {
		return u, "", fmt.Errorf("%q is not a URI (want mailto:address)", s)
	}
	u.URI = uri
	if !strings.EqualFold(scheme, "mailto") {
		return u, fmt.Sprintf("%q: receivers only send reports to mailto: URIs", s), nil
	}
	addr, _, _ := strings.Cut(rest, "?")
	addr = percentDecode(addr)
	if !plainMailAddress(addr) {
		a, err := mail.ParseAddress(addr)
		if err != nil || a.Address != addr || a.Name != "" {
			return u, "", fmt.Errorf("%q: %q is not a mail address", s, addr)
		}
	}
	at := strings.LastIndexByte(addr, '@')
	dom := strings.ToLower(strings.TrimSuffix(addr[at+1:], "."))
	if msg := checkName(dom); msg != "" || !strings.Contains(dom, ".") {
		return u, "", fmt.Errorf("%q: %q is not a domain name", s, addr[at+1:])
	}
	u.Address = addr
	return u, "", nil
}

// plainMailAddress reports whether addr is local@domain with each part
// dot-separated runs of letters, digits, '_', '+' and '-': what everyone
// writes, and what mail.ParseAddress takes as is (it is asked about the
// rest).
func plainMailAddress(addr string) bool {
	at := strings.IndexByte(addr, '@')
	if at < 0 {
		return false
	}
	return plainDotAtom(addr[:at]) && plainDotAtom(addr[at+1:])
}

func plainDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '+', c == '-':
		case c == '.':
			if s[i-1] == '.' {
				return false
			}
		default:
			return false
		}
	}
	return true
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
func parseTagList(s string, fold bool) ([]DMARCTag, error) { return parseTagListInto(nil, s, fold) }

// parseTagListInto is parseTagList appending to out[:0]. The items are
// taken one by one, not split into a slice first.
func parseTagListInto(out []DMARCTag, s string, fold bool) ([]DMARCTag, error) {
	n := strings.Count(s, ";") + 1 // the items
	lastEmpty := strings.Trim(s[strings.LastIndexByte(s, ';')+1:], " \t\r\n") == ""
	if cap(out) < n {
		out = make([]DMARCTag, 0, n)
	}
	out = out[:0]
	rest := s
	for i := range n {
		var p string
		p, rest, _ = strings.Cut(rest, ";")
		p = strings.Trim(p, " \t\r\n")
		if p == "" {
			if i == n-1 || i == n-2 && lastEmpty {
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
		for _, t := range out { // a record has a few tags (and a TXT value, a few thousand bytes at most)
			if t.Name == lname {
				return nil, fmt.Errorf("tag %s appears twice", lname)
			}
		}
		out = append(out, DMARCTag{Name: lname, Value: value})
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}
