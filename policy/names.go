package policy

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// checkName reports why name (no trailing dot, lower case) is not a valid
// DNS name, or "". Labels are 1..63 bytes of letters, digits, '-' and '_'
// (service labels such as _domainkey), not starting or ending with '-'.
func checkName(name string) string {
	if name == "" {
		return "empty name"
	}
	if len(name) > 253 {
		return "name longer than 253 characters"
	}
	for _, l := range strings.Split(name, ".") {
		if l == "" {
			return "empty label"
		}
		if len(l) > 63 {
			return fmt.Sprintf("label %q longer than 63 characters", l)
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			switch {
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_':
			case c == '-':
				if i == 0 || i == len(l)-1 {
					return fmt.Sprintf("label %q starts or ends with '-'", l)
				}
			case c >= 0x80:
				return "non-ASCII name: write the A-label (xn--) form"
			default:
				return fmt.Sprintf("invalid character %q", c)
			}
		}
	}
	return ""
}

// normName lower-cases a name and strips one trailing dot.
func normName(s string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
}

// inZone reports whether name (no trailing dot) is zone or under it.
func inZone(name, zone string) bool {
	return name == zone || strings.HasSuffix(name, "."+zone)
}

// relName returns name (no trailing dot) relative to zone, "@" for the apex.
func relName(name, zone string) string {
	if name == zone {
		return "@"
	}
	return strings.TrimSuffix(name, "."+zone)
}

// ReverseName returns the reverse-DNS name of ip, fully qualified with a
// trailing dot: "25.113.0.203.in-addr.arpa." or the ip6.arpa nibble form.
func ReverseName(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is4() {
		b := ip.As4()
		return fmt.Sprintf("%d.%d.%d.%d.in-addr.arpa.", b[3], b[2], b[1], b[0])
	}
	b := ip.As16()
	var sb strings.Builder
	for i := len(b) - 1; i >= 0; i-- {
		sb.WriteString(strconv.FormatUint(uint64(b[i]&0x0f), 16))
		sb.WriteByte('.')
		sb.WriteString(strconv.FormatUint(uint64(b[i]>>4), 16))
		sb.WriteByte('.')
	}
	sb.WriteString("ip6.arpa.")
	return sb.String()
}
