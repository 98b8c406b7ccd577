package plan

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// The plan's JSON is byte for byte what json.Encoder with SetIndent writes:
// nested and empty objects and arrays, nil slices, strings holding JSON's
// own punctuation, escapes, quotes and HTML characters, numbers, null,
// omitempty fields, embedded structs, and a plan with zones, changes,
// findings and a scorecard (its slices are streamed element by element).
func TestEncodeIndentedMatchesEncoder(t *testing.T) {
	type inner struct {
		A string `json:"a,omitempty"`
		B []int  `json:"b"`
	}
	type tagged struct {
		Name   string   `json:"name"`
		Skip   string   `json:"-"`
		Empty  []string `json:"empty,omitempty"`
		Nil    []string `json:"nil"`
		Zero   inner    `json:"zero,omitempty"`
		List   []inner  `json:"list"`
		Bytes  []byte   `json:"bytes"`
		When   time.Time
		hidden int
	}
	type embedding struct {
		inner
		C int `json:"c"`
	}
	plan := &Plan{Version: 1, Mode: "dry-run",
		Zones: []ZonePlan{
			{Domain: "example.com", Zone: "example.com", Provider: "local", Status: StatusDrift, Changes: []Change{
				{Action: ActionUpdate, Name: "@", Type: "TXT", Before: []string{"v=spf1 ~all"}, After: []string{`v=spf1 "-all" <x>`}},
			}},
			{Domain: "example.net", Changes: []Change{}},
		},
		Findings:   []Finding{{Severity: SevError, Kind: "spf", Domain: "example.com", Message: "a \"quoted\" \\ message"}},
		Compliance: []Requirement{},
	}
	values := []any{
		map[string]any{},
		[]any{},
		"plain",
		nil,
		map[string]any{
			"a":       []any{},
			"b":       map[string]any{},
			"c":       []any{1, 2.5, -3e-9, true, false, nil, "x"},
			"d":       map[string]any{"e": []any{map[string]any{"f": "g"}, []any{}}},
			"tricky":  `{"not":[json]}, : \ "quoted" \\" <b>&</b> ` + "\t\n\u2028é",
			"k:e,y{[": `]}`,
		},
		tagged{Name: "n", Skip: "s", List: []inner{{A: "x", B: []int{}}, {}}, Bytes: []byte("hi"), hidden: 1},
		&tagged{Empty: []string{"e"}},
		embedding{inner{A: "a"}, 3},
		plan,
		&Plan{},
	}
	for _, v := range values {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := encodeIndented(&got, v); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("encodeIndented(%#v):\n%s\nwant:\n%s", v, got.String(), want.String())
		}
	}
}
