package policy

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// spfCases are records from RFC 7208 (appendix A, §5, §7) and its errata,
// and the edges of the §12 ABNF, with the verdict the RFC gives. lookups is
// the number of DNS-querying terms in the record itself.
var spfCases = []struct {
	rec     string
	ok      bool
	lookups int
	errPos  int // 1-based column of the error, 0: not checked
}{
	// Appendix A.1, simple examples.
	{"v=spf1 +all", true, 0, 0},
	{"v=spf1 a -all", true, 1, 0},
	{"v=spf1 a:example.org -all", true, 1, 0},
	{"v=spf1 mx -all", true, 1, 0},
	{"v=spf1 mx:example.org -all", true, 1, 0},
	{"v=spf1 mx mx:example.org -all", true, 2, 0},
	{"v=spf1 mx/30 mx:example.org/30 -all", true, 2, 0},
	{"v=spf1 ptr -all", true, 1, 0},
	{"v=spf1 ip4:192.0.2.128/28 -all", true, 0, 0},
	// A.2, multiple domain example.
	{"v=spf1 include:example.com include:example.net -all", true, 2, 0},
	{"v=spf1 redirect=example.com", true, 1, 0},
	// A.3, DNSBL style and A.4 multiple requirements.
	{"v=spf1 mx -all exp=explain._spf.%{d}", true, 1, 0},
	{"v=spf1 -include:ip4._spf.%{d} -include:ptr._spf.%{d} +all", true, 2, 0},
	{"v=spf1 -ip4:192.0.2.0/24 +all", true, 0, 0},
	{"v=spf1 -ptr +all", true, 1, 0},
	{"v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all", true, 1, 0},
	{"v=spf1 -exists:%{ir}.sbl.example.org +all", true, 1, 0},
	// Version section.
	{"v=spf1", true, 0, 0},
	{"v=spf1 ", true, 0, 0},
	{"V=SPF1 A -ALL", true, 1, 0},
	{"v=spf1  -all  ", true, 0, 0},
	{"v=spf10 -all", false, 0, 1},
	{"v=spf2.0/pra -all", false, 0, 1},
	{"spf1 -all", false, 0, 1},
	// Mechanisms and CIDR (§5.6, §12).
	{"v=spf1 ip6:2001:db8::/32 -all", true, 0, 0},
	{"v=spf1 ip6:2001:db8::cb01 ~all", true, 0, 0},
	{"v=spf1 ip6:::ffff:192.0.2.1 ~all", true, 0, 0},
	{"v=spf1 a:example.com/24//64 -all", true, 1, 0},
	{"v=spf1 mx//64 -all", true, 1, 0},
	{"v=spf1 a/0 -all", true, 1, 0},
	{"v=spf1 ip4:192.0.2.1/33 -all", false, 0, 22},
	{"v=spf1 ip4:192.0.2.01 -all", false, 0, 12},
	{"v=spf1 ip4:192.0.2 -all", false, 0, 12},
	{"v=spf1 ip4:2001:db8::1 -all", false, 0, 12},
	{"v=spf1 ip6:192.0.2.1 -all", false, 0, 12},
	{"v=spf1 ip6:2001:db8::/129 -all", false, 0, 23},
	{"v=spf1 ip6:fe80::1%eth0 -all", false, 0, 12},
	{"v=spf1 a/08 -all", false, 0, 10},
	{"v=spf1 a//129 -all", false, 0, 11},
	{"v=spf1 ip4: -all", false, 0, 11},
	{"v=spf1 include: -all", false, 0, 15},
	{"v=spf1 include -all", false, 0, 15},
	{"v=spf1 exists -all", false, 0, 14},
	{"v=spf1 all:example.com", false, 0, 11},
	{"v=spf1 foo -all", false, 0, 8},
	{"v=spf1 a.example.com -all", false, 0, 8},
	{"v=spf1 +redirect=example.com", false, 0, 8},
	{"v=spf1 9x=y", false, 0, 8},
	// Domain-spec: "." toplabel or a macro at the end (§7.1, erratum 5227).
	{"v=spf1 include:_spf.example.com -all", true, 1, 0},
	{"v=spf1 include:example.com. -all", true, 1, 0},
	{"v=spf1 a:foo -all", false, 0, 10},
	{"v=spf1 a:192.0.2.1 -all", false, 0, 18},
	{"v=spf1 include:example.-com -all", false, 0, 24},
	{"v=spf1 include:%{d} -all", true, 1, 0},
	{"v=spf1 a:mail.example.com:25 -all", false, 0, 23},
	// Macros (§7).
	{"v=spf1 exists:%{i}.%{v}.%{d2}.example.net -all", true, 1, 0},
	{"v=spf1 exists:%{x}.example.com -all", false, 0, 15},
	{"v=spf1 exists:%{d0}.example.com -all", false, 0, 15},
	{"v=spf1 exists:%{i -all", false, 0, 15},
	{"v=spf1 exists:%{c}.example.com -all", false, 0, 15},
	{"v=spf1 exists:%{i*}.example.com -all", false, 0, 15},
	{"v=spf1 a:50%.example.com -all", false, 0, 12},
	{"v=spf1 a:100%%.example.com -all", true, 1, 0},
	{"v=spf1 exp=%{c}.example.com", false, 0, 12},
	// Modifiers (§6).
	{"v=spf1 redirect=a.example redirect=b.example", false, 0, 27},
	{"v=spf1 exp=a.example exp=b.example -all", false, 0, 22},
	{"v=spf1 -all redirect=example.org", true, 1, 0},
	{"v=spf1 unknown-mod=%{l} -all", true, 0, 0},
	{"v=spf1 redirect=", false, 0, 17},
	{"v=spf1 -all\texp=x.example", false, 0, 12},
}

func TestParseSPFTable(t *testing.T) {
	if len(spfCases) < 40 {
		t.Fatalf("only %d SPF cases", len(spfCases))
	}
	for _, c := range spfCases {
		r, err := ParseSPF(c.rec)
		if (err == nil) != c.ok {
			t.Errorf("ParseSPF(%q) error = %v, want ok=%v", c.rec, err, c.ok)
			continue
		}
		if err != nil {
			var se *SPFSyntaxError
			if !errors.As(err, &se) {
				t.Errorf("ParseSPF(%q) error %T, want *SPFSyntaxError", c.rec, err)
				continue
			}
			if c.errPos != 0 && se.Pos+1 != c.errPos {
				t.Errorf("ParseSPF(%q) error at column %d, want %d (%v)", c.rec, se.Pos+1, c.errPos, err)
			}
			continue
		}
		if got := r.LookupTerms(); got != c.lookups {
			t.Errorf("ParseSPF(%q) lookups = %d, want %d", c.rec, got, c.lookups)
		}
		// parse -> print -> parse gives the same terms.
		r2, err := ParseSPF(r.String())
		if err != nil {
			t.Errorf("reparse of %q (%q): %v", c.rec, r.String(), err)
			continue
		}
		if r2.String() != r.String() {
			t.Errorf("print of %q not stable: %q then %q", c.rec, r.String(), r2.String())
		}
	}
}

func TestParseSPFTerms(t *testing.T) {
	r, err := ParseSPF("v=spf1 ~ip4:192.0.2.1/24 a:x.example/26//64 ?exists:%{d}.z.example exp=e.example -all")
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		q      byte
		mech   string
		mod    string
		domain string
		c4, c6 int
		pos    int
	}{
		{'~', "ip4", "", "", -1, -1, 7},
		{0, "a", "", "x.example", 26, 64, 25},
		{'?', "exists", "", "%{d}.z.example", -1, -1, 44},
		{0, "", "exp", "e.example", -1, -1, 67},
		{'-', "all", "", "", -1, -1, 81},
	}
	if len(r.Terms) != len(want) {
		t.Fatalf("%d terms, want %d", len(r.Terms), len(want))
	}
	for i, w := range want {
		g := r.Terms[i]
		if g.Qualifier != w.q || g.Mechanism != w.mech || g.Modifier != w.mod || g.Domain != w.domain || g.CIDR4 != w.c4 || g.CIDR6 != w.c6 || g.Pos != w.pos {
			t.Errorf("term %d = %+v, want %+v", i, g, w)
		}
	}
	if p := r.Terms[0].Prefix; p != netip.MustParsePrefix("192.0.2.1/24") || !r.Terms[0].HasLen {
		t.Errorf("ip4 prefix = %v", p)
	}
	if r.All().QualifierOrPlus() != '-' || r.Redirect() != nil {
		t.Errorf("All/Redirect wrong")
	}
}

func TestLintSPF(t *testing.T) {
	long := "v=spf1 " + strings.Repeat("ip4:192.0.2.1 ", 40) + "-all"
	cases := []struct {
		rec  string
		want []string // severities
	}{
		{"v=spf1 -all", nil},
		{"v=spf1 ~all", nil},
		{"v=spf1 all", []string{"error"}},
		{"v=spf1 +all", []string{"error"}},
		{"v=spf1 ?all", []string{"warning"}},
		{"v=spf1 ptr -all", []string{"warning"}},
		{"v=spf1 -all mx", []string{"warning"}},
		{"v=spf1 -all redirect=example.com", []string{"warning"}},
		{long, []string{"warning"}},
	}
	for _, c := range cases {
		r, err := ParseSPF(c.rec)
		if err != nil {
			t.Fatalf("%q: %v", c.rec, err)
		}
		var got []string
		for _, is := range LintSPF(r, c.rec) {
			got = append(got, is.Severity)
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("LintSPF(%q) = %v, want %v", c.rec, LintSPF(r, c.rec), c.want)
		}
	}
}

// TestSPFMacroExpansion uses the examples of RFC 7208 §7.4.
func TestSPFMacroExpansion(t *testing.T) {
	env4 := &SPFMacroEnv{Sender: "strong-bad@email.example.com", Domain: "email.example.com", IP: netip.MustParseAddr("192.0.2.3")}
	env6 := &SPFMacroEnv{Sender: "strong-bad@email.example.com", Domain: "email.example.com", IP: netip.MustParseAddr("2001:db8::cb01")}
	cases := []struct {
		env  *SPFMacroEnv
		in   string
		want string
	}{
		{env4, "%{s}", "strong-bad@email.example.com"},
		{env4, "%{o}", "email.example.com"},
		{env4, "%{d}", "email.example.com"},
		{env4, "%{d4}", "email.example.com"},
		{env4, "%{d3}", "email.example.com"},
		{env4, "%{d2}", "example.com"},
		{env4, "%{d1}", "com"},
		{env4, "%{dr}", "com.example.email"},
		{env4, "%{d2r}", "example.email"},
		{env4, "%{l}", "strong-bad"},
		{env4, "%{l-}", "strong.bad"},
		{env4, "%{lr}", "strong-bad"},
		{env4, "%{lr-}", "bad.strong"},
		{env4, "%{l1r-}", "strong"},
		{env4, "%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"},
		{env4, "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"},
		{env4, "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
		{env4, "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"},
		{env4, "%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"},
		{env6, "%{ir}.%{v}._spf.%{d2}", "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"},
		{env4, "%{S}", "strong-bad%40email.example.com"},
		{env4, "100%%%_%-", "100% %20"},
		{env4, "%{p}", "unknown"},
	}
	for _, c := range cases {
		got, err := ExpandSPFMacros(c.in, c.env, false)
		if err != nil || got != c.want {
			t.Errorf("expand %q = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	if _, err := ExpandSPFMacros("%{c}", env4, false); err == nil {
		t.Error("%{c} outside exp expanded")
	}
	if got, err := ExpandSPFMacros("%{c} is not allowed", env6, true); err != nil || got != "2001:db8::cb01 is not allowed" {
		t.Errorf("exp %%{c} = %q, %v", got, err)
	}
	long := strings.Repeat("%{d}.", 20) + "example.org"
	got, err := ExpandSPFDomain(long, env4)
	if err != nil || len(got) > 253 || !strings.HasSuffix(got, ".email.example.com.example.org") {
		t.Errorf("ExpandSPFDomain long = %q (%d), %v", got, len(got), err)
	}
	if !HasSPFMacros("a%{d}") || HasSPFMacros("100%%{d}") {
		t.Error("HasSPFMacros wrong")
	}
}

// FuzzParseSPF: parsing never panics, and a parsed record prints to text
// that parses to the same record.
func FuzzParseSPF(f *testing.F) {
	for _, c := range spfCases {
		f.Add(c.rec)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseSPF(s)
		if err != nil {
			return
		}
		LintSPF(r, s)
		out := r.String()
		r2, err := ParseSPF(out)
		if err != nil {
			t.Fatalf("%q parsed, its print %q does not: %v", s, out, err)
		}
		if r2.String() != out {
			t.Fatalf("print not stable: %q -> %q", out, r2.String())
		}
		for _, tm := range r.Terms {
			if tm.Domain != "" {
				_, _ = ExpandSPFDomain(tm.Domain, &SPFMacroEnv{Sender: "a@b.example", Domain: "b.example", IP: netip.MustParseAddr("192.0.2.1")})
			}
		}
	})
}

// TestParseSPFAllocs: a record's terms are one array, not one per growth.
func TestParseSPFAllocs(t *testing.T) {
	rec := "v=spf1 ip4:198.18.0.1 ip6:2001:db8::25  mx  -all "
	p, err := ParseSPF(rec)
	if err != nil || len(p.Terms) != 4 {
		t.Fatalf("%+v, %v", p, err)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = ParseSPF(rec) }); n > 2 {
		t.Errorf("%.0f allocations a parse, want 2", n)
	}
}

// TestParseSPFIntoIsParseSPF: records parsed into one reused ParsedSPF
// read as their own parse, and the reused parse makes no array.
func TestParseSPFIntoIsParseSPF(t *testing.T) {
	recs := []string{"v=spf1 ip4:198.18.0.1 ip6:2001:db8::25 -all", "v=spf1", "v=spf1 -all", "v=spf1 include:_spf.example.com redirect=x.example",
		"v=spf1 a/24//64 mx:mail.example.com ptr exists:%{i}.x.example ?all", "v=spf1 bad:term", "v=spf1 ip4:1.2.3.4 redirect=a.example redirect=b.example"}
	// The terms alike, a reused empty array as a new parse's nil.
	r := checkParseInto(t, recs, nil, ParseSPF, ParseSPFInto, func(got, want *ParsedSPF) bool {
		return len(got.Terms) == len(want.Terms) && (len(want.Terms) == 0 || reflect.DeepEqual(got.Terms, want.Terms))
	})
	rec := recs[0]
	if n := testing.AllocsPerRun(100, func() { _, _ = ParseSPFInto(r, rec) }); n != 0 {
		t.Errorf("%.0f allocations a reused parse, want 0", n)
	}
}
