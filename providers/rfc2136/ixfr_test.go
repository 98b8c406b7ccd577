package rfc2136_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
	"github.com/maildns/maildns/internal/testbind"
	"github.com/maildns/maildns/providers"
	"github.com/miekg/dns"
)

// bigZone is the hostile zone with 16,000 more records: address records,
// TXT split at odd places and in mixed case, MX.
func bigZone() string {
	var b strings.Builder
	b.WriteString(hostileZone())
	for i := range 16000 {
		switch i % 8 {
		case 0:
			fmt.Fprintf(&b, "Host%05d\t300\tIN TXT \"tok=%05d \" \"Mixed Case\"\n", i, i)
		case 1:
			fmt.Fprintf(&b, "host%05d\t600\tIN MX 10 mail%d.Example.NET.\n", i, i%7)
		default:
			fmt.Fprintf(&b, "host%05d\t300\tIN A 10.%d.%d.%d\n", i, i/65536, i/256%256, i%256)
		}
	}
	return b.String()
}

// canonicalSet is a read's records as sorted "name ttl type data" lines.
func canonicalSet(recs []libdns.Record) []string {
	out := make([]string, 0, len(recs))
	for _, r := range recs {
		rr := r.RR()
		out = append(out, fmt.Sprintf("%s %d %s %s", rr.Name, int(rr.TTL.Seconds()), rr.Type, rr.Data))
	}
	slices.Sort(out)
	return out
}

// TestIXFRServers: after an UPDATE made outside maildns to a zone of
// 16,000 records, the daemon's next read (a serial check that found a new
// serial, then GetRecords) is one IXFR of a few records where the server
// offers it, and its records equal a whole transfer's. A read not preceded
// by a serial check that moved, a read asked whole, and a write are AXFRs.
func TestIXFRServers(t *testing.T) {
	for _, kind := range testbind.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			srv := testbind.StartKind(t, kind, testbind.Zone{Name: zone, Content: bigZone(), DisableIntegrityCheck: true})
			proxy := srv.CountingProxy(t)
			values := srv.Settings()
			values["server"] = proxy.Addr
			p := newProvider(t, values)
			truth := newProvider(t, srv.Settings())                               // whole transfers, never IXFR
			c, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // big transfers under -race
			defer cancel()
			version := func() string {
				t.Helper()
				v, _, err := providers.ZoneVersion(c, p, zone)
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			read := func(ctx context.Context, what string) ([]libdns.Record, testbind.Counts, testbind.Traffic) {
				t.Helper()
				proxy.Reset()
				recs, err := p.GetRecords(ctx, zone)
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				co, tr := proxy.Counts(), proxy.Traffic()
				if tr.ByType["IXFR"] > 0 {
					want, err := truth.GetRecords(c, zone)
					if err != nil {
						t.Fatal(err)
					}
					if diff := cmp.Diff(canonicalSet(want), canonicalSet(recs)); diff != "" {
						t.Errorf("%s: records differ from a whole transfer's (-axfr +read):\n%s", what, diff)
					}
				}
				t.Logf("%s %s: %d requests (%v), %d answers, %d bytes out, %d back, %d answer records, %d records read",
					kind, what, co.Requests, tr.ByType, co.Responses, tr.RequestBytes, tr.ResponseBytes, tr.AnswerRecords, len(recs))
				return recs, co, tr
			}

			version()
			_, _, tr := read(c, "first read")
			if tr.ByType["AXFR"] != 1 || tr.ByType["IXFR"] != 0 {
				t.Errorf("first read: %v, want one AXFR", tr.ByType)
			}
			full := tr.ResponseBytes

			// One record changed by hand: a TXT replaced.
			directUpdate(t, srv, zone, func(m *dns.Msg) {
				m.Remove([]dns.RR{mustRR(t, `Host00008.example.com. 300 IN TXT "tok=00008 " "Mixed Case"`)})
				m.Insert([]dns.RR{mustRR(t, `Host00008.example.com. 300 IN TXT "tok=00008 " "changed by hand"`)})
			})
			version()
			recs, co, tr := read(c, "after an outside UPDATE")
			if !slices.ContainsFunc(recs, func(r libdns.Record) bool { return strings.Contains(r.RR().Data, "changed by hand") }) {
				t.Errorf("the change made by hand is not read")
			}
			switch kind {
			case testbind.BIND, testbind.Knot:
				if co.Requests != 1 || tr.ByType["IXFR"] != 1 || tr.AnswerRecords > 10 || tr.ResponseBytes*20 > full {
					t.Errorf("read after one change: %d requests %v, %d answer records, %d bytes (a whole transfer: %d), want one IXFR of a few records",
						co.Requests, tr.ByType, tr.AnswerRecords, tr.ResponseBytes, full)
				}
			case testbind.PowerDNS:
				// PowerDNS 4.7 answers an IXFR of an unsigned zone with the
				// whole zone (RFC 1995 section 4): one request still.
				if co.Requests != 1 || tr.ByType["IXFR"] != 1 {
					t.Errorf("read after one change: %d requests %v, want the IXFR answered whole", co.Requests, tr.ByType)
				}
			}

			// A second change, then two reads: the first incremental from the
			// copy the IXFR made, the second (no serial check between, as a
			// write's read under its lock) whole.
			directUpdate(t, srv, zone, func(m *dns.Msg) {
				m.RemoveRRset([]dns.RR{&dns.ANY{Hdr: dns.RR_Header{Name: "host00010.example.com.", Rrtype: dns.TypeA}}})
				m.Insert([]dns.RR{mustRR(t, `new.example.com. 3600 IN A 192.0.2.99`)})
			})
			version()
			if _, _, tr := read(c, "after a second UPDATE"); tr.ByType["IXFR"] != 1 {
				t.Errorf("read after a second change: %v, want one IXFR", tr.ByType)
			}
			if _, _, tr := read(c, "again without a serial check"); tr.ByType["AXFR"] != 1 || tr.ByType["IXFR"] != 0 {
				t.Errorf("read without a serial check: %v, want one AXFR", tr.ByType)
			}

			// A read asked whole (full_read_every passed) is an AXFR even
			// when the serial moved.
			directUpdate(t, srv, zone, func(m *dns.Msg) {
				m.Insert([]dns.RR{mustRR(t, `new.example.com. 3600 IN A 192.0.2.100`)})
			})
			version()
			if _, _, tr := read(providers.WithFullRead(c), "asked whole"); tr.ByType["AXFR"] != 1 || tr.ByType["IXFR"] != 0 {
				t.Errorf("read asked whole: %v, want one AXFR", tr.ByType)
			}

			// A write after an incremental read transfers the zone whole
			// first: it deletes and states prerequisites from what the
			// server holds, never from a patched copy.
			directUpdate(t, srv, zone, func(m *dns.Msg) {
				m.Insert([]dns.RR{mustRR(t, `new.example.com. 3600 IN A 192.0.2.101`)})
			})
			version()
			recs, _, tr = read(c, "before a write")
			proxy.Reset()
			var spf libdns.Record
			for _, r := range recs {
				if r.RR().Name == "@" && r.RR().Type == "TXT" && strings.HasPrefix(r.RR().Data, "v=spf1") {
					spf = r
				}
			}
			add := libdns.RR{Name: "@", Type: "TXT", TTL: 300 * 1e9, Data: "v=spf1 mx -all"}
			if _, err := p.(providers.Replacer).ReplaceRecords(c, zone, []libdns.Record{spf}, []libdns.Record{add}); err != nil {
				t.Fatalf("write after an incremental read: %v", err)
			}
			// PowerDNS answered the IXFR whole: that read serves the write.
			wantAXFR := 1
			if kind == testbind.PowerDNS {
				wantAXFR = 0
			}
			if tr2 := proxy.Traffic(); tr2.ByType["AXFR"] != wantAXFR || tr2.ByType["UPDATE"] != 1 {
				t.Errorf("write after an incremental read (%v): %v, want %d AXFR then one UPDATE", tr.ByType, tr2.ByType, wantAXFR)
			}
			got := served(t, srv, zone, dns.TypeTXT)
			if n := len(slices.DeleteFunc(got, func(s string) bool { return !strings.Contains(s, "v=spf1") })); n != 1 {
				t.Errorf("after the write the apex holds %d SPF records", n)
			}
		})
	}
}
