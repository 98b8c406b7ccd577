package plan

import (
	"io"
	"strconv"
	"strings"
)

// WriteMarkdown writes p as GitHub-flavoured Markdown, for review in a pull
// request: a heading with the summary, a table of the zones, per zone with
// changes a table of them, the findings and the compliance scorecard as
// tables. Every cell is escaped (mdCell), so no value breaks a table; there
// is never a colour code.
func WriteMarkdown(w io.Writer, p *Plan) error {
	m := &mdWriter{w: w}
	m.plan(p)
	return m.err
}

type mdWriter struct {
	w   io.Writer
	err error
}

func (m *mdWriter) line(s string) {
	if m.err != nil {
		return
	}
	_, m.err = io.WriteString(m.w, s+"\n")
}

// row writes one table row of already escaped cells.
func (m *mdWriter) row(cells ...string) {
	m.line("| " + strings.Join(cells, " | ") + " |")
}

func (m *mdWriter) header(cols ...string) {
	m.row(cols...)
	sep := make([]string, len(cols))
	for i := range sep {
		sep[i] = "---"
	}
	m.row(sep...)
}

func (m *mdWriter) plan(p *Plan) {
	mode := p.Mode
	if mode == "" {
		mode = ModeDryRun
	}
	m.line("## maildns " + mdCell(mode))
	m.line("")
	m.line(mdCell(summaryLine(p)))
	if p.RunID != "" && p.Mode != ModeDryRun {
		line := "run " + mdCode(p.RunID)
		if p.Journal != "" {
			line += " · journal " + mdCode(p.Journal)
		}
		m.line("")
		m.line(line)
	}
	if len(p.Zones) > 0 {
		m.line("")
		m.line("### Zones")
		m.line("")
		m.header("Domain", "Zone", "Provider", "Status", "Changes", "Error")
		for _, z := range p.Zones {
			m.row(mdCell(z.Domain), mdCell(z.Zone), mdCell(z.Provider), mdCell(statusText(z.Status)),
				strconv.Itoa(len(z.Changes)+len(z.Files)), mdCell(z.Error))
		}
	}
	for _, z := range p.Zones {
		if len(z.Changes) == 0 && len(z.Files) == 0 {
			continue
		}
		m.line("")
		m.line("#### " + mdCell(z.Zone) + " at " + mdCell(z.Provider) + ": " + mdCell(statusText(z.Status)))
		m.line("")
		m.header("Action", "Name", "Type", "TTL", "Before", "After")
		for _, c := range z.Changes {
			before, after := mdValues(c.Before), mdValues(c.After)
			switch c.Action {
			case ActionCreate:
				before = ""
			case ActionDelete:
				after = ""
			}
			m.row(mdCell(c.Action), mdCode(c.Name), mdCell(c.Type), mdCell(ttlText(c)), before, after)
		}
		for _, f := range z.Files {
			// A file's text is shown whole in the JSON; here what it is.
			m.row(mdCell(f.Action), mdCode(f.Path), "file", "", "", mdCell(f.What))
		}
	}
	if len(p.Findings) > 0 {
		m.line("")
		m.line("### Findings")
		m.line("")
		m.header("Severity", "Kind", "Domain", "Subject", "Message", "ISP request")
		for _, f := range p.Findings {
			m.row(mdCell(f.Severity), mdCell(f.Kind), mdCell(f.Domain), mdCell(f.Subject), mdCell(f.Message), mdCell(f.ISPRequest))
		}
	}
	if p.scorecardLen() > 0 {
		m.line("")
		m.line("### Compliance")
		m.line("")
		m.line(`\* Google and Yahoo bulk-sender rule`)
		m.line("")
		labels := map[string]string{}
		for _, r := range Requirements {
			l := r.label
			if r.bulk {
				l += " *"
			}
			labels[r.name] = l
		}
		m.header("Domain", "Requirement", "Status", "Finding")
		for i := range p.scorecardLen() {
			r := p.scorecardLine(i)
			label := labels[r.Requirement.String()]
			if label == "" {
				label = r.Requirement.String()
			}
			m.row(mdCell(r.Domain), mdCell(label), mdCell(statusText(r.Status.String())), mdCell(r.Finding))
		}
	}
}

// mdValues renders an RRset's values as one cell, a value a line; values
// are shortened in the middle as in the text output (the JSON has them whole).
func mdValues(vals []string) string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = mdCode(shorten(v, maxTextValue))
	}
	return strings.Join(out, "<br>")
}

// mdCode renders s as a code span: DNS names and values keep their
// underscores and asterisks. A backtick in s lengthens the fence.
func mdCode(s string) string {
	if s == "" {
		return ""
	}
	s = mdLines(s)
	if strings.Contains(s, "\n") {
		// A code span cannot hold a line break in a table row.
		lines := strings.Split(s, "\n")
		for i, l := range lines {
			lines[i] = mdCode(l)
		}
		return strings.Join(lines, "<br>")
	}
	if strings.Contains(s, `\`) {
		// The table's cell scanner pairs a backslash with the character
		// after it even in a code span: `\|` would end the cell there.
		return mdCell(s)
	}
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	pad := ""
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		pad = " "
	}
	// A pipe must be escaped even in a code span of a table (GFM).
	s = strings.ReplaceAll(s, "|", `\|`)
	return fence + pad + s + pad + fence
}

// mdCell escapes s for a table cell: Markdown's punctuation is
// backslash-escaped (a pipe would end the cell), line breaks become <br>.
func mdCell(s string) string {
	var b strings.Builder
	for _, r := range mdLines(s) {
		switch r {
		case '\\', '|', '*', '_', '`', '[', ']', '<', '>', '#', '~', '!', '&':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return strings.ReplaceAll(b.String(), "\n", "<br>")
}

// mdLines folds CR LF and CR to LF and drops other control characters
// (an escape sequence would reach the terminal of whoever cats the file).
func mdLines(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// MarkdownCell escapes s for a cell of a Markdown table (see WriteMarkdown);
// for the other reports that print Markdown (status, journal list).
func MarkdownCell(s string) string { return mdCell(s) }
