package testbind

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// pdnsPath finds pdns_server (a variable so that tests can pretend it is
// missing).
var pdnsPath = func() (string, error) {
	return findProgram("pdns_server", "PowerDNS is not installed: run scripts/test-deps.sh or apt-get install pdns-server pdns-backend-sqlite3 sqlite3")
}

// pdnsSchemas are where the Debian package pdns-backend-sqlite3 ships the
// schema of its database.
var pdnsSchemas = []string{
	"/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql",
	"/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql",
}

// setupPowerDNS writes pdns.conf, creates the sqlite database from the
// package's schema, loads the zones, imports the key and allows it to
// update and transfer each zone (zone metadata TSIG-ALLOW-DNSUPDATE and
// TSIG-ALLOW-AXFR), as an operator would set up PowerDNS for maildns. It
// returns pdns_server's arguments.
func (s *Server) setupPowerDNS(port int, has6 bool, zones []Zone) ([]string, error) {
	var schema []byte
	for _, p := range pdnsSchemas {
		if b, err := os.ReadFile(p); err == nil {
			schema = b
			break
		}
	}
	if schema == nil {
		return nil, fmt.Errorf("the sqlite3 schema of PowerDNS is not at %s: install pdns-backend-sqlite3", strings.Join(pdnsSchemas, " or "))
	}
	sqlite, err := findProgram("sqlite3", "sqlite3 is not installed: run scripts/test-deps.sh or apt-get install sqlite3")
	if err != nil {
		return nil, err
	}
	pdnsutil, err := findProgram("pdnsutil", "pdnsutil is not installed: apt-get install pdns-server")
	if err != nil {
		return nil, err
	}
	db := filepath.Join(s.Dir, "pdns.sqlite3")
	if err := run(sqlite, []string{db}, schema); err != nil {
		return nil, fmt.Errorf("creating the PowerDNS database: %w", err)
	}

	listen := fmt.Sprintf("127.0.0.1:%d", port)
	if has6 {
		listen += fmt.Sprintf(", [::1]:%d", port)
	}
	// Caches off: a query right after an update sees it.
	conf := fmt.Sprintf(`launch=gsqlite3
gsqlite3-database=%s
local-address=%s
socket-dir=%s
daemon=no
guardian=no
disable-syslog=yes
log-timestamp=no
loglevel=4
write-pid=no
webserver=no
api=no
dnsupdate=yes
allow-dnsupdate-from=127.0.0.0/8,::1/128
allow-axfr-ips=127.0.0.0/8,::1/128
disable-axfr=no
cache-ttl=0
negquery-cache-ttl=0
query-cache-ttl=0
zone-cache-refresh-interval=0
receiver-threads=1
distributor-threads=1
signing-threads=1
`, db, listen, s.Dir)
	if err := os.WriteFile(filepath.Join(s.Dir, "pdns.conf"), []byte(conf), 0o600); err != nil {
		return nil, err
	}
	util := func(args ...string) error {
		return run(pdnsutil, append([]string{"--config-dir=" + s.Dir}, args...), nil)
	}
	if err := util("import-tsig-key", s.KeyName, s.KeyAlg, s.KeySecret); err != nil {
		return nil, err
	}
	if err := util("import-tsig-key", s.XferKeyName, s.KeyAlg, s.XferKeySecret); err != nil {
		return nil, err
	}
	files, err := writeZoneFiles(s.Dir, zones)
	if err != nil {
		return nil, err
	}
	for _, z := range files {
		name, file := z.name, z.path
		if err := util("load-zone", name, file); err != nil {
			return nil, fmt.Errorf("PowerDNS could not load a zone: %w", err)
		}
		if err := util("set-meta", name, "TSIG-ALLOW-DNSUPDATE", s.KeyName); err != nil {
			return nil, err
		}
		if err := util("set-meta", name, "TSIG-ALLOW-AXFR", s.KeyName, s.XferKeyName); err != nil {
			return nil, err
		}
	}
	return []string{"--config-dir=" + s.Dir}, nil
}

// run runs a setup program and returns its output in the error.
func run(bin string, args []string, stdin []byte) error {
	cmd := exec.Command(bin, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
		}
		return err
	}
	return nil
}

// PDNSUtil runs pdnsutil on a PowerDNS server's configuration and database,
// as an operator edits a zone by hand: pdnsutil changes records without
// moving the zone's serial unless told to (increase-serial).
func (s *Server) PDNSUtil(args ...string) error {
	if s.Kind != PowerDNS {
		return fmt.Errorf("pdnsutil: the server is %s, not PowerDNS", s.Kind)
	}
	pdnsutil, err := findProgram("pdnsutil", "pdnsutil is not installed: apt-get install pdns-server")
	if err != nil {
		return err
	}
	return run(pdnsutil, append([]string{"--config-dir=" + s.Dir}, args...), nil)
}
