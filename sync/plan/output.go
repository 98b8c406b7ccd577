package plan

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/maildns/maildns/policy"
)

// WriteJSON writes p as the plan JSON of SPEC §4: arrays are never null,
// a create has no "before" and a delete no "after".
func WriteJSON(w io.Writer, p *Plan) error {
	out := *p
	if out.Version == 0 {
		out.Version = 1
	}
	// The zones are copied only when one needs it: nil changes, or a
	// change with values its action does not show (p is only read).
	if !slices.ContainsFunc(p.Zones, func(z ZonePlan) bool {
		return z.Changes == nil || slices.ContainsFunc(z.Changes, func(c Change) bool {
			return (c.Action == ActionCreate && c.Before != nil) || (c.Action == ActionDelete && c.After != nil)
		})
	}) && p.Zones != nil {
		return writeJSON(w, &out)
	}
	out.Zones = make([]ZonePlan, len(p.Zones))
	for i, z := range p.Zones {
		z.Changes = make([]Change, len(p.Zones[i].Changes))
		for j, c := range p.Zones[i].Changes {
			switch c.Action {
			case ActionCreate:
				c.Before = nil
			case ActionDelete:
				c.After = nil
			}
			z.Changes[j] = c
		}
		out.Zones[i] = z
	}
	return writeJSON(w, &out)
}

func writeJSON(w io.Writer, out *Plan) error {
	if out.Findings == nil {
		out.Findings = []Finding{}
	}
	if out.Compliance == nil && out.Cards == nil {
		out.Compliance = []Requirement{}
	}
	return encodeIndentedCards(w, out, out.Cards)
}

// ANSI colours of the text output.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiMagent = "\x1b[35m"
	ansiCyan   = "\x1b[36m"
)

// maxTextValue is the longest value the text output shows whole (a DMARC
// record with report addresses fits); longer ones (DKIM keys) are shortened
// in the middle.
const maxTextValue = 100

// WriteText writes p for people: per zone a header and aligned change lines
// (+ create, ~ update, - delete), then the findings, then a summary line.
// ANSI colour is used only when color is true.
func WriteText(w io.Writer, p *Plan, color bool) error {
	tw := &textWriter{w: w, color: color}
	tw.plan(p)
	return tw.err
}

type textWriter struct {
	w     io.Writer
	color bool
	err   error
}

func (t *textWriter) paint(code, s string) string {
	if !t.color || code == "" || s == "" {
		return s
	}
	return code + s + ansiReset
}

func (t *textWriter) line(s string) {
	if t.err != nil {
		return
	}
	_, t.err = io.WriteString(t.w, s+"\n")
}

func (t *textWriter) plan(p *Plan) {
	for _, z := range p.Zones {
		// Columns line up within a zone (reverse names are long).
		var wName, wType, wTTL int
		for _, c := range z.Changes {
			wName = max(wName, utf8.RuneCountInString(c.Name))
			wType = max(wType, len(c.Type))
			wTTL = max(wTTL, utf8.RuneCountInString(ttlText(c)))
		}
		t.line(t.paint(ansiBold, z.Domain) + "  zone " + z.Zone + " at " + z.Provider + ": " + t.status(z.Status))
		if z.Error != "" {
			t.line("  " + t.paint(ansiRed, "error:") + " " + z.Error)
		}
		for _, c := range z.Changes {
			mark, code := "~", ansiYellow
			switch c.Action {
			case ActionCreate:
				mark, code = "+", ansiGreen
			case ActionDelete:
				mark, code = "-", ansiRed
			}
			head := "  " + t.paint(code, mark) + " " + pad(c.Name, wName) + "  " + pad(c.Type, wType) + "  " + pad(ttlText(c), wTTL) + "  "
			t.line(strings.TrimRight(head+t.values(c), " "))
		}
		t.files(z.Files)
	}
	if len(p.Findings) > 0 {
		if len(p.Zones) > 0 {
			t.line("")
		}
		t.line(t.paint(ansiBold, "findings:"))
		var wSev, wKind, wDom int
		for _, f := range p.Findings {
			wSev = max(wSev, len(f.Severity))
			wKind = max(wKind, len(f.Kind))
			wDom = max(wDom, len(f.Domain))
		}
		for _, f := range p.Findings {
			subject := f.Subject
			if subject != "" {
				subject += ": "
			}
			t.line("  " + t.paint(sevColour(f.Severity), pad(f.Severity, wSev)) + "  " + pad(f.Kind, wKind) + "  " + pad(f.Domain, wDom) + "  " + subject + f.Message)
			if f.ISPRequest != "" {
				t.line("  " + strings.Repeat(" ", wSev+wKind+wDom+4) + "  " + t.paint(ansiCyan, "ask the ISP:") + " " + f.ISPRequest)
			}
		}
	}
	if p.scorecardLen() > 0 {
		if len(p.Zones) > 0 || len(p.Findings) > 0 {
			t.line("")
		}
		t.compliance(p)
	}
	if len(p.Zones) > 0 || len(p.Findings) > 0 || p.scorecardLen() > 0 {
		t.line("")
	}
	t.line(summaryLine(p))
	if p.RunID != "" && p.Mode != ModeDryRun {
		line := "run " + p.RunID
		if p.Journal != "" {
			line += " · journal " + p.Journal
		}
		t.line(line)
	}
}

// compliance writes the scorecard: per domain, each requirement's status,
// its name and the finding behind it; bulk-sender rules first.
func (t *textWriter) compliance(p *Plan) {
	t.line(t.paint(ansiBold, "compliance:") + " " + t.paint(ansiDim, "(* Google and Yahoo bulk-sender rule)"))
	labels := map[string]string{}
	wLabel := 0
	for _, r := range Requirements {
		l := r.label
		if r.bulk {
			l += " *"
		}
		labels[r.name] = l
		wLabel = max(wLabel, utf8.RuneCountInString(l))
	}
	wStatus := len(statusText(ComplianceNotConfigured.String()))
	domain := ""
	for i := range p.scorecardLen() {
		r := p.scorecardLine(i)
		if r.Domain != domain {
			domain = r.Domain
			t.line("  " + t.paint(ansiBold, domain))
		}
		code := ansiDim
		switch r.Status {
		case CompliancePass:
			code = ansiGreen
		case ComplianceFail:
			code = ansiRed
		}
		label := labels[r.Requirement.String()]
		if label == "" {
			label = r.Requirement.String()
		}
		line := "    " + t.paint(code, pad(statusText(r.Status.String()), wStatus)) + "  " + pad(label, wLabel) + "  " + r.Finding
		t.line(strings.TrimRight(line, " "))
	}
}

// files writes the text lines of a zone's file changes.
func (t *textWriter) files(files []FileChange) {
	for _, f := range files {
		mark, code := "~", ansiYellow
		switch f.Action {
		case ActionCreate:
			mark, code = "+", ansiGreen
		case ActionDelete:
			mark, code = "-", ansiRed
		}
		what := f.What
		if mode, _, _, err := policy.ParseMTASTSPolicy(f.After); err == nil {
			what += ", mode " + mode
			if before, _, _, err := policy.ParseMTASTSPolicy(f.Before); err == nil && before != mode {
				what = f.What + ", mode " + before + " → " + mode
			}
		}
		t.line("  " + t.paint(code, mark) + " file  " + f.Path + "  (" + what + ")")
	}
}

func (t *textWriter) status(s string) string {
	code := ""
	switch s {
	case StatusInSync, StatusApplied:
		code = ansiGreen
	case StatusDrift, StatusPartial, StatusWatched:
		code = ansiYellow
	case StatusRefused, StatusError:
		code = ansiRed
	}
	return t.paint(code, statusText(s))
}

func statusText(s string) string { return strings.ReplaceAll(s, "_", " ") }

func sevColour(s string) string {
	switch s {
	case SevError:
		return ansiRed
	case SevAction:
		return ansiMagent
	case SevWarning:
		return ansiYellow
	default:
		return ansiDim
	}
}

// values renders a change's values: "after" for a create, "before" for a
// delete, "before → after" for an update (values alone when only the TTL changes).
func (t *textWriter) values(c Change) string {
	before := t.valueList(c.Type, c.Before)
	after := t.valueList(c.Type, c.After)
	switch c.Action {
	case ActionCreate:
		return after
	case ActionDelete:
		return before
	}
	if before == after {
		return after
	}
	return before + " → " + after
}

func (t *textWriter) valueList(typ string, vals []string) string {
	if len(vals) == 0 {
		return t.paint(ansiDim, "(none)")
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = shorten(v, maxTextValue)
		if typ == "TXT" || typ == "SPF" {
			out[i] = strconv.Quote(out[i])
		}
	}
	return strings.Join(out, ", ")
}

func ttlText(c Change) string {
	if c.BeforeTTL != 0 && c.BeforeTTL != c.TTL {
		return strconv.Itoa(c.BeforeTTL) + " → " + strconv.Itoa(c.TTL)
	}
	return strconv.Itoa(c.TTL)
}

// shorten cuts s to at most n runes by replacing its middle with "…".
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	keep := n - 1
	head := keep - keep/2
	return string(r[:head]) + "…" + string(r[len(r)-keep/2:])
}

func pad(s string, w int) string {
	if n := utf8.RuneCountInString(s); n < w {
		return s + strings.Repeat(" ", w-n)
	}
	return s
}

// summaryLine is the one-line summary:
// "2 zones: 1 in sync, 1 drift · 3 changes (1 create, 2 update, 0 delete) · 1 finding".
func summaryLine(p *Plan) string {
	counts := map[string]int{}
	for _, z := range p.Zones {
		counts[z.Status]++
	}
	var parts []string
	for _, s := range []string{StatusInSync, StatusDrift, StatusWatched, StatusApplied, StatusPartial, StatusRefused, StatusError} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], statusText(s)))
		}
	}
	zones := countNoun(len(p.Zones), "zone", "zones")
	if len(parts) > 0 {
		zones += ": " + strings.Join(parts, ", ")
	}
	s := p.Summary
	changes := fmt.Sprintf("%s (%d create, %d update, %d delete)",
		countNoun(s.Create+s.Update+s.Delete, "change", "changes"), s.Create, s.Update, s.Delete)
	return zones + " · " + changes + " · " + countNoun(len(p.Findings), "finding", "findings")
}

func countNoun(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
