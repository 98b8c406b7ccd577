package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
)

// MTASTS is the mta_sts: element (RFC 8461): the policy served at
// https://mta-sts.<domain>/.well-known/mta-sts.txt and the _mta-sts TXT
// record that announces it.
type MTASTS struct {
	Pos    Pos
	Mode   string   // enforce | testing | none
	MaxAge int      // seconds, 0..MaxMTASTSMaxAge
	MX     []string // patterns as written (lower case, no trailing dot); nil: the policy's MX hosts
	MXPos  []Pos
	// PolicyDir is where maildns writes <domain>/.well-known/mta-sts.txt
	// (absolute, resolved against the policy file); "": not written (the
	// operator serves the policy; the live check still compares it).
	PolicyDir string
}

// MTA-STS limits and defaults (RFC 8461 §3.2).
const (
	MaxMTASTSMaxAge     = 31557600 // one year
	DefaultMTASTSMaxAge = 604800   // one week
)

// MTASTSModes are the policy modes from strongest to weakest.
var MTASTSModes = []string{"enforce", "testing", "none"}

func (l *domainLoader) mtaSTS(e entry) {
	fields, ok := l.mapping(node{l.file, e.node}, "mta_sts", []string{"mode", "max_age", "mx", "policy_dir"})
	if !ok {
		return
	}
	m := &MTASTS{Pos: e.pos, MaxAge: DefaultMTASTSMaxAge}
	good := true
	for _, f := range fields {
		switch f.key {
		case "mode":
			if v, ok := l.str(f, l.file); ok && l.oneOf(l.at(f), "mta_sts mode", v, MTASTSModes) {
				m.Mode = v
			} else {
				good = false
			}
		case "max_age":
			i, ok := l.integer(f, l.file)
			if !ok {
				good = false
				continue
			}
			if i < 0 || i > MaxMTASTSMaxAge {
				l.errorf(l.at(f), "mta_sts max_age must be 0..%d seconds (RFC 8461: at most one year), not %d", MaxMTASTSMaxAge, i)
				good = false
				continue
			}
			m.MaxAge = int(i)
		case "mx":
			list, pos, ok := l.strList(f, l.file)
			if !ok {
				good = false
			}
			m.MX = []string{}
			for i, s := range list {
				p := normName(s)
				if msg := checkMXPattern(p); msg != "" {
					l.errorf(pos[i], "mta_sts mx %q is not a valid pattern: %s", s, msg)
					good = false
					continue
				}
				if contains(m.MX, p) {
					l.errorf(pos[i], "mta_sts mx %q is listed twice", s)
					good = false
					continue
				}
				m.MX = append(m.MX, p)
				m.MXPos = append(m.MXPos, pos[i])
			}
			if len(list) == 0 && good {
				l.errorf(f.pos, "mta_sts mx is empty: leave it out to use the policy's MX hosts")
				good = false
			}
		case "policy_dir":
			s, ok := l.str(f, l.file)
			if !ok {
				good = false
				continue
			}
			if strings.TrimSpace(s) == "" {
				l.errorf(l.at(f), "mta_sts policy_dir must not be empty")
				good = false
				continue
			}
			dir := resolvePath(filepath.Dir(l.file), s)
			if abs, err := filepath.Abs(dir); err == nil {
				dir = abs
			}
			m.PolicyDir = dir
		}
	}
	if !hasKey(fields, "mode") {
		l.errorf(e.pos, "mta_sts: mode is required (enforce, testing or none)")
		good = false
	}
	if !good {
		return
	}
	if m.MX == nil && m.Mode != "none" {
		if len(l.d.MX) == 1 && l.d.MX[0].Host == "." {
			l.errorf(e.pos, "mta_sts: the domain has a null MX (it receives no mail): MTA-STS needs MX hosts")
			return
		}
		if len(MTASTSMX(l.d)) == 0 {
			l.errorf(e.pos, "mta_sts: no mx patterns and the policy has no MX hosts to take them from")
			return
		}
	}
	l.d.MTASTS = m
}

// checkMXPattern says what is wrong with an MTA-STS mx pattern (RFC 8461
// §3.2: a host name, or "*." and a name matching one leftmost label), or "".
func checkMXPattern(p string) string {
	name := p
	if rest, ok := strings.CutPrefix(p, "*."); ok {
		name = rest
		if !strings.Contains(name, ".") {
			return "a wildcard needs at least two labels after \"*.\""
		}
	}
	if strings.Contains(name, "*") {
		return "a wildcard is allowed only as the whole leftmost label (\"*.example.com\")"
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return "an MX pattern is a host name, not an IP address"
	}
	if msg := checkName(name); msg != "" {
		return msg
	}
	if strings.Contains(name, "_") {
		return "invalid character '_' in a host name"
	}
	return ""
}

// MTASTSMX returns the mx patterns of d's MTA-STS policy: as written, or
// the policy's MX hosts (lower case, no trailing dot).
func MTASTSMX(d *Domain) []string {
	if d.MTASTS != nil && d.MTASTS.MX != nil {
		return d.MTASTS.MX
	}
	var out []string
	add := func(t string) {
		t = strings.TrimSuffix(t, ".")
		if t != "" && !contains(out, t) {
			out = append(out, t)
		}
	}
	if d.MX != nil {
		for _, m := range d.MX {
			if m.Host != "." {
				add(mxTarget(m.Host, d.Domain))
			}
		}
	} else {
		for _, h := range d.MailHosts {
			add(h.FQDN(d.Domain))
		}
	}
	return out
}

// MTASTSMatch reports whether host (no trailing dot needed) is covered by
// the mx pattern (RFC 8461 §4.1: a wildcard matches exactly one leftmost
// label). Case is ignored.
func MTASTSMatch(pattern, host string) bool {
	pattern = normName(pattern)
	host = normName(host)
	if rest, ok := strings.CutPrefix(pattern, "*."); ok {
		_, parent, found := strings.Cut(host, ".")
		return found && parent == rest
	}
	return pattern == host
}

// MTASTSPolicyText is the policy file d serves (RFC 8461 §3.2), lines ending
// in CRLF as the RFC's examples: version, mode, each mx, max_age.
func MTASTSPolicyText(d *Domain) string {
	m := d.MTASTS
	if m == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString("version: STSv1\r\n")
	b.WriteString("mode: " + m.Mode + "\r\n")
	for _, p := range MTASTSMX(d) {
		b.WriteString("mx: " + p + "\r\n")
	}
	b.WriteString("max_age: " + strconv.Itoa(m.MaxAge) + "\r\n")
	return b.String()
}

// MTASTSID is the id of a policy text: the first 128 bits of its SHA-256 in
// hex (32 characters, RFC 8461 §3.1 allows 1-32 alphanumerics), so that any
// change of the text changes the id.
func MTASTSID(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:16])
}

// MTASTSRecord is the _mta-sts TXT value that announces text.
func MTASTSRecord(text string) string {
	return "v=STSv1; id=" + MTASTSID(text)
}

// MTASTSPolicyFile is where maildns writes d's policy, or "" when the
// policy has no policy_dir.
func MTASTSPolicyFile(d *Domain) string {
	if d.MTASTS == nil || d.MTASTS.PolicyDir == "" {
		return ""
	}
	return filepath.Join(d.MTASTS.PolicyDir, d.Domain, ".well-known", "mta-sts.txt")
}

// MTASTSURL is where senders fetch d's policy (RFC 8461 §3.3).
func MTASTSURL(domain string) string {
	return "https://mta-sts." + strings.TrimSuffix(domain, ".") + "/.well-known/mta-sts.txt"
}

// ParseMTASTSPolicy reads a policy text (RFC 8461 §3.2): key/value lines
// separated by LF or CRLF. It returns the mode, the mx patterns and
// max_age, or an error naming the first problem.
func ParseMTASTSPolicy(text string) (mode string, mx []string, maxAge int, err error) {
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return "", nil, 0, errorString("line " + strconv.Quote(line) + " is not key: value")
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if k != "mx" && seen[k] {
			continue // RFC 8461 §3.2: the first occurrence counts
		}
		seen[k] = true
		switch k {
		case "version":
			if v != "STSv1" {
				return "", nil, 0, errorString("version is " + strconv.Quote(v) + ", want STSv1")
			}
		case "mode":
			if !contains(MTASTSModes, v) {
				return "", nil, 0, errorString("mode " + strconv.Quote(v) + " is not enforce, testing or none")
			}
			mode = v
		case "mx":
			mx = append(mx, strings.ToLower(v))
		case "max_age":
			n, perr := strconv.Atoi(v)
			if perr != nil || n < 0 || n > MaxMTASTSMaxAge {
				return "", nil, 0, errorString("max_age " + strconv.Quote(v) + " is not 0.." + strconv.Itoa(MaxMTASTSMaxAge))
			}
			maxAge = n
		}
	}
	switch {
	case !seen["version"]:
		return "", nil, 0, errorString("no version: STSv1 line")
	case mode == "":
		return "", nil, 0, errorString("no mode line")
	case !seen["max_age"]:
		return "", nil, 0, errorString("no max_age line")
	case mode != "none" && len(mx) == 0:
		return "", nil, 0, errorString("no mx line")
	}
	return mode, mx, maxAge, nil
}

// ParseMTASTSRecord returns the id of an _mta-sts TXT value ("v=STSv1;
// id=..."), or ok false when it is not a valid one.
func ParseMTASTSRecord(v string) (id string, ok bool) {
	parts := strings.Split(v, ";")
	if strings.TrimSpace(parts[0]) != "v=STSv1" {
		return "", false
	}
	for _, p := range parts[1:] {
		k, val, found := strings.Cut(strings.TrimSpace(p), "=")
		if found && k == "id" {
			val = strings.TrimSpace(val)
			if len(val) < 1 || len(val) > 32 {
				return "", false
			}
			for _, c := range val {
				if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
					return "", false
				}
			}
			return val, true
		}
	}
	return "", false
}

type errorString string

func (e errorString) Error() string { return string(e) }

// CheckMTASTSMXPattern says what is wrong with an MTA-STS mx pattern, or ""
// when the mta_sts element accepts it (for import, which must not write a
// policy that does not load).
func CheckMTASTSMXPattern(p string) string { return checkMXPattern(normName(p)) }
