package journal

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	stdsync "sync"
	"time"

	"github.com/maildns/maildns/sync/plan"
)

// NewRunID returns a new run id: the UTC time to the second and 8 random hex
// digits, e.g. 20261201T001208Z-3f9a2c1b. Ids sort by time.
func NewRunID(now time.Time) string {
	var r [4]byte
	_, _ = rand.Read(r[:])
	return now.UTC().Format(TimeFormat) + "-" + hex.EncodeToString(r[:])
}

// runFile matches the entries named by their run (NewRunID first).
var runFile = regexp.MustCompile(`^(\d{8}T\d{6}Z-[0-9a-f]{8})-.+\.json$`)

// RunOfFile returns the run of a journal file by its name: the run id it
// starts with, or, for an entry written before runs had ids, its own name
// (such an entry is a run of its own).
func RunOfFile(name string) string {
	if m := runFile.FindStringSubmatch(name); m != nil {
		return m[1]
	}
	return strings.TrimSuffix(name, ".json")
}

// tempMaxAge is the age over which a journal temporary file is a leftover of
// a killed run (a live one is renamed within milliseconds).
const tempMaxAge = time.Minute

var pruneMu stdsync.Mutex

// Prune applies retention by run to the journal in dir: the newest keep runs that wrote something
// stay (current among them), and apart from them the newest keep runs that
// wrote nothing (failed), so that a zone failing every run never pushes a
// restore point out; runs older than maxAge go. The run named current is
// never pruned; without one, the newest run that wrote stays however old. Leftover temporary files of killed runs are
// removed on the way.
func Prune(dir string, keep int, maxAge time.Duration, now time.Time, current string) error {
	pruneMu.Lock()
	defer pruneMu.Unlock()
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	type run struct {
		id    string
		files []string
		mod   time.Time
	}
	byID := map[string]*run{}
	var runs []*run
	var errs []error
	for _, de := range ents {
		name := de.Name()
		if strings.HasPrefix(name, ".tmp-journal-") {
			if info, err := de.Info(); err == nil && time.Since(info.ModTime()) > tempMaxAge {
				if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
					errs = append(errs, err)
				}
			}
			continue
		}
		if !de.Type().IsRegular() || !journalName.MatchString(name) {
			continue
		}
		id := RunOfFile(name)
		r := byID[id]
		if r == nil {
			r = &run{id: id}
			byID[id] = r
			runs = append(runs, r)
		}
		r.files = append(r.files, name)
		if info, err := de.Info(); err == nil && info.ModTime().After(r.mod) {
			r.mod = info.ModTime()
		}
	}
	// Newest first: by the time the id starts with, then by modification.
	slices.SortFunc(runs, func(a, b *run) int {
		return cmp.Or(strings.Compare(b.id[:16], a.id[:16]), b.mod.Compare(a.mod), strings.Compare(b.id, a.id))
	})
	wroteSeen, failedSeen := 0, 0
	for _, r := range runs {
		// The current run is the newest kept of its kind.
		if r.id == current {
			if runWrote(dir, r.files) {
				wroteSeen = 1
			} else {
				failedSeen = 1
			}
		}
	}
	for _, r := range runs {
		if r.id == current {
			continue
		}
		wrote := runWrote(dir, r.files)
		var n int
		if wrote {
			wroteSeen++
			n = wroteSeen
		} else {
			failedSeen++
			n = failedSeen
		}
		if wrote && n == 1 {
			continue // the last restore point stays, however old
		}
		old := false
		if maxAge > 0 {
			if t, err := time.Parse(TimeFormat, r.id[:16]); err == nil && now.Sub(t) > maxAge {
				old = true
			}
		}
		if !old && (keep <= 0 || n <= keep) {
			continue
		}
		for _, f := range r.files {
			if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// runWrote reports whether any entry of a run may have changed a zone: an
// entry without a result (the run stopped during its writes), one that
// cannot be read, or one with a change done. A run whose every change
// failed or was not attempted wrote nothing.
func runWrote(dir string, files []string) bool {
	for _, f := range files {
		if entryWrote(filepath.Join(dir, f)) {
			return true
		}
	}
	return false
}

// wroteCache keeps entryWrote's answers by file, size and modification
// time: every prune asks about the runs it keeps again, and an entry's
// result does not change once written.
var wroteCache = struct {
	stdsync.Mutex
	m map[wroteKey]bool
}{m: map[wroteKey]bool{}}

type wroteKey struct {
	path string
	size int64
	mod  time.Time
}

// entryWrote reports whether the entry at path may have changed its zone.
func entryWrote(path string) bool {
	info, err := os.Stat(path)
	if err != nil {
		return true
	}
	k := wroteKey{path, info.Size(), info.ModTime()}
	wroteCache.Lock()
	v, ok := wroteCache.m[k]
	wroteCache.Unlock()
	if ok {
		return v
	}
	v = readWrote(path)
	wroteCache.Lock()
	if len(wroteCache.m) > 100000 {
		clear(wroteCache.m)
	}
	wroteCache.m[k] = v
	wroteCache.Unlock()
	return v
}

func readWrote(path string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return true
	}
	// Only the results: the rest of each entry is skipped, not built.
	var results []*Result
	_, out, err := scanFile(data, false, func(dec *json.Decoder) error {
		var e struct {
			Result *Result `json:"result"`
		}
		if err := dec.Decode(&e); err != nil {
			return err
		}
		results = append(results, e.Result)
		return nil
	})
	if err != nil {
		return true
	}
	for i, r := range results {
		if out != nil {
			if out.dropped(i) {
				continue
			}
			r = out.Results[i]
		}
		if r == nil || r.Status != plan.StatusError {
			return true
		}
		for _, c := range r.Changes {
			if c.Result == ChangeDone {
				return true
			}
		}
	}
	return false
}

// Run outcomes in `maildns journal list`.
const (
	RunApplied     = "applied"     // every change written
	RunPartial     = "partial"     // some written, some failed
	RunFailed      = "failed"      // nothing written
	RunInterrupted = "interrupted" // stopped during its writes: any change may or may not be made
)

// RunInfo is one run of the journal.
type RunInfo struct {
	ID       string    `json:"id"`
	Time     time.Time `json:"time"`
	Mode     string    `json:"mode"`
	Zones    int       `json:"zones"`   // provider zones with an entry
	Domains  int       `json:"domains"` // domains with an entry
	Changes  int       `json:"changes"` // RRset changes written
	Planned  int       `json:"planned"` // RRset changes the entries hold
	Outcome  string    `json:"outcome"` // applied | partial | failed | interrupted
	Restores []string  `json:"restores,omitempty"`
	Entries  []string  `json:"entries"` // the paths of its files, oldest first
}

// ListRuns returns the runs of the journal in dir, oldest first. An entry
// that cannot be read is an error naming its file.
func ListRuns(dir string) ([]RunInfo, error) {
	paths, err := List(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // no run has written a journal entry yet
	}
	if err != nil {
		return nil, err
	}
	return runsOf(paths)
}

// runsOf groups the entries at paths by run, oldest first.
func runsOf(paths []string) ([]RunInfo, error) {
	byID := map[string]*RunInfo{}
	var out []*RunInfo
	type zk struct{ p, z string }
	zones := map[string]map[zk]bool{}
	domains := map[string]map[string]bool{}
	var errs []error
	for _, p := range paths {
		entries, err := ReadAll(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, e := range entries {
			id := cmp.Or(e.Run, RunOfFile(filepath.Base(p)))
			r := byID[id]
			if r == nil {
				r = &RunInfo{ID: id, Time: e.Time, Mode: e.Mode}
				byID[id] = r
				out = append(out, r)
				zones[id] = map[zk]bool{}
				domains[id] = map[string]bool{}
			}
			if e.Time.Before(r.Time) {
				r.Time = e.Time
			}
			if n := len(r.Entries); n == 0 || r.Entries[n-1] != p {
				r.Entries = append(r.Entries, p)
			}
			zones[id][zk{e.Provider, e.Zone}] = true
			domains[id][e.Domain] = true
			if e.Restores != "" && !slices.Contains(r.Restores, e.Restores) {
				r.Restores = append(r.Restores, e.Restores)
			}
			r.Planned += len(e.Changes)
			outcome := RunApplied
			switch {
			case e.Result == nil:
				outcome = RunInterrupted
			default:
				done := 0
				for _, c := range e.Result.Changes {
					if c.Result == ChangeDone {
						done++
					}
				}
				r.Changes += done
				switch {
				case done == 0 && len(e.Result.Changes) > 0:
					outcome = RunFailed
				case done < len(e.Result.Changes) || e.Result.Status == plan.StatusError:
					outcome = RunPartial
				}
			}
			r.Outcome = mergeOutcome(r.Outcome, outcome)
		}
	}
	res := make([]RunInfo, 0, len(out))
	for _, r := range out {
		r.Zones, r.Domains = len(zones[r.ID]), len(domains[r.ID])
		res = append(res, *r)
	}
	slices.SortStableFunc(res, func(a, b RunInfo) int { return cmp.Or(a.Time.Compare(b.Time), strings.Compare(a.ID, b.ID)) })
	return res, errors.Join(errs...)
}

// mergeOutcome is the outcome of a run from its entries' so far (a) and
// one more (b).
func mergeOutcome(a, b string) string {
	switch {
	case a == "":
		return b
	case a == RunInterrupted || b == RunInterrupted:
		return RunInterrupted
	case a == b:
		return a
	}
	return RunPartial
}

// FindRun returns the run with id in dir; "last" (or "") picks the newest run
// that is not a restore and wrote something. Only the entries of the runs
// it looks at are read.
func FindRun(dir, id string) (*RunInfo, error) {
	paths, err := List(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	byRun := map[string][]string{}
	var order []string
	for _, p := range paths {
		r := RunOfFile(filepath.Base(p))
		if _, ok := byRun[r]; !ok {
			order = append(order, r)
		}
		byRun[r] = append(byRun[r], p)
	}
	// Newest first by the time the id starts with.
	slices.SortStableFunc(order, func(a, b string) int { return strings.Compare(b[:min(16, len(b))], a[:min(16, len(a))]) })
	info := func(r string) (*RunInfo, error) {
		runs, err := runsOf(byRun[r])
		for i := range runs {
			if runs[i].ID == r || len(runs) == 1 {
				return &runs[i], err
			}
		}
		return nil, err
	}
	if id == "" || id == "last" {
		// Runs of the same second are told apart by their entries' times.
		var best *RunInfo
		for i, r := range order {
			if best != nil && r[:min(16, len(r))] != order[i-1][:min(16, len(order[i-1]))] {
				break
			}
			ri, _ := info(r)
			if ri != nil && ri.Mode != plan.ModeRestore && ri.Outcome != RunFailed && (best == nil || ri.Time.After(best.Time)) {
				best = ri
			}
		}
		if best == nil {
			return nil, fmt.Errorf("journal %s: no run that changed a zone", dir)
		}
		return best, nil
	}
	if _, ok := byRun[id]; ok {
		if ri, err := info(id); ri != nil {
			return ri, err
		}
	}
	return nil, fmt.Errorf("journal %s: no run %q (maildns journal list shows the runs)", dir, id)
}

// RemoveTemps removes the journal temporary files a killed run left
// in dir (older than tempMaxAge).
func RemoveTemps(dir string) {
	names, _ := filepath.Glob(filepath.Join(dir, ".tmp-journal-*"))
	for _, n := range names {
		if info, err := os.Lstat(n); err == nil && time.Since(info.ModTime()) > tempMaxAge {
			_ = os.Remove(n)
		}
	}
}
