package sync

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/maildns/maildns/internal/atomicfile"
	"github.com/maildns/maildns/policy"
)

// planFiles adds to the plan of p (the domain's own zone) the MTA-STS policy
// file when it differs from the policy's text; the share is then drift.
func planFiles(p *domainZone) {
	if !p.main {
		return
	}
	path := policy.MTASTSPolicyFile(p.domain)
	if path == "" {
		return
	}
	want := policy.MTASTSPolicyText(p.domain)
	have, err := os.ReadFile(path)
	action := ActionUpdate
	switch {
	case errors.Is(err, fs.ErrNotExist):
		action = ActionCreate
	case err != nil:
		p.err = fmt.Errorf("reading the MTA-STS policy file: %w", err)
		p.plan.Status = StatusError
		p.plan.Error = p.err.Error()
		return
	case string(have) == want:
		return
	}
	p.plan.Files = append(p.plan.Files, FileChange{Action: action, Path: path, What: "MTA-STS policy", Before: string(have), After: want})
	if p.plan.Status == StatusInSync {
		p.plan.Status = StatusDrift
	}
}

// writeFiles makes each file change, a write atomically: a temporary file
// in the same directory, synced, renamed over the old one, the directory
// synced. The web server never serves half a policy.
func writeFiles(files []FileChange) error {
	for _, f := range files {
		if f.Action == ActionDelete {
			if err := os.Remove(f.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("removing the %s %s: %w", f.What, f.Path, err)
			}
			continue
		}
		if err := writeFileAtomic(f.Path, []byte(f.After)); err != nil {
			return fmt.Errorf("writing the %s %s: %w", f.What, f.Path, err)
		}
	}
	return nil
}

// abort records in o that none of its changes was made: a file it had to
// write first could not be.
func (j *journaler) abort(o *openEntry, err error) error {
	j.aborted(o, err)
	return o.file.write()
}

// abortLater is abort with its file written by the zone's endAll, once for
// all the shares of the zone that abort.
func (j *journaler) abortLater(o *openEntry, err error) {
	j.aborted(o, err)
	j.markDirty(o.file)
}

// aborted sets o's result: none of its changes was made.
func (j *journaler) aborted(o *openEntry, err error) {
	res := &JournalResult{Time: j.now().UTC(), Status: StatusError, Error: err.Error(), Changes: []ChangeResult{}}
	for _, c := range o.entry.Changes {
		res.Changes = append(res.Changes, ChangeResult{Action: c.Action, Name: c.Name, Type: c.Type, Result: ChangeNotAttempted})
	}
	o.entry.Result = res
}

// restoreFiles returns the file changes that put back the files entry
// recorded: a file it created is removed, one it updated gets its text
// before; files already so give nothing.
func restoreFiles(entry *JournalEntry) []FileChange {
	var out []FileChange
	for _, f := range entry.Files {
		have, err := os.ReadFile(f.Path)
		exists := err == nil
		switch {
		case f.Action == ActionCreate && exists:
			out = append(out, FileChange{Action: ActionDelete, Path: f.Path, What: f.What, Before: string(have)})
		case f.Action == ActionUpdate && !exists:
			out = append(out, FileChange{Action: ActionCreate, Path: f.Path, What: f.What, After: f.Before})
		case f.Action == ActionUpdate && string(have) != f.Before:
			out = append(out, FileChange{Action: ActionUpdate, Path: f.Path, What: f.What, Before: string(have), After: f.Before})
		}
	}
	return out
}

// writeFileAtomic writes the policy file whole: the web server reads it.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(path, data, 0o644, ".mta-sts-*.tmp")
}

// mtaSTSRank orders modes by strength.
var mtaSTSRank = map[string]int{"none": 0, "testing": 1, "enforce": 2}

// filesWeakening is the weakening rule of the policy files (SPEC §6): an
// MTA-STS mode going down (enforce → testing → none). It gives the
// findings that refuse it unless weakening is allowed.
func filesWeakening(cfg *policy.Config, opts Options, apply bool, d *policy.Domain, zp *ZonePlan) []Finding {
	if len(zp.Files) == 0 || weakeningAllowed(cfg, opts, d) {
		return nil
	}
	var out []Finding
	for _, f := range zp.Files {
		if f.Action != ActionUpdate {
			continue
		}
		before, _, _, err := policy.ParseMTASTSPolicy(f.Before)
		if err != nil {
			continue // an unreadable policy protects no one
		}
		after, _, _, _ := policy.ParseMTASTSPolicy(f.After)
		if mtaSTSRank[after] >= mtaSTSRank[before] {
			continue
		}
		how := "set allow_weakening: true in the policy"
		if d != nil && d.Pos.File != "" {
			how += " (" + d.Pos.File + ")"
		}
		how += " or under safety: in maildns.yaml, or run with --allow-weakening"
		fnd := Finding{Kind: "safety", Domain: zp.Domain, Subject: f.Path, Severity: SevWarning,
			Message: fmt.Sprintf("a sync would refuse to write the MTA-STS policy %s: it lowers the mode from %s to %s; %s", f.Path, before, after, how)}
		if apply {
			fnd.Severity = SevError
			fnd.Message = fmt.Sprintf("refused to write the MTA-STS policy %s: it lowers the mode from %s to %s; %s", f.Path, before, after, how)
		}
		out = append(out, fnd)
	}
	return out
}
