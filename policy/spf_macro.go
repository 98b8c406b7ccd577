package policy

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// SPFMacroEnv holds what SPF macros expand to (RFC 7208 §7.2).
type SPFMacroEnv struct {
	Sender    string     // <sender>: "local@domain" (s, l, o)
	Domain    string     // <domain>: the domain whose record is being evaluated (d)
	IP        netip.Addr // <ip> (i, c, v)
	HELO      string     // h
	Validated string     // p: validated domain name of <ip>; "" expands to "unknown"
	Receiver  string     // r (exp only); "" expands to "unknown"
	Now       time.Time  // t (exp only)
}

// ExpandSPFMacros expands the macros of a macro-string. exp allows the
// letters c, r and t, which only explanation text may use.
func ExpandSPFMacros(s string, env *SPFMacroEnv, exp bool) (string, error) {
	if env == nil {
		env = &SPFMacroEnv{}
	}
	out, p, msg := spfExpandMacros(s, env, exp)
	if msg != "" {
		return "", &SPFSyntaxError{Pos: p, Term: s, Msg: msg}
	}
	return out, nil
}

// ExpandSPFDomain expands a domain-spec to the name to query: macros
// expanded, then labels removed from the left until it is at most 253
// characters (RFC 7208 §7.3).
func ExpandSPFDomain(spec string, env *SPFMacroEnv) (string, error) {
	if p, msg := spfCheckDomainSpec(spec); msg != "" {
		return "", &SPFSyntaxError{Pos: p, Term: spec, Msg: msg}
	}
	out, err := ExpandSPFMacros(spec, env, false)
	if err != nil {
		return "", err
	}
	out = strings.TrimSuffix(out, ".")
	for len(out) > 253 {
		k := strings.IndexByte(out, '.')
		if k < 0 {
			return "", errors.New("expanded domain is longer than 253 characters")
		}
		out = out[k+1:]
	}
	return out, nil
}

// HasSPFMacros reports whether s holds a %{...} macro (not just escapes).
func HasSPFMacros(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '%' {
			if s[i+1] == '{' {
				return true
			}
			i++ // skip the escaped character
		}
	}
	return false
}

// SPFMacroLetters returns the lower-case macro letters s uses, in order.
func SPFMacroLetters(s string) []byte {
	var out []byte
	for i := 0; i+2 < len(s); i++ {
		if s[i] == '%' {
			if s[i+1] == '{' {
				c := s[i+2]
				if c >= 'A' && c <= 'Z' {
					c += 'a' - 'A'
				}
				out = append(out, c)
			}
			i++
		}
	}
	return out
}

// spfExpandMacros validates (env nil) or expands a macro-string. It returns the
// result, and the offset and message of the first problem ("" when none).
func spfExpandMacros(s string, env *SPFMacroEnv, exp bool) (string, int, string) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			if c < 0x21 || c > 0x7e {
				if !(exp && c == ' ') {
					return "", i, fmt.Sprintf("character %q is not allowed", c)
				}
			}
			b.WriteByte(c)
			continue
		}
		if i+1 >= len(s) {
			return "", i, `a lone "%" (write "%%" for a percent sign)`
		}
		switch s[i+1] {
		case '%':
			b.WriteByte('%')
			i++
			continue
		case '_':
			b.WriteByte(' ')
			i++
			continue
		case '-':
			b.WriteString("%20")
			i++
			continue
		case '{':
		default:
			return "", i, fmt.Sprintf(`"%%%c" is not a macro (use %%{x}, %%%%, %%_ or %%-)`, s[i+1])
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", i, "unterminated macro (missing \"}\")"
		}
		body := s[i+2 : i+end]
		val, msg := spfExpandOne(body, env, exp)
		if msg != "" {
			return "", i, msg
		}
		b.WriteString(val)
		i += end
	}
	return b.String(), 0, ""
}

// spfExpandOne expands the body of one %{...}: letter, digits, "r", delimiters.
func spfExpandOne(body string, env *SPFMacroEnv, exp bool) (string, string) {
	if body == "" {
		return "", "empty macro %{}"
	}
	letter := body[0]
	upper := letter >= 'A' && letter <= 'Z'
	if upper {
		letter += 'a' - 'A'
	}
	switch letter {
	case 's', 'l', 'o', 'd', 'i', 'p', 'h', 'v':
	case 'c', 'r', 't':
		if !exp {
			return "", fmt.Sprintf("macro letter %q is allowed only in explanation text (RFC 7208 §7.2)", body[0])
		}
	default:
		return "", fmt.Sprintf("unknown macro letter %q", body[0])
	}
	rest := body[1:]
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	keep := 0
	if n > 0 {
		v, err := strconv.Atoi(rest[:n])
		if err != nil || v == 0 {
			return "", fmt.Sprintf("macro %%{%s}: the digit transformer must be a nonzero number (RFC 7208 §7.3)", body)
		}
		keep = v
	}
	rest = rest[n:]
	reverse := false
	if strings.HasPrefix(rest, "r") || strings.HasPrefix(rest, "R") {
		reverse = true
		rest = rest[1:]
	}
	for i := 0; i < len(rest); i++ {
		if strings.IndexByte(".-+,/_=", rest[i]) < 0 {
			return "", fmt.Sprintf("macro %%{%s}: %q is not a delimiter (one of . - + , / _ =)", body, rest[i])
		}
	}
	if env == nil {
		return "", ""
	}
	val := spfMacroValue(letter, env)
	delims := rest
	if delims == "" {
		delims = "."
	}
	parts := strings.FieldsFunc(val, func(r rune) bool { return strings.ContainsRune(delims, r) })
	if val != "" && len(parts) == 0 {
		parts = []string{""}
	}
	if reverse {
		for a, z := 0, len(parts)-1; a < z; a, z = a+1, z-1 {
			parts[a], parts[z] = parts[z], parts[a]
		}
	}
	if keep > 0 && keep < len(parts) {
		parts = parts[len(parts)-keep:]
	}
	out := strings.Join(parts, ".")
	if upper {
		out = spfURLEscape(out)
	}
	return out, ""
}

func spfMacroValue(letter byte, env *SPFMacroEnv) string {
	local, dom, ok := strings.Cut(env.Sender, "@")
	if !ok {
		local, dom = "", env.Sender
	}
	if local == "" {
		local = "postmaster"
	}
	switch letter {
	case 's':
		return local + "@" + dom
	case 'l':
		return local
	case 'o':
		return dom
	case 'd':
		return env.Domain
	case 'i':
		if !env.IP.IsValid() {
			return ""
		}
		if env.IP.Is4() || env.IP.Is4In6() {
			return env.IP.Unmap().String()
		}
		a := env.IP.As16()
		nib := make([]string, 0, 32)
		for _, x := range a {
			nib = append(nib, strconv.FormatUint(uint64(x>>4), 16), strconv.FormatUint(uint64(x&15), 16))
		}
		return strings.Join(nib, ".")
	case 'c':
		if !env.IP.IsValid() {
			return ""
		}
		return env.IP.Unmap().String()
	case 'v':
		if env.IP.Is4() || env.IP.Is4In6() {
			return "in-addr"
		}
		return "ip6"
	case 'p':
		if env.Validated == "" {
			return "unknown"
		}
		return env.Validated
	case 'h':
		return env.HELO
	case 'r':
		if env.Receiver == "" {
			return "unknown"
		}
		return env.Receiver
	case 't':
		return strconv.FormatInt(env.Now.Unix(), 10)
	}
	return ""
}

// spfURLEscape escapes every byte outside RFC 3986's unreserved set.
func spfURLEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if spfIsAlpha(c) || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}
