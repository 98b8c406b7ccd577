package zonefile

import (
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// FuzzTXTRoundTrip checks that any text written as TXT data reads back
// exactly, through miekg/dns's zone parser and its printer.
func FuzzTXTRoundTrip(f *testing.F) {
	for _, s := range []string{
		"", "plain", `"`, `\`, `\\\"`, ";", "a;b", `"a" "b"`, `\065`, "\x00\xff",
		"( paren", "tab\tnewline\n", strings.Repeat("x", 255), strings.Repeat(`\"`, 300),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		line := "t.example.com. 60 IN TXT " + encodeTXT(text) + "\n"
		rr, err := dns.NewRR(line)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		txt := rr.(*dns.TXT)
		if got := decodeTXT(txt.Txt); got != text {
			t.Fatalf("read back %q, want %q", got, text)
		}
		for _, s := range txt.Txt {
			if n := len(decodeTXT([]string{s})); n > 255 {
				t.Fatalf("a string of %d bytes", n)
			}
		}
		// miekg/dns prints it back in a form that parses to the same text.
		again, err := dns.NewRR(rr.String())
		if err != nil {
			t.Fatalf("%q: %v", rr.String(), err)
		}
		if got := decodeTXT(again.(*dns.TXT).Txt); got != text {
			t.Fatalf("after printing, read back %q, want %q", got, text)
		}
	})
}

func TestDecodeTXT(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{[]string{"a", "b"}, "ab"},
		{[]string{`\"q\"`}, `"q"`},
		{[]string{`\\`}, `\`},
		{[]string{`\065\066`}, "AB"},
		{[]string{`\06`}, "06"},
		{[]string{`x\`}, "x"},
		{[]string{`\;`}, ";"},
	}
	for _, tc := range tests {
		if got := decodeTXT(tc.in); got != tc.want {
			t.Errorf("decodeTXT(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
