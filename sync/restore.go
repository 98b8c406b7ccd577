package sync

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
)

// ModeRestore is the plan mode of a restore.
const ModeRestore = "restore"

// Restore puts back the state the journal entry at path recorded before its
// changes. In every RRset the entry touched, each value that was there is
// there again with its TTL, and each value the entry's changes added is
// removed; values someone else added since are left alone, and RRsets the
// entry did not touch are not looked at. opts.Mode is ModeDryRun (plan only)
// or ModeOnce (apply under the zone's lock, with its own journal entry, then
// read back). The safety rules apply as to a sync: --force for max_changes,
// allow_weakening to put back a weaker record.
//
// The plan has one zone; its changes list every value of the touched RRsets
// (foreign ones too), before and after the restore.
func (e *Engine) Restore(ctx context.Context, path string, opts Options) (*Plan, error) {
	log := e.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	plan := &Plan{Version: 1, Mode: ModeRestore, Zones: []ZonePlan{}, Findings: []Finding{}}
	apply := opts.Mode != ModeDryRun
	entry, err := ReadJournal(path)
	if err != nil {
		return plan, err
	}
	zp := ZonePlan{Domain: entry.Domain, Zone: entry.Zone, Provider: entry.Provider, Changes: []Change{}}
	fail := func(err error) (*Plan, error) {
		zp.Status, zp.Error = StatusError, err.Error()
		plan.Zones = append(plan.Zones, zp)
		plan.Summary = summarise(plan)
		return plan, err
	}
	prov := e.Providers[entry.Provider]
	if prov == nil {
		return fail(fmt.Errorf("journal entry %s: provider %q is not in the config", path, entry.Provider))
	}
	z := &zoneState{key: zoneKey{entry.Provider, entry.Zone}, fqdn: entry.Zone + ".", provider: prov}
	defer releaseZones([]*zoneState{z})
	mode := ModeRestore
	z.live, err = e.readLocked(ctx, z, apply, mode)
	if err != nil {
		return fail(err)
	}
	perChange, changes := restoreOps(entry, z.live)
	zp.Changes = changes
	zp.Files = restoreFiles(entry) // the MTA-STS policy file
	zp.Status = StatusInSync
	if len(changes) > 0 || len(zp.Files) > 0 {
		zp.Status = StatusDrift
	}
	var d *policy.Domain
	if e.Config != nil {
		for _, cd := range e.Config.Domains {
			if cd.Domain == entry.Domain {
				d = cd
			}
		}
	}
	if fs := safetyFindings(e.Config, opts, apply, d, &zp); len(fs) > 0 {
		plan.Findings = append(plan.Findings, fs...)
		if apply {
			zp.Status = StatusRefused
		}
	}
	action := map[bool]string{true: "restored", false: "would_restore"}[apply && zp.Status == StatusDrift]
	var runErr error
	if apply && zp.Status == StatusDrift {
		if runErr = writeFiles(zp.Files); runErr != nil {
			zp.Status, zp.Error, action = StatusError, runErr.Error(), "failed"
		}
	}
	if apply && zp.Status == StatusDrift {
		var ops writeOps
		for _, o := range perChange {
			ops.Append = append(ops.Append, o.Append...)
			ops.Delete = append(ops.Delete, o.Delete...)
			ops.Replace = append(ops.Replace, o.Replace...)
			ops.ReplaceWith = append(ops.ReplaceWith, o.ReplaceWith...)
		}
		if z.journal != nil {
			restores := path
			if abs, err := filepath.Abs(path); err == nil {
				restores = abs
			}
			_, _, _, runErr = z.journal.write(ctx, z, entry.Domain, restores, changes, perChange, ops)
		} else {
			_, runErr = applyOps(ctx, z.provider, z.fqdn, ops)
		}
		if runErr == nil {
			var after []libdns.RR
			after, runErr = readZone(ctx, z)
			if runErr == nil {
				if _, left := restoreOps(entry, after); len(left) > 0 {
					var names []string
					for _, c := range left {
						names = append(names, c.Name+" "+c.Type)
						plan.Findings = append(plan.Findings, Finding{Severity: SevError, Kind: "verify", Domain: entry.Domain,
							Subject: c.Name + " " + c.Type,
							Message: fmt.Sprintf("after restoring, %s %s in zone %s has %s, want %s", c.Name, c.Type, entry.Zone, joinValues(c.Before), joinValues(c.After))})
					}
					runErr = fmt.Errorf("verify: %s not as recorded", strings.Join(names, ", "))
				}
			} else {
				runErr = fmt.Errorf("reading back after restoring: %w", runErr)
			}
		}
		zp.Status = StatusApplied
		if runErr != nil {
			runErr = fmt.Errorf("restoring %s in zone %s at %s: %w", path, entry.Zone, entry.Provider, runErr)
			zp.Status, zp.Error = StatusError, runErr.Error()
			action = "failed"
		}
	}
	if zp.Status == StatusRefused {
		action = "refused"
	}
	for _, c := range zp.Changes {
		log.Info("restore", "domain", entry.Domain, "zone", entry.Zone, "provider", entry.Provider,
			"name", c.Name, "type", c.Type, "want", joinValues(c.After), "have", joinValues(c.Before),
			"action", action, "journal", path)
	}
	for _, f := range plan.Findings {
		lvl := slog.LevelWarn
		if f.Severity == SevError {
			lvl = slog.LevelError
		}
		log.Log(ctx, lvl, "finding", "domain", f.Domain, "kind", f.Kind, "severity", f.Severity, "subject", f.Subject, "message", f.Message)
	}
	plan.Zones = append(plan.Zones, zp)
	plan.Summary = summarise(plan)
	return plan, runErr
}

// restoreOps computes, for each RRset entry touched, the writes that put its
// recorded values back (a missing one appended, one with another TTL
// replaced) and remove the values the entry's changes added, with the change
// that shows it; RRsets already as recorded give nothing. perChange[i] are
// the writes of changes[i].
func restoreOps(entry *JournalEntry, live []libdns.RR) (perChange []writeOps, changes []Change) {
	added := map[nameType]map[string]bool{}
	for _, c := range entry.Changes {
		k := nameType{strings.ToLower(c.Name), strings.ToUpper(c.Type)}
		if added[k] == nil {
			added[k] = map[string]bool{}
		}
		for _, v := range c.After {
			added[k][v] = true
		}
	}
	for _, set := range entry.Before {
		k := nameType{strings.ToLower(set.Name), strings.ToUpper(set.Type)}
		var have []libdns.RR
		for _, rr := range live {
			if strings.EqualFold(rr.Name, k.name) && strings.EqualFold(rr.Type, k.typ) {
				have = append(have, rr)
			}
		}
		was := map[string]bool{}
		for _, r := range set.Records {
			was[r.Data] = true
		}
		byData := map[string][]libdns.RR{}
		for _, rr := range have {
			byData[rr.Data] = append(byData[rr.Data], rr)
		}
		var o writeOps
		for _, r := range set.Records {
			rec := libdns.RR{Name: k.name, Type: k.typ, TTL: time.Duration(r.TTL) * time.Second, Data: r.Data}
			recs := byData[r.Data]
			if len(recs) == 0 {
				o.Append = append(o.Append, rec)
				continue
			}
			wrongTTL := false
			for _, rr := range recs {
				if seconds(rr.TTL) != r.TTL {
					wrongTTL = true
				}
			}
			if wrongTTL {
				o.Replace = append(o.Replace, recs...)
				o.ReplaceWith = append(o.ReplaceWith, rec)
			}
		}
		result := map[string]bool{}
		for _, rr := range have {
			if !was[rr.Data] && added[k][rr.Data] {
				o.Delete = append(o.Delete, rr)
				continue
			}
			result[rr.Data] = true
		}
		if o.empty() {
			continue
		}
		for d := range was {
			result[d] = true
		}
		after := make([]string, 0, len(result))
		for d := range result {
			after = append(after, d)
		}
		slices.Sort(after)
		c := Change{Action: ActionUpdate, Name: k.name, Type: k.typ, Before: liveValues(have), After: after}
		recorded := make([]libdns.RR, 0, len(set.Records))
		for _, r := range set.Records {
			recorded = append(recorded, libdns.RR{TTL: time.Duration(r.TTL) * time.Second})
		}
		c.TTL = cmp.Or(liveTTL(recorded), liveTTL(have))
		switch {
		case len(have) == 0:
			c.Action = ActionCreate
		case len(after) == 0:
			c.Action, c.TTL = ActionDelete, liveTTL(have)
		}
		if lt := liveTTL(have); len(have) > 0 && lt != c.TTL {
			c.BeforeTTL = lt
		}
		if len(c.Before) == 0 {
			c.Before = nil
		}
		if len(c.After) == 0 {
			c.After = nil
		}
		perChange = append(perChange, o)
		changes = append(changes, c)
	}
	return perChange, changes
}
