package zonefile

import "strings"

// decodeTXT joins the character strings of a TXT record, as miekg/dns holds
// them (presentation escapes such as \" \\ \DDD kept), into the raw text.
func decodeTXT(txt []string) string {
	escaped := false
	n := 0
	for _, s := range txt {
		n += len(s)
		if !escaped && strings.IndexByte(s, '\\') >= 0 {
			escaped = true
		}
	}
	if !escaped {
		if len(txt) == 1 {
			return txt[0]
		}
		return strings.Join(txt, "")
	}
	var b strings.Builder
	b.Grow(n)
	for _, s := range txt {
		for i := 0; i < len(s); {
			c := s[i]
			if c != '\\' {
				b.WriteByte(c)
				i++
				continue
			}
			if i+1 >= len(s) { // a dangling escape: miekg/dns drops it too
				break
			}
			if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
				b.WriteByte((s[i+1]-'0')*100 + (s[i+2]-'0')*10 + (s[i+3] - '0'))
				i += 4
				continue
			}
			b.WriteByte(s[i+1])
			i += 2
		}
	}
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// encodeTXT returns text as TXT record data in zone file syntax: character
// strings of at most 255 bytes, each quoted, with " and \ escaped and bytes
// outside printable ASCII written as \DDD.
func encodeTXT(text string) string {
	var b strings.Builder
	b.Grow(len(text) + 8)
	if text == "" {
		return `""`
	}
	for start := 0; start < len(text); start += 255 {
		end := min(start+255, len(text))
		if start > 0 {
			b.WriteByte(' ')
		}
		b.WriteByte('"')
		for i := start; i < end; i++ {
			c := text[i]
			switch {
			case c == '"' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case c < ' ' || c > '~':
				b.WriteByte('\\')
				b.WriteByte('0' + c/100)
				b.WriteByte('0' + c/10%10)
				b.WriteByte('0' + c%10)
			default:
				b.WriteByte(c)
			}
		}
		b.WriteByte('"')
	}
	return b.String()
}
