package zonefile

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestZonePathAsJoin: the zone file's path is the directory joined with the
// zone's name and suffix, whatever shape the directory is written in, and
// the origin is the name in lower case with a trailing dot.
func TestZonePathAsJoin(t *testing.T) {
	for _, dir := range []string{"", ".", "/", "zones", "zones/", "./zones", "/srv//dns/zones", "/srv/dns/../zones", "/srv/dns/zones"} {
		for _, suffix := range []string{"", ".zone", ".db", "/x"} {
			for _, zone := range []string{"example.com.", "example.com", "Example.COM.", " example.com. ", "113.0.203.in-addr.arpa."} {
				p := &Provider{Directory: dir, FileSuffix: suffix}
				path, origin, err := p.ZonePath(zone)
				if err != nil {
					t.Fatal(err)
				}
				name := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(zone), "."))
				if want := filepath.Join(dir, name+p.suffix()); path != want {
					t.Errorf("ZonePath(%q) in %q with %q: %q, want %q", zone, dir, suffix, path, want)
				}
				if origin != name+"." {
					t.Errorf("ZonePath(%q): origin %q", zone, origin)
				}
			}
		}
	}
}
