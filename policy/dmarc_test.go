package policy

import (
	"bufio"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// checkParseInto parses each of recs into one reused value, after each
// of the others, and checks that it reads as a parse of its own: the same
// error, or the reused value holding what parse makes (same, nil:
// reflect.DeepEqual). where names the records in a failure (nil: their
// text). It returns the reused value.
func checkParseInto[T any](t *testing.T, recs, where []string, parse func(string) (*T, error),
	into func(*T, string) (*T, error), same func(got, want *T) bool) *T {
	t.Helper()
	if where == nil {
		where = make([]string, len(recs))
		for i, rec := range recs {
			where[i] = fmt.Sprintf("%.30q", rec)
		}
	}
	if same == nil {
		same = func(got, want *T) bool { return reflect.DeepEqual(got, want) }
	}
	r := new(T)
	for i, prev := range recs {
		for j, rec := range recs {
			_, _ = into(r, prev)
			want, wantErr := parse(rec)
			got, err := into(r, rec)
			if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
				t.Fatalf("%s after %s: error %v, want %v", where[j], where[i], err, wantErr)
			}
			if err == nil && (got != r || !same(got, want)) {
				t.Fatalf("%s after %s:\n%+v\nwant\n%+v", where[j], where[i], got, want)
			}
		}
	}
	return r
}

// dmarcCase is one record of a corpus in testdata/dmarc (see its README).
type dmarcCase struct {
	corpus, where string
	rec           string
	apply         bool
	policy, tag   string // policy applied (apply) or the tag the error names (discard)
	errs, warns   int
}

// dmarcMinimum is the number of records each corpus holds at least, so
// that a file cut short fails the test.
var dmarcMinimum = map[string]int{"rfc7489": 50, "mox": 40, "opendmarc": 19, "checkdmarc": 37, "mail-dmarc": 50}

func readDMARCCorpora(t testing.TB) []dmarcCase {
	t.Helper()
	files, err := filepath.Glob("testdata/dmarc/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpora: %v", err)
	}
	var out []dmarcCase
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		corpus := strings.TrimSuffix(filepath.Base(file), ".txt")
		sc := bufio.NewScanner(f)
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || line[0] == '#' {
				continue
			}
			where := file + ":" + strconv.Itoa(n)
			fields := strings.Fields(line)
			q := strings.IndexByte(line, '"')
			if len(fields) < 5 || q < 0 {
				t.Fatalf("%s: want VERDICT P-OR-TAG ERRORS WARNINGS \"RECORD\"", where)
			}
			lit, err := strconv.QuotedPrefix(line[q:])
			if err != nil {
				t.Fatalf("%s: record: %v", where, err)
			}
			rec, _ := strconv.Unquote(lit)
			c := dmarcCase{corpus: corpus, where: where, rec: rec, apply: fields[0] == "apply"}
			switch fields[0] {
			case "apply":
				c.policy = fields[1]
				c.errs, _ = strconv.Atoi(fields[2])
				c.warns, _ = strconv.Atoi(fields[3])
			case "discard":
				c.tag = strings.TrimPrefix(fields[1], "-")
			default:
				t.Fatalf("%s: verdict %q", where, fields[0])
			}
			out = append(out, c)
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestDMARCCorpora holds the reader to RFC 7489 on the records of public
// DMARC test corpora: whether receivers apply or discard each record, the
// policy they apply, and how many errors and warnings the operator sees.
func TestDMARCCorpora(t *testing.T) {
	cases := readDMARCCorpora(t)
	count := map[string]int{}
	for _, c := range cases {
		count[c.corpus]++
		r, err := ParseDMARC(c.rec)
		if !c.apply {
			de, ok := err.(*DMARCError)
			switch {
			case err == nil:
				t.Errorf("%s: %q applied (p=%s, errors %q), RFC 7489: discarded", c.where, c.rec, r.Policy, r.Errors)
			case !ok:
				t.Errorf("%s: %q: error type %T", c.where, c.rec, err)
			case de.Tag != c.tag:
				t.Errorf("%s: %q: error at tag %q, want %q (%v)", c.where, c.rec, de.Tag, c.tag, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %q discarded (%v), RFC 7489: applied with p=%s", c.where, c.rec, err, c.policy)
			continue
		}
		if r.Policy != c.policy || len(r.Errors) != c.errs || len(r.Warnings) != c.warns {
			t.Errorf("%s: %q: p=%s, errors %q, warnings %q; want p=%s, %d errors, %d warnings",
				c.where, c.rec, r.Policy, r.Errors, r.Warnings, c.policy, c.errs, c.warns)
		}
		r2, err := ParseDMARC(r.String())
		if err != nil || !reflect.DeepEqual(r, r2) {
			t.Errorf("%s: %q: print %q reparses to %+v, %v", c.where, c.rec, r.String(), r2, err)
		}
	}
	for corpus, min := range dmarcMinimum {
		if count[corpus] < min {
			t.Errorf("corpus %s: %d records, want at least %d", corpus, count[corpus], min)
		}
	}
	t.Logf("records per corpus: %v (%d in all)", count, len(cases))
}

func TestDMARCFields(t *testing.T) {
	r, err := ParseDMARC("v=DMARC1; p=quarantine; rua=mailto:dmarc-feedback@example.com,mailto:tld-test@thirdparty.example.net!10M; pct=25; fo=1:D; ADKIM=S")
	if err != nil {
		t.Fatal(err)
	}
	if r.Percent != 25 || r.ADKIM != "s" || r.RI != 86400 || strings.Join(r.FO, ":") != "1:d" {
		t.Errorf("fields: %+v", r)
	}
	u := r.RUA[1]
	if u.URI != "mailto:tld-test@thirdparty.example.net" || u.Size != 10 || u.Unit != "m" || u.Domain() != "thirdparty.example.net" || u.String() != "mailto:tld-test@thirdparty.example.net!10m" {
		t.Errorf("rua[1] = %+v", u)
	}
	if !IsDMARC("v=DMARC1; p=none") || !IsDMARC("V = DMARC1;p=none") || IsDMARC("v=DMARC10; p=none") || IsDMARC("v=spf1 -all") || IsDMARC(" v=DMARC1; p=none") {
		t.Error("IsDMARC wrong")
	}
	if _, err := ParseDMARCURI("https://example.com/r"); err == nil {
		t.Error("https URI accepted as a report address")
	}
	// §6.6.3: an invalid sp with a valid rua makes the whole record p=none.
	r, err = ParseDMARC("v=DMARC1; p=reject; sp=never; rua=mailto:d@example.com")
	if err != nil || r.Policy != "none" || !r.PolicyFallback || r.SubdomainPolicy != "" || len(r.Errors) != 1 || !strings.Contains(r.Errors[0], "§6.6.3") {
		t.Errorf("sp fallback: %+v, %v", r, err)
	}
}

// FuzzParseDMARC: parsing never panics, and a parsed record prints to text
// that parses to the same record.
func FuzzParseDMARC(f *testing.F) {
	for _, c := range readDMARCCorpora(f) {
		f.Add(c.rec)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseDMARC(s)
		if err != nil {
			return
		}
		out := r.String()
		r2, err := ParseDMARC(out)
		if err != nil {
			t.Fatalf("%q parsed, its print %q does not: %v", s, out, err)
		}
		if !reflect.DeepEqual(r, r2) {
			t.Fatalf("%q: reparse of %q differs:\n%+v\n%+v", s, out, r, r2)
		}
	})
}

// TestPlainMailAddress: what plainMailAddress takes, net/mail takes as
// the same address; the rest is left to net/mail.
func TestPlainMailAddress(t *testing.T) {
	for _, a := range []string{"dmarc@example.com", "a.b+c_d-e@x-y.example", "A@B.C", "1@2", "x@y", "dmarc-reports@sub.d00001.example"} {
		if !plainMailAddress(a) {
			t.Errorf("%q not taken", a)
		}
		m, err := mail.ParseAddress(a)
		if err != nil || m.Address != a || m.Name != "" {
			t.Errorf("%q: net/mail says %v %v", a, m, err)
		}
	}
	for _, a := range []string{"", "@", "a@", "@b", "a@b@c", ".a@b", "a.@b", "a..b@c", "a@b.", "a@.b", "a@b..c", "\"a\"@b", "a b@c",
		"<a@b>", "a@[192.0.2.1]", "a!b@c", "é@x.example", "a@x.example (c)"} {
		if plainMailAddress(a) {
			t.Errorf("%q taken", a)
		}
	}
}

// TestNoFields: noFields is true exactly when strings.Fields would give
// the text back whole.
func TestNoFields(t *testing.T) {
	for _, s := range []string{"", "abc", "MCow+/=", "a b", "a\tb", "a\nb", "a\vb", "a\fb", "a\rb", "a\u00a0b", "a\u0085b", "a\u2003b", "é"} {
		f := strings.Fields(s)
		same := strings.Join(f, "") == s
		if noFields(s) && !same {
			t.Errorf("%q: noFields, but Fields gives %q", s, f)
		}
		if !noFields(s) && same && !strings.ContainsFunc(s, func(r rune) bool { return r >= 0x80 }) {
			t.Errorf("%q: not noFields, but Fields gives it whole", s)
		}
	}
}

// TestDMARCTagTwiceInLongRecord: a tag given twice is found both among
// the first tags (scanned) and in a record of many (looked up in a map).
func TestDMARCTagTwiceInLongRecord(t *testing.T) {
	var b strings.Builder
	b.WriteString("v=DMARC1; p=reject")
	for i := range 40 {
		fmt.Fprintf(&b, "; x%d=1", i)
	}
	long := b.String()
	if _, err := ParseDMARC(long); err != nil {
		t.Fatalf("%q: %v", long, err)
	}
	for _, dup := range []string{"x3", "x39", "p"} {
		rec := long + "; " + dup + "=2"
		_, err := ParseDMARC(rec)
		if de, ok := err.(*DMARCError); !ok || de.Tag != dup || !strings.Contains(de.Msg, "twice") {
			t.Errorf("%s given twice: %v", dup, err)
		}
	}
	if _, err := ParseDMARC("v=DMARC1; p=reject; x1=1; x1=2"); err == nil {
		t.Error("x1 given twice in a short record: applied")
	}
}

// TestParseDMARCAllocs: the usual record is parsed in a few allocations
// (the record, its tags, its one report URI list).
func TestParseDMARCAllocs(t *testing.T) {
	rec := "v=DMARC1; p=reject; rua=mailto:dmarc@d00000.example"
	if n := testing.AllocsPerRun(100, func() { _, _ = ParseDMARC(rec) }); n > 3 {
		t.Errorf("%.0f allocations a parse, want at most 3", n)
	}
}

// TestParseDMARCIntoIsParseDMARC: every corpus record parsed into one
// reused ParsedDMARC, after each of the others, reads as its own parse;
// the usual record is then parsed with no allocation.
func TestParseDMARCIntoIsParseDMARC(t *testing.T) {
	cases := readDMARCCorpora(t)
	recs, where := make([]string, len(cases)), make([]string, len(cases))
	for i, c := range cases {
		recs[i], where[i] = c.rec, c.where
	}
	r := checkParseInto(t, recs, where, ParseDMARC, ParseDMARCInto, nil)
	rec := "v=DMARC1; p=reject; rua=mailto:dmarc@d00000.example"
	if n := testing.AllocsPerRun(100, func() { _, _ = ParseDMARCInto(r, rec) }); n != 0 {
		t.Errorf("%.0f allocations a reused parse, want 0", n)
	}
}
