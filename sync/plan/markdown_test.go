package plan

import (
	"bytes"
	"strings"
	"testing"
)

// mdColumns counts the cells of a Markdown table row: the pipes not
// escaped by a backslash, less one.
func mdColumns(row string) int {
	n := 0
	for i := 0; i < len(row); i++ {
		switch row[i] {
		case '\\':
			i++ // the escaped character
		case '|':
			n++
		}
	}
	return n - 1
}

// checkMarkdownTables fails when a table row has another number of cells
// than its header, or when a line holds a colour code.
func checkMarkdownTables(t *testing.T, out string) {
	t.Helper()
	want := 0
	for i, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "\x1b") {
			t.Errorf("line %d has a control code: %q", i+1, l)
		}
		if !strings.HasPrefix(l, "|") {
			want = 0
			continue
		}
		if !strings.HasSuffix(l, " |") || strings.HasSuffix(l, `\|`) {
			t.Errorf("line %d does not end its row: %q", i+1, l)
		}
		n := mdColumns(l)
		if want == 0 {
			want = n
		} else if n != want {
			t.Errorf("line %d has %d cells, its table %d: %q", i+1, n, want, l)
		}
	}
}

// TestWriteMarkdownEscapes: values holding a pipe, a line break, a
// backtick, a CR and an escape code never break a table row.
func TestWriteMarkdownEscapes(t *testing.T) {
	nasty := "a|b\nc\r\nd`e\x1b[31m"
	p := &Plan{
		Version: 1,
		Mode:    ModeOnce,
		RunID:   "20261201T000000Z-abcd",
		Zones: []ZonePlan{{
			Domain: "example.com", Zone: "example.com", Provider: "p|q", Status: StatusError,
			Error: "read failed:\nline two | more",
			Changes: []Change{
				{Action: ActionUpdate, Name: "x|y", Type: "TXT", TTL: 300, BeforeTTL: 60, Before: []string{nasty, "plain"}, After: []string{"v=spf1 -all"}},
				{Action: ActionCreate, Name: "_dmarc", Type: "TXT", TTL: 300, After: []string{"`"}},
				{Action: ActionDelete, Name: "old", Type: "TXT", TTL: 300, Before: []string{"gone"}, After: []string{"never shown"}},
				{Action: ActionCreate, Name: "bs", Type: "TXT", TTL: 300, After: []string{`a\|b\`}},
			},
		}},
		Findings: []Finding{{Severity: SevAction, Kind: "ptr", Domain: "example.com", Subject: "a|b",
			Message: "line one\nline | two", ISPRequest: "please | set\nit"}},
		Compliance: []Requirement{{Domain: "example.com", Requirement: RequirementNamed("spf"), Status: ComplianceFail, Finding: "x|y\nz"}},
		Summary:    Summary{Update: 1, Create: 2, Delete: 1, Findings: 1},
	}
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, p); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	checkMarkdownTables(t, out)
	for _, want := range []string{
		"| update | `x\\|y` | TXT | 60 → 300 | `a\\|b`<br>`c`<br>``d`e[31m``<br>`plain` | `v=spf1 -all` |",
		"| create | `_dmarc` | TXT | 300 |  | `` ` `` |",
		"| delete | `old` | TXT | 300 | `gone` |  |",
		"| create | `bs` | TXT | 300 |  | a\\\\\\|b\\\\ |",
		"| action | ptr | example.com | a\\|b | line one<br>line \\| two | please \\| set<br>it |",
		"| example.com | SPF \\* | fail | x\\|y<br>z |",
		"| example.com | example.com | p\\|q | error | 4 | read failed:<br>line two \\| more |",
		"run `20261201T000000Z-abcd`",
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("missing line %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "never shown") {
		t.Error("a delete shows its after")
	}
}
