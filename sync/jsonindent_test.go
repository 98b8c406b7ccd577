package sync

import (
	"bytes"
	"encoding/json"
	"testing"
)

// The plan's JSON is byte for byte what json.Encoder with SetIndent writes:
// nested and empty objects and arrays, strings holding JSON's own
// punctuation, escapes, quotes and HTML characters, numbers, null.
func TestEncodeIndentedMatchesEncoder(t *testing.T) {
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
		&Plan{Version: 1, Zones: []ZonePlan{{Domain: "example.com", Changes: []Change{}}}},
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
