package sync

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	gosync "sync"
	"syscall"
	"time"

	"github.com/maildns/maildns/internal/atomicfile"
)

// StateFile is the file in state_dir where every run records its outcome,
// for `maildns status`.
const StateFile = "status.json"

// State is what the runs recorded: the last run, the daemon's next one, and
// each domain as its last run left it. A run that covered only some domains
// (--domain) leaves the others' entries as they were.
type State struct {
	Version  int            `json:"version"`
	LastRun  *RunRecord     `json:"last_run"`
	NextRun  *time.Time     `json:"next_run,omitempty"` // set by the daemon
	Schedule string         `json:"schedule,omitempty"` // the daemon's
	Domains  []*DomainState `json:"domains"`
}

// RunRecord is one run's outcome.
type RunRecord struct {
	Mode     string    `json:"mode"` // dry-run | once | daemon | apply | restore
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Result   string    `json:"result"` // ok | error
	Error    string    `json:"error,omitempty"`
	Changes  int       `json:"changes"`  // RRsets and files written
	Findings int       `json:"findings"` // every severity
}

// Domain states in the status (SPEC §1: in sync, drift, refused, watched).
const (
	DomainInSync  = "in_sync"
	DomainDrift   = "drift"
	DomainRefused = "refused"
	DomainWatched = "watched"
	DomainError   = "error"
)

// DomainState is one domain as its last run left it.
type DomainState struct {
	Domain string `json:"domain"`
	// Status: in_sync (nothing to change, or all of it written), drift
	// (a dry run found changes), refused (a safety rule or a held SPF kept
	// changes back), watched (enforce: false, with changes not written),
	// error (a zone could not be read or written).
	Status    string      `json:"status"`
	Watched   bool        `json:"watched"`   // enforce: false
	Pending   int         `json:"pending"`   // RRset and file changes not written
	Corrected int         `json:"corrected"` // RRset and file changes written by the run
	Zones     []ZoneState `json:"zones"`
	// Findings are the run's findings for the domain other than info;
	// those with an isp_request are the pending ISP actions.
	Findings []Finding `json:"findings"`
	Run      time.Time `json:"run"` // the run's start
	Mode     string    `json:"mode"`
}

// ZoneState is one zone share's status and error.
type ZoneState struct {
	Zone     string `json:"zone"`
	Provider string `json:"provider"`
	Status   string `json:"status"`
	Error    string `json:"error,omitempty"`
}

// Attention says whether the domain needs someone: not in sync, or an
// error or action finding.
func (d *DomainState) Attention() bool {
	if d.Status != DomainInSync {
		return true
	}
	return slices.ContainsFunc(d.Findings, func(f Finding) bool { return f.Severity == SevError || f.Severity == SevAction })
}

// domainStates derives each domain's state from a plan.
func domainStates(p *Plan, mode string, start time.Time) []*DomainState {
	byName := map[string]*DomainState{}
	var out []*DomainState
	get := func(name string) *DomainState {
		d := byName[name]
		if d == nil {
			d = &DomainState{Domain: name, Status: DomainInSync, Zones: []ZoneState{}, Findings: []Finding{}, Run: start, Mode: mode}
			byName[name] = d
			out = append(out, d)
		}
		return d
	}
	for _, name := range p.Watched {
		get(name).Watched = true
	}
	rank := map[string]int{DomainInSync: 0, DomainDrift: 1, DomainWatched: 2, DomainRefused: 3, DomainError: 4}
	for _, z := range p.Zones {
		d := get(z.Domain)
		d.Zones = append(d.Zones, ZoneState{Zone: z.Zone, Provider: z.Provider, Status: z.Status, Error: z.Error})
		s := DomainInSync
		n := len(z.Changes) + len(z.Files) // RRsets and files (MTA-STS policy)
		switch z.Status {
		case StatusApplied:
			d.Corrected += n
		case StatusDrift:
			s, d.Pending = DomainDrift, d.Pending+n
		case StatusWatched:
			s, d.Pending = DomainWatched, d.Pending+n
		case StatusRefused, "partial":
			s, d.Pending = DomainRefused, d.Pending+n
		case StatusError:
			s, d.Pending = DomainError, d.Pending+n
		}
		if rank[s] > rank[d.Status] {
			d.Status = s
		}
	}
	for _, f := range p.Findings {
		if f.Severity != SevInfo {
			d := get(f.Domain)
			d.Findings = append(d.Findings, f)
		}
	}
	return out
}

// RecordRun records a run's outcome in stateDir/status.json: written to a
// temporary file, synced, and renamed over the old one under a lock, so
// that a reader sees the old state or the new, never a part. next, when not
// zero, is the daemon's next run (schedule its spec); a one-shot run keeps
// the daemon's.
func RecordRun(stateDir, mode string, p *Plan, runErr error, start, end, next time.Time, schedule string) error {
	if stateDir == "" {
		return nil
	}
	if err := os.MkdirAll(stateDir, 0o750); err != nil {
		return err
	}
	// The lock is on the directory itself: no lock file is left behind.
	lock, err := os.Open(stateDir)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	path := filepath.Join(stateDir, StateFile)
	mem := takeWritten(path) // the state as this process last wrote it
	st := mem.state(path)
	same := st != nil && mem.from.of(p) // the plan's domains as last recorded
	if st == nil {
		st, err = ReadState(stateDir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			st = nil // a damaged state is replaced, not kept
		}
	}
	if st == nil {
		st = &State{}
	}
	st.Version = 1
	rec := &RunRecord{Mode: mode, Start: start.UTC(), End: end.UTC(), Result: "ok"}
	if runErr != nil {
		rec.Result, rec.Error = "error", runErr.Error()
	}
	if p != nil {
		for _, z := range p.Zones {
			if z.Status == StatusApplied {
				rec.Changes += len(z.Changes) + len(z.Files)
			}
		}
		rec.Findings = len(p.Findings)
		if same {
			// Each domain of the plan is as recorded but for its run.
			for _, d := range mem.fresh {
				d.Run, d.Mode = start.UTC(), mode
			}
		}
	}
	if p != nil && !same {
		fresh := domainStates(p, mode, start.UTC())
		mem.fresh, mem.from = fresh, planListsOf(p)
		seen := map[string]bool{}
		for _, d := range fresh {
			seen[d.Domain] = true
		}
		kept := slices.DeleteFunc(st.Domains, func(d *DomainState) bool { return seen[d.Domain] })
		st.Domains = append(kept, fresh...)
		slices.SortFunc(st.Domains, func(a, b *DomainState) int {
			switch {
			case a.Domain < b.Domain:
				return -1
			case a.Domain > b.Domain:
				return 1
			}
			return 0
		})
	}
	st.LastRun = rec
	if !next.IsZero() {
		n := next.UTC()
		st.NextRun, st.Schedule = &n, schedule
	}
	if st.Domains == nil {
		st.Domains = []*DomainState{}
	}
	data, err := mem.encode(st)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(path, data, 0o640, ""); err != nil {
		return err
	}
	mem.keep(path, st)
	return nil
}

// writtenState is the state this process last wrote to one status file, with
// the file's identity right after the write and its bytes. While the file
// is still that one (no other run wrote it since), the next RecordRun takes
// the state from here rather than parsing the file, and reuses the JSON of
// every domain whose state did not change but for its run: a daemon over
// 10,000 domains records each cycle in a few milliseconds.
type writtenState struct {
	id      fileID
	st      *State
	buf     []byte                // the file as last written
	domains map[string]domainJSON // each domain's entry in buf
	// fresh are the states of the domains of the plan they were derived
	// from (from): a daemon's cycle that planned nothing again shares the
	// last cycle's lists (Memo), and its domains' states are these but
	// for their run.
	fresh []*DomainState
	from  planLists
}

// planLists identifies a plan's lists of zones, findings and watched
// domains: by their first element and length, as a plan's lists are not
// changed once made.
type planLists struct {
	zones    *ZonePlan
	findings *Finding
	watched  *string
	n        [3]int
}

func planListsOf(p *Plan) planLists {
	if p == nil {
		return planLists{}
	}
	l := planLists{n: [3]int{len(p.Zones), len(p.Findings), len(p.Watched)}}
	if len(p.Zones) > 0 {
		l.zones = &p.Zones[0]
	}
	if len(p.Findings) > 0 {
		l.findings = &p.Findings[0]
	}
	if len(p.Watched) > 0 {
		l.watched = &p.Watched[0]
	}
	return l
}

// of reports whether p's lists are those l identifies (and p has some).
func (l planLists) of(p *Plan) bool {
	return p != nil && l.n[0] > 0 && planListsOf(p) == l
}

type fileID struct {
	dev, ino uint64
	size     int64
	mtime    int64
}

// domainJSON is one domain's entry as last written: its state and where its
// indented JSON up to the "run" key is in the writtenState's buf.
type domainJSON struct {
	d      *DomainState // the state written (its Run and Mode aside)
	off, n int
}

var writtenStates = struct {
	gosync.Mutex
	m map[string]*writtenState
}{m: map[string]*writtenState{}}

// takeWritten removes and returns what this process last wrote to path:
// a write that fails leaves nothing behind to trust. Never nil.
func takeWritten(path string) *writtenState {
	writtenStates.Lock()
	defer writtenStates.Unlock()
	w := writtenStates.m[path]
	delete(writtenStates.m, path)
	if w == nil {
		w = &writtenState{domains: map[string]domainJSON{}}
	}
	return w
}

func statID(path string) (fileID, bool) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return fileID{}, false
	}
	return fileID{dev: uint64(st.Dev), ino: st.Ino, size: st.Size, mtime: st.Mtim.Nano()}, true
}

// state returns the state kept for path when the file is still the one
// written, else nil.
func (w *writtenState) state(path string) *State {
	if w.st == nil {
		return nil
	}
	if id, ok := statID(path); !ok || id != w.id {
		return nil
	}
	return w.st
}

// keep remembers st as written to path.
func (w *writtenState) keep(path string, st *State) {
	id, ok := statID(path)
	if !ok {
		return
	}
	w.id, w.st = id, st
	writtenStates.Lock()
	writtenStates.m[path] = w
	writtenStates.Unlock()
}

// encode is json.MarshalIndent(st, "", "  ") and a newline, byte for
// byte, with each unchanged domain's entry taken from w. The bytes are new:
// those of the last encoding stay as they were until this one is kept.
func (w *writtenState) encode(st *State) ([]byte, error) {
	doms := st.Domains
	st.Domains = []*DomainState{}
	head, err := json.MarshalIndent(st, "", "  ")
	st.Domains = doms
	if err != nil {
		return nil, err
	}
	if len(doms) == 0 {
		clear(w.domains)
		return append(head, '\n'), nil
	}
	// head ends in `"domains": []` and the closing brace.
	head = bytes.TrimSuffix(head, []byte("[]\n}"))
	size := len(head) + 16
	for _, d := range doms {
		if enc, ok := w.domains[d.Domain]; ok {
			size += enc.n + 80
		} else {
			size += 512
		}
	}
	out := make([]byte, 0, size)
	modes := map[string][]byte{}
	out = append(out, head...)
	out = append(out, "[\n    "...)
	next := make([]domainJSON, len(doms)) // where each entry lands in out
	for i, d := range doms {
		if i > 0 {
			out = append(out, ",\n    "...)
		}
		next[i] = domainJSON{d: d, off: len(out)}
		if enc, ok := w.domains[d.Domain]; ok && sameDomainState(enc.d, d) {
			out = append(out, w.buf[enc.off:enc.off+enc.n]...)
		} else {
			key := *d
			key.Run, key.Mode = time.Time{}, ""
			b, err := json.MarshalIndent(&key, "    ", "  ")
			if err != nil {
				return nil, err
			}
			i := bytes.LastIndex(b, []byte(`"run": `))
			if i < 0 {
				return nil, fmt.Errorf("status of %s: no run key", d.Domain)
			}
			out = append(out, b[:i]...)
		}
		next[i].n = len(out) - next[i].off
		out = append(out, `"run": `...)
		if out, err = d.Run.AppendText(append(out, '"')); err != nil {
			return nil, err
		}
		out = append(out, "\",\n      \"mode\": "...)
		mode, ok := modes[d.Mode]
		if !ok {
			mode, _ = json.Marshal(d.Mode)
			modes[d.Mode] = mode
		}
		out = append(out, mode...)
		out = append(out, "\n    }"...)
	}
	out = append(out, "\n  ]\n}\n"...)
	for i, d := range doms {
		w.domains[d.Domain] = next[i]
	}
	if len(w.domains) != len(doms) { // some domain is gone
		clear(w.domains)
		for i, d := range doms {
			w.domains[d.Domain] = next[i]
		}
	}
	w.buf = out
	return out, nil
}

func sameDomainState(a, b *DomainState) bool {
	return a.Domain == b.Domain && a.Status == b.Status && a.Watched == b.Watched && a.Pending == b.Pending &&
		a.Corrected == b.Corrected && slices.Equal(a.Zones, b.Zones) && slices.Equal(a.Findings, b.Findings)
}

// ReadState reads stateDir/status.json; an error wrapping os.ErrNotExist
// means no run has recorded one yet.
func ReadState(stateDir string) (*State, error) {
	path := filepath.Join(stateDir, StateFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if st.Version != 1 {
		return nil, fmt.Errorf("%s: version %d, want 1", path, st.Version)
	}
	return &st, nil
}
