package policy

import (
	"path/filepath"
	"reflect"
	"testing"
	"unsafe"
)

// stringsIn calls f with every string reachable from v.
func stringsIn(v reflect.Value, path string, f func(path, s string)) {
	switch v.Kind() {
	case reflect.String:
		f(path, v.String())
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			stringsIn(v.Elem(), path, f)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			stringsIn(v.Field(i), path+"."+v.Type().Field(i).Name, f)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			stringsIn(v.Index(i), path, f)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			stringsIn(k, path, f)
			stringsIn(v.MapIndex(k), path, f)
		}
	}
}

// TestLoadedDomainKeepsNoFileText: no string of a loaded Domain (every
// element of the golden policies) points into the text of its policy
// file, which the fast parser's scalars are substrings of: a Domain would
// otherwise keep its whole file for the run. Fixed words are shared.
func TestLoadedDomainKeepsNoFileText(t *testing.T) {
	cfg, err := LoadSettings("testdata/golden/maildns.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("testdata/golden/policies/*.yaml")
	if len(files) < 10 {
		t.Fatalf("%d policies", len(files))
	}
	kc := &keyCache{m: map[string]*cachedKey{}}
	s := &loadScratch{}
	checked := 0
	for _, file := range files {
		c := &collector{}
		d, ok, _ := c.loadDomain(cfg, file, kc, s)
		if !ok {
			t.Fatalf("%s: %v", file, c.err())
		}
		lo := uintptr(unsafe.Pointer(unsafe.StringData(s.src)))
		hi := lo + uintptr(len(s.src))
		stringsIn(reflect.ValueOf(d), "Domain", func(path, str string) {
			if str == "" || path == "Domain.Pos.File" {
				return
			}
			checked++
			if p := uintptr(unsafe.Pointer(unsafe.StringData(str))); p >= lo && p < hi {
				t.Errorf("%s: %s %q points into the policy's text", file, path, str)
			}
		})
		if d.SPF != nil && d.SPF.All != "" && unsafe.StringData(d.SPF.All) != unsafe.StringData(words[d.SPF.All]) {
			t.Errorf("%s: spf all %q is not the shared word", file, d.SPF.All)
		}
	}
	if checked < 100 {
		t.Errorf("only %d strings checked", checked)
	}
}
