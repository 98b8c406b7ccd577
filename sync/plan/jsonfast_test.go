package plan

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// TestFastListsMatchEncoder writes a plan whose zones (with changes and
// files), findings and scorecard have every field set, empty, nil or
// holding what JSON escapes (quotes, backslashes, control characters,
// U+2028, invalid UTF-8, HTML characters, DEL), filled by reflection so
// that a field added to one of these types is written too: the output must
// be byte for byte what json.Encoder with SetIndent writes.
func TestFastListsMatchEncoder(t *testing.T) {
	tricky := []string{"plain", "", `a "q" \ b`, `back\slash`, "tab\tnl\n", "<&>", "é ü", "\u2028\u2029", "\x7f", string([]byte{0xff, 'a'}), "\x01\x08\x0c"}
	p := &Plan{Version: 1, Mode: "dry-run", Zones: []ZonePlan{}, Findings: []Finding{}, Compliance: []Requirement{}}
	for i, s := range tricky {
		for _, l := range []any{&p.Zones, &p.Findings, &p.Compliance} {
			v := reflect.ValueOf(l).Elem()
			e := reflect.New(v.Type().Elem()).Elem()
			fill(e, s, i, 0)
			v.Set(reflect.Append(v, e))
		}
	}
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(p); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := encodeIndented(&got, p); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Errorf("differs from json.Encoder:\ngot:\n%s\nwant:\n%s", got.String(), want.String())
	}
	if !bytes.Contains(got.Bytes(), []byte(`"before_ttl": `)) || !bytes.Contains(got.Bytes(), []byte(`"files": [`)) || !bytes.Contains(got.Bytes(), []byte(`"isp_request": `)) || !bytes.Contains(got.Bytes(), []byte(`"before": [`)) {
		t.Errorf("the plan does not hold every field:\n%s", got.String())
	}
}

// fill sets every field of v from s and i: strings to s, ints to i, slices
// nil, empty or two elements by i.
func fill(v reflect.Value, s string, i, depth int) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Int:
		v.SetInt(int64(i))
	case reflect.Uint8: // a requirement's name and status: none or one of three
		v.SetUint(uint64(i % 4))
	case reflect.Struct:
		for j := range v.NumField() {
			if v.Type().Field(j).IsExported() {
				fill(v.Field(j), s, i+j, depth+1)
			}
		}
	case reflect.Slice:
		switch i % 3 {
		case 0:
			v.SetZero()
		case 1:
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		default:
			v.Set(reflect.MakeSlice(v.Type(), 2, 2))
			for k := range 2 {
				fill(v.Index(k), s+"x", i+k+depth, depth+1)
			}
		}
	}
}

// TestWriteJSONShowsOnlyWhatActionsShow writes a zone with nil changes (an
// empty list, never null) and a create and a delete carrying values their
// action does not show (left out), and leaves the plan as it was.
func TestWriteJSONShowsOnlyWhatActionsShow(t *testing.T) {
	p := &Plan{Mode: "dry-run", Zones: []ZonePlan{
		{Domain: "a.example", Status: StatusInSync},
		{Domain: "b.example", Status: StatusDrift, Changes: []Change{
			{Action: ActionCreate, Name: "@", Type: "TXT", Before: []string{"old"}, After: []string{"new"}},
			{Action: ActionDelete, Name: "x", Type: "A", Before: []string{"192.0.2.1"}, After: []string{"192.0.2.2"}},
		}},
	}}
	var out bytes.Buffer
	if err := WriteJSON(&out, p); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Version int
		Zones   []struct {
			Changes []map[string]any `json:"changes"`
		} `json:"zones"`
		Findings   []Finding     `json:"findings"`
		Compliance []Requirement `json:"compliance"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out.Bytes(), []byte(`"changes": [],`)) || got.Version != 1 || got.Findings == nil || got.Compliance == nil {
		t.Errorf("nil changes, findings or scorecard not an empty list, or no version:\n%s", out.String())
	}
	c := got.Zones[1].Changes
	if _, ok := c[0]["before"]; ok {
		t.Errorf("a create shows before: %v", c[0])
	}
	if _, ok := c[1]["after"]; ok {
		t.Errorf("a delete shows after: %v", c[1])
	}
	if p.Zones[0].Changes != nil || p.Zones[1].Changes[0].Before == nil || p.Version != 0 {
		t.Errorf("the plan changed: %+v", p)
	}
}
