// Package testbind runs a real name server on loopback for tests: BIND 9,
// Knot DNS or PowerDNS (sqlite3 backend), a primary for the given zones
// that accepts TSIG-signed dynamic updates (RFC 2136) and zone transfers,
// configured as an operator would for maildns, and a helper to check what
// it serves.
//
// When the server is not installed the test is skipped, or fails when the
// environment variable CI is "true" (scripts/test-deps.sh installs it).
package testbind

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// StartTimeout bounds how long Start waits for named to serve every zone.
const StartTimeout = 10 * time.Second

// Zone is one primary zone of the test server.
type Zone struct {
	// Name is the zone's name, with or without the trailing dot.
	Name string
	// Content is the zone file. Empty means MinimalZone(Name).
	Content string
	// DisableIntegrityCheck sets "check-integrity no" for the zone. By
	// default BIND checks, as in production, that in-zone MX and SRV
	// targets have address records, and refuses updates that break this.
	DisableIntegrityCheck bool
	// Signed makes BIND sign the zone inline (dnssec-policy default,
	// inline-signing yes): updates go to the unsigned zone, and queries and
	// transfers see the signed one, with its DNSKEY and RRSIG records.
	Signed bool
}

// Server is a running name server. Its fields are read-only.
type Server struct {
	// Kind is BIND, Knot or PowerDNS.
	Kind string
	// Addr is host:port of the server on 127.0.0.1 (UDP and TCP).
	Addr string
	// Addr6 is host:port on ::1, or "" when the host has no IPv6 loopback.
	Addr6 string
	// KeyName, KeyAlg and KeySecret are the TSIG key allowed to update and
	// transfer every zone (KeySecret is standard base64).
	KeyName   string
	KeyAlg    string
	KeySecret string
	// XferKeyName and XferKeySecret are a second key (same algorithm)
	// allowed to transfer the zones but not to update them: the
	// operator's mistake of a key left out of the zone's update policy,
	// acl or metadata.
	XferKeyName   string
	XferKeySecret string
	// Dir holds the server's configuration, zone files and databases.
	Dir string

	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{}
	werr error
}

// MinimalZone returns a zone file with only an SOA, an NS and the NS's address.
func MinimalZone(name string) string {
	name = dns.Fqdn(strings.ToLower(name))
	return fmt.Sprintf(`$ORIGIN %[1]s
$TTL 300
@	IN SOA	ns.%[1]s hostmaster.%[1]s 1 3600 600 86400 300
@	IN NS	ns.%[1]s
ns	IN A	127.0.0.1
`, name)
}

// namedPath finds named (a variable so that tests can pretend it is missing).
var namedPath = findNamed

// findNamed finds named on PATH or in /usr/sbin, which is often not on a
// non-root user's PATH.
func findNamed() (string, error) {
	if p, err := exec.LookPath("named"); err == nil {
		return p, nil
	}
	const sbin = "/usr/sbin/named"
	if fi, err := os.Stat(sbin); err == nil && !fi.IsDir() {
		return sbin, nil
	}
	return "", errors.New("named (BIND 9) is not installed: run scripts/test-deps.sh or apt-get install bind9 bind9-dnsutils")
}

// Available reports whether named can be run here.
func Available() bool {
	_, err := namedPath()
	return err == nil
}

// Kinds of server the harness runs.
const (
	BIND     = "bind"
	Knot     = "knot"
	PowerDNS = "powerdns"
)

// Kinds lists every kind of server, for tests that run on each.
var Kinds = []string{BIND, Knot, PowerDNS}

// Start runs named for zones and stops it when the test ends. It skips the
// test when named is missing, or fails it when CI=true.
func Start(t testing.TB, zones ...Zone) *Server {
	t.Helper()
	return StartKind(t, BIND, zones...)
}

// StartKind runs a server of kind (BIND, Knot or PowerDNS) for zones, with
// one TSIG key allowed to update and transfer every zone, and stops it when
// the test ends. It skips the test when the server is not installed, or
// fails it when CI=true.
func StartKind(t testing.TB, kind string, zones ...Zone) *Server {
	t.Helper()
	var find func() (string, error)
	switch kind {
	case BIND:
		find = namedPath
	case Knot:
		find = knotdPath
	case PowerDNS:
		find = pdnsPath
	default:
		t.Fatalf("testbind: unknown server kind %q", kind)
	}
	bin, err := find()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("testbind: %v", err)
		}
		t.Skipf("testbind: %v", err)
	}
	if len(zones) == 0 {
		t.Fatal("testbind: Start needs at least one zone")
	}

	secret := make([]byte, 64)
	if _, err := rand.Read(secret); err != nil {
		t.Fatalf("testbind: %v", err)
	}
	s := &Server{
		Kind:          kind,
		KeyName:       "maildns-test",
		KeyAlg:        "hmac-sha256",
		KeySecret:     base64.StdEncoding.EncodeToString(secret[:32]),
		XferKeyName:   "maildns-xfer",
		XferKeySecret: base64.StdEncoding.EncodeToString(secret[32:]),
		Dir:           t.TempDir(),
		log:           &syncBuffer{},
		done:          make(chan struct{}),
	}

	// A port found free can be taken by another process (a client socket,
	// another test's server) before the server binds it: a start that
	// fails on an address in use is tried again on another port, in a
	// fresh directory.
	for try := 1; ; try++ {
		err = s.launch(bin, zones)
		if err == nil || !errors.Is(err, errAddrInUse) || try == 3 {
			break
		}
		s.stop()
		s.cmd, s.Dir, s.log, s.done, s.werr = nil, t.TempDir(), &syncBuffer{}, make(chan struct{}), nil
	}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("testbind: %s log (%s):\n%s", kind, s.Addr, s.log.String())
		}
	})
	if err != nil {
		t.Fatalf("testbind: %v\n%s log:\n%s", err, kind, s.log.String())
	}
	return s
}

// errAddrInUse: the server could not bind its port.
var errAddrInUse = errors.New("address in use")

// launch picks a port, writes the server's configuration into s.Dir,
// starts the server and waits until it serves every zone.
func (s *Server) launch(bin string, zones []Zone) error {
	port, has6, err := pickPort()
	if err != nil {
		return fmt.Errorf("finding a free port: %w", err)
	}
	s.Addr, s.Addr6 = net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), ""
	if has6 {
		s.Addr6 = net.JoinHostPort("::1", strconv.Itoa(port))
	}
	var args []string
	switch s.Kind {
	case BIND:
		conf, err := s.writeConfig(port, has6, zones)
		if err != nil {
			return err
		}
		// -g: foreground, log to stderr; -n 1: one worker thread, the
		// cores are shared; no -u: stay the user running the test.
		args = []string{"-g", "-n", "1", "-c", conf}
	case Knot:
		conf, err := s.writeKnotConfig(port, has6, zones)
		if err != nil {
			return err
		}
		args = []string{"-c", conf}
	case PowerDNS:
		if args, err = s.setupPowerDNS(port, has6, zones); err != nil {
			return err
		}
	}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Dir = s.Dir
	s.cmd.Stdout = s.log
	s.cmd.Stderr = s.log
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", s.Kind, err)
	}
	done := s.done
	go func() {
		s.werr = s.cmd.Wait()
		close(done)
	}()
	return s.waitReady(zones)
}

func zoneFileName(name string) string {
	n := strings.TrimSuffix(strings.ToLower(name), ".")
	n = strings.NewReplacer("/", "_", "\\", "_", " ", "_").Replace(n)
	return n + ".zone"
}

// zoneFile is one zone of a server's set-up, its file written.
type zoneFile struct {
	Zone
	name string // lower case, no trailing dot
	path string // the file in the server's directory
}

// writeZoneFiles writes each zone's file into dir (MinimalZone when it has
// no content), refusing an empty name or one given twice.
func writeZoneFiles(dir string, zones []Zone) ([]zoneFile, error) {
	seen := map[string]bool{}
	out := make([]zoneFile, 0, len(zones))
	for _, z := range zones {
		name := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(z.Name)), ".")
		if name == "" || seen[name] {
			return nil, fmt.Errorf("zone name %q is empty or given twice", z.Name)
		}
		seen[name] = true
		content := z.Content
		if content == "" {
			content = MinimalZone(name)
		}
		path := filepath.Join(dir, zoneFileName(name))
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			return nil, err
		}
		out = append(out, zoneFile{Zone: z, name: name, path: path})
	}
	return out, nil
}

func (s *Server) writeConfig(port int, has6 bool, zones []Zone) (string, error) {
	var b strings.Builder
	q := strconv.Quote
	listen6 := fmt.Sprintf("listen-on-v6 port %d { ::1; };", port)
	if !has6 {
		listen6 = "listen-on-v6 { none; };"
	}
	fmt.Fprintf(&b, `options {
	directory %s;
	pid-file %s;
	lock-file %s;
	session-keyfile %s;
	managed-keys-directory %s;
	listen-on port %d { 127.0.0.1; };
	%s
	recursion no;
	dnssec-validation no;
	notify no;
	automatic-interface-scan no;
	reuseport no;
	allow-query { any; };
};
controls { };
key %s {
	algorithm %s;
	secret %s;
};
key %s {
	algorithm %s;
	secret %s;
};
`, q(s.Dir), q(filepath.Join(s.Dir, "named.pid")), q(filepath.Join(s.Dir, "named.lock")),
		q(filepath.Join(s.Dir, "session.key")), q(s.Dir), port, listen6,
		q(s.KeyName), s.KeyAlg, q(s.KeySecret), q(s.XferKeyName), s.KeyAlg, q(s.XferKeySecret))

	files, err := writeZoneFiles(s.Dir, zones)
	if err != nil {
		return "", err
	}
	for _, z := range files {
		name, file := z.name, filepath.Base(z.path)
		integrity := ""
		if z.DisableIntegrityCheck {
			integrity = "\n\tcheck-integrity no;"
		}
		if z.Signed {
			integrity += "\n\tdnssec-policy default;\n\tinline-signing yes;"
		}
		fmt.Fprintf(&b, `zone %s {
	type primary;
	file %s;
	update-policy { grant %s zonesub ANY; };
	allow-transfer { key %s; key %s; };%s
};
`, q(name), q(file), s.KeyName, q(s.KeyName), q(s.XferKeyName), integrity)
	}
	conf := filepath.Join(s.Dir, "named.conf")
	return conf, os.WriteFile(conf, []byte(b.String()), 0o600)
}

// pickPort is the port chooser of a server's start (a test holds a port to
// see a start retried).
var pickPort = freePort

// freePort picks a port free for UDP and TCP on 127.0.0.1 (and ::1 when the
// host has it) by binding port 0 and closing again.
func freePort() (port int, has6 bool, err error) {
	has6 = ipv6Loopback()
	for try := 0; try < 20; try++ {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return 0, false, err
		}
		port = l.Addr().(*net.TCPAddr).Port
		closers := []func() error{l.Close}
		ok := true
		bind := func(network, addr string) {
			if !ok {
				return
			}
			if strings.HasPrefix(network, "udp") {
				pc, err := net.ListenPacket(network, addr)
				if err != nil {
					ok = false
					return
				}
				closers = append(closers, pc.Close)
				return
			}
			l, err := net.Listen(network, addr)
			if err != nil {
				ok = false
				return
			}
			closers = append(closers, l.Close)
		}
		p := strconv.Itoa(port)
		bind("udp4", "127.0.0.1:"+p)
		if has6 {
			bind("tcp6", "[::1]:"+p)
			bind("udp6", "[::1]:"+p)
		}
		for _, c := range closers {
			c()
		}
		if ok {
			return port, has6, nil
		}
	}
	return 0, false, errors.New("no port free for both UDP and TCP after 20 tries")
}

func ipv6Loopback() bool {
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// waitReady polls every zone's SOA over TCP until named answers with
// authority, named exits, or StartTimeout passes.
func (s *Server) waitReady(zones []Zone) error {
	deadline := time.Now().Add(StartTimeout)
	c := &dns.Client{Net: "tcp", Timeout: 500 * time.Millisecond}
	pending := make([]string, 0, len(zones))
	for _, z := range zones {
		pending = append(pending, dns.Fqdn(strings.ToLower(strings.TrimSpace(z.Name))))
	}
	var last error
	for len(pending) > 0 {
		exited := false
		select {
		case <-s.done:
			exited = true
		default:
		}
		if l := strings.ToLower(s.log.String()); strings.Contains(l, "address in use") || strings.Contains(l, "address already in use") ||
			strings.Contains(l, "unable to listen on any configured interfaces") { // BIND: its port taken
			return fmt.Errorf("%s could not bind %s: %w", s.Kind, s.Addr, errAddrInUse)
		}
		if exited {
			return fmt.Errorf("%s exited during start: %v", s.Kind, s.werr)
		}
		if l := s.log.String(); strings.Contains(l, "not loaded due to errors") || strings.Contains(l, "failed to load zone") {
			return fmt.Errorf("%s could not load a zone (see its log below)", s.Kind)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not serve zone %s within %s: %v", s.Kind, pending[0], StartTimeout, last)
		}
		m := new(dns.Msg)
		m.SetQuestion(pending[0], dns.TypeSOA)
		r, _, err := c.Exchange(m, s.Addr)
		switch {
		case err != nil:
			last = err
		case r.Rcode != dns.RcodeSuccess || !r.Authoritative:
			last = fmt.Errorf("SOA query answered %s (aa=%v)", dns.RcodeToString[r.Rcode], r.Authoritative)
		default:
			pending = pending[1:]
			continue
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

func (s *Server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return // never started
	}
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// Log returns what the server has logged so far.
func (s *Server) Log() string { return s.log.String() }

// Settings returns the settings of an "rfc2136" provider that manages this
// server's zones.
func (s *Server) Settings() map[string]string {
	return map[string]string{
		"server":        s.Addr,
		"key_name":      s.KeyName,
		"key_algorithm": s.KeyAlg,
		"key":           s.KeySecret,
	}
}

// Query asks the server for name (made fully qualified) and qtype over UDP,
// retrying over TCP when the answer is truncated, and returns the answer.
// Any error other than an rcode fails the test.
func (s *Server) Query(t testing.TB, name string, qtype uint16) *dns.Msg {
	t.Helper()
	r, err := s.Exchange(context.Background(), name, qtype)
	if err != nil {
		t.Fatalf("testbind: query %s %s: %v", name, dns.TypeToString[qtype], err)
	}
	return r
}

// Exchange is Query without a testing.TB.
func (s *Server) Exchange(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.SetEdns0(4096, false)
	c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
	r, _, err := c.ExchangeContext(ctx, m, s.Addr)
	if err == nil && r.Truncated {
		c.Net = "tcp"
		r, _, err = c.ExchangeContext(ctx, m, s.Addr)
	}
	return r, err
}

// syncBuffer is a bytes.Buffer safe for named's output and the test reading it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
