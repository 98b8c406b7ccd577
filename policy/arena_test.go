package policy

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

// inside reports whether s lies in the bytes of rec.
func inside(s, rec string) bool {
	p, lo := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(unsafe.StringData(rec)))
	return s != "" && p >= lo && p+uintptr(len(s)) <= lo+uintptr(len(rec))
}

// TestLoadKeepsRecordParts: a loaded policy keeps the strings its records
// hold verbatim once, as substrings of the record: the inline DKIM key of
// its DKIM TXT value, the report URIs of its DMARC record, the mail host
// addresses of its SPF record (and of the A/AAAA sets, which share them);
// its domain name in its file's name; the names policies share once.
func TestLoadKeepsRecordParts(t *testing.T) {
	_, path := writeTree(t, map[string]string{
		"maildns.yaml":     "policies: [\"p/*.yaml\"]\nproviders:\n  local: {type: zonefile, directory: zones}\n",
		"p/b.example.yaml": "domain: b.example\nprovider: local\ndkim:\n  - {selector: s1, key: MCowBQYDK2VwAyEALVjNAU/TPoo4q2XKNrhBzdwOsbwRAEnmwSzll5q6n08=}\n",
		"p/a.example.yaml": `domain: a.example
provider: local
mail_hosts:
  - {name: mail, ipv4: [198.51.100.7], ipv6: ["2001:db8::7"]}
  - {name: mx2, ipv4: [198.51.100.8, 198.51.100.9]}
spf: {mail_hosts: true, mechanisms: [include:_spf.example.net]}
dkim:
  - selector: s1
    key: MCowBQYDK2VwAyEALVjNAU/TPoo4q2XKNrhBzdwOsbwRAEnmwSzll5q6n08=
dmarc: {policy: reject, rua: ["mailto:d@a.example", "mailto:x@b.example"], ruf: ["mailto:f@a.example"]}
`,
	})
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.Domains[0]
	sets, _ := cfg.Compile(d)
	// The domain's name is kept in its file's name; the DKIM name both
	// have is one string (in one loader: loaders run side by side).
	if !inside(d.Domain, d.Pos.File) || d.Zone != d.Domain {
		t.Errorf("domain %q (zone %q) is not kept in its file name %q", d.Domain, d.Zone, d.Pos.File)
	}
	kc, s := &keyCache{m: map[string]*cachedKey{}}, &loadScratch{}
	var names []string
	for _, f := range []string{"a", "b"} {
		c := &collector{}
		_, ok, rrs := c.loadDomain(cfg, filepath.Join(filepath.Dir(path), "p", f+".example.yaml"), kc, s)
		if !ok {
			t.Fatal(c.err())
		}
		for _, r := range rrs {
			if r.Name == "s1._domainkey" {
				names = append(names, r.Name)
			}
		}
	}
	if len(names) != 2 || unsafe.StringData(names[0]) != unsafe.StringData(names[1]) {
		t.Errorf("the DKIM names %q are not one string", names)
	}
	rec := func(name, prefix string) string {
		for _, s := range sets {
			if s.Name == name && s.Type == "TXT" && strings.HasPrefix(s.Values[0], prefix) {
				return s.Values[0]
			}
		}
		t.Fatalf("no %s record at %s", prefix, name)
		return ""
	}
	spf, dkim, dmarc := rec("@", "v=spf1"), rec("s1._domainkey", "v=DKIM1"), rec("_dmarc", "v=DMARC1")
	if k := d.DKIM[0].Key; !inside(k, dkim) || !strings.HasSuffix(dkim, "p="+k) {
		t.Errorf("DKIM key %q is not kept in its record %q", k, dkim)
	}
	for _, u := range append(append([]string(nil), d.DMARC.RUA...), d.DMARC.RUF...) {
		if !inside(u, dmarc) {
			t.Errorf("report URI %q is not kept in the DMARC record %q", u, dmarc)
		}
	}
	for _, h := range d.MailHosts {
		for _, a := range append(append([]string(nil), h.IPv4...), h.IPv6...) {
			if !inside(a, spf) {
				t.Errorf("address %q of %s is not kept in the SPF record %q", a, h.Name, spf)
			}
		}
	}
	for _, s := range sets {
		for _, v := range s.Values {
			if s.Element == ElemMailHosts && !inside(v, spf) {
				t.Errorf("%s %s value %q is not kept in the SPF record", s.Name, s.Type, v)
			}
		}
	}
	// And the values are what they were.
	if want := "v=spf1 ip4:198.51.100.7 ip6:2001:db8::7 ip4:198.51.100.8 ip4:198.51.100.9 include:_spf.example.net -all"; spf != want {
		t.Errorf("SPF %q, want %q", spf, want)
	}
	if want := "v=DMARC1; p=reject; rua=mailto:d@a.example,mailto:x@b.example; ruf=mailto:f@a.example"; dmarc != want {
		t.Errorf("DMARC %q, want %q", dmarc, want)
	}
}

// TestStrArena: strings handed out keep their bytes while the arena hands
// out more, across blocks and past the size of one.
func TestStrArena(t *testing.T) {
	var a strArena
	var got, want []string
	for i := range 5000 {
		w := strings.Repeat(fmt.Sprint(i%10), i%300)
		if i%7 == 0 {
			w = strings.Repeat("x", strBlockLen/8+i%3) // its own allocation
		}
		var s string
		switch i % 3 {
		case 0:
			s = a.str(w)
		case 1:
			s = a.bytes([]byte(w))
		default:
			h := len(w) / 2
			s = a.concat(w[:h], "", w[h:])
		}
		got, want = append(got, s), append(want, w)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("string %d: %q, want %q", i, got[i], want[i])
		}
	}
	var nilArena *strArena
	if s := nilArena.concat("a", "b"); s != "ab" {
		t.Errorf("nil arena: %q", s)
	}
}

// TestLoadSharesSPF: policies that write the same spf element share one
// (read only), each still placed in its own file; one that writes another
// has its own.
func TestLoadSharesSPF(t *testing.T) {
	pol := func(name, spf string) string {
		return "domain: " + name + "\nprovider: local\nmail_hosts:\n  - {name: mail, ipv4: [192.0.2.1]}\nspf: " + spf + "\n"
	}
	_, path := writeTree(t, map[string]string{
		"maildns.yaml": "policies: [\"p/*.yaml\"]\nproviders:\n  local: {type: zonefile, directory: zones}\n",
		"p/a.yaml":     pol("a.example", "{mail_hosts: true, all: fail}"),
		"p/b.yaml":     pol("b.example", "{mail_hosts: true, all: fail}"),
		"p/c.yaml":     pol("c.example", "{mail_hosts: true, all: softfail}"),
		"p/d.yaml":     pol("d.example", "{mail_hosts: true, all: fail, mechanisms: [mx]}"),
		"p/e.yaml":     pol("e.example", "{mail_hosts: true, all: fail, mechanisms: [mx]}"),
		"p/f.yaml":     pol("f.example", "{mail_hosts: true, all: fail, mechanisms: [a]}"),
		"p/g.yaml":     "domain: g.example\nprovider: local\nttl: 60\nmail_hosts:\n  - {name: mail, ipv4: [192.0.2.1]}\nspf: {mail_hosts: true, all: fail}\n",
	})
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	// Loaders run side by side: sharing is within one, so compare with
	// what every domain wants rather than count pointers.
	by := map[string]*Domain{}
	for _, d := range cfg.Domains {
		by[strings.TrimSuffix(d.Domain, ".example")] = d
	}
	for _, c := range [][2]string{{"a", "c"}, {"a", "d"}, {"d", "f"}, {"a", "g"}} {
		if by[c[0]].SPF == by[c[1]].SPF {
			t.Errorf("%s and %s share their SPF element, which differ: %+v %+v", c[0], c[1], *by[c[0]].SPF, *by[c[1]].SPF)
		}
	}
	if l := by["g"].SPF.Line; l != 6 {
		t.Errorf("g's spf at line %d, want 6", l)
	}
	for _, d := range cfg.Domains {
		sets, _ := cfg.Compile(d)
		if d.At(d.SPF.Line).File != d.Pos.File {
			t.Errorf("%s: spf placed in %s", d.Domain, d.At(d.SPF.Line))
		}
		for _, s := range sets {
			if s.Element == ElemSPF && s.PosIn(d) != (Pos{d.Pos.File, int(d.SPF.Line)}) {
				t.Errorf("%s: SPF set at %v", d.Domain, s.PosIn(d))
			}
		}
	}

	// One loader: the same element is one value.
	kc := &keyCache{m: map[string]*cachedKey{}}
	s := &loadScratch{}
	dir := filepath.Dir(path)
	var spfs []*SPF
	for _, f := range []string{"a", "b", "c", "d", "e"} {
		c := &collector{}
		d, ok, _ := c.loadDomain(cfg, filepath.Join(dir, "p", f+".yaml"), kc, s)
		if !ok {
			t.Fatal(c.err())
		}
		spfs = append(spfs, d.SPF)
	}
	if spfs[0] != spfs[1] || spfs[3] != spfs[4] {
		t.Errorf("the same spf element is not shared: %p %p, %p %p", spfs[0], spfs[1], spfs[3], spfs[4])
	}
	if spfs[0] == spfs[2] || spfs[0] == spfs[3] {
		t.Error("different spf elements are shared")
	}
}

// TestLoadSharesDKIM: in one loader, policies whose dkim list names the
// same key files the same way share it (read only); a list with a key in
// the policy, or another selector, is its own; each compiles to its own
// name and the key file's value.
func TestLoadSharesDKIM(t *testing.T) {
	pemText, p := rsaPEM(t, 1024, 7)
	pol := func(name, dkim string) string {
		return "domain: " + name + "\nprovider: local\ndkim:\n" + dkim
	}
	const file = "  - {selector: s1, key_file: ../k.pem}\n"
	_, path := writeTree(t, map[string]string{
		"maildns.yaml":     "policies: [\"p/*.yaml\"]\nproviders:\n  local: {type: zonefile, directory: zones}\n",
		"k.pem":            pemText,
		"p/a.example.yaml": pol("a.example", file),
		"p/b.example.yaml": pol("b.example", file),
		"p/c.example.yaml": pol("c.example", "  - {selector: s2, key_file: ../k.pem}\n"),
		"p/d.example.yaml": pol("d.example", "  - {selector: s1, key: MCowBQYDK2VwAyEALVjNAU/TPoo4q2XKNrhBzdwOsbwRAEnmwSzll5q6n08=}\n"),
		"p/e.example.yaml": pol("e.example", "  - {selector: s1, key: MCowBQYDK2VwAyEALVjNAU/TPoo4q2XKNrhBzdwOsbwRAEnmwSzll5q6n08=}\n"),
	})
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	kc, s := &keyCache{m: map[string]*cachedKey{}}, &loadScratch{}
	var ds []*Domain
	for _, f := range []string{"a", "b", "c", "d", "e"} {
		c := &collector{}
		d, ok, rrs := c.loadDomain(cfg, filepath.Join(filepath.Dir(path), "p", f+".example.yaml"), kc, s)
		if !ok {
			t.Fatal(c.err())
		}
		d.keepSets(rrs)
		ds = append(ds, d)
	}
	same := func(i, j int) bool { return &ds[i].DKIM[0] == &ds[j].DKIM[0] }
	if !same(0, 1) {
		t.Error("the same dkim list of key files is not shared")
	}
	if same(0, 2) || same(3, 4) {
		t.Error("a dkim list is shared with another selector's, or a key in the policy is")
	}
	if c := cap(ds[0].DKIM); c != len(ds[0].DKIM) {
		t.Errorf("a shared dkim list has room (%d) an append would write into", c)
	}
	for _, d := range ds[:3] {
		sets, err := cfg.Compile(d)
		if err != nil || len(sets) != 1 || sets[0].Name != d.DKIM[0].Selector+"._domainkey" || sets[0].Values[0] != "v=DKIM1; k=rsa; p="+p {
			t.Errorf("%s: %+v %v", d.Domain, sets, err)
		}
	}
}

// TestLoadSharesDMARC: in one loader, policies that write the same dmarc
// element, naming no domain of their own in it, share it and its record;
// one whose report address names its domain has its own.
func TestLoadSharesDMARC(t *testing.T) {
	pol := func(name, dmarc string) string {
		return "domain: " + name + "\nprovider: local\ndmarc: " + dmarc + "\n"
	}
	const platform = `{policy: reject, rua: ["mailto:dmarc@platform.example"], percent: 50}`
	_, path := writeTree(t, map[string]string{
		"maildns.yaml":     "policies: [\"p/*.yaml\"]\nproviders:\n  local: {type: zonefile, directory: zones}\n",
		"p/a.example.yaml": pol("a.example", platform),
		"p/b.example.yaml": pol("b.example", platform),
		"p/c.example.yaml": pol("c.example", `{policy: reject, rua: ["mailto:dmarc@platform.example"]}`),
		"p/d.example.yaml": pol("d.example", `{policy: reject, rua: ["mailto:dmarc@d.example"]}`),
		"p/e.example.yaml": pol("e.example", `{policy: reject, rua: ["mailto:dmarc@d.example"]}`),
	})
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	kc, s := &keyCache{m: map[string]*cachedKey{}}, &loadScratch{}
	var ds []*Domain
	var recs []string
	for _, f := range []string{"a", "b", "c", "d", "e"} {
		c := &collector{}
		d, ok, rrs := c.loadDomain(cfg, filepath.Join(filepath.Dir(path), "p", f+".example.yaml"), kc, s)
		if !ok || len(rrs) != 1 {
			t.Fatal(rrs, c.err())
		}
		ds, recs = append(ds, d), append(recs, rrs[0].Values[0])
	}
	if ds[0].DMARC != ds[1].DMARC || unsafe.StringData(recs[0]) != unsafe.StringData(recs[1]) {
		t.Error("the same dmarc element is not shared, or its record is not")
	}
	if ds[0].DMARC == ds[2].DMARC || ds[3].DMARC == ds[4].DMARC {
		t.Error("a dmarc element is shared with another, or one naming a domain is")
	}
	want := []string{
		"v=DMARC1; p=reject; pct=50; rua=mailto:dmarc@platform.example",
		"v=DMARC1; p=reject; pct=50; rua=mailto:dmarc@platform.example",
		"v=DMARC1; p=reject; rua=mailto:dmarc@platform.example",
		"v=DMARC1; p=reject; rua=mailto:dmarc@d.example",
		"v=DMARC1; p=reject; rua=mailto:dmarc@d.example",
	}
	for i := range want {
		if recs[i] != want[i] {
			t.Errorf("%s: %q, want %q", ds[i].Domain, recs[i], want[i])
		}
	}
}

// TestLoadSetsHaveNoRoom: the compile of a load takes room for exactly
// the sets a policy wants (PTRs aside, which may grow it): room left is
// kept as long as the sets. Every golden policy: outside mail hosts,
// hosts of one family, MTA-STS, TLSA, TLS-RPT, BIMI, parked.
func TestLoadSetsHaveNoRoom(t *testing.T) {
	eachGoldenLoaded(t, func(_ string, d *Domain, sets []RRset, _ *loadScratch) {
		ptr := false
		for _, s := range sets {
			ptr = ptr || s.Element == ElemPTR
		}
		if !ptr && cap(sets) != len(sets) {
			t.Errorf("%s: %d sets in room for %d", d.Domain, len(sets), cap(sets))
		}
	})
}

// TestLoadSharesPlatformHosts: in one loader, policies whose mail hosts
// are the same hosts outside their domain (a platform's) share them, the
// MX values they compile to and an SPF record without addresses; hosts
// with addresses are each policy's own.
func TestLoadSharesPlatformHosts(t *testing.T) {
	const platform = "mail_hosts:\n  - {name: mx1.platform.net.}\n  - {name: MX2.platform.net.}\nspf: {mail_hosts: false, mechanisms: [\"include:_spf.platform.net\"]}\n"
	pol := func(name, rest string) string { return "domain: " + name + "\nprovider: local\n" + rest }
	_, path := writeTree(t, map[string]string{
		"maildns.yaml":     "policies: [\"p/*.yaml\"]\nproviders:\n  local: {type: zonefile, directory: zones}\n",
		"p/a.example.yaml": pol("a.example", platform),
		"p/b.example.yaml": pol("b.example", platform),
		"p/c.example.yaml": pol("c.example", "mail_hosts:\n  - {name: mx1.platform.net., ipv4: [192.0.2.1]}\n  - {name: mx2.platform.net.}\nspf: {mail_hosts: false, mechanisms: [\"include:_spf.platform.net\"]}\n"),
		"p/d.example.yaml": pol("d.example", "mail_hosts:\n  - {name: mail, ipv4: [192.0.2.1]}\nspf: {}\n"),
		"p/e.example.yaml": pol("e.example", "mail_hosts:\n  - {name: mail, ipv4: [192.0.2.1]}\nspf: {}\n"),
	})
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	kc, s := &keyCache{m: map[string]*cachedKey{}}, &loadScratch{}
	var ds []*Domain
	var sets [][]RRset
	for _, f := range []string{"a", "b", "c", "d", "e"} {
		c := &collector{}
		d, ok, rrs := c.loadDomain(cfg, filepath.Join(filepath.Dir(path), "p", f+".example.yaml"), kc, s)
		if !ok {
			t.Fatal(c.err())
		}
		ds, sets = append(ds, d), append(sets, rrs)
	}
	value := func(i int, typ string) []string {
		for _, r := range sets[i] {
			if r.Type == typ {
				return r.Values
			}
		}
		t.Fatalf("%s: no %s set in %+v", ds[i].Domain, typ, sets[i])
		return nil
	}
	if &ds[0].MailHosts[0] != &ds[1].MailHosts[0] || cap(ds[0].MailHosts) != 2 {
		t.Error("the same platform mail hosts are not shared (or have room an append would write into)")
	}
	if &ds[0].MailHosts[0] == &ds[2].MailHosts[0] || &ds[3].MailHosts[0] == &ds[4].MailHosts[0] {
		t.Error("mail hosts with addresses are shared")
	}
	a, b, c := value(0, "MX"), value(1, "MX"), value(2, "MX")
	if want := []string{"10 mx1.platform.net.", "10 mx2.platform.net."}; !slices.Equal(a, want) || !slices.Equal(c, want) {
		t.Errorf("MX %q, %q, want %q", a, c, want)
	}
	for i := range a {
		if unsafe.StringData(a[i]) != unsafe.StringData(b[i]) || unsafe.StringData(a[i]) != unsafe.StringData(c[i]) {
			t.Errorf("MX value %q is not kept once", a[i])
		}
	}
	spfA, spfB := value(0, "TXT")[0], value(1, "TXT")[0]
	if spfA != "v=spf1 include:_spf.platform.net -all" || unsafe.StringData(spfA) != unsafe.StringData(spfB) {
		t.Errorf("SPF %q, %q: not one record", spfA, spfB)
	}
	if spf := value(3, "TXT")[0]; spf != "v=spf1 ip4:192.0.2.1 -all" {
		t.Errorf("SPF %q", spf)
	}
}
