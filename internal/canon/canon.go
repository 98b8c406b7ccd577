// Package canon is the canonical form of records inside maildns (see
// providers/normalize.go): owner names relative to or outside a zone, and
// record data as every backend, the policy compiler, the differ and the
// live checks' resolvers compare it. It imports nothing of maildns, so that
// providers and the live checks, which must not know each other, share it.
package canon

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// RelativeName returns name relative to zone, lower case, "@" for the apex.
// name may be relative (as libdns records are), "@" or fully qualified.
func RelativeName(name, zone string) string {
	// Blanks only: a zone file name may hold a raw \v or no-break space
	// at its ends (miekg/dns takes them), which TrimSpace would drop.
	name = strings.ToLower(strings.Trim(name, " \t\r\n"))
	zone = bareZone(zone)
	if name == "" || name == "@" {
		return "@"
	}
	if strings.HasSuffix(name, ".") {
		fq := name[:len(name)-1]
		if fq == zone {
			return "@"
		}
		if zone != "" && len(fq) > len(zone) && fq[len(fq)-len(zone)-1] == '.' && fq[len(fq)-len(zone):] == zone {
			return fq[:len(fq)-len(zone)-1]
		}
		return name // outside the zone: keep it absolute
	}
	return name
}

// bareZone returns zone in lower case without spaces around it nor its
// trailing dot.
func bareZone(zone string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(zone), "."))
}

// AbsoluteName returns the fully qualified name (trailing dot) of a relative name in zone.
func AbsoluteName(name, zone string) string {
	name = strings.ToLower(name)
	switch {
	case name == "" || name == "@":
		if strings.HasSuffix(zone, ".") {
			return strings.ToLower(zone) // no copy when already lower case
		}
		return strings.ToLower(strings.TrimSuffix(zone, ".")) + "."
	case strings.HasSuffix(name, "."):
		return name
	default:
		return name + "." + strings.ToLower(strings.TrimSuffix(zone, ".")) + "."
	}
}

// Data returns data of type typ in the canonical form. Relative
// targets are completed with zone.
func Data(typ, data, zone string) (string, error) {
	data = strings.TrimSpace(data)
	switch typ {
	case "A", "AAAA":
		ip, err := netip.ParseAddr(data)
		if err != nil || ip.Zone() != "" {
			return "", fmt.Errorf("bad address %q", data)
		}
		if typ == "A" {
			if !ip.Is4() && !ip.Is4In6() {
				return "", fmt.Errorf("address %q does not fit type %s", data, typ)
			}
			ip = ip.Unmap()
		} else if !ip.Is6() {
			return "", fmt.Errorf("address %q does not fit type %s", data, typ)
		}
		// An AAAA record may hold an IPv4-mapped address: it stays IPv6.
		var buf [64]byte
		if b := ip.AppendTo(buf[:0]); string(b) != data {
			return string(b), nil
		}
		return data, nil // already canonical: no copy
	case "MX":
		if pref, target, ok := strings.Cut(data, " "); ok && plainField(pref) && plainField(target) {
			// One space between two plain fields, as the canonical form
			// has it: kept as it is when it is that form.
			_, err := strconv.ParseUint(pref, 10, 16)
			if err == nil && (pref[0] != '0' || pref == "0") && canonicalTarget(target, zone) == target {
				return data, nil
			}
		}
		f := strings.Fields(data)
		if len(f) != 2 {
			return "", fmt.Errorf("bad MX data %q", data)
		}
		pref, err := strconv.ParseUint(f[0], 10, 16)
		if err != nil {
			return "", fmt.Errorf("bad MX preference in %q", data)
		}
		return strconv.FormatUint(pref, 10) + " " + canonicalTarget(f[1], zone), nil
	case "PTR", "CNAME", "NS":
		return canonicalTarget(data, zone), nil
	case "TXT", "SPF":
		return TXT(data), nil
	case "TLSA":
		return canonicalTLSA(data)
	default:
		return data, nil
	}
}

// plainField reports whether s is a non-empty field without white space
// (nor any byte outside ASCII, where strings.Fields would look for it).
func plainField(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return s != ""
}

func canonicalTarget(t, zone string) string {
	t = strings.ToLower(t)
	if t == "." {
		return "."
	}
	if t == "@" {
		return AbsoluteName("@", zone)
	}
	if strings.HasSuffix(t, ".") {
		return t
	}
	if zone == "" {
		return t + "."
	}
	return AbsoluteName(t, zone)
}

// TXT turns the many shapes providers return TXT data in into the
// plain text: `"a" "b"` and `a" "b` (split strings) are joined, presentation
// escapes (\" \\ \DDD) are undone. Plain text without quotes is returned as is.
func TXT(s string) string {
	if !strings.ContainsAny(s, "\"\\") {
		return s
	}
	quoted := strings.HasPrefix(s, "\"") && strings.HasSuffix(s, "\"") && len(s) >= 2
	if !quoted && !strings.Contains(s, "\" \"") && !strings.Contains(s, "\\") {
		return s
	}
	if !quoted && strings.Contains(s, "\" \"") {
		s = "\"" + s + "\""
		quoted = true
	}
	var b strings.Builder
	inQuote := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			n := s[i+1]
			if n >= '0' && n <= '9' && i+3 < len(s) {
				if v, err := strconv.Atoi(s[i+1 : i+4]); err == nil && v < 256 {
					b.WriteByte(byte(v))
					i += 3
					continue
				}
			}
			b.WriteByte(n)
			i++
		case c == '"' && quoted:
			inQuote = !inQuote
		case !inQuote && quoted && (c == ' ' || c == '\t'):
			// space between strings
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// canonicalTLSA returns "USAGE SELECTOR MTYPE hex": numbers without
// leading zeros, the hex lower case and in one piece (zone files may split
// it, servers print it in either case).
func canonicalTLSA(data string) (string, error) {
	f := strings.Fields(data)
	if len(f) < 4 {
		return "", fmt.Errorf("bad TLSA data %q", data)
	}
	var nums []string
	for _, s := range f[:3] {
		n, err := strconv.ParseUint(s, 10, 8)
		if err != nil {
			return "", fmt.Errorf("bad TLSA data %q", data)
		}
		nums = append(nums, strconv.FormatUint(n, 10))
	}
	return strings.Join(nums, " ") + " " + strings.ToLower(strings.Join(f[3:], "")), nil
}
