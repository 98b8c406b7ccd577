package check

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
)

// stsDomain is example.com with one mail host and an MTA-STS policy.
func stsDomain(mode string, mx []string) *policy.Domain {
	return &policy.Domain{Domain: "example.com", Zone: "example.com", Provider: "mem", TTL: time.Hour,
		MailHosts: []policy.MailHost{{Name: "mail", IPv4: []string{"203.0.113.25"}}},
		MTASTS:    &policy.MTASTS{Mode: mode, MaxAge: 86400, MX: mx}}
}

// policyServer is an HTTPS server on loopback with a certificate from ca
// for the names given; it serves body with status at the policy path.
type policyServer struct {
	*httptest.Server
	mu     stdsync.Mutex
	status int
	body   string
}

func startPolicyServer(t *testing.T, ca *testCA, names ...string) *policyServer {
	t.Helper()
	ps := &policyServer{status: http.StatusOK}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ps.mu.Lock()
		status, body := ps.status, ps.body
		ps.mu.Unlock()
		if r.URL.Path != "/.well-known/mta-sts.txt" || r.Host != "mta-sts.example.com" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	cert, _ := ca.leaf(t, names...)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the bad-certificate cases fail handshakes on purpose
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ps.Server = srv
	return ps
}

func (ps *policyServer) serve(status int, body string) {
	ps.mu.Lock()
	ps.status, ps.body = status, body
	ps.mu.Unlock()
}

func TestCheckMTASTSLive(t *testing.T) {
	ca := newTestCA(t)
	srv := startPolicyServer(t, ca, "mta-sts.example.com")
	addr := srv.Listener.Addr().String()
	d := stsDomain("enforce", nil)
	want := policy.MTASTSPolicyText(d)
	wantRec := policy.MTASTSRecord(want)
	old := stsDomain("testing", nil)
	oldText := policy.MTASTSPolicyText(old)
	oldRec := policy.MTASTSRecord(oldText)
	zone := func(rec string) []libdns.RR {
		return []libdns.RR{
			{Name: "@", Type: "MX", TTL: time.Hour, Data: "10 mail.example.com."},
			{Name: "_mta-sts", Type: "TXT", TTL: time.Hour, Data: rec},
		}
	}
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedAddr := closed.Addr().String()
	closed.Close()
	url := policy.MTASTSURL("example.com")

	for _, tc := range []struct {
		name   string
		status int
		body   string
		rec    string
		client *http.Client
		live   bool
		want   []maWant
	}{
		{"good", 200, want, wantRec, nil, true, nil},
		{"good with LF lines", 200, strings.ReplaceAll(want, "\r\n", "\n"), wantRec, nil, true, nil},
		{"stale", 200, oldText, wantRec, nil, true, []maWant{{SevError, url, "is stale"}}},
		{"missing", 404, "not found", wantRec, nil, true, []maWant{{SevError, url, "answered HTTP 404"}}},
		{"invalid", 200, "version: STSv1\nmode: enforce\n", wantRec, nil, true, []maWant{{SevError, url, "invalid"}}},
		{"id unchanged while the text changed", 200, want, oldRec, nil, true,
			[]maWant{{SevError, "_mta-sts.example.com.", "is still " + policy.MTASTSID(oldText)}}},
		{"untrusted certificate", 200, want, wantRec, loopbackClient(addr, newTestCA(t).pool), true,
			[]maWant{{SevError, url, "does not validate"}}},
		{"unreachable", 200, want, wantRec, loopbackClient(closedAddr, ca.pool), true,
			[]maWant{{SevWarning, url, "could not verify"}}},
		{"offline", 200, want, wantRec, nil, false, []maWant{{SevInfo, "", SkippedMessage}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.serve(tc.status, tc.body)
			client := tc.client
			if client == nil {
				client = loopbackClient(addr, ca.pool)
			}
			env := &Env{Live: tc.live, Zone: zone(tc.rec), HTTPClient: client}
			maCheck(t, tc.name, CheckMTASTS(context.Background(), env, d), tc.want)
		})
	}

	t.Run("certificate for another name", func(t *testing.T) {
		other := startPolicyServer(t, ca, "www.example.com")
		other.serve(200, want)
		env := &Env{Live: true, Zone: zone(wantRec), HTTPClient: loopbackClient(other.Listener.Addr().String(), ca.pool)}
		maCheck(t, "wrong name", CheckMTASTS(context.Background(), env, d),
			[]maWant{{SevError, url, "does not validate"}})
	})
	t.Run("two records", func(t *testing.T) {
		srv.serve(200, want)
		z := append(zone(wantRec), libdns.RR{Name: "_mta-sts", Type: "TXT", TTL: time.Hour, Data: oldRec})
		env := &Env{Live: true, Zone: z, HTTPClient: loopbackClient(addr, ca.pool)}
		maCheck(t, "two records", CheckMTASTS(context.Background(), env, d), []maWant{
			{SevError, "_mta-sts.example.com.", "2 MTA-STS records"},
			{SevError, "_mta-sts.example.com.", "is still " + policy.MTASTSID(oldText)},
		})
	})
}

func TestCheckMTASTSMXCoverage(t *testing.T) {
	z := []libdns.RR{
		{Name: "@", Type: "MX", TTL: time.Hour, Data: "10 mail.example.com."},
		{Name: "@", Type: "MX", TTL: time.Hour, Data: "20 backup.example.net."},
	}
	for _, tc := range []struct {
		mode string
		mx   []string
		want []maWant
	}{
		{"enforce", []string{"mail.example.com"}, []maWant{{SevError, "backup.example.net", "matches no mx pattern"}}},
		{"testing", []string{"mail.example.com"}, []maWant{{SevWarning, "backup.example.net", "matches no mx pattern"}}},
		{"none", []string{"mail.example.com"}, nil},
		{"enforce", []string{"*.example.com", "*.example.net"}, nil},
		{"enforce", []string{"*.example.com"}, []maWant{{SevError, "backup.example.net", "matches no mx pattern"}}},
	} {
		env := &Env{Zone: z}
		got := CheckMTASTS(context.Background(), env, stsDomain(tc.mode, tc.mx))
		var fs []Finding
		for _, f := range got {
			if f.Severity != SevInfo {
				fs = append(fs, f)
			}
		}
		maCheck(t, tc.mode+" "+strings.Join(tc.mx, ","), fs, tc.want)
	}
}

// TestDialResolved: the default client looks names up through the run's
// resolver (names in the zones read from them) and never dials a
// documentation address.
func TestDialResolved(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	r := NewZoneResolver(map[string][]libdns.RR{"example.com": {
		{Name: "mta-sts", Type: "A", TTL: time.Hour, Data: "127.0.0.1"},
		{Name: "www", Type: "A", TTL: time.Hour, Data: "203.0.113.80"},
	}}, nil)
	c, err := dialResolved(context.Background(), r, "mta-sts.example.com", port)
	if err != nil {
		t.Fatalf("dial through the zone: %v", err)
	}
	c.Close()
	start := time.Now()
	_, err = dialResolved(context.Background(), r, "www.example.com", "443")
	if err == nil || !strings.Contains(err.Error(), "documentation address") {
		t.Errorf("dial of a documentation address: %v", err)
	}
	if time.Since(start) > time.Second {
		t.Errorf("the documentation address was dialled (%s)", time.Since(start))
	}
	if _, err := dialResolved(context.Background(), r, "nohost.example.com", "443"); err == nil || !strings.Contains(err.Error(), "no address") {
		t.Errorf("dial of a name without address: %v", err)
	}
	// The whole check on such a host is a warning: could not verify.
	env := &Env{Live: true, Resolver: r, Zone: []libdns.RR{{Name: "@", Type: "MX", TTL: time.Hour, Data: "10 mail.example.com."}}}
	d := stsDomain("enforce", nil)
	d.Domain = "example.com"
	fs := CheckMTASTS(context.Background(), &Env{Live: true, Resolver: NewZoneResolver(map[string][]libdns.RR{"example.com": {
		{Name: "mta-sts", Type: "A", TTL: time.Hour, Data: "203.0.113.80"}}}, nil), Zone: env.Zone}, d)
	maCheck(t, "documentation address", fs, []maWant{{SevWarning, policy.MTASTSURL("example.com"), "could not verify"}})
}
