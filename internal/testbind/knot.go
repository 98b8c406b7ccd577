package testbind

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// knotdPath finds knotd (a variable so that tests can pretend it is missing).
var knotdPath = func() (string, error) {
	return findProgram("knotd", "Knot DNS is not installed: run scripts/test-deps.sh or apt-get install knot knot-dnsutils")
}

// findProgram finds name on PATH or in /usr/sbin, which is often not on a
// non-root user's PATH.
func findProgram(name, missing string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", errors.New(missing)
}

// writeKnotConfig writes knot.conf and the zone files: one key, an acl
// that lets it transfer and update every zone, as an operator would set up
// Knot for maildns. The zone files are not written back after an update
// (zonefile-sync: -1): the journal keeps the changes, and a big zone is not
// rewritten on every test update.
func (s *Server) writeKnotConfig(port int, has6 bool, zones []Zone) (string, error) {
	var b strings.Builder
	q := strconv.Quote
	fmt.Fprintf(&b, `server:
    rundir: %s
    pidfile: %s
    listen: 127.0.0.1@%d
`, q(s.Dir), q(filepath.Join(s.Dir, "knot.pid")), port)
	if has6 {
		fmt.Fprintf(&b, "    listen: ::1@%d\n", port)
	}
	fmt.Fprintf(&b, `    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
    # A client under the race detector on shared cores may read a
    # 16,000-record transfer slower than the default 500 ms allows.
    tcp-io-timeout: 5000
log:
  - target: stderr
    any: info
database:
    storage: %s
key:
  - id: %s
    algorithm: %s
    secret: %s
  - id: %s
    algorithm: %s
    secret: %s
acl:
  - id: maildns
    key: %s
    action: [transfer, update]
  - id: xfer
    key: %s
    action: transfer
template:
  - id: default
    storage: %s
    zonefile-sync: -1
    journal-content: changes
    serial-policy: increment
zone:
`, q(s.Dir), s.KeyName, s.KeyAlg, s.KeySecret, s.XferKeyName, s.KeyAlg, s.XferKeySecret, s.KeyName, s.XferKeyName, q(s.Dir))
	files, err := writeZoneFiles(s.Dir, zones)
	if err != nil {
		return "", err
	}
	for _, z := range files {
		fmt.Fprintf(&b, "  - domain: %s\n    file: %s\n    acl: [maildns, xfer]\n", q(z.name+"."), q(z.path))
	}
	conf := filepath.Join(s.Dir, "knot.conf")
	return conf, os.WriteFile(conf, []byte(b.String()), 0o600)
}
