package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// libraryYAML parses data with the YAML library alone, as parseYAML does
// without its fast path: the root node, or ok false for anything that is
// not exactly one non-empty document.
func libraryYAML(data []byte) (*yaml.Node, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		return nil, false
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		return nil, false
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, false
	}
	return doc.Content[0], true
}

// sameNode describes the first difference between two trees, or "". The
// fields compared are all that the YAML library fills in except comments.
func sameNode(path string, a, b *yaml.Node) string {
	if a.Kind != b.Kind || a.Tag != b.Tag || a.Style != b.Style || a.Value != b.Value ||
		a.Line != b.Line || a.Column != b.Column || a.Anchor != b.Anchor || a.Alias != nil || b.Alias != nil ||
		len(a.Content) != len(b.Content) {
		return fmt.Sprintf("%s: fast {kind %d tag %q style %d value %q at %d:%d, %d children}, library {kind %d tag %q style %d value %q at %d:%d, %d children}",
			path, a.Kind, a.Tag, a.Style, a.Value, a.Line, a.Column, len(a.Content),
			b.Kind, b.Tag, b.Style, b.Value, b.Line, b.Column, len(b.Content))
	}
	for i := range a.Content {
		if d := sameNode(fmt.Sprintf("%s/%d", path, i), a.Content[i], b.Content[i]); d != "" {
			return d
		}
	}
	return ""
}

// reusedParser parses every text checkFast is given, one after another,
// as a loader parses its policies: its blocks and remembered tags carry
// over from text to text.
var reusedParser fastYAML

// checkFast fails t when the fast parser answers data differently from
// the YAML library, and reports whether the fast parser took it.
func checkFast(t *testing.T, name string, data []byte) bool {
	t.Helper()
	fast, ok := reusedParser.parse(string(data))
	if _, fresh := parseYAMLFast(data); fresh != ok {
		t.Errorf("%s: a reused parser says %v, a new one %v", name, ok, fresh)
	}
	if !ok {
		return false
	}
	if line, what := badBytes(string(data)); line > 0 {
		t.Errorf("%s: the fast parser took a text with a %s at line %d", name, what, line)
	}
	lib, libOK := libraryYAML(data)
	if !libOK {
		t.Errorf("%s: the fast parser took a text the YAML library refuses:\n%s", name, data)
		return true
	}
	if d := sameNode("", fast, lib); d != "" {
		t.Errorf("%s: %s\n%s", name, d, data)
	}
	return true
}

// TestFastYAMLFiles: every policy and config in the repository parses to
// the same nodes as with the YAML library, and the policies as maildns
// documents and tests write them take the fast path.
func TestFastYAMLFiles(t *testing.T) {
	var files []string
	for _, dir := range []string{"testdata", "../configs", "../cmd/maildns/testdata", "../sync/testdata"} {
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
				files = append(files, p)
			}
			return nil
		})
	}
	if len(files) < 20 {
		t.Fatalf("only %d YAML files found", len(files))
	}
	taken := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if checkFast(t, f, data) {
			taken++
		}
	}
	for _, f := range []string{"testdata/golden/maildns.yaml", "testdata/golden/policies/example.com.yaml",
		"testdata/golden/policies/parked.example.yaml", "testdata/golden/policies/mailsec.example.yaml"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := parseYAMLFast(data); !ok {
			t.Errorf("%s: not taken by the fast parser", f)
		}
	}
	t.Logf("%d of %d files taken by the fast parser", taken, len(files))
}

// fastYAMLCases are texts at the edges of what the fast parser takes.
var fastYAMLCases = []string{
	"a: 1\n",
	"a: 1",
	"  a: 1\n  b: [x, y]\n",
	"a: b\n   # comment\nc: d\n",
	"a: b # comment\nc: 'it''s' # c\nd: \"q\\\"\\\\\"\n",
	"a: b#c\n",
	"a:  \n  b: 1\n",
	"a:\n- x\n- y\nb: z\n",
	"a:\n  - x\n  -   y\n",
	"a:\n  - k: v\n    l: w\n  - {m: n}\n  - [1, 2]\n  - \"s\"\n",
	"a:\n  - k:\n    - v\n",
	"a:\n  - k:\n      - v\n",
	"a: {b: [c, {d: e}], f: \"g\", h: 'i'}\n",
	"a: [2001:db8::25, mailto:x@y, -all, ~all]\n",
	"a: {}\nb: []\nc: [ ]\n",
	"a: ~\nb: null\nc: true\nd: 0x1F\ne: 1_000\nf: .inf\ng: 2026-12-01\nh: 1e3\ni: 010\nj: \"1\"\nk: yes\n",
	"<<: x\n",
	"true: 1\n1: 2\n\"x\": 3\n'y': 4\n",
	"a: b\n  c\n",
	"a: b\n\n  c\n",
	"a:\n",
	"a:\nb: 1\n",
	"a: - b\n",
	"a: b: c\n",
	"- a\n",
	"a: &x 1\n",
	"a: *x\n",
	"a: !!str 1\n",
	"a: |\n  x\n",
	"a: >\n  x\n",
	"a: 'x\n  y'\n",
	"a: [x,\n  y]\n",
	"a: [x, ]\n",
	"a: [x,, y]\n",
	"a: {x}\n",
	"a: {x: }\n",
	"a: {\"x\":y}\n",
	"a: [x: y]\n",
	"a: [x #c\n]\n",
	"a: \"x\"y\n",
	"a: \"\\n\"\n",
	"a: x\n b: y\n",
	"a: x\nb: y\n c: z\n",
	"---\na: 1\n",
	"a: 1\n---\nb: 2\n",
	"a: 1\n...\n",
	"%YAML 1.2\n---\na: 1\n",
	"a: 1\r\n",
	"a:\t1\n",
	"a: ü\n",
	"# § ü\na: 1\n",
	"a: 1 # ü\n",
	"# \u2028 x: y\na: 1\n",
	"# \u0085 x: y\na: 1\n",
	"# \ufeff\na: 1\n",
	"? a\n: b\n",
	"a : b\n",
	"a  :  b  \n",
	"a: -\n",
	"a: [-, -x]\n",
	"a: [a?b]\n",
	"a: @x\n",
	"a: `x`\n",
	"a: x, y\n",
	"a: {b: c}}\n",
	"a: [b]]\n",
	"a: b\na: c\n",
	"- a: 1\n",
	"a:\n  - - x\n",
	"a:\n  -\n    x: 1\n",
	"a:\n  - x\n y: 1\n",
	"a:\n  b: 1\n c: 2\n",
	"a:\n    b: 1\n  c: 2\n",
	"a: 'x'''\n",
	"a: ''\nb: \"\"\n",
	"a: \"x # y\"\n",
	"a: x #\n",
	"#c\na: 1\n#d\n",
	"\n\n\na: 1\n\n\n",
	"",
	"# only a comment\n",
	"a: [[[[[[[[[[[[[[[[[[[[[[[[x]]]]]]]]]]]]]]]]]]]]]]]\n",
	"a: {b: {c: {d: 1}}}\n",
	"a:\n  b:\n    c:\n      - d: [1]\n        e: {f: g}\n",
	"a: [\"2001:db8::1\", '198.51.100.1']\n",
	"key_file: ../keys/rsa.pem\nkey: MCowBQYDK2VwAyEA+/x=\n",
	"a: \"x\" \nb: 'y'  # c\n",
	"a: x:y\nb: http://z\n",
	"a: x :y\n",
	"a: [x :y]\n",
	"a: {x :y}\n",
	"a: {x: y :z}\n",
}

func TestFastYAMLCases(t *testing.T) {
	for i, c := range fastYAMLCases {
		checkFast(t, fmt.Sprintf("case %d", i), []byte(c))
	}
	// The fast path must be taken for the common shapes, or it buys nothing.
	for _, c := range []string{fastYAMLCases[0], fastYAMLCases[4], fastYAMLCases[9], fastYAMLCases[12], fastYAMLCases[15]} {
		if _, ok := parseYAMLFast([]byte(c)); !ok {
			t.Errorf("not taken by the fast parser:\n%s", c)
		}
	}
}

// TestParseYAMLErrorsUnchanged: a text the fast parser does not take gets
// the YAML library's answer, message and line included.
func TestParseYAMLErrorsUnchanged(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"a: b\n  c: d\n", "p.yaml:2: invalid YAML: mapping values are not allowed in this context"},
		{"a: [x,\n", "p.yaml:1: invalid YAML: did not find expected node content"},
		{"a: 1\n---\nb: 2\n", "p.yaml:2: more than one YAML document"},
		{"a: &x 1\nb: *x\n", "p.yaml:1: YAML anchors and aliases are not supported"},
	} {
		_, errs := parseYAML("p.yaml", []byte(c.text))
		if len(errs) != 1 || errs[0].Error() != c.want {
			t.Errorf("%q: got %v, want %s", c.text, errs, c.want)
		}
	}
}

// FuzzFastYAML: whenever the fast parser takes a text, the YAML library
// takes it too and builds the same nodes.
func FuzzFastYAML(f *testing.F) {
	for _, c := range fastYAMLCases {
		f.Add([]byte(c))
	}
	seeds, _ := filepath.Glob(filepath.Join("testdata", "golden", "policies", "*.yaml"))
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFast(t, "input", data)
	})
}

// TestMaybeResolved: a plain scalar whose first byte maybeResolved rules
// out resolves to a string in the YAML library too.
func TestMaybeResolved(t *testing.T) {
	for c := 0x20; c < 0x7f; c++ {
		if maybeResolved(byte(c)) {
			continue
		}
		for _, v := range []string{string(rune(c)), string(rune(c)) + "1", string(rune(c)) + "rue"} {
			if tag := (&yaml.Node{Kind: yaml.ScalarNode, Value: v}).ShortTag(); tag != "!!str" {
				t.Errorf("%q resolves to %s, not !!str", v, tag)
			}
		}
	}
}

// TestDottedNumbers: what dottedNumbers calls a string the YAML library
// resolves to a string.
func TestDottedNumbers(t *testing.T) {
	for _, v := range []string{"1.2.3", "198.51.100.1", "0.0.0.0", "1..2", "1.2.", "007.1.1"} {
		if !dottedNumbers(v) {
			t.Errorf("%q: not taken", v)
		}
		if tag := (&yaml.Node{Kind: yaml.ScalarNode, Value: v}).ShortTag(); tag != "!!str" {
			t.Errorf("%q resolves to %s, not !!str", v, tag)
		}
	}
	for _, v := range []string{"1.2", "10.", "12", ".1.2", "1.2e3", "1.2.3a", "", "-1.2.3", "1_0.2.3"} {
		if dottedNumbers(v) {
			t.Errorf("%q taken", v)
		}
	}
}

// TestPlainDecimal: what plainDecimal reads, the YAML library decodes to
// the same number; what it leaves, the library gets.
func TestPlainDecimal(t *testing.T) {
	for _, v := range []string{"0", "1", "10", "3600", "65535", "2147483647", "999999999999999999"} {
		got, ok := plainDecimal(v)
		var want int64
		if err := (&yaml.Node{Kind: yaml.ScalarNode, Value: v}).Decode(&want); err != nil || !ok || got != want {
			t.Errorf("%q: got %d %v, library %d %v", v, got, ok, want, err)
		}
	}
	for _, v := range []string{"", "010", "00", "+1", "-1", "1_000", "0x1F", "0o7", "1e3", "1.0", "9999999999999999999", " 1"} {
		if _, ok := plainDecimal(v); ok {
			t.Errorf("%q taken", v)
		}
	}
}

// TestWordTag: wordTag resolves the plain scalars that start with a
// letter as the YAML library does: every word of up to three letters from
// the letters of its booleans and null, in every case, and longer ones.
func TestWordTag(t *testing.T) {
	letters := "yYnNtTfFoOuUeEsSlLrRaA"
	words := []string{"true", "True", "TRUE", "tRUE", "false", "False", "FALSE", "null", "Null", "NULL", "nULL",
		"yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "y", "n", "Y", "N",
		"ttl", "name", "all", "fail", "reject", "type", "mail_hosts", "a1", "x.y", "nan", "inf", "NaN", "Inf", "e3"}
	for _, a := range letters {
		words = append(words, string(a))
		for _, b := range letters {
			words = append(words, string(a)+string(b))
			for _, c := range letters {
				words = append(words, string(a)+string(b)+string(c))
			}
		}
	}
	for _, w := range words {
		if got, want := wordTag(w), (&yaml.Node{Kind: yaml.ScalarNode, Value: w}).ShortTag(); got != want {
			t.Errorf("%q: %s, the library %s", w, got, want)
		}
	}
	for _, v := range []string{"0", "1", "3600", "65535"} {
		if tag := (&yaml.Node{Kind: yaml.ScalarNode, Value: v}).ShortTag(); tag != "!!int" {
			t.Errorf("%q resolves to %s", v, tag)
		}
	}
}
