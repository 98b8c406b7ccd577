package plan

import (
	"bufio"
	"reflect"
	"strconv"
)

// The plan's long lists (zones, findings, scorecard) are written by hand,
// already indented, rather than each element through encoding/json and
// the indenter byte by byte: at 100,000 domains those were most of the
// time of the JSON output. The output is the same (jsonindent_test.go).

// fastList writes the slice fv (a field's value) when its elements are one
// of the plan's own types, at the indenter's depth; false: not one of
// those, nothing written.
func (e *streamEncoder) fastList(fv reflect.Value) bool {
	f := fastWriter{w: e.ind.w, e: e}
	d := e.ind.depth
	switch s := fv.Interface().(type) {
	case []ZonePlan:
		writeList(&f, s, d, (*fastWriter).zone)
	case []Finding:
		writeList(&f, s, d, (*fastWriter).finding)
	case []Requirement:
		writeList(&f, s, d, (*fastWriter).requirement)
	default:
		return false
	}
	return f.err == nil || e.setErr(f.err)
}

func (e *streamEncoder) setErr(err error) bool {
	if e.err == nil {
		e.err = err
	}
	return true
}

type fastWriter struct {
	w   *bufio.Writer
	e   *streamEncoder
	num []byte
	err error
}

// writeList writes s (not nil) as an indented array at depth d, each
// element by one.
func writeList[T any](f *fastWriter, s []T, d int, one func(*fastWriter, *T, int)) {
	if s == nil {
		f.w.WriteString("null")
		return
	}
	f.w.WriteByte('[')
	for i := range s {
		if i > 0 {
			f.w.WriteByte(',')
		}
		f.nl(d + 1)
		one(f, &s[i], d+1)
	}
	if len(s) > 0 {
		f.nl(d)
	}
	f.w.WriteByte(']')
}

func (f *fastWriter) nl(d int) {
	f.w.WriteByte('\n')
	for range d {
		f.w.WriteString("  ")
	}
}

// field starts a field of an object at depth d (its first when first).
func (f *fastWriter) field(d int, first bool, key string) {
	if !first {
		f.w.WriteByte(',')
	}
	f.nl(d + 1)
	f.w.WriteByte('"')
	f.w.WriteString(key)
	f.w.WriteString(`": `)
}

func (f *fastWriter) end(d int) {
	f.nl(d)
	f.w.WriteByte('}')
}

// str writes s as encoding/json does: printable ASCII as it is, anything
// else through encoding/json itself.
func (f *fastWriter) str(s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			if err := f.e.marshal(s); err != nil && f.err == nil {
				f.err = err
			}
			return
		}
	}
	f.w.WriteByte('"')
	f.w.WriteString(s)
	f.w.WriteByte('"')
}

func (f *fastWriter) int(n int) {
	f.num = strconv.AppendInt(f.num[:0], int64(n), 10)
	f.w.Write(f.num)
}

func (f *fastWriter) strs(s []string, d int) {
	writeList(f, s, d, func(f *fastWriter, s *string, _ int) { f.str(*s) })
}

func (f *fastWriter) zone(z *ZonePlan, d int) {
	f.w.WriteByte('{')
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
	f.w.WriteByte('{')
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
	f.w.WriteByte('{')
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
	f.w.WriteByte('{')
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
	f.w.WriteByte('{')
	f.field(d, true, "domain")
	f.str(r.Domain)
	f.field(d, false, "requirement")
	f.str(r.Requirement)
	f.field(d, false, "status")
	f.str(r.Status)
	f.field(d, false, "finding")
	f.str(r.Finding)
	f.end(d)
}
