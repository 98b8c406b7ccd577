package journal

import (
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
	"time"

	"github.com/maildns/maildns/sync/plan"
)

// Entry is one file in state_dir: what maildns was about to change in
// one domain's share of one provider zone, every RRset it touched as it was
// before (foreign values included), and, once the writes are over, what
// happened. `maildns restore FILE` puts the Before state back.
type Entry struct {
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
	Restores string        `json:"restores,omitempty"`
	Changes  []plan.Change `json:"changes"`
	Before   []RRset       `json:"before"`
	// Files are the files the changes write beside the records (the
	// MTA-STS policy), each with its text before; restore puts them back.
	Files []plan.FileChange `json:"files,omitempty"`
	// Result is nil while the writes are under way (or when maildns stopped
	// during them: then any change may or may not have been made).
	Result *Result `json:"result,omitempty"`
}

// RRset is one touched RRset (name, type) as read before the change:
// every value, with its TTL.
type RRset struct {
	Name    string   `json:"name"`
	Type    string   `json:"type"`
	Records []Record `json:"records"` // empty: the RRset did not exist
}

// Record is one value of an RRset, in the canonical form.
type Record struct {
	Data string `json:"data"`
	TTL  int    `json:"ttl"`
}

// Result is what the writes did.
type Result struct {
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
	DefaultKeep   = 100
	DefaultMaxAge = 90 * 24 * time.Hour
)

// journalName matches the files of the journal (and nothing else in state_dir).
var journalName = regexp.MustCompile(`^(\d{8}T\d{6}Z)-[A-Za-z0-9._-]+\.json$`)

// TimeFormat is the time in an entry's name and a run's id.
const TimeFormat = "20060102T150405Z"

// IsEntry reports whether name (a file name in state_dir) is a journal entry's.
func IsEntry(name string) bool { return journalName.MatchString(name) }

// BuildVersion is the main module's version from the build information.
func BuildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// AllDone reports whether every change of results was made.
func AllDone(results []ChangeResult) bool {
	for _, r := range results {
		if r.Result != ChangeDone {
			return false
		}
	}
	return true
}

// Create writes a new file of one entry in dir (CreateFile) and returns
// its path.
func Create(dir, run string, entry *Entry) (string, error) {
	return CreateFile(dir, run, []*Entry{entry})
}

// entryPath names a new file of entries in dir by run (the run's id first:
// retention and restore --run group by it; "": by the first entry's time
// and a random suffix), then the domain and zone of a file of one entry,
// the zone of a file of several: a name no file in dir has.
func entryPath(dir, run string, entries []*Entry) (string, error) {
	entry := entries[0]
	free := func(name string) bool {
		_, err := os.Lstat(filepath.Join(dir, name))
		return errors.Is(err, os.ErrNotExist)
	}
	if run == "" {
		var r [4]byte
		_, _ = rand.Read(r[:])
		return filepath.Join(dir, fmt.Sprintf("%s-%s-%s-%s.json", entry.Time.Format(TimeFormat), fileSafe(entry.Domain), fileSafe(entry.Zone), hex.EncodeToString(r[:]))), nil
	}
	stem := run + "-" + fileSafe(entry.Domain) + "-" + fileSafe(entry.Zone)
	if len(entries) > 1 {
		stem = run + "-" + fileSafe(entry.Zone)
	}
	name := stem + ".json"
	for i := 2; !free(name); i++ {
		name = fmt.Sprintf("%s-%d.json", stem, i)
	}
	return filepath.Join(dir, name), nil
}

// fileSafe keeps letters, digits, '.', '-' and '_' of s and replaces the rest.
func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}

// Fsync is false only in tests that write thousands of entries and
// do not test durability.
var Fsync = true

// Read reads a journal file of one entry; errors name the file.
func Read(path string) (*Entry, error) {
	entries, err := ReadAll(path)
	if err != nil {
		return nil, err
	}
	if len(entries) != 1 {
		return nil, fmt.Errorf("journal entry %s: %d entries in the file, want 1", path, len(entries))
	}
	return entries[0], nil
}

// ReadAll reads every entry of a journal file, in the order written: one
// (an indented JSON object) or several (one a line), with the results and
// drops of its last whole outcome line (AppendOutcome) applied. Errors name
// the file; a file with no entry, or any bad one, is an error.
func ReadAll(path string) ([]*Entry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("journal entry: %w", err)
	}
	var all []*Entry
	_, out, err := scanFile(data, true, func(dec *json.Decoder) error {
		var e Entry
		if err := dec.Decode(&e); err != nil {
			return err
		}
		if err := e.check(); err != nil {
			return err
		}
		all = append(all, &e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("journal entry %s: %w", path, err)
	}
	if out == nil {
		return all, nil
	}
	kept := all[:0]
	for i, e := range all {
		if out.dropped(i) {
			continue
		}
		e.Result = out.Results[i]
		kept = append(kept, e)
	}
	return kept, nil
}

// check is what a read entry must hold.
func (e *Entry) check() error {
	if e.Version != 1 {
		return fmt.Errorf("version %d, want 1", e.Version)
	}
	if e.Zone == "" || e.Provider == "" {
		return errors.New("no zone or provider")
	}
	for _, s := range e.Before {
		if s.Name == "" || s.Type == "" {
			return errors.New("an RRset without name or type")
		}
	}
	return nil
}

// List returns the paths of the journal entries in dir, oldest first.
func List(dir string) ([]string, error) {
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
