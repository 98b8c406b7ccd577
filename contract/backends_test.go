package contract

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/libdns/libdns"
	"github.com/miekg/dns"

	cffake "github.com/maildns/maildns/internal/fakes/cloudflare"
	dsfake "github.com/maildns/maildns/internal/fakes/desec"
	r53fake "github.com/maildns/maildns/internal/fakes/route53"
	"github.com/maildns/maildns/internal/testbind"
	"github.com/maildns/maildns/providers"
	_ "github.com/maildns/maildns/providers/cloudflare"
	_ "github.com/maildns/maildns/providers/desec"
	_ "github.com/maildns/maildns/providers/rfc2136"
	_ "github.com/maildns/maildns/providers/route53"
	_ "github.com/maildns/maildns/providers/zonefile"
)

// zoneSeed is a zone a scenario starts with and the foreign records in it
// (canonical form, names relative to the zone), written by each backend's
// own means, as another tool would have.
type zoneSeed struct {
	name string // lower case, no trailing dot
	recs []libdns.RR
	// raw, when set, is the zone file the DNS servers load instead of recs
	// (data as people write it: TXT split at odd places, mixed case);
	// recs then lists the same records canonically, for the other
	// backends.
	raw string
}

// fixture is one running backend holding a scenario's zones.
type fixture struct {
	// yaml is the provider's entry in maildns.yaml, a YAML flow mapping;
	// files are written next to maildns.yaml (secrets it references with
	// ${file:...}).
	yaml  string
	files map[string]string
	// typ and settings build the backend's own reader (no wrapper).
	typ      string
	settings map[string]string
	// add writes foreign records into a zone by the backend's own means.
	add func(t *testing.T, zone string, rrs ...libdns.RR)
	// wire is the number of requests sent on the wire so far (for zone
	// files: the number of zone file rewrites).
	wire func() int64
	// wireLog describes the requests since the last reset, for the table;
	// reset starts a new count.
	wireLog func() string
	reset   func()
	// failNext makes the next n requests fail with a transient error (HTTP
	// 503); nil when the backend cannot be made to fail.
	failNext func(n int)
	// xferYAML is the provider's entry with a key the server lets
	// transfer the zones but not update them (rfc2136 only).
	xferYAML string
	// query asks the DNS server that serves the zones; nil when none does.
	query func(t *testing.T, name string, qtype uint16) []dns.RR
	// counts and traffic detail the DNS traffic since the last reset
	// (rfc2136 only).
	counts  func() testbind.Counts
	traffic func() testbind.Traffic
	// server is the DNS server (rfc2136 only).
	server *testbind.Server
}

// backend starts a fixture for a scenario.
type backend struct {
	name  string
	start func(t *testing.T, zones []zoneSeed) *fixture
}

var backends = []backend{
	{"zonefile", startZonefile},
	{"bind", startServer(testbind.BIND)},
	{"knot", startServer(testbind.Knot)},
	{"powerdns", startServer(testbind.PowerDNS)},
	{"cloudflare", startCloudflare},
	{"route53", startRoute53},
	{"desec", startDesec},
}

// TestMain routes the Cloudflare backend's requests to the fakes and keeps
// the AWS SDK away from the machine's AWS configuration.
func TestMain(m *testing.M) {
	// The Cloudflare backend sends its requests through an http.Client
	// with the default transport to api.cloudflare.com; each fake is
	// found by the API token its fixture's provider uses.
	http.DefaultTransport = cfRouter{base: http.DefaultTransport}
	for _, k := range []string{"AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_ROUTE_53"} {
		os.Unsetenv(k)
	}
	os.Setenv("AWS_CONFIG_FILE", os.DevNull)
	os.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	os.Exit(m.Run())
}

// cfFakes maps an API token to the Cloudflare fake that accepts it.
var cfFakes stdsync.Map

type cfRouter struct{ base http.RoundTripper }

func (r cfRouter) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != "api.cloudflare.com" {
		return r.base.RoundTrip(req)
	}
	token := strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer ")
	f, ok := cfFakes.Load(token)
	if !ok {
		return nil, fmt.Errorf("contract: no Cloudflare fake for this token (a request to %s left the test)", req.URL.Host)
	}
	return f.(*cffake.Server).Client().Transport.RoundTrip(req)
}

func randomToken(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// toDNS turns a canonical record into a miekg/dns record (TXT split into
// 255-byte strings).
func toDNS(rr libdns.RR, zone string) (dns.RR, error) {
	name := providers.AbsoluteName(rr.Name, zone+".")
	ttl := uint32(rr.TTL / time.Second)
	if rr.Type == "TXT" {
		// package dns keeps TXT strings escaped as in a zone file: a
		// backslash is written as two.
		var txt []string
		for _, s := range providers.SplitTXT(rr.Data) {
			txt = append(txt, strings.ReplaceAll(s, `\`, `\\`))
		}
		return &dns.TXT{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: ttl}, Txt: txt}, nil
	}
	return dns.NewRR(fmt.Sprintf("%s %d IN %s %s", name, ttl, rr.Type, rr.Data))
}

func zoneLines(t *testing.T, zone string, recs []libdns.RR) string {
	t.Helper()
	var b strings.Builder
	for _, rr := range recs {
		d, err := toDNS(rr, zone)
		if err != nil {
			t.Fatalf("seed %s %s in %s: %v", rr.Name, rr.Type, zone, err)
		}
		b.WriteString(d.String() + "\n")
	}
	return b.String()
}

// readBackend reads a zone through a new, unwrapped provider of the
// fixture's type: the backend's own read, outside the engine.
func readBackend(t *testing.T, f *fixture, zone string) []libdns.RR {
	t.Helper()
	out, err := readBackendErr(f, zone)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// readBackendErr is readBackend for goroutines other than the test's.
func readBackendErr(f *fixture, zone string) ([]libdns.RR, error) {
	p, err := providers.New(f.typ, &providers.Settings{Name: "reader", Values: maps.Clone(f.settings)})
	if err != nil {
		return nil, fmt.Errorf("building a %s reader: %w", f.typ, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	recs, err := p.GetRecords(ctx, zone+".")
	if err != nil {
		return nil, fmt.Errorf("%s: reading zone %s: %w", f.typ, zone, err)
	}
	// Backends return records in the canonical form: the data is taken as
	// it comes (normalising TXT again would undo a backslash in the text).
	out := make([]libdns.RR, 0, len(recs))
	for _, r := range recs {
		rr := r.RR()
		rr.Name = providers.RelativeName(rr.Name, zone+".")
		out = append(out, rr)
	}
	return out, nil
}

// unescapeTXT undoes the escapes package dns keeps in TXT strings
// (" \ \DDD).
func unescapeTXT(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			b.WriteByte((s[i+1]-'0')*100 + (s[i+2]-'0')*10 + s[i+3] - '0')
			i += 3
			continue
		}
		b.WriteByte(s[i+1])
		i++
	}
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// --- zone files ---

func zonefileHeader(zone string) string {
	return fmt.Sprintf("$ORIGIN %[1]s.\n$TTL 3600\n@ IN SOA ns1.%[1]s. hostmaster.%[1]s. 1 7200 3600 1209600 3600\n@ IN NS ns1.%[1]s.\n", zone)
}

func startZonefile(t *testing.T, zones []zoneSeed) *fixture {
	dir := t.TempDir()
	path := func(zone string) string { return filepath.Join(dir, zone+".zone") }
	for _, z := range zones {
		if err := os.WriteFile(path(z.name), []byte(zonefileHeader(z.name)+zoneLines(t, z.name, z.recs)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return &fixture{
		yaml:     fmt.Sprintf("{type: zonefile, directory: %q}", dir),
		typ:      "zonefile",
		settings: map[string]string{"directory": dir},
		add: func(t *testing.T, zone string, rrs ...libdns.RR) {
			t.Helper()
			f, err := os.OpenFile(path(zone), os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteString(zoneLines(t, zone, rrs)); err != nil {
				t.Fatal(err)
			}
		},
		// No wire: the zone file rewrites instead (each bumps the SOA
		// serial by one from the 1 written above).
		wire:    func() int64 { return int64(zonefileWrites(dir, zones)) },
		wireLog: func() string { return "zone file rewrites" },
		reset:   func() {},
	}
}

// zonefileWrites sums the SOA serial increments of the zone files.
func zonefileWrites(dir string, zones []zoneSeed) int {
	n := 0
	for _, z := range zones {
		data, err := os.ReadFile(filepath.Join(dir, z.name+".zone"))
		if err != nil {
			continue
		}
		zp := dns.NewZoneParser(strings.NewReader(string(data)), z.name+".", "")
		for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
			if soa, isSOA := rr.(*dns.SOA); isSOA {
				n += int(soa.Serial) - 1
			}
		}
	}
	return n
}

// --- RFC 2136 on BIND 9, Knot DNS and PowerDNS ---

// startServer starts the fixture of the rfc2136 backend on a server of
// kind (testbind.BIND, Knot or PowerDNS).
func startServer(kind string) func(t *testing.T, zones []zoneSeed) *fixture {
	return func(t *testing.T, zones []zoneSeed) *fixture { return startRFC2136(t, kind, zones) }
}

func startRFC2136(t *testing.T, kind string, zones []zoneSeed) *fixture {
	var tz []testbind.Zone
	for _, z := range zones {
		content := z.raw
		if content == "" {
			content = testbind.MinimalZone(z.name) + zoneLines(t, z.name, z.recs)
		}
		tz = append(tz, testbind.Zone{Name: z.name, Content: content})
	}
	s := testbind.StartKind(t, kind, tz...)
	proxy := s.CountingProxy(t)
	return &fixture{
		yaml: fmt.Sprintf("{type: rfc2136, server: %q, key_name: %s, key_algorithm: %s, key: \"${file:tsig.key}\"}",
			proxy.Addr, s.KeyName, s.KeyAlg),
		files: map[string]string{"tsig.key": s.KeySecret + "\n", "tsig-xfer.key": s.XferKeySecret + "\n"},
		xferYAML: fmt.Sprintf("{type: rfc2136, server: %q, key_name: %s, key_algorithm: %s, key: \"${file:tsig-xfer.key}\"}",
			proxy.Addr, s.XferKeyName, s.KeyAlg),
		typ: "rfc2136",
		settings: map[string]string{"server": s.Addr, "key_name": s.KeyName,
			"key_algorithm": s.KeyAlg, "key": s.KeySecret},
		add: func(t *testing.T, zone string, rrs ...libdns.RR) {
			t.Helper()
			var ins []dns.RR
			for _, rr := range rrs {
				d, err := toDNS(rr, zone)
				if err != nil {
					t.Fatal(err)
				}
				ins = append(ins, d)
			}
			keyName := dns.Fqdn(s.KeyName)
			m := new(dns.Msg)
			m.SetUpdate(zone + ".")
			m.Insert(ins)
			m.SetTsig(keyName, dns.HmacSHA256, 300, time.Now().Unix())
			c := &dns.Client{Net: "tcp", TsigSecret: map[string]string{keyName: s.KeySecret}, Timeout: 5 * time.Second}
			r, _, err := c.Exchange(m, s.Addr)
			if err != nil {
				t.Fatalf("UPDATE of %s: %v", zone, err)
			}
			if r.Rcode != dns.RcodeSuccess {
				t.Fatalf("UPDATE of %s: %s", zone, dns.RcodeToString[r.Rcode])
			}
		},
		wire: func() int64 { return int64(proxy.Counts().Requests) },
		wireLog: func() string {
			c := proxy.Counts()
			return fmt.Sprintf("%d msgs/%d conns, %d answers", c.Requests, c.Conns, c.Responses)
		},
		reset:   proxy.Reset,
		counts:  proxy.Counts,
		traffic: proxy.Traffic,
		server:  s,
		query: func(t *testing.T, name string, qtype uint16) []dns.RR {
			t.Helper()
			r := s.Query(t, name, qtype)
			if r.Rcode != dns.RcodeSuccess {
				t.Fatalf("query %s %s: %s", name, dns.TypeToString[qtype], dns.RcodeToString[r.Rcode])
			}
			return r.Answer
		},
	}
}

// --- Cloudflare fake ---

// cfQuote writes TXT text as Cloudflare's dashboard stores it: quoted
// strings, a quote or backslash escaped.
func cfQuote(text string) string {
	var parts []string
	for _, s := range providers.SplitTXT(text) {
		s = strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
		parts = append(parts, `"`+s+`"`)
	}
	return strings.Join(parts, " ")
}

func cfRecord(rr libdns.RR) cffake.Record {
	r := cffake.Record{Name: rr.Name, Type: rr.Type, Content: rr.Data, TTL: int(rr.TTL / time.Second)}
	switch rr.Type {
	case "TXT":
		r.Content = cfQuote(rr.Data)
	case "MX":
		var pref uint16
		var target string
		fmt.Sscanf(rr.Data, "%d %s", &pref, &target)
		r.Priority = &pref
		r.Content = strings.TrimSuffix(target, ".")
	case "CNAME", "NS", "PTR":
		r.Content = strings.TrimSuffix(rr.Data, ".")
	}
	return r
}

func startCloudflare(t *testing.T, zones []zoneSeed) *fixture {
	f := cffake.New()
	t.Cleanup(f.Close)
	f.MaxPerPage = 5 // small pages: every zone read is paginated
	token := randomToken("cf")
	f.Token = token
	cfFakes.Store(token, f)
	t.Cleanup(func() { cfFakes.Delete(token) })
	for _, z := range zones {
		f.AddZone(z.name)
		for _, rr := range z.recs {
			f.Put(z.name, cfRecord(rr))
		}
	}
	return &fixture{
		yaml:     `{type: cloudflare, api_token: "${file:cf.token}", rate_limit: 0}`,
		files:    map[string]string{"cf.token": token + "\n"},
		typ:      "cloudflare",
		settings: map[string]string{"api_token": token},
		add: func(t *testing.T, zone string, rrs ...libdns.RR) {
			for _, rr := range rrs {
				f.Put(zone, cfRecord(rr))
			}
		},
		wire:     func() int64 { return int64(f.Total()) },
		wireLog:  func() string { return callLog(f.CallLog()) },
		reset:    f.ResetCalls,
		failNext: func(n int) { f.Fail(n, http.StatusServiceUnavailable, "") },
	}
}

// --- Route 53 fake ---

func r53Value(rr libdns.RR) string {
	if rr.Type != "TXT" {
		return rr.Data
	}
	return cfQuote(rr.Data)
}

func startRoute53(t *testing.T, zones []zoneSeed) *fixture {
	f := r53fake.New()
	t.Cleanup(f.Close)
	f.MaxItems = 5 // small pages: every zone read is paginated
	for _, z := range zones {
		f.AddZone(z.name)
		type key struct{ name, typ string }
		sets := map[key]*r53fake.RRset{}
		var order []key
		for _, rr := range z.recs {
			k := key{rr.Name, rr.Type}
			if sets[k] == nil {
				sets[k] = &r53fake.RRset{Name: providers.AbsoluteName(rr.Name, z.name), Type: rr.Type, TTL: int64(rr.TTL / time.Second)}
				order = append(order, k)
			}
			sets[k].Values = append(sets[k].Values, r53Value(rr))
		}
		for _, k := range order {
			f.Put(z.name, *sets[k])
		}
	}
	settings := map[string]string{"region": "us-east-1", "access_key_id": "AKIDCONTRACTTEST",
		"secret_access_key": "contract-test-secret", "endpoint": f.URL()}
	fx := &fixture{
		yaml: fmt.Sprintf(`{type: route53, region: us-east-1, access_key_id: AKIDCONTRACTTEST, secret_access_key: "${file:aws.secret}", endpoint: %q, rate_limit: 0}`,
			f.URL()),
		files:    map[string]string{"aws.secret": "contract-test-secret\n"},
		typ:      "route53",
		settings: settings,
		wire:     func() int64 { return int64(f.Total()) },
		wireLog:  func() string { return callLog(f.CallLog()) },
		reset:    f.ResetCalls,
		failNext: func(n int) { f.Fail(n, http.StatusServiceUnavailable, "ServiceUnavailable") },
	}
	// Another tool adds a value to an RRset as Route 53 allows: the set is
	// rewritten whole (here through an unwrapped backend, outside the engine).
	fx.add = func(t *testing.T, zone string, rrs ...libdns.RR) {
		t.Helper()
		p, err := providers.New("route53", &providers.Settings{Name: "other-tool", Values: maps.Clone(settings)})
		if err != nil {
			t.Fatal(err)
		}
		recs := make([]libdns.Record, len(rrs))
		for i, rr := range rrs {
			recs[i] = rr
		}
		if _, err := p.AppendRecords(context.Background(), zone+".", recs); err != nil {
			t.Fatalf("adding foreign records to %s: %v", zone, err)
		}
	}
	return fx
}

// --- deSEC fake ---

// dsRecord writes canonical data as deSEC holds it (TXT quoted, split).
func dsRecord(rr libdns.RR) string {
	if rr.Type != "TXT" {
		return rr.Data
	}
	return cfQuote(rr.Data)
}

func startDesec(t *testing.T, zones []zoneSeed) *fixture {
	f := dsfake.New()
	t.Cleanup(f.Close)
	f.PageSize = 5   // small pages: every zone read is paginated
	f.MinimumTTL = 0 // the scenarios use TTLs of 300 and 600 (deSEC's default minimum is 3600)
	token := randomToken("ds")
	f.Token = token
	// Another tool adds a value to an RRset: deSEC rewrites the RRset whole.
	add := func(zone string, rrs ...libdns.RR) {
		for _, rr := range rrs {
			sub := providers.RelativeName(rr.Name, zone+".")
			if sub == "@" {
				sub = ""
			}
			set := dsfake.RRset{Subname: sub, Type: rr.Type, TTL: int(rr.TTL / time.Second)}
			for _, have := range f.RRsets(zone) {
				if have.Subname == sub && have.Type == rr.Type {
					set.Records = have.Records
				}
			}
			set.Records = append(set.Records, dsRecord(rr))
			f.Put(zone, set)
		}
	}
	for _, z := range zones {
		f.AddZone(z.name)
		add(z.name, z.recs...)
	}
	return &fixture{
		yaml:     fmt.Sprintf(`{type: desec, token: "${file:desec.token}", base_url: %q, rate_limit: 0}`, f.URL()),
		files:    map[string]string{"desec.token": token + "\n"},
		typ:      "desec",
		settings: map[string]string{"token": token, "base_url": f.URL()},
		add: func(t *testing.T, zone string, rrs ...libdns.RR) {
			add(zone, rrs...)
		},
		wire:     func() int64 { return int64(f.Total()) },
		wireLog:  func() string { return callLog(f.CallLog()) },
		reset:    f.ResetCalls,
		failNext: func(n int) { f.Fail(n, http.StatusServiceUnavailable, "") },
	}
}

// callLog summarises a fake's request log: "2 GET dns_records, 1 POST ...".
func callLog(log []string) string {
	n := map[string]int{}
	for _, k := range log {
		n[k]++
	}
	keys := slices.Sorted(maps.Keys(n))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", n[k], k))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
