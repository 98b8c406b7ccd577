package plan

import (
	"bytes"
	"reflect"
	"strconv"
	"strings"
)

// The plan's long lists (zones, findings, scorecard) are written by hand,
// already indented, rather than each element through encoding/json and
// the indenter byte by byte: at 100,000 domains those were most of the
// time of the JSON output. The output is the same (jsonindent_test.go).

// fastList writes the slice fv (a field's value) when its elements are one
// of the plan's own types, at the indenter's depth; false: not one of
// those, nothing written.
func (e *streamEncoder) fastList(fv reflect.Value) bool {
	switch s := fv.Interface().(type) {
	case []ZonePlan:
		e.fastWrite(func(f *fastWriter, d int) { writeList(f, s, d, (*fastWriter).zone) })
	case []Finding:
		e.fastWrite(func(f *fastWriter, d int) { writeList(f, s, d, (*fastWriter).finding) })
	case []Requirement:
		e.fastWrite(func(f *fastWriter, d int) { writeList(f, s, d, (*fastWriter).requirement) })
	default:
		return false
	}
	return true
}

// fastCards writes the lines of cards as fastList writes a []Requirement.
func (e *streamEncoder) fastCards(cards *Scorecards) {
	e.fastWrite(func(f *fastWriter, d int) {
		writeArray(f, cards.Len(), d, func(i int) {
			r := cards.Line(i)
			f.requirement(&r, d+1)
		})
	})
}

// fastWrite runs write at the indenter's depth on the encoder's reused
// buffer, and writes out what it leaves there.
func (e *streamEncoder) fastWrite(write func(f *fastWriter, d int)) {
	if e.fast == nil {
		e.fast = make([]byte, 0, fastChunk+fastChunk/2)
	}
	f := fastWriter{e: e, b: e.fast[:0]}
	write(&f, e.ind.depth)
	f.flush()
	e.fast = f.b
	if f.err != nil && e.err == nil {
		e.err = f.err
	}
}

// fastWriter appends the output to b, written out in pieces of about
// fastChunk bytes.
type fastWriter struct {
	e   *streamEncoder
	b   []byte
	err error
}

const fastChunk = 32 << 10

func (f *fastWriter) flush() {
	if len(f.b) > 0 {
		f.e.ind.w.Write(f.b)
		f.b = f.b[:0]
	}
}

// writeList writes s as an indented array at depth d (null when nil),
// each element by one.
func writeList[T any](f *fastWriter, s []T, d int, one func(*fastWriter, *T, int)) {
	if s == nil {
		f.b = append(f.b, "null"...)
		return
	}
	writeArray(f, len(s), d, func(i int) { one(f, &s[i], d+1) })
}

// writeArray writes an indented array of n elements at depth d, element i
// by one(i).
func writeArray(f *fastWriter, n, d int, one func(i int)) {
	f.b = append(f.b, '[')
	for i := range n {
		if i > 0 {
			f.b = append(f.b, ',')
		}
		f.nl(d + 1)
		one(i)
		if len(f.b) >= fastChunk {
			f.flush()
		}
	}
	if n > 0 {
		f.nl(d)
	}
	f.b = append(f.b, ']')
}

// indents are a newline and the indentation of each depth.
var indents = func() []string {
	out := make([]string, 16)
	for d := range out {
		out[d] = "\n" + strings.Repeat("  ", d)
	}
	return out
}()

func (f *fastWriter) nl(d int) {
	if d < len(indents) {
		f.b = append(f.b, indents[d]...)
		return
	}
	f.b = append(f.b, '\n')
	for range d {
		f.b = append(f.b, "  "...)
	}
}

// field starts a field of an object at depth d (its first when first).
func (f *fastWriter) field(d int, first bool, key string) {
	if !first {
		f.b = append(f.b, ',')
	}
	f.nl(d + 1)
	f.b = append(f.b, '"')
	f.b = append(f.b, key...)
	f.b = append(f.b, `": `...)
}

func (f *fastWriter) end(d int) {
	f.nl(d)
	f.b = append(f.b, '}')
}

// str writes s as encoding/json does: printable ASCII as it is, anything
// else through encoding/json itself.
func (f *fastWriter) str(s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			f.e.buf.Reset()
			if err := f.e.enc.Encode(s); err != nil {
				if f.err == nil {
					f.err = err
				}
				return
			}
			f.b = append(f.b, bytes.TrimSuffix(f.e.buf.Bytes(), []byte{'\n'})...)
			return
		}
	}
	f.b = append(f.b, '"')
	f.b = append(f.b, s...)
	f.b = append(f.b, '"')
}

func (f *fastWriter) int(n int) {
	f.b = strconv.AppendInt(f.b, int64(n), 10)
}

func (f *fastWriter) strs(s []string, d int) {
	writeList(f, s, d, func(f *fastWriter, s *string, _ int) { f.str(*s) })
}

func (f *fastWriter) zone(z *ZonePlan, d int) {
	f.b = append(f.b, '{')
	f.field(d, true, "domain")
	f.str(z.Domain)
	f.field(d, false, "zone")
	f.str(z.Zone)
	f.field(d, false, "provider")
	f.str(z.Provider)
	f.field(d, false, "status")
	f.str(z.Status)
	f.field(d, false, "changes")
	writeList(f, z.Changes, d+1, (*fastWriter).change)
	f.field(d, false, "error")
	f.str(z.Error)
	if len(z.Files) > 0 {
		f.field(d, false, "files")
		writeList(f, z.Files, d+1, (*fastWriter).file)
	}
	f.end(d)
}

func (f *fastWriter) change(c *Change, d int) {
	f.b = append(f.b, '{')
	f.field(d, true, "action")
	f.str(c.Action)
	f.field(d, false, "name")
	f.str(c.Name)
	f.field(d, false, "type")
	f.str(c.Type)
	f.field(d, false, "ttl")
	f.int(c.TTL)
	if len(c.Before) > 0 {
		f.field(d, false, "before")
		f.strs(c.Before, d+1)
	}
	if len(c.After) > 0 {
		f.field(d, false, "after")
		f.strs(c.After, d+1)
	}
	if c.BeforeTTL != 0 {
		f.field(d, false, "before_ttl")
		f.int(c.BeforeTTL)
	}
	f.end(d)
}

func (f *fastWriter) file(c *FileChange, d int) {
	f.b = append(f.b, '{')
	f.field(d, true, "action")
	f.str(c.Action)
	f.field(d, false, "path")
	f.str(c.Path)
	f.field(d, false, "what")
	f.str(c.What)
	if c.Before != "" {
		f.field(d, false, "before")
		f.str(c.Before)
	}
	if c.After != "" {
		f.field(d, false, "after")
		f.str(c.After)
	}
	f.end(d)
}

func (f *fastWriter) finding(x *Finding, d int) {
	f.b = append(f.b, '{')
	f.field(d, true, "severity")
	f.str(x.Severity)
	f.field(d, false, "kind")
	f.str(x.Kind)
	f.field(d, false, "domain")
	f.str(x.Domain)
	f.field(d, false, "subject")
	f.str(x.Subject)
	f.field(d, false, "message")
	f.str(x.Message)
	if x.ISPRequest != "" {
		f.field(d, false, "isp_request")
		f.str(x.ISPRequest)
	}
	f.end(d)
}

func (f *fastWriter) requirement(r *Requirement, d int) {
	f.b = append(f.b, '{')
	f.field(d, true, "domain")
	f.str(r.Domain)
	f.field(d, false, "requirement")
	f.str(r.Requirement.String())
	f.field(d, false, "status")
	f.str(r.Status.String())
	f.field(d, false, "finding")
	f.str(r.Finding)
	f.end(d)
}
