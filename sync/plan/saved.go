package plan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/libdns/libdns"
)

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

// MarshalSaved returns sp as the file WriteSavedPlan writes (indented
// JSON), its Checksum set.
func MarshalSaved(sp *SavedPlan) ([]byte, error) {
	sum, err := sp.checksum()
	if err != nil {
		return nil, err
	}
	sp.Checksum = sum
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(sp); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ReadSavedPlan reads a plan MarshalSaved made; an error names path and
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
