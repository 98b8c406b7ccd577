package sync

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	stdsync "sync"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/sync/journal"
)

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
	// dirty are the files changed in memory (discard, abortLater) since
	// endAll, which writes them.
	dirty []*entryFile
}

// openEntry is one share's entry in its journal file.
type openEntry struct {
	entry *JournalEntry
	file  *entryFile
}

// entryFile is a journal file: the entries a write of a zone opened (one
// per share), in the file's order, and those dropped since (discard). Each
// change of their outcome is appended to the file (journal.AppendOutcome).
type entryFile struct {
	path    string
	entries []*JournalEntry
	dropped []bool // by index of entries; nil: none
}

// write appends f's outcome to its file, or removes the file when every
// entry is dropped.
func (f *entryFile) write() error {
	if len(f.dropped) == len(f.entries) && !slices.Contains(f.dropped, false) {
		if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	return journal.AppendOutcome(f.path, f.entries, f.dropped)
}

// drop marks e dropped from f.
func (f *entryFile) drop(e *JournalEntry) {
	if i := slices.Index(f.entries, e); i >= 0 {
		if f.dropped == nil {
			f.dropped = make([]bool, len(f.entries))
		}
		f.dropped[i] = true
	}
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

// begin opens the journal entry of one share's changes in z (beginAll).
func (j *journaler) begin(z *zoneState, domain, restores string, changes []Change, files ...FileChange) (*openEntry, error) {
	opened, err := j.beginAll(z, []entryOf{{domain: domain, restores: restores, changes: changes, files: files}})
	if err != nil {
		return nil, err
	}
	return opened[0], nil
}

// beginAll opens the entries of shares of z (the RRsets their changes
// touch as z was read) in one journal file, made durable before any of
// their changes is written: one file and one sync for the zone, not one
// per domain. On an error no entry was written, and nothing may be.
func (j *journaler) beginAll(z *zoneState, shares []entryOf) ([]*openEntry, error) {
	entries := make([]*JournalEntry, len(shares))
	idx := z.liveIndexed()
	for i, s := range shares {
		entries[i] = &JournalEntry{
			Version: 1, Time: j.now().UTC(), Maildns: j.version, Mode: j.mode,
			Run: j.run, Config: j.config, Domain: s.domain, Zone: z.key.zone, Provider: z.key.provider, Restores: s.restores,
			Changes: slices.Clone(s.changes),
			Before:  touched(s.changes, z.live, idx),
			Files:   s.files,
		}
	}
	if len(entries) == 0 {
		return nil, nil
	}
	path, err := journal.CreateFile(j.dir, j.run, entries)
	if err != nil {
		return nil, err
	}
	if !j.runPrune {
		_ = j.prune(cmp.Or(j.run, journal.RunOfFile(filepath.Base(path))))
	}
	f := &entryFile{path: path, entries: entries}
	out := make([]*openEntry, len(entries))
	for i, e := range entries {
		out[i] = &openEntry{entry: e, file: f}
	}
	return out, nil
}

// pending reports whether files changed in memory (discard, abortLater)
// that endAll has not written yet.
func (j *journaler) pending() bool {
	if j == nil {
		return false
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.dirty) > 0
}

// markDirty notes that f changed in memory: endAll writes it.
func (j *journaler) markDirty(f *entryFile) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !slices.Contains(j.dirty, f) {
		j.dirty = append(j.dirty, f)
	}
}

// entryOf is what beginAll journals of one share.
type entryOf struct {
	domain   string
	restores string
	changes  []Change
	files    []FileChange
}

// endAll records the outcome of each of opened (results[i] for opened[i],
// as end computes it) in one durable write of each of their files, and of
// each file changed in memory (discard, abortLater) since the last endAll.
func (j *journaler) endAll(opened []*openEntry, results []*JournalResult) error {
	j.mu.Lock()
	files := j.dirty
	j.dirty = nil
	j.mu.Unlock()
	for i, o := range opened {
		o.entry.Result = results[i]
		if !slices.Contains(files, o.file) {
			files = append(files, o.file)
		}
	}
	for _, f := range files {
		if err := f.write(); err != nil {
			return fmt.Errorf("recording the result in the journal: %w", err)
		}
	}
	return nil
}

// result is the outcome end records in o (see end).
func (j *journaler) result(o *openEntry, perChange []writeOps, ops writeOps, oneCall bool, n int, applyErr error) *JournalResult {
	results := changeResults(o.entry.Changes, perChange, ops, oneCall, n, applyErr)
	r := &JournalResult{Time: j.now().UTC(), Status: StatusApplied, Changes: results}
	if !allDone(results) {
		r.Status = StatusError
		r.Error = applyErr.Error()
	}
	return r
}

// end records in o the outcome of the call or calls that carried its
// changes: ops (the writes of the whole zone, one call when oneCall) made n
// calls, the n-th failing when applyErr is not nil; perChange are the writes
// of each of o's changes. It returns an error when the result could not be
// recorded.
func (j *journaler) end(o *openEntry, perChange []writeOps, ops writeOps, oneCall bool, n int, applyErr error) error {
	o.entry.Result = j.result(o, perChange, ops, oneCall, n, applyErr)
	if err := o.file.write(); err != nil {
		return fmt.Errorf("recording the result in the journal: %w", err)
	}
	return nil
}

// prune applies the journal's retention (journal.Prune); the run named
// current is never pruned.
func (j *journaler) prune(current string) error {
	return journal.Prune(j.dir, j.keep, j.maxAge, j.now(), current)
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

// finish records the verify failures found after the read-back in the
// entries of parts: one write of each file that changed.
func (j *journaler) finish(parts []*domainZone) {
	if j == nil {
		return
	}
	var files []*entryFile
	for _, p := range parts {
		j.mu.Lock()
		o := j.entries[p]
		j.mu.Unlock()
		if o == nil || o.entry.Result == nil || o.entry.Result.Status == p.plan.Status {
			continue
		}
		o.entry.Result.Status = p.plan.Status
		o.entry.Result.Error = p.plan.Error
		if !slices.Contains(files, o.file) {
			files = append(files, o.file)
		}
	}
	for _, f := range files {
		_ = f.write()
	}
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

// lockZone takes a zone's lock; tests replace it to watch the locks held.
var lockZone = journal.LockZone

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

// notStarted marks the shares of z a stopped run did not start: their plans
// keep the planned changes, nothing was journaled or written.
func notStarted(z *zoneState, why error) {
	err := fmt.Errorf("not attempted: maildns was stopped before zone %s at %s was started (%v)", z.key.zone, z.key.provider, why)
	for _, p := range z.parts {
		if p.plan.Status != StatusDrift {
			continue
		}
		p.err = err
		p.plan.Status, p.plan.Error = StatusError, err.Error()
	}
}
