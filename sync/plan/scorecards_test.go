package plan

import (
	"bytes"
	"testing"
)

// TestCardsWriteAsCompliance: a plan keeping its scorecard in Cards is
// written (JSON, text, Markdown) byte for byte as the same plan with the
// lines in Compliance, and Scorecard gives those lines.
func TestCardsWriteAsCompliance(t *testing.T) {
	tricky := []string{"plain", "", `a "q" \ b`, "tab\tnl\n", "<&>|*_", "é ü", "\u2028", string([]byte{0xff, 'a'})}
	cards := &Scorecards{}
	var lines []Requirement
	for i, dom := range []string{"a.example", "b.example", "c|d.example"} {
		cards.Domains = append(cards.Domains, dom)
		for j := range Requirements {
			l := ScoreLine{Status: ComplianceStatus(1 + (i+j)%3), Finding: tricky[(i*len(Requirements)+j)%len(tricky)]}
			cards.Lines = append(cards.Lines, l)
			lines = append(lines, Requirement{Domain: dom, Requirement: RequirementName(j + 1), Status: l.Status, Finding: l.Finding})
		}
	}
	base := Plan{Version: 1, Mode: ModeDryRun, Zones: []ZonePlan{{Domain: "a.example", Zone: "a.example", Provider: "p", Status: "in_sync", Changes: []Change{}}},
		Findings: []Finding{{Severity: SevWarning, Kind: "spf", Domain: "a.example", Message: "m"}}}
	withLines, withCards := base, base
	withLines.Compliance = lines
	withCards.Cards = cards
	if got := withCards.Scorecard(); len(got) != len(lines) || got[len(got)-1] != lines[len(lines)-1] || got[4] != lines[4] {
		t.Fatalf("Scorecard: %v, want %v", got, lines)
	}
	for name, write := range map[string]func(*bytes.Buffer, *Plan) error{
		"json":     func(b *bytes.Buffer, p *Plan) error { return WriteJSON(b, p) },
		"text":     func(b *bytes.Buffer, p *Plan) error { return WriteText(b, p, true) },
		"markdown": func(b *bytes.Buffer, p *Plan) error { return WriteMarkdown(b, p) },
	} {
		var want, got bytes.Buffer
		if err := write(&want, &withLines); err != nil {
			t.Fatal(err)
		}
		if err := write(&got, &withCards); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() || !bytes.Contains(got.Bytes(), []byte("c|d.example")) && name == "json" {
			t.Errorf("%s: differs:\ngot:\n%s\nwant:\n%s", name, got.String(), want.String())
		}
	}
	// No scorecard at all: an empty list, as before.
	var b bytes.Buffer
	if err := WriteJSON(&b, &base); err != nil || !bytes.Contains(b.Bytes(), []byte(`"compliance": []`)) {
		t.Errorf("no scorecard: %v\n%s", err, b.String())
	}
}
