package sync

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/internal/atomicfile"
	"github.com/maildns/maildns/policy"
)

// SavedPlanVersion is the version of the saved plan format.
const SavedPlanVersion = 1

// SavedPlan is a plan saved by `--dry-run --save-plan` for `maildns apply`:
// the plan JSON of SPEC §4 (its zones' changes carrying what applying them
// needs) and what tells whether it still holds: the files it was made
// from, the records the policies compiled to, when it was made. It never
// holds a secret: values of records, file paths and hashes only.
type SavedPlan struct {
	Plan
	// Zones shadow Plan.Zones in the JSON: each change carries the RRset it
	// expects to find and the records it removes and adds.
	Zones []SavedZone `json:"zones"`
	// Maildns is the version that made the plan.
	Maildns string `json:"maildns"`
	// CreatedAt is when the zones were read (and the DKIM rotation dates
	// judged): the plan expires --max-age after it.
	CreatedAt time.Time `json:"created_at"`
	// Config is the config file, absolute.
	Config string `json:"config"`
	// Sources are the files the plan came from: the config, every policy
	// of it, the key and certificate files they name, with their SHA-256.
	Sources []SavedSource `json:"sources"`
	// Records is the SHA-256 of the records the selected policies compiled
	// to (a key or certificate changed since changes them).
	Records string `json:"records_sha256"`
	// Options are the run's switches the plan was made with.
	Options SavedOptions `json:"options"`
	// Checksum is the SHA-256 of the plan's JSON without it: an edited
	// plan is refused.
	Checksum string `json:"checksum"`
}

// SavedSource is one file a saved plan was made from.
type SavedSource struct {
	Path   string `json:"path"` // absolute
	What   string `json:"what"` // config | policy | dkim key | tlsa certificate
	SHA256 string `json:"sha256"`
}

// SavedOptions are the switches of the run that made a saved plan.
type SavedOptions struct {
	Domains        []string `json:"domains,omitempty"`
	Force          bool     `json:"force,omitempty"`
	AllowWeakening bool     `json:"allow_weakening,omitempty"`
	Offline        bool     `json:"offline,omitempty"`
}

// SavedZone is one domain's share of one zone in a saved plan.
type SavedZone struct {
	ZonePlan
	Changes []SavedChange `json:"changes"`
	// Held are the policy elements whose new records were held back
	// (broken): the zone is partial once the rest is applied.
	Held []string `json:"held,omitempty"`
	// Findings are the share's safety findings, as the plan made them.
	Findings []Finding `json:"share_findings,omitempty"`
}

// SavedChange is one RRset change with what applying it needs.
type SavedChange struct {
	Change
	// Expect is every value of the RRset as the plan read it, foreign
	// values included: the write is made only if the zone still holds
	// exactly these (TTL aside).
	Expect []string `json:"expect"`
	// Remove and Add are the records the change removes and adds.
	Remove []SavedRecord `json:"remove,omitempty"`
	Add    []SavedRecord `json:"add,omitempty"`
	// OwnPrefix: maildns owns only the values starting with it (the apex
	// SPF); "": the whole RRset.
	OwnPrefix string `json:"own_prefix,omitempty"`
	Element   string `json:"element"`
	Absent    bool   `json:"absent,omitempty"` // the policy says state: absent
}

// SavedRecord is one record a saved change removes or adds.
type SavedRecord struct {
	Data string `json:"data"`
	TTL  int    `json:"ttl"`
}

// SavedPlan returns pl, a plan made with Options.ForApply, as a plan to
// save.
func (e *Engine) SavedPlan(pl *Planned) (*SavedPlan, error) {
	rs := pl.st
	if rs == nil || !rs.refuse {
		return nil, errors.New("only a plan made to be applied (--save-plan) can be saved")
	}
	sources, err := planSources(e.Config)
	if err != nil {
		return nil, err
	}
	conf, _ := filepath.Abs(e.Config.File)
	sp := &SavedPlan{
		Plan: *pl.Plan, Maildns: cmp.Or(e.Version, buildVersion()), CreatedAt: rs.now.UTC(), Config: conf,
		Sources: sources, Records: recordsHash(rs.runs),
		Options: SavedOptions{Domains: rs.opts.Domains, Force: rs.opts.Force, AllowWeakening: rs.opts.AllowWeakening, Offline: rs.opts.Offline},
	}
	sp.Plan.Zones = nil
	shares := map[[3]string]SavedZone{}
	for _, z := range rs.order {
		for _, p := range z.parts {
			shares[[3]string{p.domain.Domain, z.key.zone, z.key.provider}] = savedShare(z, p)
		}
	}
	for _, zp := range pl.Zones {
		sz, ok := shares[[3]string{zp.Domain, zp.Zone, zp.Provider}]
		if !ok {
			sz = SavedZone{ZonePlan: zp, Changes: []SavedChange{}} // a policy that did not compile
		}
		sz.ZonePlan.Changes = nil
		sp.Zones = append(sp.Zones, sz)
	}
	return sp, nil
}

// savedShare is p's share of z as a saved plan keeps it.
func savedShare(z *zoneState, p *domainZone) SavedZone {
	sz := SavedZone{ZonePlan: p.plan, Changes: []SavedChange{}}
	idx := indexLive(z.live)
	for i := range p.diffs {
		d := &p.diffs[i]
		if d.Change == nil {
			continue
		}
		sc := SavedChange{Change: *d.Change, Expect: []string{}, Element: d.Set.Element, Absent: d.Set.Absent}
		if d.Set.Own == policy.OwnPrefix {
			sc.OwnPrefix = d.Set.Prefix
		}
		for _, rr := range idx[nameType{d.Set.Name, d.Set.Type}] {
			if data, ok := z.cond.expectData(rr); ok {
				sc.Expect = append(sc.Expect, data)
			}
		}
		slices.Sort(sc.Expect)
		ops := opsFor(d)
		for _, rr := range slices.Concat(ops.Delete, ops.Replace) {
			sc.Remove = append(sc.Remove, SavedRecord{Data: rr.Data, TTL: seconds(rr.TTL)})
		}
		for _, rr := range slices.Concat(ops.Append, ops.ReplaceWith) {
			sc.Add = append(sc.Add, SavedRecord{Data: rr.Data, TTL: seconds(rr.TTL)})
		}
		sz.Changes = append(sz.Changes, sc)
	}
	for el := range p.holds {
		sz.Held = append(sz.Held, el)
	}
	slices.Sort(sz.Held)
	sz.Findings = slices.Concat(p.safety, p.held, p.checks)
	return sz
}

// planSources lists the files a plan of cfg comes from, with their hashes.
func planSources(cfg *policy.Config) ([]SavedSource, error) {
	var out []SavedSource
	seen := map[string]bool{}
	add := func(path, what string) error {
		if path == "" {
			return nil
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return err
		}
		if seen[abs] {
			return nil
		}
		seen[abs] = true
		data, err := os.ReadFile(abs)
		if err != nil {
			return fmt.Errorf("hashing the %s %s: %w", what, abs, err)
		}
		sum := sha256.Sum256(data)
		out = append(out, SavedSource{Path: abs, What: what, SHA256: hex.EncodeToString(sum[:])})
		return nil
	}
	errs := []error{add(cfg.File, "config")}
	for _, d := range cfg.Domains {
		errs = append(errs, add(d.Pos.File, "policy"))
		for _, k := range d.DKIM {
			errs = append(errs, add(k.KeyFile, "dkim key"))
		}
		for _, h := range d.MailHosts {
			if h.TLSA != nil {
				errs = append(errs, add(h.TLSA.CertFile, "tlsa certificate"), add(h.TLSA.NextCertFile, "tlsa certificate"))
			}
		}
	}
	return out, errors.Join(errs...)
}

// StaleSources compares the files a saved plan came from with cfg's: one
// line per file changed, gone or new since the plan; none when all hold.
func StaleSources(sp *SavedPlan, cfg *policy.Config) []string {
	now, err := planSources(cfg)
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	conf, _ := filepath.Abs(cfg.File)
	if conf != sp.Config {
		out = append(out, fmt.Sprintf("the plan was made with the config %s, not %s", sp.Config, conf))
	}
	have := map[string]SavedSource{}
	for _, s := range now {
		have[s.Path] = s
	}
	for _, s := range sp.Sources {
		h, ok := have[s.Path]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("the %s %s is no longer part of the config", s.What, s.Path))
		case h.SHA256 != s.SHA256:
			out = append(out, fmt.Sprintf("the %s %s changed since the plan", s.What, s.Path))
		}
		delete(have, s.Path)
	}
	for _, s := range now {
		if _, ok := have[s.Path]; ok {
			out = append(out, fmt.Sprintf("the %s %s is new since the plan", s.What, s.Path))
		}
	}
	return out
}

// recordsHash is the SHA-256 of the records runs compiled to.
func recordsHash(runs []*domainRun) string {
	h := sha256.New()
	for _, r := range runs {
		fmt.Fprintf(h, "domain %q\n", r.d.Domain)
		if r.err != nil {
			fmt.Fprintf(h, "error %q\n", r.err.Error())
		}
		for _, s := range r.sets {
			fmt.Fprintf(h, "%q %q %q %q %d %d %q %v %q\n", s.Provider, s.Zone, s.Name, s.Type, seconds(s.TTL), s.Own, s.Prefix, s.Absent, s.Values)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// checksum is the SHA-256 of sp's JSON with an empty Checksum.
func (sp *SavedPlan) checksum() (string, error) {
	c := *sp
	c.Checksum = ""
	data, err := json.Marshal(&c)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// WriteSavedPlan writes sp to path, atomically and readable by its owner
// only (mode 0600).
func WriteSavedPlan(path string, sp *SavedPlan) error {
	sum, err := sp.checksum()
	if err != nil {
		return err
	}
	sp.Checksum = sum
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(sp); err != nil {
		return err
	}
	if err := atomicfile.Write(path, buf.Bytes(), 0o600, ""); err != nil {
		return fmt.Errorf("saving the plan: %w", err)
	}
	return nil
}

// ReadSavedPlan reads a plan WriteSavedPlan wrote; an error names path and
// what is wrong (not JSON, an unknown key, a field missing, an edit since
// it was saved).
func ReadSavedPlan(path string) (*SavedPlan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the saved plan: %w", err)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s: not a valid saved plan: %s", path, fmt.Sprintf(format, args...))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var sp SavedPlan
	if err := dec.Decode(&sp); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return nil, bad("line %d: %v", lineOf(data, se.Offset), err)
		case errors.As(err, &te):
			return nil, bad("line %d: %v", lineOf(data, te.Offset), err)
		}
		return nil, bad("%v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, bad("data after the plan")
	}
	switch {
	case sp.Version != 1 || sp.Mode != ModeDryRun:
		return nil, bad("version %d, mode %q: want version 1, mode %q", sp.Version, sp.Mode, ModeDryRun)
	case sp.CreatedAt.IsZero() || sp.Config == "" || len(sp.Sources) == 0 || sp.Records == "" || sp.RunID == "":
		return nil, bad("created_at, config, sources, records_sha256 or run_id missing")
	}
	if sum, err := sp.checksum(); err != nil || sum != sp.Checksum {
		return nil, bad("its checksum does not match its content: the file was changed after it was saved (make a new plan)")
	}
	for i, z := range sp.Zones {
		if z.Domain == "" || z.Zone == "" || z.Provider == "" {
			return nil, bad("zone %d: domain, zone or provider missing", i+1)
		}
		for j, c := range z.Changes {
			if c.Name == "" || c.Type == "" || (c.Action != ActionCreate && c.Action != ActionUpdate && c.Action != ActionDelete) {
				return nil, bad("zone %s (%s), change %d: action, name or type missing or wrong", z.Zone, z.Domain, j+1)
			}
			for _, r := range slices.Concat(c.Remove, c.Add) {
				rr := libdns.RR{Name: c.Name, Type: c.Type, TTL: time.Duration(r.TTL) * time.Second, Data: r.Data}
				if _, err := rr.Parse(); err != nil || r.TTL < 0 {
					return nil, bad("zone %s, %s %s: the record %q (TTL %d) is not valid", z.Zone, c.Name, c.Type, r.Data, r.TTL)
				}
			}
		}
	}
	return &sp, nil
}

// lineOf is the line of data at a byte offset.
func lineOf(data []byte, off int64) int {
	off = min(max(off, 0), int64(len(data)))
	return 1 + bytes.Count(data[:off], []byte("\n"))
}

// describeChanged says how an RRset a saved plan touches changed since.
func describeChanged(zone, name, typ string, planned, now []string) string {
	show := func(v []string) string {
		if len(v) == 0 {
			return "nothing"
		}
		q := make([]string, len(v))
		for i, s := range v {
			q[i] = fmt.Sprintf("%q", s)
		}
		return strings.Join(q, ", ")
	}
	return fmt.Sprintf("%s %s in zone %s changed since the plan: planned from %s, now %s", name, typ, zone, show(planned), show(now))
}
