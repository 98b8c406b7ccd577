package plan

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"strings"
)

// encodeIndented writes v as JSON indented by two spaces, HTML characters
// unescaped, and a newline: what a json.Encoder with SetIndent("", "  ")
// writes. A struct's slice fields (a plan's zones, findings and scorecard)
// are marshalled one element at a time and everything is indented on the
// way out: the encoder would build the whole document twice in memory
// (compact, then indented), 160 MB for a plan of 100,000 domains.
func encodeIndented(w io.Writer, v any) error { return encodeIndentedCards(w, v, nil) }

// encodeIndentedCards is encodeIndented that writes cards as the value of
// a nil []Requirement field (a plan's Compliance when it keeps Cards).
func encodeIndentedCards(w io.Writer, v any, cards *Scorecards) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	e := &streamEncoder{ind: indenter{w: bw}, cards: cards}
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	if err := e.value(reflect.ValueOf(v)); err != nil {
		return err
	}
	if e.err != nil {
		return e.err
	}
	bw.WriteByte('\n')
	return bw.Flush()
}

// The punctuation written between values (shared: the indenter's writes
// let their argument escape, and a literal would be allocated each time).
var (
	jsonOpenObject  = []byte{'{'}
	jsonCloseObject = []byte{'}'}
	jsonOpenArray   = []byte{'['}
	jsonCloseArray  = []byte{']'}
	jsonComma       = []byte{','}
	jsonColon       = []byte{':'}
)

type streamEncoder struct {
	ind  indenter
	buf  bytes.Buffer
	enc  *json.Encoder
	err  error  // of fastList
	fast []byte // fastList's buffer
	// cards are written for a nil []Requirement field (encodeIndentedCards).
	cards *Scorecards
}

// value writes v: a struct (or pointer to one) field by field, with its
// slices element by element; anything else as json.Marshal would.
func (e *streamEncoder) value(v reflect.Value) error {
	if !v.IsValid() {
		return e.marshal(nil)
	}
	if v.Kind() == reflect.Pointer && !v.IsNil() && v.Elem().Kind() == reflect.Struct && !marshals(v.Type()) {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct || marshals(v.Type()) || marshals(reflect.PointerTo(v.Type())) {
		return e.marshal(v.Interface())
	}
	t := v.Type()
	if !streamable(t) {
		return e.marshal(v.Interface())
	}
	e.ind.write(jsonOpenObject)
	n := 0
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" && opts == "" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fv := v.Field(i)
		if hasOpt(opts, "omitempty") && isEmpty(fv) {
			continue
		}
		if n > 0 {
			e.ind.write(jsonComma)
		}
		n++
		if err := e.marshal(name); err != nil {
			return err
		}
		e.ind.write(jsonColon)
		if e.cards != nil && fv.Type() == reflect.TypeFor[[]Requirement]() && fv.IsNil() {
			e.fastCards(e.cards)
			if e.err != nil {
				return e.err
			}
			continue
		}
		if fv.Kind() == reflect.Slice && !fv.IsNil() && fv.Type().Elem().Kind() != reflect.Uint8 && !marshals(fv.Type()) {
			if e.fastList(fv) {
				if e.err != nil {
					return e.err
				}
				continue
			}
			e.ind.write(jsonOpenArray)
			for j := range fv.Len() {
				if j > 0 {
					e.ind.write(jsonComma)
				}
				if err := e.marshal(fv.Index(j).Interface()); err != nil {
					return err
				}
			}
			e.ind.write(jsonCloseArray)
			continue
		}
		if err := e.marshal(fv.Interface()); err != nil {
			return err
		}
	}
	e.ind.write(jsonCloseObject)
	return nil
}

// streamable reports whether the fields of struct type t can be written one
// by one as encoding/json would: no embedded fields, no ",string" or
// ",omitzero" options (those are left to encoding/json, whole).
func streamable(t reflect.Type) bool {
	for i := range t.NumField() {
		f := t.Field(i)
		_, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous || hasOpt(opts, "string") || hasOpt(opts, "omitzero") {
			return false
		}
	}
	return true
}

func hasOpt(opts, o string) bool {
	return strings.Contains(","+opts+",", ","+o+",")
}

// isEmpty is encoding/json's omitempty test.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// marshal writes v compact through the indenter.
func (e *streamEncoder) marshal(v any) error {
	e.buf.Reset()
	if err := e.enc.Encode(v); err != nil {
		return err
	}
	e.ind.write(bytes.TrimSuffix(e.buf.Bytes(), []byte{'\n'}))
	return nil
}

var (
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[interface{ MarshalText() ([]byte, error) }]()
)

// marshals reports whether t marshals itself.
func marshals(t reflect.Type) bool {
	return t.Implements(marshalerType) || t.Implements(textMarshalerType)
}

// indenter writes compact JSON, fed in pieces, as json.Indent(dst, src, "",
// "  ") would. Empty objects and arrays stay {} and [].
type indenter struct {
	w          *bufio.Writer
	depth      int
	needIndent bool // after { or [: indent unless it closes at once
	inString   bool
	escaped    bool
}

func (d *indenter) newline() {
	d.w.WriteByte('\n')
	for range d.depth {
		d.w.WriteString("  ")
	}
}

func (d *indenter) write(src []byte) {
	w := d.w
	for i := 0; i < len(src); {
		if d.inString {
			if d.escaped {
				w.WriteByte(src[i])
				d.escaped = false
				i++
				continue
			}
			// The string up to its next quote or backslash, at once.
			j := i
			for j < len(src) && src[j] != '"' && src[j] != '\\' {
				j++
			}
			w.Write(src[i:j])
			if j == len(src) {
				return
			}
			w.WriteByte(src[j])
			if src[j] == '\\' {
				d.escaped = true
			} else {
				d.inString = false
			}
			i = j + 1
			continue
		}
		c := src[i]
		i++
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			continue
		}
		if d.needIndent && c != '}' && c != ']' {
			d.needIndent = false
			d.depth++
			d.newline()
		}
		switch c {
		case '"':
			d.inString = true
			w.WriteByte(c)
		case '{', '[':
			d.needIndent = true
			w.WriteByte(c)
		case ',':
			w.WriteByte(c)
			d.newline()
		case ':':
			w.WriteByte(c)
			w.WriteByte(' ')
		case '}', ']':
			if d.needIndent {
				d.needIndent = false
			} else {
				d.depth--
				d.newline()
			}
			w.WriteByte(c)
		default:
			w.WriteByte(c)
		}
	}
}
