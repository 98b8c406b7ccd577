package policy

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// parseYAMLFast parses the plain YAML that policies and configs are written
// in: block mappings and sequences, one-line flow collections, plain and
// one-line quoted scalars, comments. It builds the nodes the YAML library
// would (kind, tag, style, value, line and column) at a fraction of its cost.
// Anything else — anchors, tags, block scalars, multi-line scalars or flow
// collections, empty values, documents markers, tabs, non-ASCII bytes, and
// every error — returns ok false, and the caller parses the text with the
// YAML library, which then gives its own answer and its own messages.
func parseYAMLFast(data []byte) (root *yaml.Node, ok bool) {
	p := &fastYAML{lines: make([][]byte, 0, bytes.Count(data, []byte{'\n'})+1)}
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		line := data
		if i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if bytes.HasPrefix(line, []byte("---")) || bytes.HasPrefix(line, []byte("...")) || bytes.HasPrefix(line, []byte("%")) {
			return nil, false // directives and document markers
		}
		if !fastLine(line) {
			return nil, false
		}
		p.lines = append(p.lines, line)
	}
	p.skipBlank()
	if p.eof() {
		return nil, false
	}
	ind := indentOf(p.lines[p.ln])
	if isSeqEntry(p.lines[p.ln][ind:]) {
		return nil, false // policies and configs are mappings
	}
	root, ok = p.blockMapping(ind, false)
	if !ok {
		return nil, false
	}
	p.skipBlank()
	if !p.eof() {
		return nil, false
	}
	return root, true
}

// fastLine reports whether the fast parser may read l: ASCII without tabs
// or control characters; other characters only in a comment line (the
// library counts columns in characters, and takes some as line breaks).
func fastLine(l []byte) bool {
	ascii := true
	for _, c := range l {
		if c < 0x20 || c == 0x7f {
			return false
		}
		if c >= 0x80 {
			ascii = false
		}
	}
	if ascii {
		return true
	}
	if i := indentOf(l); i == len(l) || l[i] != '#' {
		return false
	}
	for _, r := range string(l) {
		if r < 0xa0 && r >= 0x80 || r == utf8.RuneError || r == 0x2028 || r == 0x2029 || r == 0xfeff || r == 0xfffe || r == 0xffff {
			return false
		}
	}
	return true
}

// fastYAML is parseYAMLFast's state: the lines and the current one.
type fastYAML struct {
	lines [][]byte
	ln    int // index of the current line
	depth int
}

// node returns a new node. (Not from a shared block: a loaded policy that
// keeps one node would keep the whole block.)
func (p *fastYAML) node(n yaml.Node) *yaml.Node { return &n }

// maxFastDepth bounds nesting (the YAML library has its own limit).
const maxFastDepth = 20

func (p *fastYAML) eof() bool { return p.ln >= len(p.lines) }

// skipBlank moves past empty and comment-only lines.
func (p *fastYAML) skipBlank() {
	for ; p.ln < len(p.lines); p.ln++ {
		l := p.lines[p.ln]
		i := indentOf(l)
		if i < len(l) && l[i] != '#' {
			return
		}
	}
}

func indentOf(l []byte) int {
	i := 0
	for i < len(l) && l[i] == ' ' {
		i++
	}
	return i
}

// isSeqEntry reports whether s starts with a block sequence entry "- ".
func isSeqEntry(s []byte) bool {
	return len(s) > 0 && s[0] == '-' && (len(s) == 1 || s[1] == ' ')
}

func skipSpaces(l []byte, i int) int {
	for i < len(l) && l[i] == ' ' {
		i++
	}
	return i
}

// restBlank reports whether l from i holds nothing but spaces and a
// comment (a '#' after a space, or at i when i follows a space).
func restBlank(l []byte, i int) bool {
	j := skipSpaces(l, i)
	if j == len(l) {
		return true
	}
	return l[j] == '#' && j > i
}

// scalar returns a scalar node at (p.ln, col).
func (p *fastYAML) scalar(value string, style yaml.Style, col int) *yaml.Node {
	n := p.node(yaml.Node{Kind: yaml.ScalarNode, Style: style, Value: value, Line: p.ln + 1, Column: col + 1})
	switch {
	case style != 0:
		n.Tag = "!!str"
	case value != "" && !maybeResolved(value[0]):
		n.Tag = "!!str" // what the library's resolution says without looking further
	default:
		n.Tag = n.ShortTag() // the library's resolution of a plain scalar
	}
	return n
}

// blockMapping parses a block mapping whose keys are at column ind. With
// inline, its first key is on the current line at ind, after a "- ".
func (p *fastYAML) blockMapping(ind int, inline bool) (*yaml.Node, bool) {
	if p.depth++; p.depth > maxFastDepth {
		return nil, false
	}
	defer func() { p.depth-- }()
	m := p.node(yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: p.ln + 1, Column: ind + 1})
	for first := true; ; first = false {
		if !(first && inline) {
			p.skipBlank()
			if p.eof() {
				break
			}
			li := indentOf(p.lines[p.ln])
			if li < ind {
				break
			}
			if li > ind {
				return nil, false
			}
		}
		l := p.lines[p.ln]
		key, i, ok := p.key(l, ind)
		if !ok {
			return nil, false
		}
		val, ok := p.value(l, i, ind)
		if !ok {
			return nil, false
		}
		m.Content = append(m.Content, key, val)
	}
	return m, true
}

// key parses "key:" at column i of l (a plain or quoted scalar followed by
// ':' and a space or the end of the line), returning the column after ':'.
func (p *fastYAML) key(l []byte, i int) (*yaml.Node, int, bool) {
	if i >= len(l) {
		return nil, 0, false
	}
	var k *yaml.Node
	var end int
	switch c := l[i]; {
	case c == '"' || c == '\'':
		v, j, ok := quoted(l, i)
		if !ok {
			return nil, 0, false
		}
		k, end = p.scalar(v, quoteStyle(c), i), j
	case plainStart(l, i, false):
		j := i
		for j < len(l) && !(l[j] == ':' && (j+1 == len(l) || l[j+1] == ' ')) {
			if l[j] == '#' && l[j-1] == ' ' {
				return nil, 0, false
			}
			j++
		}
		v := bytes.TrimRight(l[i:j], " ")
		if len(v) == 0 {
			return nil, 0, false
		}
		k, end = p.scalar(string(v), 0, i), j
	default:
		return nil, 0, false
	}
	if end-i > 1000 || end >= len(l) || l[end] != ':' || (end+1 < len(l) && l[end+1] != ' ') {
		return nil, 0, false
	}
	return k, end + 1, true
}

// value parses the value of a key of the block mapping at column ind, from
// column i of l: on the line, or a block collection on the next lines. It
// leaves p.ln at the line after the value.
func (p *fastYAML) value(l []byte, i, ind int) (*yaml.Node, bool) {
	if restBlank(l, i) {
		p.ln++
		p.skipBlank()
		if p.eof() {
			return nil, false // an empty value
		}
		nl := p.lines[p.ln]
		ni := indentOf(nl)
		switch {
		case ni > ind && isSeqEntry(nl[ni:]):
			return p.blockSeq(ni)
		case ni > ind:
			return p.blockMapping(ni, false)
		case ni == ind && isSeqEntry(nl[ni:]):
			return p.blockSeq(ind)
		}
		return nil, false // an empty value
	}
	return p.lineValue(l, skipSpaces(l, i), ind)
}

// lineValue parses a scalar or flow collection at column i of l that ends
// the line, and checks that no continuation follows on lines indented more
// than ind.
func (p *fastYAML) lineValue(l []byte, i, ind int) (*yaml.Node, bool) {
	var n *yaml.Node
	switch c := l[i]; {
	case c == '{' || c == '[':
		var j int
		var ok bool
		n, j, ok = p.flow(l, i)
		if !ok || !restBlank(l, j) {
			return nil, false
		}
	case c == '"' || c == '\'':
		v, j, ok := quoted(l, i)
		if !ok || !restBlank(l, j) {
			return nil, false
		}
		n = p.scalar(v, quoteStyle(c), i)
	case plainStart(l, i, false):
		j := i
		for j < len(l) && !(l[j] == '#' && l[j-1] == ' ') {
			if l[j] == ':' && (j+1 == len(l) || l[j+1] == ' ') {
				return nil, false // a mapping where a value is
			}
			j++
		}
		n = p.scalar(string(bytes.TrimRight(l[i:j], " ")), 0, i)
	default:
		return nil, false
	}
	p.ln++
	p.skipBlank()
	if !p.eof() && indentOf(p.lines[p.ln]) > ind {
		return nil, false // a multi-line scalar, or a misplaced line
	}
	return n, true
}

// blockSeq parses a block sequence whose "- " entries are at column ind.
func (p *fastYAML) blockSeq(ind int) (*yaml.Node, bool) {
	if p.depth++; p.depth > maxFastDepth {
		return nil, false
	}
	defer func() { p.depth-- }()
	s := p.node(yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: p.ln + 1, Column: ind + 1})
	for {
		p.skipBlank()
		if p.eof() {
			break
		}
		l := p.lines[p.ln]
		li := indentOf(l)
		if li < ind || li == ind && !isSeqEntry(l[li:]) {
			break
		}
		if li > ind {
			return nil, false
		}
		c := skipSpaces(l, ind+1)
		if c == ind+1 || restBlank(l, c) || isSeqEntry(l[c:]) {
			return nil, false // "-" alone, an empty entry, or "- - x"
		}
		var item *yaml.Node
		var ok bool
		if _, _, isKey := p.key(l, c); isKey {
			item, ok = p.blockMapping(c, true)
		} else {
			item, ok = p.lineValue(l, c, ind)
		}
		if !ok {
			return nil, false
		}
		s.Content = append(s.Content, item)
	}
	return s, true
}

// flow parses a flow mapping or sequence that opens at column i of l and
// closes on the same line; it returns the column after it.
func (p *fastYAML) flow(l []byte, i int) (*yaml.Node, int, bool) {
	if p.depth++; p.depth > maxFastDepth {
		return nil, 0, false
	}
	defer func() { p.depth-- }()
	isMap := l[i] == '{'
	n := p.node(yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle, Line: p.ln + 1, Column: i + 1})
	closer := byte(']')
	if isMap {
		n.Kind, n.Tag, closer = yaml.MappingNode, "!!map", '}'
	}
	j := skipSpaces(l, i+1)
	if j < len(l) && l[j] == closer {
		return n, j + 1, true
	}
	for {
		if isMap {
			k, e, ok := p.flowScalar(l, j)
			if !ok || e+1 >= len(l) || l[e] != ':' || l[e+1] != ' ' {
				return nil, 0, false
			}
			j = skipSpaces(l, e+1)
			n.Content = append(n.Content, k)
		}
		v, e, ok := p.flowNode(l, j)
		if !ok {
			return nil, 0, false
		}
		n.Content = append(n.Content, v)
		j = skipSpaces(l, e)
		if j >= len(l) {
			return nil, 0, false
		}
		switch l[j] {
		case closer:
			return n, j + 1, true
		case ',':
			j = skipSpaces(l, j+1)
			if j >= len(l) || l[j] == closer || l[j] == ',' {
				return nil, 0, false // a trailing or empty entry
			}
		default:
			return nil, 0, false
		}
	}
}

// flowNode parses a value inside a flow collection at column i of l.
func (p *fastYAML) flowNode(l []byte, i int) (*yaml.Node, int, bool) {
	if i < len(l) && (l[i] == '{' || l[i] == '[') {
		return p.flow(l, i)
	}
	return p.flowScalar(l, i)
}

// flowScalar parses a quoted or plain scalar inside a flow collection.
func (p *fastYAML) flowScalar(l []byte, i int) (*yaml.Node, int, bool) {
	if i >= len(l) {
		return nil, 0, false
	}
	if c := l[i]; c == '"' || c == '\'' {
		v, j, ok := quoted(l, i)
		if !ok {
			return nil, 0, false
		}
		return p.scalar(v, quoteStyle(c), i), j, true
	}
	if !plainStart(l, i, true) {
		return nil, 0, false
	}
	j := i
	for j < len(l) {
		c := l[j]
		if c == ':' && (j+1 == len(l) || l[j+1] == ' ') ||
			c == ',' || c == '?' || c == '[' || c == ']' || c == '{' || c == '}' {
			break
		}
		if c == '#' && l[j-1] == ' ' {
			return nil, 0, false // a comment inside a flow collection
		}
		j++
	}
	v := bytes.TrimRight(l[i:j], " ")
	if len(v) == 0 {
		return nil, 0, false
	}
	return p.scalar(string(v), 0, i), j, true
}

// plainStart reports whether a plain scalar may start at column i of l: not
// at an indicator, except '-' before a character that is no space (and, in
// a flow collection, no flow indicator).
func plainStart(l []byte, i int, inFlow bool) bool {
	switch l[i] {
	case '-':
		if i+1 >= len(l) {
			return false
		}
		switch l[i+1] {
		case ' ':
			return false
		case ',', '[', ']', '{', '}':
			return !inFlow
		}
		return true
	case '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', ' ':
		return false
	}
	return true
}

// maybeResolved reports whether a plain scalar starting with c may resolve
// to something other than a string: the first characters the YAML library
// looks further at (a sign, a digit, '.', and the first letters of null,
// booleans and the merge key); any other is a string.
func maybeResolved(c byte) bool {
	return c == '+' || c == '-' || c == '.' || c >= '0' && c <= '9' || strings.IndexByte("yYnNtTfFoO~<", c) >= 0
}

func quoteStyle(c byte) yaml.Style {
	if c == '"' {
		return yaml.DoubleQuotedStyle
	}
	return yaml.SingleQuotedStyle
}

// quoted parses a quoted scalar that opens at column i of l and closes on
// the same line, returning its value and the column after it. Of the
// escapes of a double-quoted scalar only \\ and \" are taken.
func quoted(l []byte, i int) (string, int, bool) {
	q := l[i]
	var b []byte
	start := i + 1
	for j := start; j < len(l); j++ {
		c := l[j]
		switch {
		case q == '\'' && c == '\'':
			if j+1 < len(l) && l[j+1] == '\'' {
				b = append(b, l[start:j+1]...)
				j++
				start = j + 1
				continue
			}
		case q == '"' && c == '\\':
			if j+1 >= len(l) || (l[j+1] != '\\' && l[j+1] != '"') {
				return "", 0, false
			}
			b = append(b, l[start:j]...)
			b = append(b, l[j+1])
			j++
			start = j + 1
			continue
		case c == q:
		default:
			continue
		}
		// The closing quote.
		if b == nil {
			return string(l[start:j]), j + 1, true
		}
		return string(append(b, l[start:j]...)), j + 1, true
	}
	return "", 0, false // not closed on this line
}
