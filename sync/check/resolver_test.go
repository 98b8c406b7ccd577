package check

import (
	"context"
	"os"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
	"github.com/maildns/maildns/internal/testdns"
)

func rsRR(name, typ, data string) libdns.RR {
	return libdns.RR{Name: name, Type: typ, TTL: time.Hour, Data: data}
}

func TestDNSResolver(t *testing.T) {
	long := strings.Repeat("x", 300)
	srv := testdns.Start(t,
		`example.com. 3600 IN TXT "v=spf1 " "-all"`,
		`example.com. 3600 IN TXT "with \"quotes\" and \\ back"`,
		`example.com. 3600 IN MX 10 Mail.Example.com.`,
		`mail.example.com. 3600 IN A 192.0.2.25`,
		`mail.example.com. 3600 IN AAAA 2001:db8::25`,
		`alias.example.com. 3600 IN CNAME mail.example.com.`,
		`a2.example.com. 3600 IN CNAME alias.example.com.`,
		`dangling.example.com. 3600 IN CNAME nowhere.example.com.`,
		`x.y.example.com. 3600 IN A 192.0.2.1`,
		`big.example.com. 3600 IN TXT "`+long[:250]+`" "`+long[250:]+`"`,
	)
	srv.Fail("servfail.example.com.", "TXT", testdns.ServFail)
	srv.Fail("refused.example.com.", "", testdns.Refused)
	srv.Fail("slow.example.com.", "TXT", testdns.Timeout)
	srv.Fail("big.example.com.", "TXT", testdns.Truncate)
	r := NewDNSResolver([]string{srv.Addr}, 300*time.Millisecond)
	ctx := context.Background()

	cases := []struct {
		name, qtype string
		rcode       int
		want        []libdns.RR
		err         string
	}{
		{"example.com.", "TXT", 0, []libdns.RR{rsRR("example.com.", "TXT", "v=spf1 -all"), rsRR("example.com.", "TXT", `with "quotes" and \ back`)}, ""},
		{"EXAMPLE.com", "MX", 0, []libdns.RR{rsRR("example.com.", "MX", "10 mail.example.com.")}, ""},
		{"a2.example.com.", "A", 0, []libdns.RR{
			rsRR("a2.example.com.", "CNAME", "alias.example.com."),
			rsRR("alias.example.com.", "CNAME", "mail.example.com."),
			rsRR("mail.example.com.", "A", "192.0.2.25")}, ""},
		{"alias.example.com.", "CNAME", 0, []libdns.RR{rsRR("alias.example.com.", "CNAME", "mail.example.com.")}, ""},
		{"mail.example.com.", "AAAA", 0, []libdns.RR{rsRR("mail.example.com.", "AAAA", "2001:db8::25")}, ""},
		{"mail.example.com.", "TXT", 0, nil, ""},           // NODATA
		{"y.example.com.", "A", 0, nil, ""},                // empty non-terminal
		{"nope.example.com.", "A", RcodeNXDomain, nil, ""}, // NXDOMAIN
		{"dangling.example.com.", "A", RcodeNXDomain, []libdns.RR{rsRR("dangling.example.com.", "CNAME", "nowhere.example.com.")}, ""},
		{"big.example.com.", "TXT", 0, []libdns.RR{rsRR("big.example.com.", "TXT", long)}, ""}, // TCP fallback
		{"servfail.example.com.", "TXT", 0, nil, "SERVFAIL"},
		{"refused.example.com.", "A", 0, nil, "REFUSED"},
		{"slow.example.com.", "TXT", 0, nil, "timed out"},
	}
	for _, c := range cases {
		ans, err := r.Lookup(ctx, c.name, c.qtype)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s %s: error %v, want %q", c.name, c.qtype, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %s: %v", c.name, c.qtype, err)
			continue
		}
		if ans.Rcode != c.rcode {
			t.Errorf("%s %s: rcode %d, want %d", c.name, c.qtype, ans.Rcode, c.rcode)
		}
		if d := cmp.Diff(c.want, ans.Records); d != "" {
			t.Errorf("%s %s records (-want +got):\n%s", c.name, c.qtype, d)
		}
	}
	var tcp bool
	for _, q := range srv.Queries() {
		if q.Name == "big.example.com." && q.Net == "tcp" {
			tcp = true
		}
	}
	if !tcp {
		t.Error("truncated answer was not asked again over TCP")
	}
	if got := r.(LookupCounter).Lookups(); got != int64(len(cases)) {
		t.Errorf("Lookups() = %d, want %d", got, len(cases))
	}
}

func TestDNSResolverFallsBackToNextServer(t *testing.T) {
	bad := testdns.Start(t)
	bad.Fail("example.com.", "", testdns.ServFail)
	good := testdns.Start(t, `example.com. 60 IN A 192.0.2.1`)
	r := NewDNSResolver([]string{bad.Addr, good.Addr}, time.Second)
	ans, err := r.Lookup(context.Background(), "example.com.", "A")
	if err != nil || len(ans.Records) != 1 || ans.Records[0].Data != "192.0.2.1" || ans.Records[0].TTL != time.Minute {
		t.Fatalf("got %+v, %v", ans, err)
	}
}

func TestDNSResolverResolvConf(t *testing.T) {
	srv := testdns.Start(t, `example.com. 60 IN A 192.0.2.1`)
	host, port, _ := strings.Cut(srv.Addr, ":")
	old := resolvConf
	t.Cleanup(func() { resolvConf = old })
	resolvConf = t.TempDir() + "/resolv.conf"
	if _, err := NewDNSResolver(nil, time.Second).Lookup(context.Background(), "example.com.", "A"); err == nil || !strings.Contains(err.Error(), "resolv.conf") {
		t.Errorf("missing resolv.conf: error %v", err)
	}
	if err := os.WriteFile(resolvConf, []byte("nameserver "+host+"\noptions timeout:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = port
	// ClientConfigFromFile has no port option: the default port is 53, so
	// only the server list is checked here.
	r := NewDNSResolver(nil, time.Second).(*DNSResolver)
	if len(r.servers) != 1 || r.servers[0] != host+":53" {
		t.Errorf("servers from resolv.conf = %v", r.servers)
	}
}

// rsCountingResolver records the questions it is asked and answers A records.
type rsCountingResolver struct {
	mu    gosync.Mutex
	asked map[string]int
	delay time.Duration
	n     atomic.Int64
}

func (c *rsCountingResolver) Lookup(ctx context.Context, name, qtype string) (Answer, error) {
	c.n.Add(1)
	c.mu.Lock()
	if c.asked == nil {
		c.asked = map[string]int{}
	}
	c.asked[name+" "+qtype]++
	c.mu.Unlock()
	time.Sleep(c.delay)
	if strings.HasPrefix(name, "fail.") {
		return Answer{}, rsErrTest
	}
	return Answer{Records: []libdns.RR{rsRR(name, qtype, "192.0.2.1")}}, nil
}

var rsErrTest = &rsTestError{}

type rsTestError struct{}

func (*rsTestError) Error() string { return "test failure" }

func TestCachingResolverDeduplicates(t *testing.T) {
	next := &rsCountingResolver{delay: 50 * time.Millisecond}
	r := NewCachingResolver(next)
	var wg gosync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, n := range []string{"a.example.", "B.example.", "fail.example."} {
				ans, err := r.Lookup(context.Background(), n, "A")
				if strings.HasPrefix(n, "fail") != (err != nil) {
					t.Errorf("%s: %v", n, err)
				}
				if err == nil && len(ans.Records) != 1 {
					t.Errorf("%s: %+v", n, ans)
				}
			}
		}()
	}
	wg.Wait()
	if got := next.n.Load(); got != 3 {
		t.Errorf("next asked %d times, want 3 (%v)", got, next.asked)
	}
	c := r.(*CachingResolver)
	if c.Lookups() != 3 || c.Hits() != 57 {
		t.Errorf("Lookups %d Hits %d, want 3 and 57", c.Lookups(), c.Hits())
	}
	// A caller that gives up does not poison the cache for the others.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Lookup(ctx, "c.example.", "A"); err == nil {
		t.Error("cancelled lookup succeeded")
	}
	if ans, err := r.Lookup(context.Background(), "c.example.", "A"); err != nil || len(ans.Records) != 1 {
		t.Errorf("after a cancelled caller: %+v, %v", ans, err)
	}
}

func TestZoneResolver(t *testing.T) {
	outside := testdns.Start(t,
		`mail.example.net. 60 IN A 198.51.100.1`,
		`sub.example.com. 60 IN TXT "from the delegated server"`,
	)
	zones := map[string][]libdns.RR{
		"example.com.": {
			rsRR("@", "TXT", "v=spf1 mx -all"),
			rsRR("@", "MX", "10 mail.example.com."),
			rsRR("mail", "A", "192.0.2.25"),
			rsRR("www", "CNAME", "mail.example.com."),
			rsRR("ext", "CNAME", "mail.example.net."),
			rsRR("a.b.c", "TXT", "deep"),
			rsRR("*.wild", "TXT", "wildcard"),
			rsRR("sub", "NS", "ns1.example.net."),
		},
		"example.org": {rsRR("@", "A", "192.0.2.80")},
	}
	next := NewCachingResolver(NewDNSResolver([]string{outside.Addr}, time.Second))
	r := NewZoneResolver(zones, next)
	cases := []struct {
		name, qtype string
		rcode       int
		fromZone    bool
		want        []libdns.RR
	}{
		{"example.com.", "TXT", 0, true, []libdns.RR{rsRR("example.com.", "TXT", "v=spf1 mx -all")}},
		{"example.com.", "MX", 0, true, []libdns.RR{rsRR("example.com.", "MX", "10 mail.example.com.")}},
		{"MAIL.example.com.", "A", 0, true, []libdns.RR{rsRR("mail.example.com.", "A", "192.0.2.25")}},
		{"mail.example.com.", "AAAA", 0, true, nil},
		{"www.example.com.", "A", 0, true, []libdns.RR{rsRR("www.example.com.", "CNAME", "mail.example.com."), rsRR("mail.example.com.", "A", "192.0.2.25")}},
		{"ext.example.com.", "A", 0, false, []libdns.RR{rsRR("ext.example.com.", "CNAME", "mail.example.net."), {Name: "mail.example.net.", Type: "A", TTL: time.Minute, Data: "198.51.100.1"}}},
		{"nope.example.com.", "A", RcodeNXDomain, true, nil},
		{"b.c.example.com.", "TXT", 0, true, nil}, // empty non-terminal
		{"x.wild.example.com.", "TXT", 0, true, []libdns.RR{rsRR("x.wild.example.com.", "TXT", "wildcard")}},
		{"y.x.wild.example.com.", "TXT", 0, true, []libdns.RR{rsRR("y.x.wild.example.com.", "TXT", "wildcard")}},
		{"sub.example.com.", "TXT", 0, false, []libdns.RR{{Name: "sub.example.com.", Type: "TXT", TTL: time.Minute, Data: "from the delegated server"}}},
		{"example.org.", "A", 0, true, []libdns.RR{rsRR("example.org.", "A", "192.0.2.80")}},
		{"mail.example.net.", "A", 0, false, []libdns.RR{{Name: "mail.example.net.", Type: "A", TTL: time.Minute, Data: "198.51.100.1"}}},
	}
	for _, c := range cases {
		ans, err := r.Lookup(context.Background(), c.name, c.qtype)
		if err != nil {
			t.Errorf("%s %s: %v", c.name, c.qtype, err)
			continue
		}
		if ans.Rcode != c.rcode || ans.FromZone != c.fromZone {
			t.Errorf("%s %s: rcode %d fromZone %v, want %d %v", c.name, c.qtype, ans.Rcode, ans.FromZone, c.rcode, c.fromZone)
		}
		if d := cmp.Diff(c.want, ans.Records); d != "" {
			t.Errorf("%s %s (-want +got):\n%s", c.name, c.qtype, d)
		}
	}
	// Only the names outside the zones (and the delegation) reached the server.
	if got := outside.QueryCount(); got != 2 {
		t.Errorf("server asked %d questions, want 2: %v", got, outside.Queries())
	}
	if r.(LookupCounter).Lookups() != 12 {
		t.Errorf("zone answers = %d, want 12", r.(LookupCounter).Lookups())
	}
}

func TestResolverStats(t *testing.T) {
	srv := testdns.Start(t, `a.example.net. 60 IN A 192.0.2.1`)
	r := NewZoneResolver(map[string][]libdns.RR{"example.com": {rsRR("@", "A", "192.0.2.2")}},
		NewCachingResolver(NewDNSResolver([]string{srv.Addr}, time.Second)))
	for _, n := range []string{"example.com.", "a.example.net.", "a.example.net.", "example.com."} {
		if _, err := r.Lookup(context.Background(), n, "A"); err != nil {
			t.Fatal(err)
		}
	}
	want := LookupStats{FromZones: 2, Cached: 1, Asked: 1, Sent: 1}
	if got := ResolverStats(r); got != want {
		t.Errorf("ResolverStats = %+v, want %+v", got, want)
	}
}
