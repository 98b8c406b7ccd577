package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	gosync "sync"
	"syscall"
	"testing"
	"time"
)

// daemonProc is the built maildns binary running as a daemon, with its JSON
// log lines and the sd_notify datagrams it sent.
type daemonProc struct {
	t     *testing.T
	cmd   *exec.Cmd
	mu    gosync.Mutex
	lines []map[string]any // decoded stderr JSON lines
	raw   []string         // every stderr line
	notes []string         // sd_notify datagrams
	exit  chan error
	gone  bool // the process has exited
}

// buildMaildns builds this command into dir and returns the binary's path.
func buildMaildns(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "maildns")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// exampleCopy copies configs/example to dir and sets the daemon's
// schedule, JSON logs and a metrics listener on a free loopback port.
func exampleCopy(t *testing.T, dir string) string {
	t.Helper()
	src := filepath.Join("..", "..", "configs", "example")
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
	for _, sub := range []string{"state"} {
		os.RemoveAll(filepath.Join(dir, sub))
	}
	path := filepath.Join(dir, "maildns.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for line := range strings.SplitSeq(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "schedule:"), strings.HasPrefix(line, "log:"),
			strings.HasPrefix(line, "metrics:"), strings.HasPrefix(line, "state_dir:"):
			continue
		}
		out = append(out, line)
	}
	out = append(out, `schedule: "@every 1s"`, `log: {level: info, format: json}`,
		`metrics: {listen: "`+freeAddr(t)+`"}`, `state_dir: state`)
	if err := os.WriteFile(path, []byte(strings.Join(out, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// freeAddr returns a loopback address with a port free at the moment.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// listenNotify opens a unixgram socket as systemd's NOTIFY_SOCKET.
func (p *daemonProc) listenNotify(path string) {
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		p.t.Fatalf("notify socket: %v", err)
	}
	p.t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			p.mu.Lock()
			p.notes = append(p.notes, string(buf[:n]))
			p.mu.Unlock()
		}
	}()
}

func startDaemon(t *testing.T, bin, config, notifySocket string) *daemonProc {
	t.Helper()
	p := &daemonProc{t: t, exit: make(chan error, 1)}
	p.listenNotify(notifySocket)
	p.cmd = exec.Command(bin, "--config", config)
	p.cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+notifySocket, "WATCHDOG_USEC=400000")
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			<-p.exit
		}
		if t.Failed() {
			p.mu.Lock()
			t.Logf("daemon stderr:\n%s", strings.Join(p.raw, "\n"))
			t.Logf("sd_notify: %q", p.notes)
			p.mu.Unlock()
		}
	})
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			var m map[string]any
			p.mu.Lock()
			p.raw = append(p.raw, line)
			if json.Unmarshal([]byte(line), &m) == nil {
				p.lines = append(p.lines, m)
			}
			p.mu.Unlock()
		}
		io.Copy(io.Discard, stderr)
		err := p.cmd.Wait()
		p.mu.Lock()
		p.gone = true
		p.mu.Unlock()
		p.exit <- err
	}()
	return p
}

// waitLog waits for a log line after index from for which match holds and
// returns its index.
func (p *daemonProc) waitLog(what string, from int, d time.Duration, match func(map[string]any) bool) (int, map[string]any) {
	p.t.Helper()
	deadline := time.Now().Add(d)
	for {
		p.mu.Lock()
		for i := from; i < len(p.lines); i++ {
			if match(p.lines[i]) {
				m := p.lines[i]
				p.mu.Unlock()
				return i, m
			}
		}
		gone := p.gone
		p.mu.Unlock()
		if gone {
			p.t.Fatalf("the daemon exited while waiting for %s", what)
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *daemonProc) logCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.lines)
}

// waitNote waits for a notify datagram after index from that contains want.
func (p *daemonProc) waitNote(want string, from int, d time.Duration) int {
	p.t.Helper()
	deadline := time.Now().Add(d)
	lastLook := false
	for {
		p.mu.Lock()
		for i := from; i < len(p.notes); i++ {
			if strings.Contains(p.notes[i], want) {
				p.mu.Unlock()
				return i
			}
		}
		gone := p.gone
		p.mu.Unlock()
		if gone && lastLook {
			p.t.Fatalf("the daemon exited while waiting for sd_notify %q", want)
		}
		lastLook = gone // one more look: datagrams sent just before exit
		if time.Now().After(deadline) {
			p.t.Fatalf("timed out after %v waiting for sd_notify %q", d, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *daemonProc) noteCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.notes)
}

func msgIs(msg string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["msg"] == msg }
}

// metric returns one sample of a /metrics scrape.
func metric(t *testing.T, addr, series string) float64 {
	t.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	t.Fatalf("no %s in /metrics", series)
	return 0
}

// replaceInFile rewrites path through a rename, as an editor would.
func replaceInFile(t *testing.T, path string, re *regexp.Regexp, repl string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	nb := re.ReplaceAll(b, []byte(repl))
	if string(nb) == string(b) {
		t.Fatalf("%s: no match for %s", path, re)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, nb, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestDaemonEndToEnd runs the built binary as a daemon on a copy of the
// example: it corrects drift made behind its back, keeps running on a
// broken reload, speaks sd_notify and stops cleanly on SIGTERM.
func TestDaemonEndToEnd(t *testing.T) {
	dir := t.TempDir()
	bin := buildMaildns(t, dir)
	cfgDir := filepath.Join(dir, "example")
	config := exampleCopy(t, cfgDir)
	sockDir, err := os.MkdirTemp("", "sdn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	p := startDaemon(t, bin, config, filepath.Join(sockDir, "notify"))

	const wait = 20 * time.Second
	p.waitNote("READY=1", 0, wait)
	_, started := p.waitLog("daemon started", 0, wait, msgIs("daemon started"))
	if started["level"] != "INFO" || started["schedule"] != "@every 1s" {
		t.Errorf("daemon started line = %v", started)
	}
	_, listening := p.waitLog("metrics listening", 0, wait, msgIs("metrics listening"))
	addr, _ := listening["addr"].(string)

	// Converge: a run with no changes.
	i, _ := p.waitLog("a converged run", 0, wait, func(m map[string]any) bool {
		return m["msg"] == "sync finished" && m["changes"] == float64(0) && m["errors"] == float64(0)
	})
	p.waitNote("STATUS=last sync ", 0, wait)
	p.waitNote("WATCHDOG=1", 0, wait)
	runsBefore := metric(t, addr, `maildns_sync_runs_total{result="ok"}`)
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != "ok" {
		t.Errorf("/healthz = %d %q, want 200 ok", resp.StatusCode, body)
	}

	// Drift behind its back: the SPF record at the apex.
	zone := filepath.Join(cfgDir, "zones", "example.com.zone")
	spf := regexp.MustCompile(`"v=spf1 [^"]*"`)
	orig, err := os.ReadFile(zone)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Trim(string(spf.Find(orig)), `"`)
	replaceInFile(t, zone, spf, `"v=spf1 mx ~all"`)
	_, drift := p.waitLog("drift of the apex SPF", i, wait, func(m map[string]any) bool {
		return m["msg"] == "drift" && m["domain"] == "example.com" && m["type"] == "TXT" && m["name"] == "@"
	})
	for k, v := range map[string]any{"level": "WARN", "zone": "example.com", "provider": "local",
		"want": want, "have": "v=spf1 mx ~all", "action": "corrected"} {
		if drift[k] != v {
			t.Errorf("drift line %s = %v, want %v (line %v)", k, drift[k], v, drift)
		}
	}
	p.waitLog("a run after the correction", i, wait, func(m map[string]any) bool {
		return m["msg"] == "sync finished" && m["changes"] == float64(0)
	})
	if b, _ := os.ReadFile(zone); !strings.Contains(string(b), `"`+want+`"`) {
		t.Errorf("zone file not corrected:\n%s", b)
	}
	if runsAfter := metric(t, addr, `maildns_sync_runs_total{result="ok"}`); runsAfter <= runsBefore {
		t.Errorf("sync_runs_total{result=ok} went from %v to %v", runsBefore, runsAfter)
	}
	if n := metric(t, addr, `maildns_changes_applied_total{action="update",domain="example.com"}`); n < 1 {
		t.Errorf("changes_applied_total{update, example.com} = %v", n)
	}

	// A broken policy on SIGHUP: refused with file:line, the daemon goes on.
	pol := filepath.Join(cfgDir, "policies", "example.com.yaml")
	b, err := os.ReadFile(pol)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pol, append(b, []byte("\nmx_hostz: [mail]\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	mark, nmark := p.logCount(), p.noteCount()
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	_, failed := p.waitLog("reload failed", mark, wait, msgIs("reload failed"))
	if failed["level"] != "ERROR" || !regexp.MustCompile(`example\.com\.yaml:\d+: .*mx_hostz`).MatchString(fmt.Sprint(failed["error"])) {
		t.Errorf("reload failed line = %v, want ERROR naming example.com.yaml:LINE and the key", failed)
	}
	r := p.waitNote("RELOADING=1", nmark, wait)
	p.waitNote("READY=1", r+1, wait)
	p.waitLog("a run on the kept config", mark, wait, msgIs("sync finished"))

	// SIGTERM: STOPPING=1, "daemon stopped", exit 0.
	nmark = p.noteCount()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exit:
		if err != nil {
			t.Errorf("daemon exit after SIGTERM: %v, want status 0", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("daemon did not exit within 40s of SIGTERM")
	}
	p.waitNote("STOPPING=1", nmark, time.Second)
	p.waitLog("daemon stopped", mark, time.Second, msgIs("daemon stopped"))
}

// TestDaemonRefusesInvalidConfig: an invalid config at start is an error
// with file:line on stderr and exit status 1.
func TestDaemonRefusesInvalidConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "maildns.yaml")
	if err := os.WriteFile(path, []byte("schedule: \"@every 1s\"\npolicies: []\nbogus: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	code := runDaemon(t.Context(), path, "", &stderr)
	if code != 1 || !strings.Contains(stderr.String(), path+":3:") {
		t.Errorf("runDaemon = %d, stderr %q; want 1 and %s:3:", code, stderr.String(), path)
	}
}
