package sync

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
)

// encodeIndented writes v as JSON indented by two spaces, HTML characters
// unescaped, and a newline: what a json.Encoder with SetIndent("", "  ")
// writes, but indented on the way out rather than into a second buffer (at
// 10,000 domains the plan is 16 MB, and the buffers grown for it were the
// run's peak of memory).
func encodeIndented(w io.Writer, v any) error {
	var compact bytes.Buffer
	enc := json.NewEncoder(&compact)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	writeIndented(bw, compact.Bytes())
	return bw.Flush()
}

// writeIndented writes src, valid compact JSON, as json.Indent(dst, src,
// "", "  ") would, followed by a newline. Empty objects and arrays stay
// {} and [].
func writeIndented(w *bufio.Writer, src []byte) {
	depth := 0
	needIndent := false // after { or [: indent unless it closes at once
	inString, escaped := false, false
	newline := func() {
		w.WriteByte('\n')
		for range depth {
			w.WriteString("  ")
		}
	}
	for _, c := range src {
		if inString {
			w.WriteByte(c)
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			continue
		}
		if needIndent && c != '}' && c != ']' {
			needIndent = false
			depth++
			newline()
		}
		switch c {
		case '"':
			inString = true
			w.WriteByte(c)
		case '{', '[':
			needIndent = true
			w.WriteByte(c)
		case ',':
			w.WriteByte(c)
			newline()
		case ':':
			w.WriteByte(c)
			w.WriteByte(' ')
		case '}', ']':
			if needIndent {
				needIndent = false
			} else {
				depth--
				newline()
			}
			w.WriteByte(c)
		default:
			w.WriteByte(c)
		}
	}
	w.WriteByte('\n')
}
