package zonefile

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libdns/libdns"

	"github.com/maildns/maildns/providers"
)

// signedZone signs handZone with dnssec-signzone (BIND 9) into a zone
// directory and returns a provider on it and the signed file's path.
func signedZone(t *testing.T) (*Provider, string) {
	t.Helper()
	keygen, signzone := bindTool(t, "dnssec-keygen"), bindTool(t, "dnssec-signzone")
	keys := t.TempDir()
	for _, args := range [][]string{
		{"-q", "-a", "ECDSAP256SHA256", "-K", keys, "example.org"},
		{"-q", "-a", "ECDSAP256SHA256", "-f", "KSK", "-K", keys, "example.org"},
	} {
		if out, err := exec.Command(keygen, args...).CombinedOutput(); err != nil {
			t.Fatalf("dnssec-keygen: %v\n%s", err, out)
		}
	}
	src := filepath.Join(keys, "example.org.unsigned")
	if err := os.WriteFile(src, []byte(handZone), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "example.org.zone")
	if out, err := exec.Command(signzone, "-q", "-S", "-K", keys, "-d", keys, "-o", "example.org", "-f", path, src).CombinedOutput(); err != nil {
		t.Fatalf("dnssec-signzone: %v\n%s", err, out)
	}
	return &Provider{Directory: dir, now: func() time.Time { return fixedNow }}, path
}

func dnssecVerify(t *testing.T, path string) {
	t.Helper()
	if out, err := exec.Command(bindTool(t, "dnssec-verify"), "-q", "-o", "example.org", path).CombinedOutput(); err != nil {
		t.Fatalf("dnssec-verify %s: %v\n%s", path, err, out)
	}
}

// TestSignedZoneNotWritten: a zone file holding DNSSEC signatures is
// refused by GuardWrite with a finding of kind dnssec, and every write
// method refuses it too: the file stays byte-identical and verifies.
func TestSignedZoneNotWritten(t *testing.T) {
	p, path := signedZone(t)
	dnssecVerify(t, path)
	before := readText(t, path)
	ctx := context.Background()

	live, err := p.GetRecords(ctx, "example.org.")
	if err != nil {
		t.Fatal(err)
	}
	ref := providers.GuardWrite(providers.Wrap(p, providers.WrapOptions{Name: "zones"}), "example.org.", live)
	if ref == nil || ref.Kind != "dnssec" {
		t.Fatalf("GuardWrite on a signed zone: %+v, want a refusal of kind dnssec", ref)
	}
	for _, want := range []string{path, "RRSIG", "dnssec-policy", "inline-signing", "unsigned source"} {
		if !strings.Contains(ref.Message, want) {
			t.Errorf("refusal %q does not say %q", ref.Message, want)
		}
	}
	unsigned, _ := zoneProvider(t, "example.org.", handZone)
	liveUnsigned, err := unsigned.GetRecords(ctx, "example.org.")
	if err != nil {
		t.Fatal(err)
	}
	if ref := unsigned.GuardWrite("example.org.", liveUnsigned); ref != nil {
		t.Errorf("GuardWrite on the unsigned zone: %+v", ref)
	}

	spf := []libdns.Record{libdns.TXT{Name: "@", TTL: time.Hour, Text: "v=spf1 mx -all"}}
	old := []libdns.Record{libdns.TXT{Name: "@", Text: "v=spf1 a ~all"}}
	writes := map[string]func() error{
		"ReplaceRecords": func() error { _, err := p.ReplaceRecords(ctx, "example.org.", old, spf); return err },
		"SetRecords":     func() error { _, err := p.SetRecords(ctx, "example.org.", spf); return err },
		"AppendRecords":  func() error { _, err := p.AppendRecords(ctx, "example.org.", spf); return err },
		"DeleteRecords":  func() error { _, err := p.DeleteRecords(ctx, "example.org.", old); return err },
		"AppendAddress": func() error {
			_, err := p.AppendRecords(ctx, "example.org.", []libdns.Record{libdns.Address{Name: "mail", IP: netip.MustParseAddr("192.0.2.99")}})
			return err
		},
	}
	for name, write := range writes {
		err := write()
		var re *RefusedError
		if !errors.As(err, &re) || re.Refusal.Kind != "dnssec" {
			t.Errorf("%s on a signed zone: %v, want a RefusedError of kind dnssec", name, err)
		}
	}
	if after := readText(t, path); after != before {
		t.Error("the signed zone file changed")
	}
	dnssecVerify(t, path)
}

// TestCNAMEConflictNotWritten: a write that would put data beside a CNAME
// (or a CNAME beside data) is refused with nothing written; one that
// replaces the CNAME in the same step is made; a conflict the file had
// already does not block writes elsewhere.
func TestCNAMEConflictNotWritten(t *testing.T) {
	text := "$ORIGIN example.org.\n$TTL 3600\n@ IN SOA ns1.example.net. h.example.org. 1 3600 900 1209600 300\n@ IN NS ns1.example.net.\n" +
		"mail IN CNAME mailhost.example.net.\n_dmarc IN CNAME _dmarc.reports.example.net.\nwww IN A 192.0.2.80\n"
	p, path := zoneProvider(t, "example.org.", text)
	ctx := context.Background()
	for name, write := range map[string]func() error{
		"A beside the mail host's CNAME": func() error {
			_, err := p.AppendRecords(ctx, "example.org.", []libdns.Record{libdns.Address{Name: "mail", TTL: time.Hour, IP: netip.MustParseAddr("192.0.2.25")}})
			return err
		},
		"TXT beside the _dmarc CNAME": func() error {
			_, err := p.ReplaceRecords(ctx, "example.org.", nil, []libdns.Record{libdns.TXT{Name: "_dmarc", TTL: time.Hour, Text: "v=DMARC1; p=reject"}})
			return err
		},
		"CNAME beside an A": func() error {
			_, err := p.SetRecords(ctx, "example.org.", []libdns.Record{libdns.CNAME{Name: "www", TTL: time.Hour, Target: "web.example.net."}})
			return err
		},
	} {
		err := write()
		var re *RefusedError
		if !errors.As(err, &re) || re.Refusal.Kind != "cname" {
			t.Errorf("%s: %v, want a refusal of kind cname", name, err)
		}
	}
	if readText(t, path) != text {
		t.Fatal("a refused write changed the file")
	}
	// Replacing the CNAME by the data in one step is fine.
	if _, err := p.ReplaceRecords(ctx, "example.org.",
		[]libdns.Record{libdns.CNAME{Name: "_dmarc", Target: "_dmarc.reports.example.net."}},
		[]libdns.Record{libdns.TXT{Name: "_dmarc", TTL: time.Hour, Text: "v=DMARC1; p=reject"}}); err != nil {
		t.Fatal(err)
	}
	checkZone(t, "example.org", path)

	// A conflict already in the file is the operator's: other writes go on.
	broken := text + "old IN CNAME x.example.net.\nold IN A 192.0.2.9\n"
	p, _ = zoneProvider(t, "example.org.", broken)
	if _, err := p.AppendRecords(ctx, "example.org.", []libdns.Record{libdns.TXT{Name: "@", TTL: time.Hour, Text: "v=spf1 -all"}}); err != nil {
		t.Errorf("a write beside an old conflict: %v", err)
	}
}
