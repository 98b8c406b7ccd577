package zonefile

// A zone file is edited in place: every line a write does not change stays
// byte for byte as it was (comments, blank lines, order, layout, $ORIGIN,
// $TTL, $GENERATE), a changed record is changed where it stands, a new one
// goes after the records of its owner name, and the SOA serial is changed
// within its line. The file is split into entries (a record with all the
// lines its parentheses span, a directive, a blank or comment line), each
// entry is matched with the records miekg/dns parses from it, and only the
// entries a write touches are edited, field by field where they can be.
//
// A record written without an owner name inherits the previous record's
// owner, and one written without a TTL inherits $TTL or, in a file without
// $TTL, the last TTL written: removing or adding a record can change what
// the lines after it mean. So the edited file is walked as a server reads
// it, and any line whose inherited owner or TTL would change is given its
// own explicitly. Last, the edited text is parsed again and must hold
// exactly the records intended, or nothing is written.

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// span is a token's place in its entry's text: [start, end).
type span struct{ start, end int }

type entryKind int

const (
	entryOther    entryKind = iota // blank line or comment
	entryRecord                    // one resource record
	entryOrigin                    // $ORIGIN
	entryTTL                       // $TTL
	entryGenerate                  // $GENERATE: a range of records
	entryInclude                   // $INCLUDE (refused by the parser)
)

// fileEntry is one entry of a zone file with its final newline.
type fileEntry struct {
	text   string
	line   int // of its first line in the file, from 1
	kind   entryKind
	open   bool   // the file ends within this entry's quotes or parentheses
	toks   []span // tokens outside comments; a parenthesis does not end one
	parens []int  // offsets of ( and ) outside quotes and comments, and of
	// the carriage returns and line breaks within a token (dropped by
	// miekg/dns without ending the token)

	// Records: indexes into toks, -1 when absent.
	owner, ttl, class, typ int
	rrs                    []int // ids of the records it holds
}

// plainByte tells the bytes that mean nothing to the zone file lexer but
// outside comments, are part of a token.
var plainByte = func() (t [256]bool) {
	for i := range t {
		t[i] = !strings.ContainsRune("\n\r\\\"; \t()", rune(i))
	}
	return t
}()

// tokChunk is how many tokens splitEntries keeps in one array (1 MiB).
const tokChunk = 1 << 16

// splitEntries splits zone file text into entries, following the lexer of
// miekg/dns: quotes, backslash escapes, ; comments, and parentheses that
// continue an entry over several lines.
func splitEntries(data string) []fileEntry {
	out := make([]fileEntry, 0, strings.Count(data, "\n")+1)
	// The entries' tokens and parentheses share a few arrays, each entry
	// holding its part (capacity clipped): not two allocations an entry.
	// The tokens go in chunks: one array sized by a guess of a token per 6
	// bytes reserved twice the 4.3 million tokens of a 58 MB zone.
	toks := make([]span, 0, min(len(data)/6+1, tokChunk))
	var parens []int
	tokFrom, parenFrom := 0, 0
	start, line := 0, 1
	cur := fileEntry{line: 1}
	tok := -1
	gap := -1 // the first of the carriage returns or line breaks since the token's last byte
	quote, escape, comment := false, false, false
	brace := 0
	endTok := func(i int) {
		if gap >= 0 {
			i, gap = gap, -1
		}
		if tok >= 0 {
			if len(toks) == cap(toks) { // the entry's tokens so far move on
				next := make([]span, 0, max(tokChunk, 2*(len(toks)-tokFrom)))
				toks, tokFrom = append(next, toks[tokFrom:]...), 0
			}
			toks = append(toks, span{tok - start, i - start})
			tok = -1
		}
	}
	// inTok takes byte i into the current token, or starts one; bytes
	// skipped since the token's last one are within it.
	inTok := func(i int) {
		if tok < 0 {
			tok = i
		}
		if gap >= 0 {
			for j := gap; j < i; j++ {
				if data[j] == '\r' || data[j] == '\n' {
					parens = append(parens, j-start)
				}
			}
			gap = -1
		}
	}
	finish := func(end int) {
		endTok(end)
		cur.text = data[start:end]
		if len(toks) > tokFrom {
			cur.toks = toks[tokFrom:len(toks):len(toks)]
		}
		if len(parens) > parenFrom {
			cur.parens = parens[parenFrom:len(parens):len(parens)]
		}
		tokFrom, parenFrom = len(toks), len(parens)
		out = append(out, cur)
		start = end
		cur = fileEntry{line: line}
	}
	for i := 0; i < len(data); i++ {
		c := data[i]
		if plainByte[c] && !comment {
			// Most bytes: runs of a token's, escaped or not, quoted or not.
			escape = false
			inTok(i)
			for i+1 < len(data) && plainByte[data[i+1]] {
				i++
			}
			continue
		}
		if c == '\n' {
			line++
		}
		if comment {
			if c == '\n' {
				comment = false
				if brace == 0 {
					finish(i + 1)
				}
			}
			continue
		}
		if escape {
			escape = false
			if c != '\n' && c != '\r' {
				inTok(i)
				continue
			}
		}
		switch {
		case c == '\\':
			escape = true
			inTok(i)
		case c == '"':
			quote = !quote
			inTok(i)
		case quote:
			inTok(i)
		case c == '\r' || (c == '\n' && brace > 0):
			// miekg/dns drops a carriage return, and a line break within
			// parentheses, without ending the token.
			if tok >= 0 && gap < 0 {
				gap = i
			}
		case c == ';':
			endTok(i)
			comment = true
		case c == '(' || c == ')':
			// As in miekg/dns, a parenthesis does not end a token.
			parens = append(parens, i-start)
			if c == '(' {
				brace++
			} else {
				brace--
			}
		case c == ' ' || c == '\t':
			endTok(i)
		case c == '\n':
			endTok(i)
			brace = 0
			finish(i + 1)
		default:
			inTok(i)
		}
	}
	if start < len(data) {
		finish(len(data))
	}
	if (quote || brace > 0) && len(out) > 0 {
		out[len(out)-1].open = true
	}
	for i := range out {
		out[i].classify()
	}
	return out
}

// tok returns the text of token i, the bytes in parens left out.
func (e *fileEntry) tok(i int) string {
	t := e.toks[i]
	if !e.hasParen(i) {
		return e.text[t.start:t.end]
	}
	var b strings.Builder
	for j := t.start; j < t.end; j++ {
		if !slices.Contains(e.parens, j) {
			b.WriteByte(e.text[j])
		}
	}
	return b.String()
}

// hasParen reports whether token i holds a byte of parens (the token
// cannot then be replaced on its own).
func (e *fileEntry) hasParen(i int) bool {
	t := e.toks[i]
	for _, p := range e.parens {
		if p >= t.start && p < t.end {
			return true
		}
	}
	return false
}

// classify finds an entry's kind and, for a record, its header fields.
func (e *fileEntry) classify() {
	e.owner, e.ttl, e.class, e.typ = -1, -1, -1, -1
	if len(e.toks) == 0 {
		e.kind = entryOther
		return
	}
	i := 0
	// miekg/dns drops carriage returns before the first blank or token.
	if c := strings.TrimLeft(e.text, "\r")[0]; c != ' ' && c != '\t' {
		// The first token of a line that does not start with a blank is
		// the owner name (or a directive).
		if t := e.tok(0); strings.HasPrefix(t, "$") {
			switch strings.ToUpper(t) { // a directive's, not every owner's, copy
			case "$ORIGIN":
				e.kind = entryOrigin
			case "$TTL":
				e.kind = entryTTL
			case "$GENERATE":
				e.kind = entryGenerate
			case "$INCLUDE":
				e.kind = entryInclude
			default:
				e.kind = entryRecord
			}
			if e.kind != entryRecord {
				return
			}
		}
		e.kind = entryRecord
		e.owner = 0
		i = 1
	}
	e.kind = entryRecord
	for n := 0; n < 2 && i < len(e.toks); n++ {
		t := e.tok(i)
		switch {
		case isClassToken(t) && e.class < 0:
			e.class = i
		case !isTypeToken(t) && e.ttl < 0:
			if _, ok := zoneTTL(t); !ok {
				n = 2
				continue
			}
			e.ttl = i
		default:
			n = 2
			continue
		}
		i++
	}
	if i < len(e.toks) && isTypeToken(e.tok(i)) {
		e.typ = i
	}
}

func isTypeToken(t string) bool {
	u := strings.ToUpper(t)
	if _, ok := dns.StringToType[u]; ok {
		return true
	}
	if !strings.HasPrefix(u, "TYPE") {
		return false // no number to parse (a failed parse allocates)
	}
	n, err := strconv.ParseUint(u[len("TYPE"):], 10, 16)
	return err == nil && n > 0
}

func isClassToken(t string) bool {
	u := strings.ToUpper(t)
	if _, ok := dns.StringToClass[u]; ok {
		return true
	}
	if !strings.HasPrefix(u, "CLASS") {
		return false
	}
	_, err := strconv.ParseUint(u[len("CLASS"):], 10, 16)
	return err == nil
}

// rdataSpan returns where a record entry's data starts and ends (its
// trailing comment excluded), and whether the data can be replaced alone:
// every parenthesis of the entry lies within the data.
func (e *fileEntry) rdataSpan() (int, int, bool) {
	if e.typ < 0 {
		return 0, 0, false
	}
	from := e.toks[e.typ].end
	start, end := len(e.text), from
	if e.typ+1 < len(e.toks) {
		start = e.toks[e.typ+1].start
		end = e.toks[len(e.toks)-1].end
	}
	for _, p := range e.parens {
		if p < from {
			return 0, 0, false
		}
		start = min(start, p)
		end = max(end, p+1)
	}
	if start > end {
		return 0, 0, false
	}
	return start, end, true
}

// absName resolves a name written in a zone file against origin.
func absName(name, origin string) string {
	switch {
	case name == "@":
		return origin
	case dns.IsFqdn(name):
		return name
	case origin == ".":
		return name + "."
	}
	return name + "." + origin
}

// fileDoc is a zone file split into entries, each matched with its records.
type fileDoc struct {
	size    int // of the text
	entries []fileEntry
	recAt   []int // record id -> index of its entry
}

// splitDoc matches the entries of data (splitEntries(data)) with rrs, the
// records miekg/dns parsed from the whole of data, in order.
func splitDoc(data string, entries []fileEntry, path, origin string, rrs []dns.RR) (*fileDoc, error) {
	d := &fileDoc{size: len(data), entries: entries, recAt: make([]int, 0, len(rrs))}
	ids := make([]int, len(rrs)) // the entries' one-record lists, in one array
	dirs := directives{origin: origin}
	id := 0
	mismatch := func(e *fileEntry, why string) error {
		return fmt.Errorf("%s:%d: cannot edit this zone file in place: %s", path, e.line, why)
	}
	for i := range d.entries {
		e := &d.entries[i]
		if e.open {
			return nil, mismatch(e, "the file ends within a quoted string or parentheses")
		}
		n, err := dirs.take(e)
		switch e.kind {
		case entryInclude:
			return nil, mismatch(e, "$INCLUDE is not supported")
		case entryGenerate:
			if err != nil {
				return nil, mismatch(e, err.Error())
			}
			for range n {
				e.rrs = append(e.rrs, id)
				d.recAt = append(d.recAt, i)
				id++
			}
		case entryRecord:
			if id >= len(rrs) {
				return nil, mismatch(e, "more entries than records")
			}
			if e.typ < 0 {
				return nil, mismatch(e, "no record type found")
			}
			if rrs[id].Header().Name == "" {
				return nil, mismatch(e, "a record without an owner name")
			}
			if e.typ == len(e.toks)-1 && strings.ToUpper(e.tok(e.typ)) != "APL" {
				return nil, mismatch(e, "a record without data")
			}
			t := strings.ToUpper(e.tok(e.typ))
			if want := typeString(rrs[id].Header().Rrtype); t != want && !(strings.HasPrefix(t, "TYPE") && isTypeToken(t)) {
				return nil, mismatch(e, fmt.Sprintf("entry of type %s read as %s", t, want))
			}
			ids[id] = id
			e.rrs = ids[id : id+1 : id+1]
			d.recAt = append(d.recAt, i)
			id++
		}
	}
	if id != len(rrs) {
		return nil, fmt.Errorf("%s: cannot edit this zone file in place: %d records found in %d entries", path, len(rrs), id)
	}
	return d, nil
}

// directives follows the $ORIGIN and $TTL in force from entry to entry of
// a zone file, as miekg/dns reads them.
type directives struct {
	origin string // the $ORIGIN in force
	ttl    string // the $TTL in force, as written ("": none)
}

// take notes the $ORIGIN or $TTL entry e; for a $GENERATE entry it returns
// the number of records it makes under the directives in force.
func (d *directives) take(e *fileEntry) (generated int, err error) {
	switch e.kind {
	case entryOrigin:
		if len(e.toks) > 1 {
			d.origin = absName(e.tok(1), d.origin)
		}
	case entryTTL:
		if len(e.toks) > 1 {
			d.ttl = e.tok(1)
		}
	case entryGenerate:
		return countGenerated(e.text, d.origin, d.ttl)
	}
	return 0, nil
}

// countGenerated returns the number of records a $GENERATE entry makes.
func countGenerated(text, origin, dirTTL string) (int, error) {
	src := "$ORIGIN " + origin + "\n"
	if dirTTL != "" {
		src += "$TTL " + dirTTL + "\n"
	}
	zp := dns.NewZoneParser(strings.NewReader(src+text), origin, "")
	n := 0
	for _, ok := zp.Next(); ok; _, ok = zp.Next() {
		n++
	}
	return n, zp.Err()
}

// ttlState is the TTL a record written without one inherits.
type ttlState struct {
	set, byDirective bool
	ttl              uint32
}

// inherited returns the TTL of a record written without one; last is the
// TTL of the record before it.
func (t ttlState) inherited(last uint32) uint32 {
	if t.set {
		return t.ttl
	}
	return last
}

// placed is one record entry of the edited file: an entry of the file
// (kept, or with its data replaced) or a new record.
type placed struct {
	entry   *fileEntry // nil for a new record
	rr      dns.RR     // the record it holds after the write
	newData bool       // its data must be written from rr
	id      int32      // the id of the record as read it is, else -1
}

// edit returns the text of the file after the write: rrs are the records
// of the file as read (by id), keep[id] says which are kept as they are,
// swap maps the id of a record whose entry is reused to the record that
// takes its place, and after maps an entry index (-1: the end of the file)
// to the new records written after it; genGone holds the records of
// $GENERATE lines that are gone; soaID is the id of the zone's SOA, whose
// serial is changed within its line when it differs from oldSerial, the
// serial as read (another SOA in the file is a record like any other).
//
// It also returns the records of the text in the order it holds them, as
// a parse of it must find them, and for each the id of the record as read
// it is (kept as it was), or -1.
func (d *fileDoc) edit(origin string, rrs []dns.RR, keep []bool, swap map[int]dns.RR, after map[int][]dns.RR, genGone map[int]bool, soaID int, oldSerial uint32) (string, []dns.RR, []int32) {
	var b strings.Builder
	b.Grow(d.size + d.size/16)
	order := make([]dns.RR, 0, len(rrs))
	ids := make([]int32, 0, len(rrs))
	cur := origin
	var ttl ttlState
	prevOwner := ""
	var prevTTL uint32     // a record without TTL and no default keeps the last one's
	var lastRec *fileEntry // the last record entry of the file written
	// fresh writes a record as a new line of its own.
	fresh := func(rr dns.RR) {
		h := rr.Header()
		b.WriteString(freshLine(lastRec, relOwner(h.Name, cur), strconv.FormatUint(uint64(h.Ttl), 10), typeString(h.Rrtype), rdata(rr)))
		if !ttl.byDirective {
			ttl = ttlState{set: true, ttl: h.Ttl}
		}
		prevOwner, prevTTL = h.Name, h.Ttl
	}
	emit := func(p placed) {
		order = append(order, p.rr)
		ids = append(ids, p.id)
		owner := p.rr.Header().Name
		h := p.rr.Header()
		if p.entry == nil || (p.newData && !replaceable(p.entry)) {
			fresh(p.rr)
			return
		}
		e := p.entry
		newSerial := false
		if soa, ok := p.rr.(*dns.SOA); ok && p.id >= 0 && int(p.id) == soaID {
			newSerial = soa.Serial != oldSerial
		}
		if !e.editable(p.rr, newSerial, oldSerial) {
			fresh(p.rr)
			return
		}
		lastRec = e
		type change struct {
			at   span
			text string
		}
		var changes []change
		ownerWritten := e.owner >= 0
		if e.owner < 0 && !strings.EqualFold(prevOwner, owner) {
			changes = append(changes, change{span{0, 0}, relOwner(owner, cur)})
			ownerWritten = true
		}
		// miekg/dns wants a TTL on a line with an owner name and no class
		// when nothing set a default.
		needTTL := ttl.inherited(prevTTL) != h.Ttl || (ownerWritten && !ttl.set && e.class < 0)
		if e.ttl >= 0 {
			if v, ok := zoneTTL(e.tok(e.ttl)); !ok || v != h.Ttl {
				changes = append(changes, change{e.toks[e.ttl], strconv.FormatUint(uint64(h.Ttl), 10)})
			}
		} else if needTTL {
			at := e.typ
			if e.class >= 0 && e.class < at {
				at = e.class
			}
			pos := e.toks[at].start
			changes = append(changes, change{span{pos, pos}, strconv.FormatUint(uint64(h.Ttl), 10) + " "})
		}
		if (e.ttl >= 0 || needTTL) && !ttl.byDirective {
			ttl = ttlState{set: true, ttl: h.Ttl}
		}
		prevTTL = h.Ttl
		if newSerial {
			i := e.serialToken(oldSerial) // found, or the entry was written anew
			changes = append(changes, change{e.toks[i], strconv.FormatUint(uint64(p.rr.(*dns.SOA).Serial), 10)})
		}
		if p.newData {
			start, end, _ := e.rdataSpan()
			changes = append(changes, change{span{start, end}, newRdata(e.text[start:end], p.rr)})
		}
		prevOwner = owner
		last := 0
		for _, c := range changes { // in text order by construction
			b.WriteString(e.text[last:c.at.start])
			b.WriteString(c.text)
			last = c.at.end
		}
		b.WriteString(e.text[last:])
	}
	place := func(news []dns.RR) {
		for _, rr := range news {
			if s := b.String(); s != "" && !strings.HasSuffix(s, "\n") {
				b.WriteByte('\n')
			}
			emit(placed{rr: rr, id: -1})
		}
	}
	for i := range d.entries {
		e := &d.entries[i]
		switch e.kind {
		case entryOrigin:
			if len(e.toks) > 1 {
				cur = absName(e.tok(1), cur)
			}
			b.WriteString(e.text)
		case entryTTL:
			if len(e.toks) > 1 {
				v, _ := zoneTTL(e.tok(1))
				ttl = ttlState{set: true, byDirective: true, ttl: v}
			}
			b.WriteString(e.text)
		case entryRecord:
			id := e.rrs[0]
			switch {
			case keep[id]:
				emit(placed{entry: e, rr: rrs[id], id: int32(id)})
			case swap[id] != nil:
				emit(placed{entry: e, rr: swap[id], newData: rdata(swap[id]) != rdata(rrs[id]), id: -1})
			}
		case entryGenerate:
			b.WriteString(e.cutGenerate(genGone))
			for _, id := range e.rrs {
				if !genGone[id] {
					order = append(order, rrs[id])
					ids = append(ids, int32(id))
				}
			}
		default:
			b.WriteString(e.text)
		}
		place(after[i])
	}
	place(after[-1])
	return b.String(), order, ids
}

// editable reports whether the fields of entry e that must change for it
// to hold rr (its TTL, the zone's SOA serial when newSerial) can be changed
// token by token: tokens that hold a parenthesis are not (the entry is then
// written anew).
func (e *fileEntry) editable(rr dns.RR, newSerial bool, oldSerial uint32) bool {
	h := rr.Header()
	if e.ttl >= 0 && e.hasParen(e.ttl) {
		if v, ok := zoneTTL(e.tok(e.ttl)); !ok || v != h.Ttl {
			return false
		}
	}
	if newSerial {
		return e.serialToken(oldSerial) >= 0
	}
	return e.typ >= 0
}

// serialToken returns the token of an SOA entry that holds its serial,
// serial, or -1 when it cannot be told apart.
func (e *fileEntry) serialToken(serial uint32) int {
	i := e.typ + 3
	if e.typ < 0 || i >= len(e.toks) || e.hasParen(i) {
		return -1
	}
	if v, err := strconv.ParseUint(e.tok(i), 10, 32); err != nil || uint32(v) != serial {
		return -1
	}
	return i
}

// replaceable reports whether an entry's data can be replaced on its own.
func replaceable(e *fileEntry) bool {
	_, _, ok := e.rdataSpan()
	return ok
}

// newRdata returns the data of rr to write in place of old. A TXT record
// of several strings that was written over several lines in parentheses is
// written the same way, one string a line.
func newRdata(old string, rr dns.RR) string {
	txt, ok := rr.(*dns.TXT)
	nl := strings.IndexByte(old, '\n')
	if !ok || len(txt.Txt) < 2 || nl < 0 || !strings.HasPrefix(old, "(") {
		return rdata(rr)
	}
	rest := old[nl+1:]
	indent := rest[:len(rest)-len(strings.TrimLeft(rest, " \t"))]
	parts := make([]string, len(txt.Txt))
	for i, s := range txt.Txt {
		parts[i] = `"` + s + `"`
	}
	return "( " + strings.Join(parts, "\n"+indent) + " )"
}

// rrsetKey names an RRset in canonical form (see providers.Normalize).
type rrsetKey struct{ name, typ string }

// editedText returns the zone file text after a write that left z.entries
// (and z.soa's serial) as they are now: records of the file that are gone
// are removed from it, new ones replace gone ones of their RRset where
// these stood, and the rest go after the last record of their RRset, else
// of their owner name, else at the end of the file.
func (z *zoneData) editedText() (string, error) {
	keep := z.kept()
	var news []int // indexes in z.entries
	for i, e := range z.entries {
		if e.id < 0 {
			news = append(news, i)
		}
	}
	key := func(id int) rrsetKey { return rrsetKey{z.readNames[id], z.readKey(id).Type} }
	removed := map[rrsetKey][]int{}
	// A gone record that a $GENERATE line makes is cut out of its range;
	// its replacement, if any, goes after that line.
	genGone := map[int]bool{}
	for id := range z.rrs {
		if keep[id] {
			continue
		}
		if e := &z.doc.entries[z.doc.recAt[id]]; e.kind == entryGenerate {
			if _, _, err := e.generateRange(); err != nil {
				k := z.readKey(id)
				return "", fmt.Errorf("%s:%d: the record %s %s %s comes from a $GENERATE line whose range maildns cannot split (%v): write that record on a line of its own", z.path, e.line, k.Name, k.Type, k.Data, err)
			}
			genGone[id] = true
			continue
		}
		removed[key(id)] = append(removed[key(id)], id)
	}

	// A new record takes the place of a gone one of its RRset: one with
	// the same data first (only its TTL changes), then in file order.
	swap := map[int]dns.RR{}
	var order []rrsetKey
	added := map[rrsetKey][]int{}
	for _, i := range news {
		n := z.entries[i]
		k := rrsetKey{n.key.Name, n.key.Type}
		if _, seen := added[k]; !seen {
			order = append(order, k)
		}
		added[k] = append(added[k], i)
	}
	left := map[rrsetKey][]dns.RR{}
	for _, k := range order {
		rem := removed[k]
		used := make([]bool, len(rem))
		var rest []int
	adds:
		for _, i := range added[k] {
			n := &z.entries[i]
			for j, id := range rem {
				if !used[j] && z.readKey(id).Data == n.key.Data {
					// Same data: the file keeps its spelling (the case of
					// names, how a TXT is split); only the TTL may change.
					rr := dns.Copy(z.rrs[id])
					rr.Header().Ttl = n.rr.Header().Ttl
					n.rr = rr
					swap[id], used[j] = n.rr, true
					continue adds
				}
			}
			rest = append(rest, i)
		}
		j := 0
		for _, i := range rest {
			for j < len(rem) && used[j] {
				j++
			}
			if j < len(rem) {
				swap[rem[j]], used[j] = z.entries[i].rr, true
				continue
			}
			left[k] = append(left[k], z.entries[i].rr)
		}
	}

	// Each RRset's records left over go after the last record of the
	// RRset that stays, else of its owner name: found in one pass.
	var leftNames map[string]bool
	for _, k := range order {
		if len(left[k]) > 0 {
			if leftNames == nil {
				leftNames = map[string]bool{}
			}
			leftNames[k.name] = true
		}
	}
	lastOfSet, lastOfName := map[rrsetKey]int{}, map[string]int{}
	if leftNames != nil {
		for id := range z.rrs {
			if !keep[id] && swap[id] == nil && !genGone[id] {
				continue
			}
			if leftNames[z.readNames[id]] {
				have := key(id)
				lastOfName[have.name] = z.doc.recAt[id]
				lastOfSet[have] = z.doc.recAt[id]
			}
		}
	}
	after := map[int][]dns.RR{}
	for _, k := range order {
		if len(left[k]) == 0 {
			continue
		}
		anchor, ok := lastOfSet[k]
		if !ok {
			anchor, ok = lastOfName[k.name]
		}
		if !ok {
			anchor = -1
		}
		after[anchor] = append(after[anchor], left[k]...)
	}
	text, written, ids := z.doc.edit(z.origin, z.rrs, keep, swap, after, genGone, z.soaID, z.serial)
	z.edited, z.editedIDs = written, ids
	return text, nil
}

// recordKey identifies a record exactly: owner (any case), TTL, class,
// type and data.
func recordKey(rr dns.RR) string {
	h := rr.Header()
	return strings.ToLower(h.Name) + " " + strconv.FormatUint(uint64(h.Ttl), 10) + " " +
		strconv.Itoa(int(h.Class)) + " " + strconv.Itoa(int(h.Rrtype)) + " " + rdata(rr)
}

// checkData parses the text to be written and fails unless it holds
// exactly the records of z: a file that would not load, or that would
// differ from what the write means, is never written.
func (z *zoneData) checkData(text []byte) error {
	got, err := parseAll(text, z.path+" (as edited)", z.origin)
	if err != nil {
		return fmt.Errorf("the edited zone file would not load, nothing written: %w", err)
	}
	if z.holdsInOrder(got) {
		return nil
	}
	return z.checkRecords(got)
}

// holdsInOrder reports whether got, the records parsed from the edited
// text, are the records editedText meant to write, one for one in their
// order (sameRR: a stricter test than recordKey's), and those are exactly
// the records of z. It is checkRecords without a text key per record;
// when it says no, checkRecords decides (and names what differs).
func (z *zoneData) holdsInOrder(got []dns.RR) bool {
	want := z.edited
	n := len(z.entries)
	if z.soa != nil {
		n++
	}
	if len(got) != len(want) || len(want) != n {
		return false
	}
	// want must be the records of z, each once: the same values, not
	// merely equal ones. A record kept as read is found by its id, a new
	// one (few) by its value.
	entryOf := make([]int32, len(z.rrs)) // by id: entry index+1, 0 none
	var news map[dns.RR]int32
	for i := range z.entries {
		if id := z.entries[i].id; id >= 0 {
			entryOf[id] = int32(i) + 1
			continue
		}
		if news == nil {
			news = map[dns.RR]int32{}
		}
		news[z.entries[i].rr] = int32(i) + 1
	}
	used := make([]bool, len(z.entries))
	soaUsed := false
	for i, rr := range want {
		var k int32
		switch id := z.editedIDs[i]; {
		case id >= 0 && int(id) == z.soaID && z.soa != nil:
			if rr != dns.RR(z.soa) || soaUsed {
				return false
			}
			soaUsed = true
			continue
		case id >= 0:
			k = entryOf[id]
		default:
			k = news[rr]
		}
		if k == 0 || used[k-1] || z.entries[k-1].rr != rr {
			return false
		}
		used[k-1] = true
	}
	for i, rr := range got {
		if !sameRR(rr, want[i]) {
			return false
		}
	}
	return true
}

// sameRR reports whether a and b are the same record: owner (any case),
// TTL, class, type, the same Go type and the same data field by field.
// Whenever it says yes, recordKey(a) == recordKey(b).
func sameRR(a, b dns.RR) bool {
	ha, hb := a.Header(), b.Header()
	if ha.Rrtype != hb.Rrtype || ha.Class != hb.Class || ha.Ttl != hb.Ttl ||
		(ha.Name != hb.Name && !sameLower(ha.Name, hb.Name)) ||
		reflect.TypeOf(a) != reflect.TypeOf(b) {
		return false
	}
	// Addresses as bytes: an IPv4 address in 4 or 16 bytes is one address
	// (net.IP.Equal) but not one record here, which is stricter.
	switch x := a.(type) {
	case *dns.A:
		return string(x.A) == string(b.(*dns.A).A)
	case *dns.AAAA:
		return string(x.AAAA) == string(b.(*dns.AAAA).AAAA)
	case *dns.MX:
		y := b.(*dns.MX)
		return x.Preference == y.Preference && x.Mx == y.Mx
	case *dns.CNAME:
		return x.Target == b.(*dns.CNAME).Target
	case *dns.NS:
		return x.Ns == b.(*dns.NS).Ns
	case *dns.PTR:
		return x.Ptr == b.(*dns.PTR).Ptr
	case *dns.TXT:
		return slices.Equal(x.Txt, b.(*dns.TXT).Txt)
	case *dns.SOA:
		y := b.(*dns.SOA)
		return x.Ns == y.Ns && x.Mbox == y.Mbox && x.Serial == y.Serial && x.Refresh == y.Refresh &&
			x.Retry == y.Retry && x.Expire == y.Expire && x.Minttl == y.Minttl
	}
	return rdata(a) == rdata(b)
}

// sameLower reports whether a and b differ at most in the case of ASCII
// letters: then their lower case, as recordKey compares owners, is the
// same (strings.EqualFold folds more than that).
func sameLower(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// checkRecords fails unless got, the records parsed from the edited text,
// are exactly the records of z, in any order.
func (z *zoneData) checkRecords(got []dns.RR) error {
	want := make(map[string]int, len(z.entries)+1)
	if z.soa != nil {
		want[recordKey(z.soa)]++
	}
	for _, e := range z.entries {
		want[recordKey(e.rr)]++
	}
	var extra []string
	for _, rr := range got {
		k := recordKey(rr)
		if want[k] == 0 {
			extra = append(extra, rr.String())
			continue
		}
		want[k]--
	}
	if len(extra) > 0 {
		return fmt.Errorf("the edited zone file would hold %q, which the write does not mean; nothing written", extra[0])
	}
	for k, n := range want {
		if n > 0 {
			return fmt.Errorf("the edited zone file would lose %q; nothing written", k)
		}
	}
	return nil
}

// freshLine returns a new record's line, laid out as the record line
// before it (like) is: fields separated by tabs if it uses tabs, else by
// spaces with the owner name padded to the column of its next field, and
// ended as it is.
func freshLine(like *fileEntry, owner, ttl, typ, data string) string {
	sep, col := "\t", 0
	if like != nil && len(like.toks) > 1 {
		i := 0
		if like.owner < 0 {
			i = -1
		}
		from := 0
		if i == 0 {
			from = like.toks[0].end
		}
		next := like.toks[i+1].start
		if ws := like.text[from:next]; !strings.ContainsRune(ws, '\t') && strings.Trim(ws, " ") == "" {
			sep, col = " ", next
		}
	}
	var b strings.Builder
	b.WriteString(owner)
	if sep == " " {
		b.WriteString(strings.Repeat(" ", max(1, col-len(owner))))
	} else {
		b.WriteString(sep)
	}
	eol := "\n"
	if like != nil && strings.HasSuffix(like.text, "\r\n") {
		eol = "\r\n" // a file written on Windows keeps its line ends
	}
	b.WriteString(ttl + sep + "IN" + sep + typ + sep + data + eol)
	return b.String()
}

// zoneTTL reads a TTL field as miekg/dns does (seconds, or BIND units such
// as 1h30m, leniently), so that the edit sees the TTLs the parser sees.
func zoneTTL(token string) (uint32, bool) {
	var sum, n uint64
	for _, c := range token {
		switch c {
		case 's', 'S':
			sum, n = sum+n, 0
		case 'm', 'M':
			sum, n = sum+n*60, 0
		case 'h', 'H':
			sum, n = sum+n*3600, 0
		case 'd', 'D':
			sum, n = sum+n*86400, 0
		case 'w', 'W':
			sum, n = sum+n*604800, 0
		case '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			n = n*10 + uint64(c-'0')
			if n > 1<<40 {
				return 0, false
			}
		default:
			return 0, false
		}
	}
	if sum+n > 1<<32-1 {
		return 0, false
	}
	return uint32(sum + n), true
}

// generateRange reads the range of a $GENERATE entry (start-stop[/step])
// and checks that it makes one record per step, as parsed.
func (e *fileEntry) generateRange() (start, step int, err error) {
	if len(e.toks) < 2 || e.hasParen(1) {
		return 0, 0, fmt.Errorf("no range")
	}
	rng, stepText, hasStep := strings.Cut(e.tok(1), "/")
	a, z, ok := strings.Cut(rng, "-")
	if !ok {
		return 0, 0, fmt.Errorf("range %q", e.tok(1))
	}
	start, err1 := strconv.Atoi(a)
	stop, err2 := strconv.Atoi(z)
	step = 1
	var err3 error
	if hasStep {
		step, err3 = strconv.Atoi(stepText)
	}
	if err1 != nil || err2 != nil || err3 != nil || start < 0 || stop < start || step < 1 {
		return 0, 0, fmt.Errorf("range %q", e.tok(1))
	}
	if n := (stop-start)/step + 1; n != len(e.rrs) {
		return 0, 0, fmt.Errorf("range %q makes %d records, not %d", e.tok(1), len(e.rrs), n)
	}
	return start, step, nil
}

// cutGenerate returns the text of a $GENERATE entry without the records
// in gone: one $GENERATE line for each run of records left, the same but
// for its range; nothing when none is left.
func (e *fileEntry) cutGenerate(gone map[int]bool) string {
	cut := false
	for _, id := range e.rrs {
		cut = cut || gone[id]
	}
	if !cut {
		return e.text
	}
	start, step, err := e.generateRange()
	if err != nil {
		return e.text // refused before: editedText checks the range
	}
	var b strings.Builder
	head, tail := e.text[:e.toks[1].start], e.text[e.toks[1].end:]
	for k := 0; k < len(e.rrs); {
		if gone[e.rrs[k]] {
			k++
			continue
		}
		j := k
		for j+1 < len(e.rrs) && !gone[e.rrs[j+1]] {
			j++
		}
		rng := strconv.Itoa(start+k*step) + "-" + strconv.Itoa(start+j*step)
		if step != 1 {
			rng += "/" + strconv.Itoa(step)
		}
		b.WriteString(head + rng + tail)
		if !strings.HasSuffix(tail, "\n") {
			b.WriteString("\n")
		}
		k = j + 1
	}
	return b.String()
}
