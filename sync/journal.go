package sync

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	stdsync "sync"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
)

// JournalEntry is one file in state_dir: what maildns was about to change in
// one domain's share of one provider zone, every RRset it touched as it was
// before (foreign values included), and, once the writes are over, what
// happened. `maildns restore FILE` puts the Before state back.
type JournalEntry struct {
	Version int       `json:"version"` // 1
	Time    time.Time `json:"time"`    // when the entry was opened, UTC
	Maildns string    `json:"maildns_version"`
	Mode    string    `json:"mode"` // once | daemon | restore
	// Run is the id of the run that wrote the entry (see NewRunID): every
	// entry of one run carries it, and `maildns restore --run` puts back
	// every zone of a run at once.
	Run string `json:"run,omitempty"`
	// Config is the config file of that run (absolute), so that restore
	// finds its providers without being told.
	Config   string `json:"config,omitempty"`
	Domain   string `json:"domain"`
	Zone     string `json:"zone"`
	Provider string `json:"provider"`
	// Restores is the entry a restore put back (restore entries only).
	Restores string         `json:"restores,omitempty"`
	Changes  []Change       `json:"changes"`
	Before   []JournalRRset `json:"before"`
	// Files are the files the changes write beside the records (the
	// MTA-STS policy), each with its text before; restore puts them back.
	Files []FileChange `json:"files,omitempty"`
	// Result is nil while the writes are under way (or when maildns stopped
	// during them: then any change may or may not have been made).
	Result *JournalResult `json:"result,omitempty"`
}

// JournalRRset is one touched RRset (name, type) as read before the change:
// every value, with its TTL.
type JournalRRset struct {
	Name    string          `json:"name"`
	Type    string          `json:"type"`
	Records []JournalRecord `json:"records"` // empty: the RRset did not exist
}

// JournalRecord is one value of an RRset, in the canonical form.
type JournalRecord struct {
	Data string `json:"data"`
	TTL  int    `json:"ttl"`
}

// JournalResult is what the writes did.
type JournalResult struct {
	Time    time.Time      `json:"time"`
	Status  string         `json:"status"` // applied | error
	Error   string         `json:"error,omitempty"`
	Changes []ChangeResult `json:"changes"`
}

// Outcomes of one change.
const (
	ChangeDone         = "done"
	ChangeFailed       = "failed" // a call carrying some of it failed: it may be partly made
	ChangeNotAttempted = "not_attempted"
)

// ChangeResult is the outcome of one change of the entry.
type ChangeResult struct {
	Action string `json:"action"`
	Name   string `json:"name"`
	Type   string `json:"type"`
	Result string `json:"result"` // done | failed | not_attempted
}

// Journal retention defaults, when the config sets none.
const (
	DefaultJournalKeep   = 100
	DefaultJournalMaxAge = 90 * 24 * time.Hour
)

// journalName matches the files of the journal (and nothing else in state_dir).
var journalName = regexp.MustCompile(`^(\d{8}T\d{6}Z)-[A-Za-z0-9._-]+\.json$`)

const journalTimeFormat = "20060102T150405Z"

// journaler writes the entries of one run's zones to a state directory.
type journaler struct {
	dir     string
	keep    int
	maxAge  time.Duration
	version string
	mode    string
	run     string // the run's id ("": an entry is a run of its own)
	config  string // the config file, absolute
	now     func() time.Time

	// runPrune: the engine prunes once after the run's writes (pruneJournal)
	// instead of on each entry.
	runPrune bool

	mu      stdsync.Mutex
	entries map[*domainZone]*openEntry
}

type openEntry struct {
	path  string
	entry *JournalEntry
}

// newJournaler returns the journal of cfg's state_dir for a run in mode, or
// nil when cfg has no state_dir (an Engine built by hand, without the loader).
func (e *Engine) newJournaler(mode, run string) *journaler {
	if e.Config == nil || e.Config.StateDir == "" {
		return nil
	}
	return newJournalerFor(e.Config, e.Version, mode, run)
}

func newJournalerFor(cfg *policy.Config, version, mode, run string) *journaler {
	keep, age := cfg.Journal.Keep, cfg.Journal.MaxAge
	if keep == 0 && age == 0 {
		keep, age = DefaultJournalKeep, DefaultJournalMaxAge
	}
	conf := cfg.File
	if abs, err := filepath.Abs(conf); err == nil && conf != "" {
		conf = abs
	}
	return &journaler{
		dir: cfg.StateDir, keep: keep, maxAge: age,
		version: cmp.Or(version, buildVersion()), mode: mode, run: run, config: conf,
		now: time.Now, entries: map[*domainZone]*openEntry{},
	}
}

// buildVersion is the main module's version from the build information.
func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// touched returns the RRsets at the (name, type) of changes as live has them.
func touched(changes []Change, live []libdns.RR, idx liveIndex) []JournalRRset {
	var out []JournalRRset
	seen := map[nameType]bool{}
	for _, c := range changes {
		k := nameType{c.Name, strings.ToUpper(c.Type)}
		if seen[k] {
			continue
		}
		seen[k] = true
		set := JournalRRset{Name: k.name, Type: k.typ, Records: []JournalRecord{}}
		for _, rr := range touchedLive(live, idx, k) {
			if strings.EqualFold(rr.Name, k.name) && strings.EqualFold(rr.Type, k.typ) {
				set.Records = append(set.Records, JournalRecord{Data: rr.Data, TTL: seconds(rr.TTL)})
			}
		}
		slices.SortFunc(set.Records, func(a, b JournalRecord) int {
			return cmp.Or(strings.Compare(a.Data, b.Data), a.TTL-b.TTL)
		})
		out = append(out, set)
	}
	return out
}

// begin opens the journal entry of changes in z (the RRsets they touch as z
// was read) before any of them is written. entry is nil, and nothing may be
// written, when the entry could not be.
func (j *journaler) begin(z *zoneState, domain, restores string, changes []Change, files ...FileChange) (*openEntry, error) {
	entry := &JournalEntry{
		Version: 1, Time: j.now().UTC(), Maildns: j.version, Mode: j.mode,
		Run: j.run, Config: j.config, Domain: domain, Zone: z.key.zone, Provider: z.key.provider, Restores: restores,
		Changes: slices.Clone(changes),
		Before:  touched(changes, z.live, z.liveIndexed()),
	}
	entry.Files = files
	path, err := j.open(entry)
	if err != nil {
		return nil, err
	}
	return &openEntry{path: path, entry: entry}, nil
}

// end records in o the outcome of the call or calls that carried its
// changes: ops (the writes of the whole zone, one call when oneCall) made n
// calls, the n-th failing when applyErr is not nil; perChange are the writes
// of each of o's changes. It returns an error when the result could not be
// recorded.
func (j *journaler) end(o *openEntry, perChange []writeOps, ops writeOps, oneCall bool, n int, applyErr error) error {
	results := changeResults(o.entry.Changes, perChange, ops, oneCall, n, applyErr)
	o.entry.Result = &JournalResult{Time: j.now().UTC(), Status: StatusApplied, Changes: results}
	if !allDone(results) {
		o.entry.Result.Status = StatusError
		o.entry.Result.Error = applyErr.Error()
	}
	if err := writeJournalFile(o.path, o.entry); err != nil {
		return fmt.Errorf("recording the result in the journal: %w", err)
	}
	return nil
}

// allDone reports whether every change of results was made.
func allDone(results []ChangeResult) bool {
	for _, r := range results {
		if r.Result != ChangeDone {
			return false
		}
	}
	return true
}

// open writes a new entry and prunes the journal.
func (j *journaler) open(entry *JournalEntry) (string, error) {
	if err := os.MkdirAll(j.dir, 0o700); err != nil {
		return "", fmt.Errorf("journal: %w (nothing was changed)", err)
	}
	var name string
	if j.run != "" {
		// The run's id first: retention and restore --run group by it.
		stem := j.run + "-" + fileSafe(entry.Domain) + "-" + fileSafe(entry.Zone)
		name = stem + ".json"
		for i := 2; ; i++ {
			if _, err := os.Lstat(filepath.Join(j.dir, name)); errors.Is(err, os.ErrNotExist) {
				break
			}
			name = fmt.Sprintf("%s-%d.json", stem, i)
		}
	} else {
		var r [4]byte
		_, _ = rand.Read(r[:])
		name = fmt.Sprintf("%s-%s-%s-%s.json", entry.Time.Format(journalTimeFormat), fileSafe(entry.Domain), fileSafe(entry.Zone), hex.EncodeToString(r[:]))
	}
	path := filepath.Join(j.dir, name)
	if err := writeJournalFile(path, entry); err != nil {
		return "", fmt.Errorf("journal: %w (nothing was changed)", err)
	}
	if !j.runPrune {
		_ = j.prune(cmp.Or(j.run, runOfFile(name)))
	}
	return path, nil
}

// pruneJournal prunes the journal once after a run's writes (if it wrote:
// then it reports true),
// never the run's own entries: pruning per entry listed state_dir once per
// entry, which made a run writing to many zones cost their number squared.
func pruneJournal(zones []*zoneState) (wrote bool) {
	for _, z := range zones {
		j := z.journal
		if j == nil {
			continue
		}
		j.mu.Lock()
		wrote := len(j.entries) > 0
		j.mu.Unlock()
		if wrote {
			// Every zone's journal has the run's state_dir, keep and max_age.
			_ = j.prune(j.run)
			return true
		}
	}
	return false
}

// remember keeps the open entry of p for finish.
func (j *journaler) remember(p *domainZone, o *openEntry) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries[p] = o
}

// finish records a verify failure found after the read-back in p's entry.
func (j *journaler) finish(p *domainZone) {
	if j == nil {
		return
	}
	j.mu.Lock()
	o := j.entries[p]
	j.mu.Unlock()
	if o == nil || o.entry.Result == nil || o.entry.Result.Status == p.plan.Status {
		return
	}
	o.entry.Result.Status = p.plan.Status
	o.entry.Result.Error = p.plan.Error
	_ = writeJournalFile(o.path, o.entry)
}

// changeResults says, for each change, whether the calls that carry it were
// made: ops' non-empty steps run in order (or all in one call when oneCall:
// a ReplaceRecords) and the n-th call failed when err is not nil.
func changeResults(changes []Change, perChange []writeOps, ops writeOps, oneCall bool, n int, err error) []ChangeResult {
	// The index of each step among the calls made.
	steps := [4]int{-1, -1, -1, -1}
	call := 0
	for i, recs := range [][]libdns.RR{ops.Append, ops.Delete, ops.Replace, ops.ReplaceWith} {
		if len(recs) > 0 {
			steps[i] = call
			if !oneCall {
				call++
			}
		}
	}
	failed := -1
	if err != nil {
		failed = n - 1
	}
	out := make([]ChangeResult, len(changes))
	for i, c := range changes {
		out[i] = ChangeResult{Action: c.Action, Name: c.Name, Type: c.Type, Result: ChangeDone}
		if i >= len(perChange) || failed < 0 {
			continue
		}
		o := perChange[i]
		done, fail, later := 0, 0, 0
		for s, recs := range [][]libdns.RR{o.Append, o.Delete, o.Replace, o.ReplaceWith} {
			if len(recs) == 0 {
				continue
			}
			switch {
			case steps[s] < failed:
				done++
			case steps[s] == failed:
				fail++
			default:
				later++
			}
		}
		switch {
		case fail > 0 || (done > 0 && later > 0):
			out[i].Result = ChangeFailed
		case later > 0:
			out[i].Result = ChangeNotAttempted
		}
	}
	return out
}

// journalFsync is false only in tests that write thousands of entries and
// do not test durability.
var journalFsync = true

// writeJournalFile writes entry to path atomically and durably: a temporary
// file in the same directory, fsync, rename, fsync of the directory.
func writeJournalFile(path string, entry *JournalEntry) error {
	data, err := json.MarshalIndent(entry, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".tmp-journal-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err == nil && journalFsync {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil || !journalFsync {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ReadJournal reads one journal entry; errors name the file.
func ReadJournal(path string) (*JournalEntry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("journal entry: %w", err)
	}
	var e JournalEntry
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("journal entry %s: %w", path, err)
	}
	if e.Version != 1 {
		return nil, fmt.Errorf("journal entry %s: version %d, want 1", path, e.Version)
	}
	if e.Zone == "" || e.Provider == "" {
		return nil, fmt.Errorf("journal entry %s: no zone or provider", path)
	}
	for _, s := range e.Before {
		if s.Name == "" || s.Type == "" {
			return nil, fmt.Errorf("journal entry %s: an RRset without name or type", path)
		}
	}
	return &e, nil
}

// ListJournal returns the paths of the journal entries in dir, oldest first.
func ListJournal(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, de := range ents {
		if de.Type().IsRegular() && journalName.MatchString(de.Name()) {
			out = append(out, filepath.Join(dir, de.Name()))
		}
	}
	slices.Sort(out)
	return out, nil
}

// lockZone takes a zone's lock; tests replace it to watch the locks held.
var lockZone = LockZone

// readLocked takes the zone's lock when apply (with a state directory),
// opens the zone's journal, and reads the zone. The lock is held until
// releaseZones.
func (e *Engine) readLocked(ctx context.Context, z *zoneState, apply bool, mode string) ([]libdns.RR, error) {
	if apply {
		if err := e.lock(ctx, z, mode); err != nil {
			return nil, err
		}
	}
	readLive(ctx, z) // with what a conditional write needs of the read
	return z.live, z.err
}

// lock takes z's lock and opens its journal when the config has a state
// directory (else it does nothing); the lock is held until releaseZones.
func (e *Engine) lock(ctx context.Context, z *zoneState, mode string) error {
	if e.Config == nil || e.Config.StateDir == "" || z.provider == nil {
		return nil
	}
	unlock, err := lockZone(ctx, e.Config.StateDir, z.key.provider, z.key.zone, e.LockWait)
	if err != nil {
		return err
	}
	z.unlock = unlock
	z.journal = e.newJournaler(mode, z.run)
	return nil
}

// releaseZones releases the locks of zones; it may be called again.
func releaseZones(zones []*zoneState) {
	for _, z := range zones {
		if z.unlock != nil {
			z.unlock()
			z.unlock = nil
		}
	}
}
