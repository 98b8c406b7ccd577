package policy

import (
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
	return new(fastYAML).parse(string(data))
}

// parse parses src as parseYAMLFast does. Scalar values are substrings of
// src, and the nodes of the tree live in p's blocks, which the next parse
// by p reuses: the tree is valid until then, and a caller keeps strings of
// it, never nodes.
func (p *fastYAML) parse(src string) (root *yaml.Node, ok bool) {
	p.lines, p.ln, p.depth = p.lines[:0], 0, 0
	p.nodes, p.ptrs, p.stack = p.nodes[:0], p.ptrs[:0], p.stack[:0]
	for len(src) > 0 {
		i := strings.IndexByte(src, '\n')
		line := src
		if i >= 0 {
			line, src = src[:i], src[i+1:]
		} else {
			src = ""
		}
		if strings.HasPrefix(line, "---") || strings.HasPrefix(line, "...") || strings.HasPrefix(line, "%") {
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
func fastLine(l string) bool {
	ascii := true
	for i := 0; i < len(l); i++ {
		if c := l[i]; c < 0x20 || c == 0x7f {
			return false
		} else if c >= 0x80 {
			ascii = false
		}
	}
	if ascii {
		return true
	}
	if i := indentOf(l); i == len(l) || l[i] != '#' {
		return false
	}
	for _, r := range l {
		if r < 0xa0 && r >= 0x80 || r == utf8.RuneError || r == 0x2028 || r == 0x2029 || r == 0xfeff || r == 0xfffe || r == 0xffff {
			return false
		}
	}
	return true
}

// fastYAML is parseYAMLFast's state: the lines and the current one, and
// the blocks the nodes of a tree are carved from (a policy has some thirty
// nodes: one allocation each was most of the cost of a load).
type fastYAML struct {
	lines []string
	ln    int // index of the current line
	depth int
	nodes []yaml.Node  // the block nodes are taken from
	ptrs  []*yaml.Node // the block the collections' Content is taken from
	stack []*yaml.Node // the children of the collections being parsed
	tags  map[string]string
}

// node returns a new node from p's block.
func (p *fastYAML) node(n yaml.Node) *yaml.Node {
	if len(p.nodes) == cap(p.nodes) {
		p.nodes = make([]yaml.Node, 0, max(64, 2*cap(p.nodes)))
	}
	p.nodes = append(p.nodes, n)
	return &p.nodes[len(p.nodes)-1]
}

// content returns the children pushed on p.stack since mark as a slice of
// p's block (nil for none), and pops them.
func (p *fastYAML) content(mark int) []*yaml.Node {
	kids := p.stack[mark:]
	if len(kids) == 0 {
		return nil
	}
	if cap(p.ptrs)-len(p.ptrs) < len(kids) {
		p.ptrs = make([]*yaml.Node, 0, max(256, 2*cap(p.ptrs), len(kids)))
	}
	i := len(p.ptrs)
	p.ptrs = append(p.ptrs, kids...)
	p.stack = p.stack[:mark]
	return p.ptrs[i:len(p.ptrs):len(p.ptrs)]
}

// maxTagMemo bounds the tags remembered by one parser.
const maxTagMemo = 512

// tag is the YAML library's resolution of a plain scalar that may resolve
// to something other than a string. Values come back often (true, 3600,
// keys such as ttl): each is resolved by the library once per parser.
func (p *fastYAML) tag(value string) string {
	if t := wordTag(value); t != "" {
		return t
	}
	if _, ok := plainDecimal(value); ok {
		return "!!int"
	}
	if t, ok := p.tags[value]; ok {
		return t
	}
	if dottedNumbers(value) {
		return "!!str"
	}
	t := (&yaml.Node{Kind: yaml.ScalarNode, Value: value}).ShortTag()
	if p.tags == nil {
		p.tags = make(map[string]string)
	}
	if len(p.tags) < maxTagMemo {
		p.tags[strings.Clone(value)] = t // not a substring: it would keep its file
	}
	return t
}

// wordTag is the library's resolution of a plain scalar that starts with
// a letter (keys, true, fail...): a boolean or null for the few words
// that spell one, else a string. "" when v does not start with a letter.
func wordTag(v string) string {
	if c := v[0]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		return ""
	}
	switch v {
	case "true", "True", "TRUE", "false", "False", "FALSE":
		return "!!bool"
	case "null", "Null", "NULL":
		return "!!null"
	}
	return "!!str"
}

// dottedNumbers reports whether v is digits with two dots or more, like
// an IPv4 address: no number, date or other value of the library (a
// float has one dot at most), so a string.
func dottedNumbers(v string) bool {
	if v == "" || v[0] < '0' || v[0] > '9' {
		return false
	}
	dots := 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '.':
			dots++
		case c < '0' || c > '9':
			return false
		}
	}
	return dots >= 2
}

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

func indentOf(l string) int {
	i := 0
	for i < len(l) && l[i] == ' ' {
		i++
	}
	return i
}

// isSeqEntry reports whether s starts with a block sequence entry "- ".
func isSeqEntry(s string) bool {
	return len(s) > 0 && s[0] == '-' && (len(s) == 1 || s[1] == ' ')
}

func skipSpaces(l string, i int) int {
	for i < len(l) && l[i] == ' ' {
		i++
	}
	return i
}

// restBlank reports whether l from i holds nothing but spaces and a
// comment (a '#' after a space, or at i when i follows a space).
func restBlank(l string, i int) bool {
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
		n.Tag = p.tag(value) // the library's resolution of a plain scalar
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
	mark := len(p.stack)
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
		p.stack = append(p.stack, key, val)
	}
	m.Content = p.content(mark)
	return m, true
}

// key parses "key:" at column i of l (a plain or quoted scalar followed by
// ':' and a space or the end of the line), returning the column after ':'.
func (p *fastYAML) key(l string, i int) (*yaml.Node, int, bool) {
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
		v := strings.TrimRight(l[i:j], " ")
		if len(v) == 0 {
			return nil, 0, false
		}
		k, end = p.scalar(v, 0, i), j
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
func (p *fastYAML) value(l string, i, ind int) (*yaml.Node, bool) {
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
func (p *fastYAML) lineValue(l string, i, ind int) (*yaml.Node, bool) {
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
		n = p.scalar(strings.TrimRight(l[i:j], " "), 0, i)
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
	mark := len(p.stack)
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
		p.stack = append(p.stack, item)
	}
	s.Content = p.content(mark)
	return s, true
}

// flow parses a flow mapping or sequence that opens at column i of l and
// closes on the same line; it returns the column after it.
func (p *fastYAML) flow(l string, i int) (*yaml.Node, int, bool) {
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
	mark := len(p.stack)
	for {
		if isMap {
			k, e, ok := p.flowScalar(l, j)
			if !ok || e+1 >= len(l) || l[e] != ':' || l[e+1] != ' ' {
				return nil, 0, false
			}
			j = skipSpaces(l, e+1)
			p.stack = append(p.stack, k)
		}
		v, e, ok := p.flowNode(l, j)
		if !ok {
			return nil, 0, false
		}
		p.stack = append(p.stack, v)
		j = skipSpaces(l, e)
		if j >= len(l) {
			return nil, 0, false
		}
		switch l[j] {
		case closer:
			n.Content = p.content(mark)
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
func (p *fastYAML) flowNode(l string, i int) (*yaml.Node, int, bool) {
	if i < len(l) && (l[i] == '{' || l[i] == '[') {
		return p.flow(l, i)
	}
	return p.flowScalar(l, i)
}

// flowScalar parses a quoted or plain scalar inside a flow collection.
func (p *fastYAML) flowScalar(l string, i int) (*yaml.Node, int, bool) {
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
	v := strings.TrimRight(l[i:j], " ")
	if len(v) == 0 {
		return nil, 0, false
	}
	return p.scalar(v, 0, i), j, true
}

// plainStart reports whether a plain scalar may start at column i of l: not
// at an indicator, except '-' before a character that is no space (and, in
// a flow collection, no flow indicator).
func plainStart(l string, i int, inFlow bool) bool {
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
func quoted(l string, i int) (string, int, bool) {
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
			return l[start:j], j + 1, true
		}
		return string(append(b, l[start:j]...)), j + 1, true
	}
	return "", 0, false // not closed on this line
}
