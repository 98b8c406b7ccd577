package plan

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var updateGolden = flag.Bool("update", false, "rewrite the expected part of golden files")

const goldenSep = "\n----------\n"

// TestWriteTextGolden renders each plan in testdata/text (a plan in JSON, a
// separator line, the expected text) and compares it with the expected text.
// Files whose name contains "color" are rendered with colour.
func TestWriteTextGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/text/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			input, want, ok := strings.Cut(string(data), goldenSep)
			if !ok {
				t.Fatalf("%s: no separator line", file)
			}
			var p Plan
			dec := json.NewDecoder(strings.NewReader(input))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&p); err != nil {
				t.Fatalf("%s: plan: %v", file, err)
			}
			var buf bytes.Buffer
			color := strings.Contains(filepath.Base(file), "color")
			if err := WriteText(&buf, &p, color); err != nil {
				t.Fatal(err)
			}
			if *updateGolden {
				if err := os.WriteFile(file, []byte(input+goldenSep+buf.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if diff := cmp.Diff(want, buf.String()); diff != "" {
				t.Errorf("%s: text output (-want +got):\n%s", file, diff)
			}
			if !color && strings.Contains(buf.String(), "\x1b[") {
				t.Errorf("%s: colour codes without colour", file)
			}
		})
	}
}

func TestWriteJSON(t *testing.T) {
	p := &Plan{
		Version: 1,
		Mode:    "dry-run",
		Zones: []ZonePlan{
			{Domain: "example.com", Zone: "example.com", Provider: "local", Status: StatusDrift, Changes: []Change{
				{Action: ActionCreate, Name: "mail", Type: "A", TTL: 3600, Before: []string{"x"}, After: []string{"203.0.113.25"}},
				{Action: ActionUpdate, Name: "@", Type: "TXT", TTL: 3600, Before: []string{"v=spf1 mx ~all"}, After: []string{"v=spf1 -all"}},
				{Action: ActionDelete, Name: "old._domainkey", Type: "TXT", TTL: 300, Before: []string{"v=DKIM1; p="}, After: []string{"y"}},
			}},
			{Domain: "example.net", Zone: "example.net", Provider: "local", Status: StatusInSync},
		},
	}
	var buf bytes.Buffer
	if err := WriteJSON(&buf, p); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, buf.String())
	}
	for _, k := range []string{"version", "mode", "zones", "findings", "summary"} {
		if _, ok := got[k]; !ok {
			t.Errorf("key %q missing", k)
		}
	}
	if f, ok := got["findings"].([]any); !ok || len(f) != 0 {
		t.Errorf("findings = %#v, want []", got["findings"])
	}
	zones := got["zones"].([]any)
	z0 := zones[0].(map[string]any)
	for _, k := range []string{"domain", "zone", "provider", "status", "changes", "error"} {
		if _, ok := z0[k]; !ok {
			t.Errorf("zone key %q missing", k)
		}
	}
	changes := z0["changes"].([]any)
	create, upd, del := changes[0].(map[string]any), changes[1].(map[string]any), changes[2].(map[string]any)
	if _, ok := create["before"]; ok {
		t.Errorf("create has before: %v", create)
	}
	if _, ok := del["after"]; ok {
		t.Errorf("delete has after: %v", del)
	}
	if _, ok := upd["before"]; !ok {
		t.Errorf("update has no before: %v", upd)
	}
	for _, k := range []string{"action", "name", "type", "ttl", "after"} {
		if _, ok := create[k]; !ok {
			t.Errorf("change key %q missing", k)
		}
	}
	if c, ok := zones[1].(map[string]any)["changes"].([]any); !ok || len(c) != 0 {
		t.Errorf("in-sync zone changes = %#v, want []", zones[1].(map[string]any)["changes"])
	}
	// The caller's plan is not modified.
	if p.Zones[0].Changes[0].Before == nil || p.Zones[1].Changes != nil {
		t.Error("WriteJSON modified its input")
	}
}

func TestShorten(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"0123456789", 10, "0123456789"},
		{"0123456789abc", 10, "01234…9abc"},
	} {
		got := shorten(tc.in, tc.n)
		if got != tc.want {
			t.Errorf("shorten(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
		if n := len([]rune(got)); n > tc.n {
			t.Errorf("shorten(%q, %d) is %d runes", tc.in, tc.n, n)
		}
	}
}
