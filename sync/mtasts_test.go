package sync

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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
			env := &CheckEnv{Live: tc.live, Zone: zone(tc.rec), HTTPClient: client}
			maCheck(t, tc.name, CheckMTASTS(context.Background(), env, d), tc.want)
		})
	}

	t.Run("certificate for another name", func(t *testing.T) {
		other := startPolicyServer(t, ca, "www.example.com")
		other.serve(200, want)
		env := &CheckEnv{Live: true, Zone: zone(wantRec), HTTPClient: loopbackClient(other.Listener.Addr().String(), ca.pool)}
		maCheck(t, "wrong name", CheckMTASTS(context.Background(), env, d),
			[]maWant{{SevError, url, "does not validate"}})
	})
	t.Run("two records", func(t *testing.T) {
		srv.serve(200, want)
		z := append(zone(wantRec), libdns.RR{Name: "_mta-sts", Type: "TXT", TTL: time.Hour, Data: oldRec})
		env := &CheckEnv{Live: true, Zone: z, HTTPClient: loopbackClient(addr, ca.pool)}
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
		env := &CheckEnv{Zone: z}
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
	env := &CheckEnv{Live: true, Resolver: r, Zone: []libdns.RR{{Name: "@", Type: "MX", TTL: time.Hour, Data: "10 mail.example.com."}}}
	d := stsDomain("enforce", nil)
	d.Domain = "example.com"
	fs := CheckMTASTS(context.Background(), &CheckEnv{Live: true, Resolver: NewZoneResolver(map[string][]libdns.RR{"example.com": {
		{Name: "mta-sts", Type: "A", TTL: time.Hour, Data: "203.0.113.80"}}}, nil), Zone: env.Zone}, d)
	maCheck(t, "documentation address", fs, []maWant{{SevWarning, policy.MTASTSURL("example.com"), "could not verify"}})
}

// stsEngine is an engine over the fake store with d compiled for real.
func stsEngine(t *testing.T, d *policy.Domain, zone []libdns.RR) (*Engine, *fakeStore) {
	t.Helper()
	e, st, _ := testEngine(t, map[string][]libdns.RR{"example.com.": zone}, map[string][]policy.RRset{"example.com": nil})
	e.Config.Domains = []*policy.Domain{d}
	e.Compile = policy.Compile
	return e, st
}

func TestMTASTSPolicyFile(t *testing.T) {
	dir := t.TempDir()
	d := stsDomain("enforce", nil)
	d.MTASTS.PolicyDir = dir
	d.Pos = policy.Pos{File: "policies/example.com.yaml", Line: 1}
	zone := []libdns.RR{
		{Name: "mail", Type: "A", TTL: time.Hour, Data: "203.0.113.25"},
		{Name: "@", Type: "MX", TTL: time.Hour, Data: "10 mail.example.com."},
	}
	e, st := stsEngine(t, d, zone)
	path := filepath.Join(dir, "example.com", ".well-known", "mta-sts.txt")
	want := policy.MTASTSPolicyText(d)
	ctx := context.Background()

	plan, err := e.Run(ctx, Options{Mode: ModeDryRun})
	if err != nil {
		t.Fatal(err)
	}
	zp := plan.Zones[0]
	if zp.Status != StatusDrift || len(zp.Files) != 1 || zp.Files[0].Action != ActionCreate || zp.Files[0].Path != path || zp.Files[0].After != want {
		t.Fatalf("dry-run plan %+v", zp)
	}
	if plan.Summary.Create != 2 { // the file and _mta-sts TXT
		t.Errorf("summary %+v, want 2 creates", plan.Summary)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("dry-run wrote the policy file: %v", err)
	}
	var text bytes.Buffer
	_ = WriteText(&text, plan, false)
	if !strings.Contains(text.String(), "+ file  "+path+"  (MTA-STS policy, mode enforce)") {
		t.Errorf("text plan lacks the file:\n%s", text.String())
	}
	var js bytes.Buffer
	_ = WriteJSON(&js, plan)
	if !strings.Contains(js.String(), `"files": [`) {
		t.Errorf("JSON plan lacks files:\n%s", js.String())
	}

	plan, err = e.Run(ctx, Options{Mode: ModeOnce})
	if err != nil || plan.Zones[0].Status != StatusApplied {
		t.Fatalf("once: %v %+v", err, plan.Zones[0])
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != want {
		t.Fatalf("policy file %q (%v), want %q", got, err, want)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("policy file mode %v, want 0644 (the web server reads it)", fi.Mode())
	}
	var rec string
	for _, rr := range st.records("example.com.") {
		if rr.Name == "_mta-sts" {
			rec = rr.Data
		}
	}
	if rec != policy.MTASTSRecord(want) {
		t.Errorf("_mta-sts TXT %q, want %q", rec, policy.MTASTSRecord(want))
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("files beside the policy: %v (a temporary file left?)", entries)
	}
	plan, _ = e.Run(ctx, Options{Mode: ModeDryRun})
	if plan.Zones[0].Status != StatusInSync || len(plan.Zones[0].Files) != 0 {
		t.Errorf("after once: %+v", plan.Zones[0])
	}

	// The mode going down is weakening: refused, nothing written.
	d.MTASTS.Mode = "testing"
	plan, _ = e.Run(ctx, Options{Mode: ModeOnce})
	if plan.Zones[0].Status != StatusRefused {
		t.Errorf("enforce → testing: status %s, want refused", plan.Zones[0].Status)
	}
	found := false
	for _, f := range plan.Findings {
		if f.Kind == "safety" && f.Severity == SevError && strings.Contains(f.Message, "lowers the mode from enforce to testing") && strings.Contains(f.Message, "--allow-weakening") {
			found = true
		}
	}
	if !found {
		t.Errorf("no safety error for enforce → testing: %+v", plan.Findings)
	}
	if got, _ := os.ReadFile(path); string(got) != want {
		t.Errorf("a refused run rewrote the policy: %q", got)
	}
	plan, _ = e.Run(ctx, Options{Mode: ModeDryRun})
	if plan.Zones[0].Status != StatusDrift || len(plan.Zones[0].Files) != 1 || plan.Zones[0].Files[0].Action != ActionUpdate {
		t.Errorf("dry-run after the refusal: %+v", plan.Zones[0])
	}
	text.Reset()
	_ = WriteText(&text, plan, false)
	if !strings.Contains(text.String(), "~ file  "+path+"  (MTA-STS policy, mode enforce → testing)") {
		t.Errorf("text plan lacks the mode change:\n%s", text.String())
	}
	plan, _ = e.Run(ctx, Options{Mode: ModeOnce, AllowWeakening: true})
	if plan.Zones[0].Status != StatusApplied {
		t.Errorf("with --allow-weakening: %+v %+v", plan.Zones[0], plan.Findings)
	}
	if got, _ := os.ReadFile(path); string(got) != policy.MTASTSPolicyText(d) {
		t.Errorf("policy file %q, want the testing one", got)
	}
	// Going up is not weakening.
	d.MTASTS.Mode = "enforce"
	plan, _ = e.Run(ctx, Options{Mode: ModeOnce})
	if plan.Zones[0].Status != StatusApplied {
		t.Errorf("testing → enforce: %+v %+v", plan.Zones[0], plan.Findings)
	}
}

// TestMTASTSPolicyFileUnwritable: a policy file that cannot be written
// leaves the records alone (the file goes first).
func TestMTASTSPolicyFileUnwritable(t *testing.T) {
	dir := t.TempDir()
	d := stsDomain("enforce", nil)
	d.MTASTS.PolicyDir = dir
	// A file where the domain's directory must go.
	if err := os.WriteFile(filepath.Join(dir, "example.com"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	e, st := stsEngine(t, d, []libdns.RR{{Name: "@", Type: "MX", TTL: time.Hour, Data: "10 mail.example.com."}})
	plan, err := e.Run(context.Background(), Options{Mode: ModeOnce})
	if err == nil || plan.Zones[0].Status != StatusError || !strings.Contains(plan.Zones[0].Error, "MTA-STS policy") {
		t.Fatalf("err %v, zone %+v", err, plan.Zones[0])
	}
	if st.appends+st.deletes+st.sets+st.replaces > 0 {
		t.Errorf("records written although the policy file was not")
	}
}

// TestMTASTSJournalRestore: the journal entry of a run that writes the
// policy file records its text before, and restore puts it back (a file
// the run created is removed).
func TestMTASTSJournalRestore(t *testing.T) {
	dir := t.TempDir()
	d := stsDomain("enforce", nil)
	d.MTASTS.PolicyDir = dir
	e, st := stsEngine(t, d, []libdns.RR{
		{Name: "mail", Type: "A", TTL: time.Hour, Data: "203.0.113.25"},
		{Name: "@", Type: "MX", TTL: time.Hour, Data: "10 mail.example.com."},
	})
	e.Config.StateDir = filepath.Join(t.TempDir(), "state")
	path := policy.MTASTSPolicyFile(d)
	ctx := context.Background()
	enforce := policy.MTASTSPolicyText(d)
	if plan, err := e.Run(ctx, Options{Mode: ModeOnce}); err != nil {
		t.Fatal(err, plan)
	}
	d.MTASTS.Mode = "testing"
	if plan, err := e.Run(ctx, Options{Mode: ModeOnce, AllowWeakening: true}); err != nil || plan.Zones[0].Status != StatusApplied {
		t.Fatal(err, plan.Zones[0])
	}
	entries, err := ListJournal(e.Config.StateDir)
	if err != nil || len(entries) != 2 {
		t.Fatalf("journal %v %v, want 2 entries", entries, err)
	}
	// Entries of the same second sort by their random suffix: tell them
	// apart by what they did.
	if first, _ := ReadJournal(entries[0]); len(first.Files) == 1 && first.Files[0].Action == ActionUpdate {
		entries[0], entries[1] = entries[1], entries[0]
	}
	second, _ := ReadJournal(entries[1])
	if len(second.Files) != 1 || second.Files[0].Before != enforce || second.Files[0].Path != path {
		t.Fatalf("journal entry files %+v, want the enforce text before", second.Files)
	}
	txt := func() string {
		for _, rr := range st.records("example.com.") {
			if rr.Name == "_mta-sts" {
				return rr.Data
			}
		}
		return ""
	}

	// Restoring testing → enforce is not weakening; the dry run writes nothing.
	plan, err := e.Restore(ctx, entries[1], Options{Mode: ModeDryRun})
	if err != nil || len(plan.Zones[0].Files) != 1 || plan.Zones[0].Files[0].After != enforce {
		t.Fatalf("restore dry-run: %v %+v", err, plan.Zones[0])
	}
	if got, _ := os.ReadFile(path); string(got) == enforce {
		t.Fatal("restore --dry-run wrote the file")
	}
	if plan, err = e.Restore(ctx, entries[1], Options{Mode: ModeOnce}); err != nil || plan.Zones[0].Status != StatusApplied {
		t.Fatalf("restore: %v %+v %+v", err, plan.Zones[0], plan.Findings)
	}
	if got, _ := os.ReadFile(path); string(got) != enforce {
		t.Errorf("restored policy %q, want %q", got, enforce)
	}
	if got := txt(); got != policy.MTASTSRecord(enforce) {
		t.Errorf("restored _mta-sts %q, want %q", got, policy.MTASTSRecord(enforce))
	}
	// The first entry created the file: restoring it removes the file and
	// the record (removing an MTA-STS record is not weakening by itself).
	if plan, err = e.Restore(ctx, entries[0], Options{Mode: ModeOnce}); err != nil || plan.Zones[0].Status != StatusApplied {
		t.Fatalf("restore of the first entry: %v %+v %+v", err, plan.Zones[0], plan.Findings)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the policy file the first run created is still there: %v", err)
	}
	if got := txt(); got != "" {
		t.Errorf("_mta-sts %q after restoring the first entry, want none", got)
	}
}
