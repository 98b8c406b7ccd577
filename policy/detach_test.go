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

// eachGoldenLoaded loads every golden policy with one loader's key cache
// and scratch, as loadDomains does, and calls f with each (s as the load
// left it).
func eachGoldenLoaded(t *testing.T, f func(file string, d *Domain, sets []RRset, s *loadScratch)) {
	t.Helper()
	cfg, err := LoadSettings("testdata/golden/maildns.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("testdata/golden/policies/*.yaml")
	if len(files) < 10 {
		t.Fatalf("%d policies", len(files))
	}
	kc, s := &keyCache{m: map[string]*cachedKey{}}, &loadScratch{}
	for _, file := range files {
		c := &collector{}
		d, ok, sets := c.loadDomain(cfg, file, kc, s)
		if !ok {
			t.Fatalf("%s: %v", file, c.err())
		}
		f(file, d, sets, s)
	}
}

// TestLoadedDomainKeepsNoFileText: no string of a loaded Domain or of its
// compiled RRsets (every element of the golden policies) points into the
// text of its policy file, which the fast parser's scalars are substrings
// of: a Domain would otherwise keep its whole file for the run, and the
// next policy is read into the same buffer. Fixed words are shared.
func TestLoadedDomainKeepsNoFileText(t *testing.T) {
	checked := 0
	eachGoldenLoaded(t, func(file string, d *Domain, sets []RRset, s *loadScratch) {
		lo := uintptr(unsafe.Pointer(unsafe.StringData(s.src)))
		hi := lo + uintptr(len(s.src))
		check := func(path, str string) {
			if str == "" || path == "Domain.Pos.File" {
				return
			}
			checked++
			if p := uintptr(unsafe.Pointer(unsafe.StringData(str))); p >= lo && p < hi {
				t.Errorf("%s: %s %q points into the policy's text", file, path, str)
			}
		}
		stringsIn(reflect.ValueOf(d), "Domain", check)
		stringsIn(reflect.ValueOf(sets), "RRsets", check)
		if d.SPF != nil && d.SPF.All != "" && unsafe.StringData(d.SPF.All) != unsafe.StringData(words[d.SPF.All]) {
			t.Errorf("%s: spf all %q is not the shared word", file, d.SPF.All)
		}
	})
	if checked < 100 {
		t.Errorf("only %d strings checked", checked)
	}
}

// TestKeyFileSharedByPolicies: the policies naming one key file share its
// path and its TXT value (an RSA key's is 400 bytes), and publish what
// they would on their own.
func TestKeyFileSharedByPolicies(t *testing.T) {
	pemText, p := rsaPEM(t, 2048, 7)
	files := map[string]string{
		"maildns.yaml": "policies: [\"policies/*.yaml\"]\nproviders:\n  local: {type: zonefile, directory: zones}\n",
		"keys/k.pem":   pemText,
	}
	for _, name := range []string{"a.example", "b.example", "c.example"} {
		files["policies/"+name+".yaml"] = "domain: " + name + "\nprovider: local\nmail_hosts:\n  - {name: mail, ipv4: [192.0.2.1]}\n" +
			"dkim:\n  - {selector: s1, key_file: ../keys/k.pem}\n"
	}
	_, path := writeTree(t, files)
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	var txt []string
	for _, d := range cfg.Domains {
		rrs, _ := cfg.Compile(d)
		for _, r := range rrs {
			if r.Element == ElemDKIM {
				txt = append(txt, r.Values[0])
			}
		}
		if unsafe.StringData(d.DKIM[0].KeyFile) != unsafe.StringData(cfg.Domains[0].DKIM[0].KeyFile) {
			t.Errorf("%s: key_file path not shared", d.Domain)
		}
		alone, err := Compile(d)
		if err != nil || formatRRsets(d, alone, "") != formatRRsets(d, rrs, "") {
			t.Errorf("%s: compiled alone %v, within the load %v (%v)", d.Domain, alone, rrs, err)
		}
	}
	if len(txt) != 3 || txt[0] != "v=DKIM1; k=rsa; p="+p {
		t.Fatalf("dkim values %q", txt)
	}
	for _, v := range txt[1:] {
		if unsafe.StringData(v) != unsafe.StringData(txt[0]) {
			t.Errorf("dkim value not shared")
		}
	}
}
