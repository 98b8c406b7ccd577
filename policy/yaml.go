package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/maildns/maildns/internal/readfile"
	"go.yaml.in/yaml/v3"
)

// maxFileSize is the largest config, policy, key or secret file read.
const maxFileSize = 1 << 20

// readFile reads a regular file of at most maxFileSize bytes. Symlinks are
// followed (a loop fails with the system's error); devices, FIFOs and
// directories are refused without being opened.
func readFile(path string) ([]byte, error) {
	var info readfile.Info
	return readInfo(path, &info)
}

// readInfo is readFile that also says what the file is (info; zero when it
// could not be looked at): the policy loader learns from it whether a
// name is a directory and which file it reaches.
func readInfo(path string, info *readfile.Info) ([]byte, error) {
	return readInfoInto(path, info, nil)
}

// readInfoInto is readInfo into buf when the file fits (readfile.ReadInto).
func readInfoInto(path string, info *readfile.Info, buf []byte) ([]byte, error) {
	b, fi, err := readfile.ReadInto(path, maxFileSize, buf)
	*info = fi
	if err != nil {
		return nil, err
	}
	if !fi.Regular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if b == nil && fi.Size > maxFileSize {
		return nil, fmt.Errorf("%s is %d bytes, over the 1 MiB limit", path, fi.Size)
	}
	if len(b) > maxFileSize {
		return nil, fmt.Errorf("%s is over the 1 MiB limit", path)
	}
	return b, nil
}

// collector gathers every problem found, in order.
type collector struct {
	errs  []*Error
	block []entry // the block mappings' entries are taken from
	// lists, when set (a policy loader's), is where string lists are
	// taken from, reused policy after policy: a list then lives until the
	// next policy (its strings are kept, never the slice). nil: each list
	// is allocated (the config keeps its lists).
	lists *listBlock
}

// listBlock is the room string lists and their positions are taken from.
type listBlock struct {
	strs []string
	pos  []Pos
}

// take returns empty lists with room for n items. A long list gets a
// block of its own size, not an allocation apart: the block is reused by
// the policies after.
func (b *listBlock) take(n int) ([]string, []Pos) {
	blockLen := max(64, n)
	return blockRoom(&b.strs, n, blockLen, n), blockRoom(&b.pos, n, blockLen, n)
}

func (c *collector) errorf(pos Pos, format string, args ...any) {
	c.errs = append(c.errs, Errorf(pos, format, args...))
}

func (c *collector) add(errs ...*Error) {
	c.errs = append(c.errs, errs...)
}

// err returns the problems as one error (errors.Join of *Error), nil when none.
func (c *collector) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	es := make([]error, len(c.errs))
	for i, e := range c.errs {
		es[i] = e
	}
	return errors.Join(es...)
}

var yamlLineRE = regexp.MustCompile(`^yaml: (?:line (\d+): )?`)

// parseYAML parses one YAML document strictly. It returns the root node (nil
// for an empty document) or the problems found, each at its line.
func parseYAML(file string, data []byte) (root *yaml.Node, errs []*Error) {
	return parseYAMLWith(new(fastYAML), file, string(data))
}

// parseYAMLWith is parseYAML of the text src with the fast parser p: a
// tree it returns lives until p's next parse (see fastYAML.parse).
func parseYAMLWith(p *fastYAML, file, src string) (root *yaml.Node, errs []*Error) {
	// A text the fast parser takes has no byte badBytes finds (it takes
	// printable ASCII, and valid UTF-8 only in comments): look for them
	// only in the others.
	if n, ok := p.parse(src); ok {
		return n, nil
	}
	if line, what := badBytes(src); line > 0 {
		return nil, []*Error{Errorf(Pos{file, line}, "%s: not a YAML text file", what)}
	}
	data := []byte(src)
	defer func() {
		if r := recover(); r != nil {
			root = nil
			errs = []*Error{Errorf(Pos{File: file}, "cannot parse YAML")}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, []*Error{yamlError(file, err)}
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		return nil, []*Error{Errorf(Pos{file, next.Line}, "more than one YAML document")}
	} else if !errors.Is(err, io.EOF) {
		return nil, []*Error{yamlError(file, err)}
	}
	n := &doc
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil, nil
		}
		n = n.Content[0]
	}
	if bad := findAlias(n); bad != nil {
		return nil, []*Error{Errorf(Pos{file, bad.Line}, "YAML anchors and aliases are not supported")}
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil, nil
	}
	return n, nil
}

func yamlError(file string, err error) *Error {
	msg := err.Error()
	line := 0
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		if m[1] != "" {
			line, _ = strconv.Atoi(m[1])
		}
		msg = msg[len(m[0]):]
	}
	return Errorf(Pos{file, line}, "invalid YAML: %s", msg)
}

// badBytes finds the first byte that has no place in a YAML text: invalid
// UTF-8, NUL or another control character. It returns its line (0: none).
func badBytes(data string) (int, string) {
	line := 1
	for i := 0; i < len(data); {
		c := data[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '\n':
				line++
			case c == 0:
				return line, "NUL byte"
			case c < 0x20 && c != '\t' && c != '\r':
				return line, fmt.Sprintf("control character 0x%02x", c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return line, "invalid UTF-8"
		}
		i += size
	}
	return 0, ""
}

func findAlias(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return n
	}
	for _, c := range n.Content {
		if b := findAlias(c); b != nil {
			return b
		}
	}
	return nil
}

// entry is one key of a mapping.
type entry struct {
	key  string
	pos  Pos // the key's line
	node *yaml.Node
}

// node wraps a YAML node with its file for error positions.
type node struct {
	file string
	n    *yaml.Node
}

func (v node) pos() Pos { return Pos{v.file, v.n.Line} }

func (v node) isNull() bool {
	return v.n == nil || (v.n.Kind == yaml.ScalarNode && v.n.ShortTag() == "!!null")
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "empty"
		case "!!bool":
			return "a boolean"
		case "!!int":
			return "a number"
		case "!!float":
			return "a number"
		case "!!str":
			return "a string"
		}
		return "a " + strings.TrimPrefix(n.ShortTag(), "!!") + " value"
	}
	return "not a value"
}

// mapping returns the entries of a mapping node in order, reporting a node
// that is not a mapping, duplicate keys, non-string keys, and (when allowed
// is not nil) keys not in allowed. A null node is an empty mapping.
func (c *collector) mapping(v node, what string, allowed []string) ([]entry, bool) {
	if v.isNull() {
		return nil, true
	}
	if v.n.Kind != yaml.MappingNode {
		c.errorf(v.pos(), "%s must be a mapping, not %s", what, kindName(v.n))
		return nil, false
	}
	// A mapping has a few keys: a scan finds a duplicate as soon as a map
	// would, without one allocated per mapping of every policy.
	var seen map[string]int
	if len(v.n.Content) > 32 {
		seen = make(map[string]int, len(v.n.Content)/2)
	}
	out := c.entries(len(v.n.Content) / 2)
	for i := 0; i+1 < len(v.n.Content); i += 2 {
		k, val := v.n.Content[i], v.n.Content[i+1]
		kp := Pos{v.file, k.Line}
		if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!null" {
			c.errorf(kp, "%s: keys must be strings", what)
			continue
		}
		if k.ShortTag() == "!!merge" {
			c.errorf(kp, "%s: YAML merge keys are not supported", what)
			continue
		}
		if first, dup := firstKey(seen, v.n.Content[:i], k.Value); dup {
			c.errorf(kp, "duplicate key %q (first at line %d)", k.Value, first)
			continue
		}
		if seen != nil {
			seen[k.Value] = k.Line
		}
		if allowed != nil && !contains(allowed, k.Value) {
			c.errorf(kp, "unknown key %q in %s%s", k.Value, what, suggest(k.Value, allowed))
			continue
		}
		out = append(out, entry{key: k.Value, pos: kp, node: val})
	}
	return out, true
}

// entries returns an empty list with room for n entries, from the
// collector's block: a policy has half a dozen mappings.
func (c *collector) entries(n int) []entry {
	if cap(c.block)-len(c.block) < n {
		c.block = make([]entry, 0, max(64, n))
	}
	i := len(c.block)
	c.block = c.block[:i+n]
	return c.block[i : i : i+n]
}

// entryList is a mapping's entries, looked up by key: a policy has a dozen
// keys at most, fewer than it takes to pay for a map.
type entryList []entry

func (es entryList) get(key string) (entry, bool) {
	for _, e := range es {
		if e.key == key {
			return e, true
		}
	}
	return entry{}, false
}

// firstKey returns the line of the first key named key among the keys of
// before (a mapping's content up to the key at hand): from seen when there
// is one, else by a scan of the string keys.
func firstKey(seen map[string]int, before []*yaml.Node, key string) (int, bool) {
	if seen != nil {
		line, ok := seen[key]
		return line, ok
	}
	for j := 0; j+1 < len(before); j += 2 {
		k := before[j]
		if k.Kind == yaml.ScalarNode && k.Value == key && k.ShortTag() != "!!null" && k.ShortTag() != "!!merge" {
			return k.Line, true
		}
	}
	return 0, false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// scalarString returns a scalar's text: strings, and numbers as written.
func (c *collector) str(e entry, file string) (string, bool) {
	n := e.node
	if n.Kind != yaml.ScalarNode {
		c.errorf(Pos{file, n.Line}, "%s must be a string, not %s", e.key, kindName(n))
		return "", false
	}
	switch n.ShortTag() {
	case "!!str", "!!int", "!!float":
		return n.Value, true
	}
	c.errorf(Pos{file, n.Line}, "%s must be a string, not %s", e.key, kindName(n))
	return "", false
}

func (c *collector) integer(e entry, file string) (int64, bool) {
	n := e.node
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
		if i, ok := plainDecimal(n.Value); ok {
			return i, true
		}
		var i int64
		if err := n.Decode(&i); err == nil {
			return i, true
		}
		c.errorf(Pos{file, n.Line}, "%s: %q is out of range", e.key, n.Value)
		return 0, false
	}
	c.errorf(Pos{file, n.Line}, "%s must be a whole number, not %s", e.key, kindName(n))
	return 0, false
}

// plainDecimal reads a whole number written in plain decimal digits
// without a leading zero (as people write a TTL or a priority): what the
// YAML library decodes it to, without its decoder. Anything else (signs,
// 0x, 0o, 010, 1_000, out of range) is left to the library.
func plainDecimal(v string) (int64, bool) {
	if v == "" || len(v) > 18 || v[0] == '0' && len(v) > 1 {
		return 0, false
	}
	var i int64
	for j := 0; j < len(v); j++ {
		c := v[j]
		if c < '0' || c > '9' {
			return 0, false
		}
		i = i*10 + int64(c-'0')
	}
	return i, true
}

func (c *collector) boolean(e entry, file string) (bool, bool) {
	n := e.node
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
		// The usual spellings without a decoder (one costs 4 allocations).
		switch n.Value {
		case "true":
			return true, true
		case "false":
			return false, true
		}
		var b bool
		if err := n.Decode(&b); err == nil {
			return b, true
		}
	}
	c.errorf(Pos{file, n.Line}, "%s must be true or false, not %s", e.key, kindName(n))
	return false, false
}

// MaxListItems bounds every list in a policy or config (addresses of a mail
// host, SPF mechanisms, report URIs, mail hosts, MX, DKIM selectors, globs):
// far above any real mail setup, far below what would make records no name
// server can serve.
const MaxListItems = 100

// strList returns a list of strings, each with its position. A single
// string is not a list; null is the empty list.
func (c *collector) strList(e entry, file string) ([]string, []Pos, bool) {
	n := e.node
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil, nil, true
	}
	if n.Kind != yaml.SequenceNode {
		c.errorf(Pos{file, n.Line}, "%s must be a list of strings, not %s", e.key, kindName(n))
		return nil, nil, false
	}
	if len(n.Content) > MaxListItems {
		c.errorf(Pos{file, n.Line}, "%s has %d items, at most %d are allowed (no DNS record can hold more)", e.key, len(n.Content), MaxListItems)
		return nil, nil, false
	}
	var out []string
	var pos []Pos
	if c.lists != nil {
		out, pos = c.lists.take(len(n.Content))
	} else {
		out, pos = make([]string, 0, len(n.Content)), make([]Pos, 0, len(n.Content))
	}
	ok := true
	for _, it := range n.Content {
		s, good := c.str(entry{key: e.key + " item", node: it}, file)
		if !good {
			ok = false
			continue
		}
		out = append(out, s)
		pos = append(pos, Pos{file, it.Line})
	}
	if len(out) == 0 {
		return nil, nil, ok
	}
	return out, pos, ok
}

// duration accepts a Go duration string ("15m", "90s") or whole seconds.
func (c *collector) duration(e entry, file string) (time.Duration, bool) {
	n := e.node
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
		i, ok := c.integer(e, file)
		if !ok {
			return 0, false
		}
		if i < 0 || i > 1<<31-1 {
			c.errorf(Pos{file, n.Line}, "%s: %d is out of range", e.key, i)
			return 0, false
		}
		return time.Duration(i) * time.Second, true
	}
	s, ok := c.str(e, file)
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		c.errorf(Pos{file, n.Line}, "%s: %q is not a duration (like 30s, 15m, 2h)", e.key, s)
		return 0, false
	}
	if d < 0 {
		c.errorf(Pos{file, n.Line}, "%s must not be negative", e.key)
		return 0, false
	}
	return d, true
}

// oneOf checks s against the valid values, suggesting the closest.
func (c *collector) oneOf(pos Pos, key, s string, valid []string) bool {
	if contains(valid, s) {
		return true
	}
	c.errorf(pos, "%s: %q is not one of %s%s", key, s, strings.Join(quoteAll(valid), ", "), suggest(s, valid))
	return false
}

func quoteAll(list []string) []string {
	out := make([]string, 0, len(list))
	for _, s := range list {
		if s == "" {
			continue
		}
		out = append(out, strconv.Quote(s))
	}
	return out
}

// suggest returns ` (did you mean "x"?)` for the closest candidate within a
// small edit distance, or "".
func suggest(s string, candidates []string) string {
	if full, ok := keyAliases[strings.ToLower(s)]; ok && contains(candidates, full) {
		return fmt.Sprintf(" (did you mean %q?)", full)
	}
	best, bestD := "", 1<<30
	cs := append([]string(nil), candidates...)
	sort.Strings(cs)
	for _, c := range cs {
		if c == "" {
			continue
		}
		d := editDistance(strings.ToLower(s), c)
		if d < bestD {
			best, bestD = c, d
		}
	}
	limit := 2
	if len(s) <= 3 {
		limit = 1
	}
	if best == "" || bestD > limit {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// keyAliases are the record tags people write for the policy keys that
// spell them out (a DMARC section's pct= is percent).
var keyAliases = map[string]string{
	"pct": "percent", "p": "policy", "sp": "subdomain_policy",
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// isPlainScalar reports whether n is a string, number or boolean.
func isPlainScalar(n *yaml.Node) bool {
	if n.Kind != yaml.ScalarNode {
		return false
	}
	switch n.ShortTag() {
	case "!!str", "!!int", "!!float", "!!bool":
		return true
	}
	return false
}
