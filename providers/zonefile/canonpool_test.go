package zonefile

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCanonicalRecordsOutliveTheText: the text a zone is read into is
// read into again for the next zone; records already returned (canonical
// or, for a zone the fast reader declines, parsed) stay as they were.
func TestCanonicalRecordsOutliveTheText(t *testing.T) {
	dir := t.TempDir()
	zones := map[string]string{
		"a.example": "$ORIGIN a.example.\n$TTL 300\n@ IN SOA ns.a.example. h.a.example. 1 2 3 4 5\n" +
			"@ IN MX 10 mail.a.example.\n@ IN TXT \"v=spf1 -all\"\nmail IN A 192.0.2.1\n",
		"b.example": "$ORIGIN b.example.\n$TTL 600\n@ IN SOA ns.b.example. h.b.example. 1 2 3 4 5\n" +
			"@ IN MX 20 mx.b.example.\n@ IN TXT \"v=spf1 mx ~all\"\nmx IN A 198.51.100.9\n",
		// A $GENERATE is not for the fast reader: parsed in full.
		"c.example": "$ORIGIN c.example.\n$TTL 60\n@ IN SOA ns.c.example. h.c.example. 1 2 3 4 5\n" +
			"$GENERATE 1-2 host$ A 203.0.113.$\n@ IN TXT \"v=spf1 a -all\"\n",
	}
	for name, text := range zones {
		if err := os.WriteFile(filepath.Join(dir, name+".zone"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := &Provider{Directory: dir}
	ctx := context.Background()
	read := func(zone string) any {
		canon, recs, err := p.GetRecordsCanonical(ctx, zone+".")
		if err != nil {
			t.Fatal(err)
		}
		if (canon == nil) != (zone == "c.example") {
			t.Fatalf("%s: canonical records %v, want them only for a.example and b.example", zone, canon != nil)
		}
		if canon != nil {
			return canon
		}
		return recs
	}
	first := map[string]any{}
	copies := map[string]string{}
	for _, zone := range []string{"a.example", "c.example", "b.example", "a.example"} {
		got := read(zone)
		if _, ok := first[zone]; !ok {
			first[zone] = got
			copies[zone] = cmp.Diff(nil, got) // a deep copy, as text
		}
	}
	for zone, got := range first {
		if diff := cmp.Diff(nil, got); diff != copies[zone] {
			t.Errorf("%s: the records changed when later zones were read:\n%s\nnow:\n%s", zone, copies[zone], diff)
		}
	}
}
