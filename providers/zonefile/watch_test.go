package zonefile

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A daemon cycle over unchanged plain zone files stats none of them; a
// file written, replaced, touched or removed is stat'ed again the next
// cycle and only it; a zone file reached through a symbolic link or with a
// second link elsewhere is stat'ed every cycle, and its changes through
// that other name are seen.
func TestZoneVersionWatch(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	elsewhere := t.TempDir()
	zones := filepath.Join(dir, "zones")
	if err := os.Mkdir(zones, 0o755); err != nil {
		t.Fatal(err)
	}
	text := func(zone, ip string) string {
		return "$ORIGIN " + zone + ".\n$TTL 3600\n@ IN SOA ns1 host 1 7200 3600 1209600 3600\n@ IN NS ns1\nns1 IN A " + ip + "\n"
	}
	write := func(path, s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, z := range []string{"a.example", "b.example", "c.example"} {
		write(filepath.Join(zones, z+".zone"), text(z, "192.0.2.1"))
	}
	// link.example is a symbolic link to a file elsewhere; hard.example has
	// a second link elsewhere.
	write(filepath.Join(elsewhere, "link.zone"), text("link.example", "192.0.2.1"))
	if err := os.Symlink(filepath.Join(elsewhere, "link.zone"), filepath.Join(zones, "link.example.zone")); err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(zones, "hard.example.zone"), text("hard.example", "192.0.2.1"))
	if err := os.Link(filepath.Join(zones, "hard.example.zone"), filepath.Join(elsewhere, "hard.zone")); err != nil {
		t.Fatal(err)
	}

	p := &Provider{Directory: zones}
	all := []string{"a.example", "b.example", "c.example", "link.example", "hard.example"}
	cycle := func() map[string]string {
		t.Helper()
		out := map[string]string{}
		for _, z := range all {
			tok, err := p.ZoneVersion(ctx, z+".")
			if err != nil {
				t.Fatalf("%s: %v", z, err)
			}
			out[z] = tok
		}
		return out
	}
	stats := func() int {
		p.watch.mu.Lock()
		defer p.watch.mu.Unlock()
		return p.watch.stats
	}
	first := cycle()
	if p.watch.state != watchOn {
		t.Fatalf("no inotify watch on %s (file system not local?)", zones)
	}
	if got := stats(); got != 5 {
		t.Fatalf("first cycle: %d stats, want 5", got)
	}
	for i := 0; i < 3; i++ {
		if got := cycle(); got["a.example"] != first["a.example"] || got["hard.example"] != first["hard.example"] {
			t.Fatalf("tokens moved without a change: %v, then %v", first, got)
		}
	}
	// Three quiet cycles: only the link and the file with two links.
	if got := stats(); got != 5+3*2 {
		t.Fatalf("three quiet cycles: %d stats in all, want %d", got, 5+3*2)
	}

	// Changes: a written in place, b replaced by a rename, c's times
	// changed, link's and hard's through their other names.
	write(filepath.Join(zones, "a.example.zone"), text("a.example", "192.0.2.222"))
	write(filepath.Join(zones, "b.tmp"), text("b.example", "192.0.2.222"))
	if err := os.Rename(filepath.Join(zones, "b.tmp"), filepath.Join(zones, "b.example.zone")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(zones, "c.example.zone"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(zones, "c.example.zone"), fi.ModTime(), fi.ModTime().Add(1)); err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(elsewhere, "link.zone"), text("link.example", "192.0.2.222"))
	write(filepath.Join(elsewhere, "hard.zone"), text("hard.example", "192.0.2.222"))
	before := stats()
	changed := cycle()
	for _, z := range all {
		if changed[z] == first[z] {
			t.Errorf("%s changed: same token %s", z, first[z])
		}
	}
	if got := stats() - before; got != 5 {
		t.Errorf("the cycle after five changes: %d stats, want 5", got)
	}
	before = stats()
	if got := cycle(); got["a.example"] != changed["a.example"] {
		t.Errorf("a.example: token moved without a change")
	}
	if got := stats() - before; got != 2 {
		t.Errorf("a quiet cycle after the changes: %d stats, want 2", got)
	}

	// A removed zone file is missing the next cycle.
	if err := os.Remove(filepath.Join(zones, "c.example.zone")); err != nil {
		t.Fatal(err)
	}
	if _, err := p.ZoneVersion(ctx, "a.example."); err != nil {
		t.Fatal(err)
	}
	if _, err := p.ZoneVersion(ctx, "c.example."); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("removed zone file: %v", err)
	}
}

// The watch ends, and every file is stat'ed, when its directory is moved
// away; a queue overflow forgets every token; an event names one file.
func TestZoneWatchEvents(t *testing.T) {
	event := func(mask uint32, name string) []byte {
		n := 0
		if name != "" {
			n = (len(name) + 1 + 15) / 16 * 16
		}
		b := make([]byte, syscall.SizeofInotifyEvent+n)
		binary.NativeEndian.PutUint32(b[0:], 1)
		binary.NativeEndian.PutUint32(b[4:], mask)
		binary.NativeEndian.PutUint32(b[12:], uint32(n))
		copy(b[syscall.SizeofInotifyEvent:], name)
		return b
	}
	w := &zoneWatch{state: watchOn, tokens: map[string]watchedToken{"a.zone": {token: "1"}, "b.zone": {token: "2"}}}
	if !w.forget(event(syscall.IN_MODIFY, "a.zone")) {
		t.Fatal("a modify event ended the watch")
	}
	if _, ok := w.tokens["a.zone"]; ok || len(w.tokens) != 1 {
		t.Errorf("after a modify of a.zone: %v", w.tokens)
	}
	if !w.forget(event(syscall.IN_Q_OVERFLOW, "")) || len(w.tokens) != 0 {
		t.Errorf("after an overflow: %v", w.tokens)
	}
	if w.forget(event(syscall.IN_MOVE_SELF, "")) {
		t.Error("the directory moved: the watch goes on")
	}
	if w.forget(event(syscall.IN_MODIFY, "a.zone")[:20]) {
		t.Error("a cut event: taken")
	}

	// On disk: the directory renamed, then the files stat'ed every time.
	ctx := context.Background()
	dir := t.TempDir()
	zones := filepath.Join(dir, "zones")
	if err := os.Mkdir(zones, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(zones, "a.example.zone"), []byte("$ORIGIN a.example.\n@ 3600 IN SOA ns1 host 1 7200 3600 1209600 3600\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &Provider{Directory: zones}
	for i := 0; i < 2; i++ {
		if _, err := p.ZoneVersion(ctx, "a.example."); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Rename(zones, zones+".old"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.ZoneVersion(ctx, "a.example."); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("zone directory moved away: %v", err)
	}
	if p.watch.state != watchOff {
		t.Error("the zone directory moved away: still watched")
	}
}

// A zone directory reached through a symbolic link that is swapped to
// another directory (a release switched by a deployment tool) is watched
// anew: the next cycle's tokens are the new files', and the old
// directory's events are no longer what vouches for them.
func TestZoneWatchDirectorySwapped(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	zone := "$ORIGIN a.example.\n@ 3600 IN SOA ns1 host 1 7200 3600 1209600 3600\n"
	for _, rel := range []string{"v1", "v2"} {
		if err := os.Mkdir(filepath.Join(dir, rel), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, rel, "a.example.zone"), []byte(zone+"; "+rel+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	current := filepath.Join(dir, "current")
	if err := os.Symlink("v1", current); err != nil {
		t.Fatal(err)
	}
	p := &Provider{Directory: current}
	version := func() string {
		t.Helper()
		tok, err := p.ZoneVersion(ctx, "a.example.")
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	v1 := version()
	if version() != v1 || p.watch.state != watchOn {
		t.Fatalf("not watched, or the token moved: state %d", p.watch.state)
	}
	// The swap, as deployment tools make it: a new link renamed over.
	if err := os.Symlink("v2", current+".new"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(current+".new", current); err != nil {
		t.Fatal(err)
	}
	v2 := version()
	if v2 == v1 {
		t.Fatal("after the swap to v2: the token of v1's file")
	}
	if version() != v2 || p.watch.state != watchOn {
		t.Errorf("v2 not watched: state %d", p.watch.state)
	}
	// A change in v2 is seen; one in v1 (no longer the zone) is not asked.
	if err := os.WriteFile(filepath.Join(dir, "v2", "a.example.zone"), []byte(zone+"; v2, changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if version() == v2 {
		t.Error("a change in the new directory: same token")
	}
}
