package zonefile

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestGenerateTTLsAsBIND: the records of zone files with $GENERATE lines
// are read with the TTLs BIND gives them (named-compilezone): one without
// a TTL inherits the $TTL in force or the last TTL given, and a TTL given
// on a $GENERATE line is the last given for the records after it.
// miekg/dns alone gives such records 3600.
func TestGenerateTTLsAsBIND(t *testing.T) {
	compile := bindTool(t, "named-compilezone")
	head := "@ 300 IN SOA ns.%s h.%s 1 2 3 4 5\n@ IN NS ns\nns IN A 192.0.2.1\n"
	zones := []struct{ origin, text string }{
		{"a.example.", "$TTL 60\n" + head + "$GENERATE 1-2 host$ A 203.0.113.$\nafter IN A 192.0.2.9\n"},
		{"b.example.", head + "x 120 IN A 192.0.2.2\n$GENERATE 1-2 host$ A 203.0.113.$\n" +
			"$GENERATE 3-3 host$ 77 A 203.0.113.$\ny IN A 192.0.2.3\n$TTL 90\n$GENERATE 4-4 host$ A 203.0.113.$\nz IN A 192.0.2.4\n"},
		{"c.example.", "$TTL 1h\n" + head + "$generate 1-3 h$ IN A 198.51.100.$\n$GENERATE 4-5 h$ 5m IN A 198.51.100.$\nlast A 192.0.2.5\n"},
		{"2.0.192.in-addr.arpa.", "$TTL 7200\n" + head + "1 600 IN PTR mail.example.net.\n$GENERATE 10-12 $ PTR host-$.example.net.\n"},
	}
	dir := t.TempDir()
	p := &Provider{Directory: dir}
	for _, z := range zones {
		name := strings.TrimSuffix(z.origin, ".")
		text := strings.ReplaceAll(z.text, "%s", z.origin)
		path := filepath.Join(dir, name+".zone")
		if err := os.WriteFile(path, []byte("$ORIGIN "+z.origin+"\n"+text), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(compile, "-q", "-i", "none", "-o", "-", name, path).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: named-compilezone: %v\n%s", name, err, out)
		}
		want := map[string]time.Duration{} // "name TYPE data" -> TTL, as BIND loads it
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			f := strings.Fields(line)
			if len(f) < 5 || f[3] == "SOA" {
				continue
			}
			ttl, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatalf("%s: %q: %v", name, line, err)
			}
			want[strings.ToLower(f[0])+" "+f[3]+" "+strings.ToLower(strings.Join(f[4:], " "))] = time.Duration(ttl) * time.Second
		}
		recs, err := p.GetRecords(context.Background(), z.origin)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != len(want) {
			t.Errorf("%s: %d records, BIND loads %d", name, len(recs), len(want))
		}
		for _, r := range recs {
			rr := r.RR()
			owner := z.origin
			if rr.Name != "@" {
				owner = rr.Name + "." + z.origin
			}
			key := strings.ToLower(owner) + " " + rr.Type + " " + strings.ToLower(rr.Data)
			ttl, ok := want[key]
			switch {
			case !ok:
				t.Errorf("%s: %s not loaded by BIND", name, key)
			case rr.TTL != ttl:
				t.Errorf("%s: %s: TTL %v, BIND %v", name, key, rr.TTL, ttl)
			}
		}
	}
}
