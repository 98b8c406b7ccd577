package sync

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/maildns/maildns/providers"
	_ "github.com/maildns/maildns/providers/zonefile"
)

// getterOnly hides every method of a provider but those of Provider: the
// zone is read by GetRecords, as for a backend without a CanonicalGetter.
type getterOnly struct{ providers.Provider }

// TestReadZoneCanonicalSameAsGetRecords: a zone file read through the
// zonefile backend's canonical records gives the engine the same live
// records and write conditions as GetRecords' records normalised, for every
// zone file of the tree and zones as people write them.
func TestReadZoneCanonicalSameAsGetRecords(t *testing.T) {
	dir := t.TempDir()
	zones := map[string]string{
		"bench.example":  strings.ReplaceAll(benchZoneText, "d00000.example", "bench.example"),
		"mixed.example":  "$ORIGIN Mixed.EXAMPLE.\n$TTL 300\n@ IN SOA ns1 hm 1 2 3 4 5\nMail IN A 192.0.2.1\n@ 60 IN MX 10 Mail\n@ IN TXT \"v=spf1 \" \"mx -all\"\nx.Other.Example. IN NS NS1\n_sip._tcp IN SRV 0 1 5060 SIP\n@ IN CAA 0 issue \"ca.example\"\n",
		"padded.example": "$TTL 300\n@ IN SOA ns1 hm 1 2 3 4 5\n@ IN TXT \" padded \"\n",
		"escape.example": "$TTL 300\n@ IN SOA ns1 hm 1 2 3 4 5\n@ IN TXT \"a\\\\b\" \"c\\\"d\"\n",
		"empty.example":  "$TTL 300\n@ IN SOA ns1 hm 1 2 3 4 5\n",
	}
	for _, glob := range []string{"../configs/*/zones/*.zone", "../providers/zonefile/testdata/*.zone", "testdata/*/zones/*.zone"} {
		files, _ := filepath.Glob(glob)
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			zones[strings.TrimSuffix(filepath.Base(f), ".zone")] = string(data)
		}
	}
	if len(zones) < 12 {
		t.Fatalf("only %d zones", len(zones))
	}
	for name, text := range zones {
		if err := os.WriteFile(filepath.Join(dir, name+".zone"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := providers.NewWrapped("zonefile", &providers.Settings{Name: "local", Values: map[string]string{"directory": dir}}, providers.WrapOptions{Counts: &providers.Counts{}})
	if err != nil {
		t.Fatal(err)
	}
	canonical := 0
	for name := range zones {
		fqdn := name + "."
		z := &zoneState{key: zoneKey{"local", name}, fqdn: fqdn, provider: p}
		readLive(context.Background(), z)
		ref := &zoneState{key: zoneKey{"local", name}, fqdn: fqdn, provider: getterOnly{p}}
		readLive(context.Background(), ref)
		if z.err != nil || ref.err != nil {
			t.Fatalf("%s: %v, %v", name, z.err, ref.err)
		}
		if !reflect.DeepEqual(z.live, ref.live) || !reflect.DeepEqual(z.cond.forms, ref.cond.forms) {
			t.Errorf("%s: read as\n%v %v\nby GetRecords\n%v %v", name, z.live, z.cond.forms, ref.live, ref.cond.forms)
		}
		if _, raw, _ := providers.GetRecordsCanonical(context.Background(), p, fqdn); raw == nil {
			canonical++
		}
	}
	t.Logf("%d of %d zones read canonical", canonical, len(zones))
	// The bench, mixed and empty zones at least take the canonical read.
	if canonical < 3 || canonical == len(zones) {
		t.Errorf("%d of %d zones read canonical", canonical, len(zones))
	}
}
