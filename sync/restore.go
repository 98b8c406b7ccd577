package sync

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/providers"
	"golang.org/x/sync/errgroup"
)

// RestoreEntry is one journal entry to put back.
type RestoreEntry struct {
	Path  string
	Entry *JournalEntry
}

// Restore puts back the state the entries of the journal file at path
// recorded before their changes (see RestoreEntries).
func (e *Engine) Restore(ctx context.Context, path string, opts Options) (*Plan, error) {
	entries, err := ReadJournalFile(path)
	if err != nil {
		plan := &Plan{Version: 1, Mode: ModeRestore, Zones: []ZonePlan{}, Findings: []Finding{}}
		return plan, err
	}
	return e.RestoreEntries(ctx, FileEntries(path, entries), opts)
}

// FileEntries are the entries of the journal file at path to restore.
func FileEntries(path string, entries []*JournalEntry) []RestoreEntry {
	out := make([]RestoreEntry, len(entries))
	for i, en := range entries {
		out[i] = RestoreEntry{Path: path, Entry: en}
	}
	return out
}

// RestoreRun puts back every zone the run id changed ("last": the newest run
// that changed a zone and was not a restore), only the domains named when
// opts.Domains is not empty.
func (e *Engine) RestoreRun(ctx context.Context, id string, opts Options) (*Plan, error) {
	plan := &Plan{Version: 1, Mode: ModeRestore, Zones: []ZonePlan{}, Findings: []Finding{}}
	if e.Config == nil || e.Config.StateDir == "" {
		return plan, errors.New("restore: no state_dir")
	}
	run, err := FindRun(e.Config.StateDir, id)
	if run == nil {
		return plan, fmt.Errorf("restore: %w", err)
	}
	want := map[string]bool{}
	for _, d := range opts.Domains {
		want[strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")] = true
	}
	var entries []RestoreEntry
	for _, p := range run.Entries {
		list, err := ReadJournalFile(p)
		if err != nil {
			return plan, fmt.Errorf("restore: %w", err)
		}
		for _, entry := range list {
			if len(want) > 0 && !want[entry.Domain] {
				continue
			}
			entries = append(entries, RestoreEntry{Path: p, Entry: entry})
		}
	}
	if len(entries) == 0 {
		return plan, fmt.Errorf("restore: run %s has no entry for %s", run.ID, strings.Join(opts.Domains, ", "))
	}
	return e.RestoreEntries(ctx, entries, opts)
}

// restoreSet is one RRset (name, type) a restore puts back.
type restoreSet struct {
	owner  *policy.RRset   // the policy RRset that owns it
	target []JournalRecord // the owned values as the earliest entry recorded them
	after  []string        // the owned values the latest entry left, sorted
	entry  string          // the entries it comes from
	domain string
}

// RestoreEntries puts back the "before" state of entries, every zone of
// them in one command. A restore is a plan like any other:
//   - every entry is checked first against what maildns owns under the
//     config: an RRset of a type or at a name no policy owns in that zone
//     (the apex NS or SOA, a foreign www A) or a record that does not parse
//     refuses the whole restore before any provider is touched;
//   - in each RRset only the values maildns owns are put back (foreign
//     values stay as the zone has them now), and only where the zone still
//     holds what the entry left: an RRset changed since is shown (a safety
//     finding) and left alone unless opts.Force;
//   - max_changes (per provider zone) and the weakening rules apply as to a
//     sync; a record that cannot be served is never written;
//   - each zone is written under its lock, through a conditional
//     replacement where the provider has one (nothing is written if the
//     zone moved between the read and the write), with its own journal
//     entry, then read back and verified.
//
// opts.Mode is ModeDryRun (plan only) or an apply mode.
func (e *Engine) RestoreEntries(ctx context.Context, entries []RestoreEntry, opts Options) (*Plan, error) {
	start := time.Now()
	log := e.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.RunID == "" {
		opts.RunID = NewRunID(start)
	}
	apply := opts.Mode != ModeDryRun
	plan := &Plan{Version: 1, Mode: ModeRestore, Zones: []ZonePlan{}, Findings: []Finding{}}
	if apply {
		plan.RunID = opts.RunID // a dry run is no run of the journal
	}

	owned := e.ownedRRsets()
	// Check every entry before touching anything.
	var bad []error
	for _, re := range entries {
		for _, f := range validateEntry(re, owned, e.Providers, e.configDomain) {
			plan.Findings = append(plan.Findings, f)
			bad = append(bad, fmt.Errorf("%s", f.Message))
		}
	}
	if len(bad) > 0 {
		seen := map[string]bool{}
		for _, re := range entries {
			k := re.Entry.Domain + " " + re.Entry.Zone + " " + re.Entry.Provider
			if !seen[k] {
				seen[k] = true
				plan.Zones = append(plan.Zones, ZonePlan{Domain: re.Entry.Domain, Zone: re.Entry.Zone, Provider: re.Entry.Provider,
					Status: StatusRefused, Changes: []Change{}, Error: "the journal entry was refused; nothing was written"})
			}
		}
		logFindings(ctx, log, plan.Findings)
		plan.Summary = summarise(plan)
		return plan, fmt.Errorf("restore refused, nothing was written: %w", errors.Join(bad...))
	}

	// Group by provider zone, entries oldest first.
	byZone := map[zoneKey][]RestoreEntry{}
	var order []zoneKey
	for _, re := range entries {
		k := zoneKey{re.Entry.Provider, strings.ToLower(re.Entry.Zone)}
		if _, ok := byZone[k]; !ok {
			order = append(order, k)
		}
		byZone[k] = append(byZone[k], re)
	}
	slices.SortFunc(order, func(a, b zoneKey) int {
		return cmp.Or(strings.Compare(a.zone, b.zone), strings.Compare(a.provider, b.provider))
	})
	results := make([]restoreZone, len(order))
	limit := cmp.Or(e.Concurrency, DefaultConcurrency)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(limit)
	for i, k := range order {
		list := byZone[k]
		slices.SortStableFunc(list, func(a, b RestoreEntry) int { return a.Entry.Time.Compare(b.Entry.Time) })
		g.Go(func() error {
			if ctx.Err() != nil {
				results[i] = restoreZone{plans: notAttempted(list, ctx.Err())}
				return nil
			}
			results[i] = e.restoreZone(gctx, k, list, owned[k], opts, apply, log)
			return nil
		})
	}
	_ = g.Wait()
	var errs []error
	wrote := false
	for _, r := range results {
		plan.Zones = append(plan.Zones, r.plans...)
		plan.Findings = append(plan.Findings, r.findings...)
		errs = append(errs, r.err)
		wrote = wrote || r.wrote
	}
	if wrote && e.Config != nil {
		plan.Journal = e.Config.StateDir
		j := e.newJournaler(ModeRestore, opts.RunID)
		_ = j.prune(opts.RunID)
	}
	slices.SortStableFunc(plan.Zones, func(a, b ZonePlan) int {
		return cmp.Or(strings.Compare(a.Domain, b.Domain), strings.Compare(a.Zone, b.Zone))
	})
	logFindings(ctx, log, plan.Findings)
	plan.Summary = summarise(plan)
	log.Info("restore finished", "duration", time.Since(start).Round(time.Millisecond).Seconds(),
		"zones", len(plan.Zones), "changes", written(plan), "findings", len(plan.Findings),
		"errors", plan.Summary.Errors, "run_id", opts.RunID, "journal", plan.Journal)
	return plan, errors.Join(errs...)
}

func logFindings(ctx context.Context, log *slog.Logger, fs []Finding) {
	for _, f := range fs {
		lvl := slog.LevelWarn
		switch f.Severity {
		case SevError:
			lvl = slog.LevelError
		case SevInfo:
			continue
		}
		log.Log(ctx, lvl, "finding", "domain", f.Domain, "kind", f.Kind, "severity", f.Severity, "subject", f.Subject, "message", f.Message)
	}
}

// notAttempted is the plan of a zone a stopped restore did not start.
func notAttempted(list []RestoreEntry, why error) []ZonePlan {
	var out []ZonePlan
	seen := map[string]bool{}
	for _, re := range list {
		if seen[re.Entry.Domain] {
			continue
		}
		seen[re.Entry.Domain] = true
		out = append(out, ZonePlan{Domain: re.Entry.Domain, Zone: re.Entry.Zone, Provider: re.Entry.Provider,
			Status: StatusError, Changes: []Change{}, Error: "not attempted: " + why.Error()})
	}
	return out
}

// ownedRRsets compiles every policy of the config: the RRsets maildns owns,
// by provider zone and (name, type).
func (e *Engine) ownedRRsets() map[zoneKey]map[nameType]*policy.RRset {
	out := map[zoneKey]map[nameType]*policy.RRset{}
	if e.Config == nil {
		return out
	}
	compile := e.Compile
	if compile == nil {
		compile = defaultCompile
	}
	for _, d := range e.Config.Domains {
		sets, err := compile(d)
		if err != nil {
			continue
		}
		for i := range sets {
			rs := &sets[i]
			k := zoneKey{cmp.Or(rs.Provider, d.Provider), strings.TrimSuffix(strings.ToLower(cmp.Or(rs.Zone, domainZoneName(d))), ".")}
			if out[k] == nil {
				out[k] = map[nameType]*policy.RRset{}
			}
			nt := nameType{strings.ToLower(rs.Name), strings.ToUpper(rs.Type)}
			if _, ok := out[k][nt]; !ok {
				out[k][nt] = rs
			}
		}
	}
	return out
}

// neverOwned are the types maildns never writes, whatever an entry says.
var neverOwned = map[string]bool{"SOA": true, "NS": true, "DS": true, "DNSKEY": true, "RRSIG": true, "NSEC": true, "NSEC3": true, "NSEC3PARAM": true, "CNAME": true}

// validateEntry checks one entry against what maildns owns: each finding is
// a reason to refuse the whole restore.
func validateEntry(re RestoreEntry, owned map[zoneKey]map[nameType]*policy.RRset, provs map[string]providers.Provider, configDomain func(string) *policy.Domain) []Finding {
	en := re.Entry
	refuse := func(subject, format string, args ...any) Finding {
		return Finding{Severity: SevError, Kind: "safety", Domain: en.Domain, Subject: subject,
			Message: fmt.Sprintf("journal entry %s: ", re.Path) + fmt.Sprintf(format, args...) + "; the restore was refused and nothing was written"}
	}
	if provs[en.Provider] == nil {
		return []Finding{refuse(en.Zone, "provider %q is not in the config", en.Provider)}
	}
	k := zoneKey{en.Provider, strings.TrimSuffix(strings.ToLower(en.Zone), ".")}
	var out []Finding
	sets := map[nameType]bool{}
	for _, s := range en.Before {
		nt := nameType{strings.ToLower(s.Name), strings.ToUpper(s.Type)}
		sets[nt] = true
		subject := s.Name + " " + nt.typ
		switch {
		case neverOwned[nt.typ]:
			out = append(out, refuse(subject, "names %s in zone %s, which maildns never writes", subject, en.Zone))
			continue
		case owned[k][nt] == nil:
			out = append(out, refuse(subject, "names %s in zone %s at %s, which no policy owns", subject, en.Zone, en.Provider))
			continue
		}
		for _, r := range s.Records {
			rr := libdns.RR{Name: s.Name, Type: nt.typ, TTL: time.Duration(r.TTL) * time.Second, Data: r.Data}
			if _, err := rr.Parse(); err != nil || r.TTL < 0 || r.TTL > 1<<31-1 {
				out = append(out, refuse(subject, "a record of %s (%q, TTL %d) is not valid", subject, r.Data, r.TTL))
			}
		}
	}
	for _, f := range en.Files {
		// Only the MTA-STS policy file the domain's policy names: a
		// restore never writes a path an entry makes up.
		if want := mtastsFileOf(re, configDomain); want == "" || filepath.Clean(f.Path) != filepath.Clean(want) {
			out = append(out, refuse(f.Path, "names the file %s, which is not the MTA-STS policy file of %s's policy", f.Path, en.Domain))
		}
	}
	for _, c := range en.Changes {
		nt := nameType{strings.ToLower(c.Name), strings.ToUpper(c.Type)}
		if !sets[nt] {
			out = append(out, refuse(c.Name+" "+c.Type, "a change of %s %s has no recorded before state", c.Name, c.Type))
		}
	}
	return out
}

// restoreZone is the outcome of restoring one provider zone.
type restoreZone struct {
	plans    []ZonePlan
	findings []Finding
	err      error
	wrote    bool
}

// restoreZone plans and (when apply) writes the restore of one provider
// zone: entries are that zone's, oldest first.
func (e *Engine) restoreZone(ctx context.Context, k zoneKey, entries []RestoreEntry, owned map[nameType]*policy.RRset, opts Options, apply bool, log *slog.Logger) (out restoreZone) {
	z := &zoneState{key: k, fqdn: k.zone + ".", provider: e.Providers[k.provider], zoneApply: &zoneApply{run: opts.RunID}}
	defer releaseZones([]*zoneState{z})
	// The sets to put back, by domain: the earliest entry's before, the
	// latest entry's after.
	type share struct {
		domain  string
		sets    map[nameType]*restoreSet
		keys    []nameType
		paths   []string
		plan    ZonePlan
		perOps  []writeOps
		changed []Finding
		files   map[string]bool // paths whose restore is planned (the earliest entry's wins)
	}
	var shares []*share
	byDomain := map[string]*share{}
	for _, re := range entries {
		en := re.Entry
		sh := byDomain[en.Domain]
		if sh == nil {
			sh = &share{domain: en.Domain, sets: map[nameType]*restoreSet{}}
			sh.plan = ZonePlan{Domain: en.Domain, Zone: k.zone, Provider: k.provider, Changes: []Change{}}
			byDomain[en.Domain] = sh
			shares = append(shares, sh)
		}
		sh.paths = append(sh.paths, re.Path)
		// The MTA-STS policy file, put back as the earliest entry had it.
		for _, f := range restoreFiles(en) {
			if sh.files == nil {
				sh.files = map[string]bool{}
			}
			if !sh.files[f.Path] {
				sh.files[f.Path] = true
				sh.plan.Files = append(sh.plan.Files, f)
			}
		}
		for _, f := range en.Files {
			if sh.files == nil {
				sh.files = map[string]bool{}
			}
			sh.files[f.Path] = true // already as recorded: a later entry's must not win
		}
		for _, s := range en.Before {
			nt := nameType{strings.ToLower(s.Name), strings.ToUpper(s.Type)}
			own := owned[nt]
			var before []JournalRecord
			for _, r := range s.Records {
				if own.Owns(r.Data) {
					before = append(before, r)
				}
			}
			after := ownedValues(own, before)
			for _, c := range en.Changes {
				if strings.EqualFold(c.Name, s.Name) && strings.EqualFold(c.Type, s.Type) && changeResult(en, c) != ChangeNotAttempted {
					after = ownedValues(own, recordsOf(c.After))
				}
			}
			rs := sh.sets[nt]
			if rs == nil {
				rs = &restoreSet{owner: own, target: before, domain: en.Domain}
				sh.sets[nt] = rs
				sh.keys = append(sh.keys, nt)
			}
			rs.after = after
			rs.entry = re.Path
		}
	}
	fail := func(err error) restoreZone {
		for _, sh := range shares {
			sh.plan.Status, sh.plan.Error = StatusError, err.Error()
			out.plans = append(out.plans, sh.plan)
		}
		out.err = fmt.Errorf("zone %s at %s: %w", k.zone, k.provider, err)
		return out
	}
	if z.provider == nil {
		return fail(fmt.Errorf("provider %q is not configured", k.provider))
	}
	var err error
	if z.live, err = e.readLocked(ctx, z, apply, ModeRestore); err != nil {
		return fail(err)
	}
	if z.journal != nil {
		z.journal.runPrune = true // pruned once, after the restore
	}
	idx := indexLive(z.live)
	for _, sh := range shares {
		slices.SortFunc(sh.keys, func(a, b nameType) int { return cmp.Or(strings.Compare(a.name, b.name), strings.Compare(a.typ, b.typ)) })
		for _, nt := range sh.keys {
			rs := sh.sets[nt]
			c, ops, changed := restoreChange(nt, rs, idx[nt])
			if c == nil {
				continue
			}
			if changed != "" {
				f := Finding{Severity: SevWarning, Kind: "safety", Domain: sh.domain, Subject: c.Name + " " + c.Type,
					Message: fmt.Sprintf("%s %s in zone %s changed since the journal entry: it holds %s, the entry left %s; restoring puts back %s", c.Name, c.Type, k.zone, showList(c.Before), showList(rs.after), showList(c.After))}
				if !opts.Force {
					f.Message += "; left alone (run with --force to restore it anyway)"
					if apply {
						f.Severity = SevError
					}
					sh.changed = append(sh.changed, f)
					continue
				}
				f.Message += "; restored (--force)"
				sh.changed = append(sh.changed, f)
			}
			sh.plan.Changes = append(sh.plan.Changes, *c)
			sh.perOps = append(sh.perOps, ops)
		}
		sh.plan.Status = StatusInSync
		if len(sh.plan.Changes) > 0 || len(sh.plan.Files) > 0 {
			sh.plan.Status = StatusDrift
		}
		out.findings = append(out.findings, sh.changed...)
	}
	// The safety rules, as for a sync: max_changes per zone, weakening.
	plans := make([]*ZonePlan, len(shares))
	for i, sh := range shares {
		plans[i] = &sh.plan
	}
	limitFs := zoneLimitFindings(e.Config, opts, apply, k.zone, k.provider, plans)
	for i, sh := range shares {
		var fs []Finding
		if f, ok := limitFs[i]; ok {
			fs = append(fs, f)
		}
		fs = append(fs, changeFindings(e.Config, opts, apply, e.configDomain(sh.domain), &sh.plan)...)
		fs = append(fs, parentDMARCFindings(e.Config, opts, apply, e.configDomain(sh.domain), &sh.plan, z.live)...)
		out.findings = append(out.findings, fs...)
		if apply && (len(fs) > 0 || len(limitFs) > 0) && sh.plan.Status == StatusDrift {
			sh.plan.Status = StatusRefused
		}
	}
	for _, sh := range shares {
		if apply && sh.plan.Status == StatusDrift {
			err := e.writeRestore(ctx, z, sh.domain, strings.Join(absPaths(sh.paths), ", "), &sh.plan, sh.perOps, sh.plan.Files)
			out.wrote = true
			if err != nil {
				sh.plan.Status, sh.plan.Error = StatusError, err.Error()
				out.err = errors.Join(out.err, fmt.Errorf("restoring %s in zone %s at %s: %w", sh.domain, k.zone, k.provider, err))
			} else {
				sh.plan.Status = StatusApplied
			}
		}
		if sh.plan.Status == StatusApplied && len(sh.changed) > 0 && !opts.Force {
			sh.plan.Status = StatusPartial
		} else if sh.plan.Status == StatusInSync && len(sh.changed) > 0 && !opts.Force && apply {
			sh.plan.Status = StatusRefused
		}
	}
	// Read back and verify what was written.
	if out.wrote {
		after, err := readZone(ctx, z)
		if err != nil {
			out.err = errors.Join(out.err, fmt.Errorf("zone %s at %s: reading back after restoring: %w", k.zone, k.provider, err))
		} else {
			aidx := indexLive(after)
			for _, sh := range shares {
				if sh.plan.Status != StatusApplied && sh.plan.Status != StatusPartial {
					continue
				}
				var bad []string
				for _, c := range sh.plan.Changes {
					nt := nameType{strings.ToLower(c.Name), strings.ToUpper(c.Type)}
					rs := sh.sets[nt]
					have := ownedRecords(rs.owner, aidx[nt])
					if !sameRecords(have, rs.target) {
						bad = append(bad, c.Name+" "+c.Type)
						out.findings = append(out.findings, Finding{Severity: SevError, Kind: "verify", Domain: sh.domain, Subject: c.Name + " " + c.Type,
							Message: fmt.Sprintf("after restoring, %s %s in zone %s has %s, want %s", c.Name, c.Type, k.zone, showRecords(have), showRecords(rs.target))})
					}
				}
				if len(bad) > 0 {
					err := fmt.Errorf("verify: %s not as recorded", strings.Join(bad, ", "))
					sh.plan.Status, sh.plan.Error = StatusError, err.Error()
					out.err = errors.Join(out.err, fmt.Errorf("restoring %s in zone %s at %s: %w", sh.domain, k.zone, k.provider, err))
				}
			}
		}
	}
	for _, sh := range shares {
		action := "would_restore"
		switch {
		case !apply:
		case sh.plan.Status == StatusApplied || sh.plan.Status == StatusPartial:
			action = "restored"
		case sh.plan.Status == StatusRefused:
			action = "refused"
		case sh.plan.Status == StatusError:
			action = "failed"
		}
		for _, c := range sh.plan.Changes {
			log.Info("restore", "domain", sh.domain, "zone", k.zone, "provider", k.provider,
				"name", c.Name, "type", c.Type, "want", joinValues(c.After), "have", joinValues(c.Before),
				"action", action, "journal", sh.sets[nameType{strings.ToLower(c.Name), strings.ToUpper(c.Type)}].entry, "run_id", opts.RunID)
		}
		out.plans = append(out.plans, sh.plan)
	}
	return out
}

func (e *Engine) configDomain(name string) *policy.Domain {
	if e.Config == nil {
		return nil
	}
	for _, d := range e.Config.Domains {
		if d.Domain == name {
			return d
		}
	}
	return nil
}

func absPaths(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = p
		if abs, err := filepath.Abs(p); err == nil {
			out[i] = abs
		}
	}
	return out
}

// changeResult is the recorded outcome of change c of en ("" when the entry
// has no result: the run stopped during its writes).
func changeResult(en *JournalEntry, c Change) string {
	if en.Result == nil {
		return ""
	}
	for _, r := range en.Result.Changes {
		if strings.EqualFold(r.Name, c.Name) && strings.EqualFold(r.Type, c.Type) {
			return r.Result
		}
	}
	return ""
}

func recordsOf(vals []string) []JournalRecord {
	out := make([]JournalRecord, len(vals))
	for i, v := range vals {
		out[i] = JournalRecord{Data: v}
	}
	return out
}

// ownedValues returns the distinct data of recs that own owns, sorted.
func ownedValues(own *policy.RRset, recs []JournalRecord) []string {
	var out []string
	for _, r := range recs {
		if own.Owns(r.Data) {
			out = append(out, r.Data)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// ownedRecords returns the live records own owns, as journal records, sorted.
func ownedRecords(own *policy.RRset, live []libdns.RR) []JournalRecord {
	var out []JournalRecord
	for _, rr := range live {
		if own.Owns(rr.Data) {
			out = append(out, JournalRecord{Data: rr.Data, TTL: seconds(rr.TTL)})
		}
	}
	sortRecords(out)
	return out
}

func sortRecords(recs []JournalRecord) {
	slices.SortFunc(recs, func(a, b JournalRecord) int { return cmp.Or(strings.Compare(a.Data, b.Data), a.TTL-b.TTL) })
}

func sameRecords(a, b []JournalRecord) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	sortRecords(a)
	sortRecords(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

func dataOf(recs []JournalRecord) []string {
	out := make([]string, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.Data)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func showList(v []string) string {
	if len(v) == 0 {
		return "none"
	}
	return joinValues(v)
}

func showRecords(recs []JournalRecord) string {
	if len(recs) == 0 {
		return "none"
	}
	parts := make([]string, len(recs))
	for i, r := range recs {
		parts[i] = fmt.Sprintf("%s (ttl %d)", r.Data, r.TTL)
	}
	return strings.Join(parts, " | ")
}

// restoreChange compares one RRset as the zone holds it (live, every value)
// with what rs puts back. It returns nil when the owned values are already
// as recorded; else the change (owned values before and after), the writes
// that make it, touching only owned values, and, when the zone no longer
// holds what the entry left, why.
func restoreChange(nt nameType, rs *restoreSet, live []libdns.RR) (*Change, writeOps, string) {
	have := ownedRecords(rs.owner, live)
	target := slices.Clone(rs.target)
	sortRecords(target)
	target = slices.Compact(target)
	var ops writeOps
	if sameRecords(have, target) {
		return nil, ops, ""
	}
	haveData, targetData := dataOf(have), dataOf(target)
	changed := ""
	if !slices.Equal(haveData, rs.after) && !slices.Equal(haveData, targetData) {
		changed = "changed since"
	}
	inTarget := map[JournalRecord]bool{}
	targetHas := map[string]bool{}
	for _, r := range target {
		inTarget[r] = true
		targetHas[r.Data] = true
	}
	inHave := map[JournalRecord]bool{}
	haveHas := map[string]bool{}
	for _, rr := range live {
		if rs.owner.Owns(rr.Data) {
			r := JournalRecord{Data: rr.Data, TTL: seconds(rr.TTL)}
			inHave[r] = true
			haveHas[rr.Data] = true
			if !inTarget[r] {
				rec := libdns.RR{Name: rr.Name, Type: rr.Type, TTL: rr.TTL, Data: rr.Data}
				if targetHas[rr.Data] {
					ops.Replace = append(ops.Replace, rec)
				} else {
					ops.Delete = append(ops.Delete, rec)
				}
			}
		}
	}
	for _, r := range target {
		if inHave[r] {
			continue
		}
		rec := libdns.RR{Name: nt.name, Type: nt.typ, TTL: time.Duration(r.TTL) * time.Second, Data: r.Data}
		if haveHas[r.Data] {
			ops.ReplaceWith = append(ops.ReplaceWith, rec)
		} else {
			ops.Append = append(ops.Append, rec)
		}
	}
	name := nt.name
	if len(live) > 0 {
		name = live[0].Name
	}
	c := &Change{Action: ActionUpdate, Name: name, Type: nt.typ, Before: haveData, After: targetData}
	recTTL := make([]libdns.RR, 0, len(target))
	for _, r := range target {
		recTTL = append(recTTL, libdns.RR{TTL: time.Duration(r.TTL) * time.Second})
	}
	haveRR := make([]libdns.RR, 0, len(have))
	for _, r := range have {
		haveRR = append(haveRR, libdns.RR{TTL: time.Duration(r.TTL) * time.Second})
	}
	c.TTL = cmp.Or(liveTTL(recTTL), liveTTL(haveRR))
	switch {
	case len(have) == 0:
		c.Action = ActionCreate
	case len(target) == 0:
		c.Action, c.TTL = ActionDelete, liveTTL(haveRR)
	}
	if lt := liveTTL(haveRR); len(have) > 0 && lt != c.TTL {
		c.BeforeTTL = lt
	}
	if len(c.Before) == 0 {
		c.Before = nil
	}
	if len(c.After) == 0 {
		c.After = nil
	}
	return c, ops, changed
}

// writeRestore writes one domain's share of a restore in z: its journal
// entry first, then one conditional replacement where the provider has one
// (expecting every touched RRset exactly as read under the lock), else the
// ordinary writes; the entry records the outcome.
func (e *Engine) writeRestore(ctx context.Context, z *zoneState, domain, restores string, zp *ZonePlan, perChange []writeOps, files []FileChange) error {
	var ops writeOps
	for _, o := range perChange {
		ops.add(o)
	}
	var entry *openEntry
	if z.journal != nil {
		var err error
		if entry, err = z.journal.begin(z, domain, restores, zp.Changes, files...); err != nil {
			return err
		}
	}
	// The files first, as a sync writes them: nothing else when they fail.
	if err := writeFiles(files); err != nil {
		if entry != nil {
			_ = z.journal.abort(entry, err)
		}
		return err
	}
	if ops.empty() {
		if entry != nil {
			return z.journal.end(entry, nil, ops, false, 0, nil)
		}
		return nil
	}
	var n int
	var err error
	oneCall := false
	if cr, ok := z.provider.(providers.ConditionalReplacer); ok && providers.CanReplaceIf(z.provider) {
		oneCall, n = true, 1
		idx := indexLive(z.live)
		var expect []providers.RRsetState
		for _, c := range zp.Changes {
			nt := nameType{strings.ToLower(c.Name), strings.ToUpper(c.Type)}
			st := providers.RRsetState{Name: c.Name, Type: nt.typ, Values: []string{}}
			for _, rr := range idx[nt] {
				if data, ok := z.cond.expectData(rr); ok {
					st.Values = append(st.Values, data)
				}
			}
			expect = append(expect, st)
		}
		var remove, add []libdns.Record
		for _, rr := range slices.Concat(ops.Delete, ops.Replace) {
			remove = append(remove, rr)
		}
		for _, rr := range addressFirst(slices.Concat(ops.Append, ops.ReplaceWith)) {
			add = append(add, rr)
		}
		if _, err = cr.ReplaceRecordsIf(ctx, z.fqdn, expect, remove, add); err != nil {
			err = fmt.Errorf("replacing %s in zone %q: %w", describe(slices.Concat(ops.Delete, ops.Replace, ops.Append, ops.ReplaceWith)), z.fqdn, err)
			if errors.Is(err, providers.ErrChanged) {
				err = fmt.Errorf("%w (nothing was written; run the restore again to see the zone as it is now)", err)
			}
		}
	} else {
		n, err = applyOps(ctx, z, ops)
		oneCall = ops.oneCall(z.provider)
	}
	z.calls += n
	if entry != nil {
		if jerr := z.journal.end(entry, perChange, ops, oneCall, n, err); jerr != nil {
			err = errors.Join(err, jerr)
		}
	}
	return err
}

// mtastsFileOf is the MTA-STS policy file of the entry's domain under the
// config ("" when its policy has none).
func mtastsFileOf(re RestoreEntry, configDomain func(string) *policy.Domain) string {
	d := configDomain(re.Entry.Domain)
	if d == nil {
		return ""
	}
	return policy.MTASTSPolicyFile(d)
}
