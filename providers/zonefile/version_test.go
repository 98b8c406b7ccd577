package zonefile

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/providers"
)

// The version token of a zone file changes with its size, its
// modification time (to the nanosecond) and its inode (maildns's own
// writes replace the file), and only then; it is found through the
// wrapper.
func TestZoneVersion(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "example.com.zone")
	zone := "$ORIGIN example.com.\n$TTL 3600\n@ IN SOA ns1 host 1 7200 3600 1209600 3600\n@ IN NS ns1\nns1 IN A 192.0.2.53\n"
	if err := os.WriteFile(path, []byte(zone), 0o644); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if err := os.Chtimes(path, base, base); err != nil {
		t.Fatal(err)
	}
	p := &Provider{Directory: dir}
	w := providers.Wrap(p, providers.WrapOptions{Name: "z", Type: "zonefile", Counts: &providers.Counts{}})
	token := func() string {
		t.Helper()
		tok, ok, err := providers.ZoneVersion(ctx, w, "example.com.")
		if err != nil || !ok || tok == "" {
			t.Fatalf("ZoneVersion: %q %v %v", tok, ok, err)
		}
		return tok
	}
	t0 := token()
	if token() != t0 {
		t.Fatal("token changed without a change")
	}
	// Same size, same inode, one nanosecond later.
	if err := os.WriteFile(path, []byte(strings.Replace(zone, "192.0.2.53", "192.0.2.54", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, base, base.Add(time.Nanosecond)); err != nil {
		t.Fatal(err)
	}
	t1 := token()
	if t1 == t0 {
		t.Error("a modification time one nanosecond later: same token")
	}
	// Same modification time, another size.
	if err := os.WriteFile(path, []byte(zone+"mail IN A 192.0.2.25\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, base, base.Add(time.Nanosecond)); err != nil {
		t.Fatal(err)
	}
	t2 := token()
	if t2 == t1 {
		t.Error("another size: same token")
	}
	// A write by maildns.
	if _, err := p.AppendRecords(ctx, "example.com.", []libdns.Record{libdns.RR{Name: "www", Type: "A", TTL: time.Hour, Data: "192.0.2.80"}}); err != nil {
		t.Fatal(err)
	}
	if token() == t2 {
		t.Error("after maildns wrote the zone: same token")
	}
	if _, _, err := providers.ZoneVersion(ctx, w, "missing.example."); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing zone file: %v", err)
	}
}
