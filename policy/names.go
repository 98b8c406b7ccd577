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
	for rest, more := name, true; more; {
		var l string
		l, rest, more = strings.Cut(rest, ".") // the labels, without a slice of them
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

// classlessHolds reports whether zone is an RFC 2317 classless reverse zone
// ("0-63.113.0.203.in-addr.arpa" or "0/26.113.0.203.in-addr.arpa") whose
// range holds the IPv4 address ip.
func classlessHolds(zone string, ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.Is4() {
		return false
	}
	first, parent, ok := strings.Cut(zone, ".")
	if !ok {
		return false
	}
	b := ip.As4()
	if parent != fmt.Sprintf("%d.%d.%d.in-addr.arpa", b[2], b[1], b[0]) {
		return false
	}
	last := int(b[3])
	if lo, hi, ok := strings.Cut(first, "-"); ok {
		l, err1 := strconv.Atoi(lo)
		h, err2 := strconv.Atoi(hi)
		return err1 == nil && err2 == nil && l <= last && last <= h
	}
	if base, bits, ok := strings.Cut(first, "/"); ok {
		l, err1 := strconv.Atoi(base)
		n, err2 := strconv.Atoi(bits)
		if err1 != nil || err2 != nil || n < 24 || n > 32 {
			return false
		}
		size := 1 << (32 - n)
		return l <= last && last < l+size
	}
	return false
}
