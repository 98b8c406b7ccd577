package sync

import (
	"context"
	"time"

	"github.com/maildns/maildns/sync/journal"
)

// The journal's entries, runs and locks live in package journal; these
// names keep the engine's code, and its callers, speaking of them as before.
type (
	JournalEntry    = journal.Entry
	JournalRRset    = journal.RRset
	JournalRecord   = journal.Record
	JournalResult   = journal.Result
	ChangeResult    = journal.ChangeResult
	RunInfo         = journal.RunInfo
	ZoneLockedError = journal.ZoneLockedError
)

// Outcomes of one change of a journal entry.
const (
	ChangeDone         = journal.ChangeDone
	ChangeFailed       = journal.ChangeFailed
	ChangeNotAttempted = journal.ChangeNotAttempted
)

// Journal retention defaults, when the config sets none.
const (
	DefaultJournalKeep   = journal.DefaultKeep
	DefaultJournalMaxAge = journal.DefaultMaxAge
)

// Run outcomes in `maildns journal list`.
const (
	RunApplied     = journal.RunApplied
	RunPartial     = journal.RunPartial
	RunFailed      = journal.RunFailed
	RunInterrupted = journal.RunInterrupted
)

// DefaultLockWait is how long a run waits for a zone another maildns holds.
const DefaultLockWait = journal.DefaultLockWait

// ErrZoneLocked is the error of a zone another maildns holds.
var ErrZoneLocked = journal.ErrZoneLocked

// ReadJournal reads a journal file of one entry; errors name the file
// (journal.Read).
func ReadJournal(path string) (*JournalEntry, error) { return journal.Read(path) }

// ReadJournalFile reads every entry of a journal file (one zone's shares in
// one write of a run); errors name the file (journal.ReadAll).
func ReadJournalFile(path string) ([]*JournalEntry, error) { return journal.ReadAll(path) }

// ListJournal returns the paths of the journal files in dir, oldest first
// (journal.List).
func ListJournal(dir string) ([]string, error) { return journal.List(dir) }

// ListRuns returns the runs of the journal in dir, oldest first
// (journal.ListRuns).
func ListRuns(dir string) ([]RunInfo, error) { return journal.ListRuns(dir) }

// FindRun returns the run with id in dir; "last" (or "") the newest that
// wrote (journal.FindRun).
func FindRun(dir, id string) (*RunInfo, error) { return journal.FindRun(dir, id) }

// NewRunID returns a new run id (journal.NewRunID).
func NewRunID(now time.Time) string { return journal.NewRunID(now) }

// LockZone takes a zone's lock in stateDir (journal.LockZone).
func LockZone(ctx context.Context, stateDir, provider, zone string, wait time.Duration) (func(), error) {
	return journal.LockZone(ctx, stateDir, provider, zone, wait)
}

// The engine's names for the journal's functions.
func buildVersion() string                { return journal.BuildVersion() }
func allDone(results []ChangeResult) bool { return journal.AllDone(results) }
func removeJournalTemps(dir string)       { journal.RemoveTemps(dir) }
func zoneGeneration(stateDir, provider, zone string) (uint64, bool) {
	return journal.ZoneGeneration(stateDir, provider, zone)
}
