package zonefile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
	"github.com/libdns/libdns/libdnstest"
)

// TestLibdnsConformance runs libdns's own test suite against a zone file,
// every record type it knows included (A, AAAA, CAA, CNAME, HTTPS, MX, NS,
// SRV, SVCB, TXT) and ListZones.
func TestLibdnsConformance(t *testing.T) {
	p := newTestProvider(t, "example.com.zone")
	suite := libdnstest.NewTestSuite(p, "example.com.")
	suite.Timeout = 10 * time.Second
	before := getRRs(t, p, "example.com.")
	suite.RunTests(t)
	// Every record the suite did not create is still there. (Its clean-up
	// only deletes names starting with "test-", so the SRV and SVCB records
	// it makes under _service labels stay behind.)
	var after []libdns.RR
	for _, r := range getRRs(t, p, "example.com.") {
		if !strings.Contains(r.Name, "test-") {
			after = append(after, r)
		}
	}
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("zone changed by the suite:\nbefore %v\nafter  %v", before, after)
	}
}

// TestConcurrentAppends appends distinct records from 20 goroutines through
// two providers on the same directory: none may be lost.
func TestConcurrentAppends(t *testing.T) {
	p := newTestProvider(t, "example.com.zone")
	q := &Provider{Directory: p.Directory, now: p.now}
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			prov := p
			if i%2 == 1 {
				prov = q
			}
			_, err := prov.AppendRecords(context.Background(), "example.com.", []libdns.Record{
				libdns.TXT{Name: fmt.Sprintf("c%02d", i), TTL: time.Minute, Text: fmt.Sprintf("value %d", i)},
			})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got := 0
	for _, r := range getRRs(t, p, "example.com.") {
		if strings.HasPrefix(r.Name, "c") && r.Type == "TXT" {
			got++
		}
	}
	if got != n {
		t.Errorf("%d of %d appended records in the zone", got, n)
	}
	if s := soaSerial(t, p, "example.com."); s != 2026112600+n-1 {
		t.Errorf("serial %d, want %d (one bump per write)", s, 2026112600+n-1)
	}
}

// holdFlock takes the file lock of a zone from another descriptor, as
// another maildns process would, and returns its release.
func holdFlock(t *testing.T, p *Provider, zone string) func() {
	t.Helper()
	path, _, err := p.ZonePath(zone)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release := func() { once.Do(func() { f.Close() }) }
	t.Cleanup(release)
	return release
}

func TestWriteWaitsForFileLock(t *testing.T) {
	p := newTestProvider(t, "example.com.zone")
	release := holdFlock(t, p, "example.com.")
	rec := []libdns.Record{libdns.TXT{Name: "locked", TTL: time.Minute, Text: "x"}}

	// While another process holds the lock, a write gives up with ctx.
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := p.AppendRecords(ctx, "example.com.", rec)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "held by another process") {
		t.Fatalf("AppendRecords under a held lock: %v", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("gave up after %v, before its deadline", d)
	}
	// Reads do not wait for the lock.
	if _, err := p.GetRecords(ctx, "example.com."); err == nil {
		t.Error("GetRecords ran on an expired context")
	}
	if _, err := p.GetRecords(context.Background(), "example.com."); err != nil {
		t.Errorf("GetRecords under a held lock: %v", err)
	}

	// A write waits for the lock and then goes ahead.
	const hold = 150 * time.Millisecond
	time.AfterFunc(hold, release)
	start = time.Now()
	if _, err := p.AppendRecords(context.Background(), "example.com.", rec); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < hold-10*time.Millisecond {
		t.Errorf("write finished after %v, while the lock was held for %v", d, hold)
	}
	found := false
	for _, r := range getRRs(t, p, "example.com.") {
		found = found || r.Name == "locked"
	}
	if !found {
		t.Error("record written after the wait is missing")
	}
}

func TestInProcessLockHonoursContext(t *testing.T) {
	p := newTestProvider(t, "example.com.zone")
	path, _, err := p.ZonePath("example.com.")
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := lockZone(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = p.DeleteRecords(ctx, "example.com.", []libdns.Record{libdns.RR{Name: "mail"}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("DeleteRecords while the zone is locked in this process: %v", err)
	}
}

func TestNoTempFilesLeft(t *testing.T) {
	p := newTestProvider(t, "example.com.zone")
	for i := range 3 {
		if _, err := p.SetRecords(context.Background(), "example.com.", []libdns.Record{
			libdns.Address{Name: "n", TTL: time.Minute, IP: netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})},
		}); err != nil {
			t.Fatal(err)
		}
	}
	ents, err := os.ReadDir(p.Directory)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if want := "example.com.zone"; strings.Join(names, " ") != want {
		t.Errorf("directory holds %v, want %s", names, want)
	}
}

// benchZone writes a zone of about 20 records, typical of a mail domain.
func benchZone(b *testing.B) *Provider {
	b.Helper()
	dir := b.TempDir()
	text := `$ORIGIN example.com.
$TTL 3600
@ IN SOA ns1.example.net. hostmaster.example.com. 2026112601 7200 3600 1209600 300
@ IN NS ns1.example.net.
@ IN NS ns2.example.net.
@ 300 IN MX 10 mail
@ 300 IN MX 20 mx2.example.net.
@ IN TXT "v=spf1 mx include:_spf.example.net -all"
@ IN TXT "google-site-verification=abcdefghijklmnopqrstuvwxyz"
@ IN A 192.0.2.1
@ IN AAAA 2001:db8::1
@ IN CAA 0 issue "letsencrypt.org"
www IN CNAME @
mail IN A 192.0.2.10
mail IN AAAA 2001:db8::10
_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"
_mta-sts IN TXT "v=STSv1; id=20261126"
mta-sts IN A 192.0.2.1
_smtp._tls IN TXT "v=TLSRPTv1; rua=mailto:tls@example.com"
s1._domainkey IN TXT ( "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAuQ0P1Vh3pF0d9nq8s1xZk3m7yT6c2bYV9wF5GkQz0xjH2s4yR7nL8pW3aE1uC6tD9vB5mK2oN0qJ4iG7hF3eA1zX8cV6bN2mL5kP9oI4uY7tR3eW1qS6dF8gH0jK2lZ5xC3vB7nM9" "aQ1wS2eD3rF4tG5yH6uJ7iK8oL9pZ0xC1vB2nM3qW4eR5tY6uI7oP8aS9dF0gH1jK2lZ3xC4vB5nM6qW7eR8tY9uI0oP1aS2dF3gH4jK5lZ6xC7vB8nM9qW0eR1tY2uI3oP4aS5dF6gH7jK8lIDAQAB" )
s2._domainkey IN CNAME s2.domainkey.example.net.
autoconfig IN CNAME mail
_imaps._tcp IN SRV 0 1 993 mail.example.com.
_submission._tcp IN SRV 0 1 587 mail.example.com.
`
	if err := os.WriteFile(filepath.Join(dir, "example.com.zone"), []byte(text), 0o644); err != nil {
		b.Fatal(err)
	}
	return &Provider{Directory: dir}
}

func BenchmarkGetRecords(b *testing.B) {
	p := benchZone(b)
	ctx := context.Background()
	recs, err := p.GetRecords(ctx, "example.com.")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(recs)), "records")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.GetRecords(ctx, "example.com."); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSetRecords(b *testing.B) {
	p := benchZone(b)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if _, err := p.SetRecords(ctx, "example.com.", []libdns.Record{
			libdns.TXT{Name: "_mta-sts", TTL: time.Hour, Text: fmt.Sprintf("v=STSv1; id=%d", i)},
		}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestHelperAppender is not a test: run by TestCrossProcessAppends as a
// child process, it appends records to the zone directory it is given.
func TestHelperAppender(t *testing.T) {
	dir := os.Getenv("ZONEFILE_HELPER_DIR")
	if dir == "" {
		return
	}
	p := &Provider{Directory: dir}
	prefix := os.Getenv("ZONEFILE_HELPER_PREFIX")
	for i := range 10 {
		if _, err := p.AppendRecords(context.Background(), "example.com.", []libdns.Record{
			libdns.TXT{Name: fmt.Sprintf("%s%02d", prefix, i), TTL: time.Minute, Text: "x"},
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCrossProcessAppends has two other processes and this one append to
// the same zone file at once: the file lock must keep every record.
func TestCrossProcessAppends(t *testing.T) {
	p := newTestProvider(t, "example.com.zone")
	var cmds []*exec.Cmd
	for _, prefix := range []string{"x", "y"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperAppender$", "-test.count=1")
		cmd.Env = append(os.Environ(), "ZONEFILE_HELPER_DIR="+p.Directory, "ZONEFILE_HELPER_PREFIX="+prefix)
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("child %s output:\n%s", prefix, out.String())
			}
		})
		cmds = append(cmds, cmd)
	}
	for i := range 10 {
		if _, err := p.AppendRecords(context.Background(), "example.com.", []libdns.Record{
			libdns.TXT{Name: fmt.Sprintf("z%02d", i), TTL: time.Minute, Text: "x"},
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child process: %v", err)
		}
	}
	got := 0
	for _, r := range getRRs(t, p, "example.com.") {
		if len(r.Name) == 3 && strings.ContainsRune("xyz", rune(r.Name[0])) {
			got++
		}
	}
	if got != 30 {
		t.Errorf("%d of 30 records appended by three processes are in the zone", got)
	}
}

// TestLockFollowsReplacedFile: a writer that waited on the lock of a zone
// file that another writer then replaced must lock the new file, not go
// ahead on the old one while a third process holds the new one's lock.
func TestLockFollowsReplacedFile(t *testing.T) {
	p := newTestProvider(t, "example.com.zone")
	path := filepath.Join(p.Directory, "example.com.zone")
	releaseOld := holdFlock(t, p, "example.com.") // a writer holding the current file

	done := make(chan error, 1)
	go func() {
		_, err := p.AppendRecords(context.Background(), "example.com.", []libdns.Record{libdns.TXT{Name: "waiter", TTL: time.Minute, Text: "x"}})
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)

	// That writer replaces the file, and another process locks the new one
	// before the first lets go of the old one.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tmp := path + ".new"
	if err := os.WriteFile(tmp, append(data, "replaced IN TXT \"kept\"\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	releaseNew := holdFlock(t, p, "example.com.")
	releaseOld()

	select {
	case err := <-done:
		t.Fatalf("the write went ahead while another process held the lock of the zone file: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	releaseNew()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range getRRs(t, p, "example.com.") {
		names = append(names, r.Name)
	}
	if !slices.Contains(names, "replaced") || !slices.Contains(names, "waiter") {
		t.Errorf("records after both writes: %v, want replaced and waiter", names)
	}
}

// TestStaleFilesRemoved: temporary files a killed writer left, and the
// lock file earlier versions kept beside each zone, are removed by the next
// write; another zone's temporary file is not.
func TestStaleFilesRemoved(t *testing.T) {
	p := newTestProvider(t, "example.com.zone")
	stale := []string{".example.com.zone.tmp-123456789", ".example.com.zone.tmp-42", "example.com.zone.lock"}
	kept := []string{".example.com.zone.tmp-x.zone.tmp-77", ".other.zone.tmp-1", "example.com.zone"}
	for _, f := range append(slices.Clone(stale), kept[:2]...) {
		if err := os.WriteFile(filepath.Join(p.Directory, f), []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.AppendRecords(context.Background(), "example.com.", []libdns.Record{libdns.TXT{Name: "n", TTL: time.Minute, Text: "x"}}); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(p.Directory)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	slices.Sort(kept)
	if diff := cmp.Diff(kept, names); diff != "" {
		t.Errorf("directory after a write (-want +got):\n%s", diff)
	}
}

// TestHelperKilledWriter is not a test: run by TestKilledWriterLeavesNothing
// as a child process, it starts a write and stops for good just before the
// rename, to be killed there.
func TestHelperKilledWriter(t *testing.T) {
	dir := os.Getenv("ZONEFILE_KILLED_DIR")
	if dir == "" {
		return
	}
	beforeRename = func() {
		fmt.Println("ready")
		select {}
	}
	p := &Provider{Directory: dir}
	_, _ = p.AppendRecords(context.Background(), "example.com.", []libdns.Record{libdns.TXT{Name: "killed", TTL: time.Minute, Text: "x"}})
}

// TestKilledWriterLeavesNothing: a writer killed (SIGKILL) between writing
// its temporary file and the rename leaves the zone as it was and its lock
// free; the next write goes ahead and removes the temporary file.
func TestKilledWriterLeavesNothing(t *testing.T) {
	p := newTestProvider(t, "example.com.zone")
	path := filepath.Join(p.Directory, "example.com.zone")
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperKilledWriter$", "-test.count=1")
	cmd.Env = append(os.Environ(), "ZONEFILE_KILLED_DIR="+p.Directory)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(out, buf); err != nil || string(buf) != "ready" {
		t.Fatalf("child: %q %v", buf, err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	names := func() []string {
		ents, err := os.ReadDir(p.Directory)
		if err != nil {
			t.Fatal(err)
		}
		var n []string
		for _, e := range ents {
			n = append(n, e.Name())
		}
		return n
	}
	if got := names(); len(got) != 2 {
		t.Fatalf("after the kill the directory holds %v, want the zone and a temporary file", got)
	}
	if now, _ := os.ReadFile(path); string(now) != string(before) {
		t.Error("the killed write changed the zone file")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := p.AppendRecords(ctx, "example.com.", []libdns.Record{libdns.TXT{Name: "next", TTL: time.Minute, Text: "x"}}); err != nil {
		t.Fatalf("the write after a killed writer: %v", err)
	}
	if got := names(); !slices.Equal(got, []string{"example.com.zone"}) {
		t.Errorf("after the next write the directory holds %v, want the zone file alone", got)
	}
}
