// Package zonefile is the "zonefile" backend: each zone is one RFC 1035
// master file, <directory>/<zone><file_suffix> (the zone name without its
// trailing dot, e.g. zones/example.com.zone or
// zones/113.0.203.in-addr.arpa.zone), parsed with miekg/dns ($ORIGIN, $TTL,
// relative names, multi-string TXT).
//
// Settings: directory (required, relative to the config file's directory),
// file_suffix (default ".zone"), post_write (a command run after each write
// of a zone: a list, argv without a shell, {zone} and {file} substituted,
// e.g. [rndc, reload, "{zone}"]; its program must exist when the settings
// are read) and post_write_timeout (default 20s). A failed post_write is
// the write's error (a *PostWriteError; the file stays written) and runs
// again after the next write call to that zone in this process.
//
// Reading: GetRecords returns every record but the SOA (NS included) in the
// canonical form of providers.Normalize, as libdns's typed structs where
// libdns has one (Address, MX, TXT, CNAME, NS, SRV, CAA, ServiceBinding) and
// libdns.RR otherwise (PTR and the rest, data in presentation form); RR() of
// each is canonical. TXT data is the raw text, the file's strings unescaped
// and joined. Reads take no lock: writes replace the file atomically. A
// missing zone file is an error naming its path (this backend never creates
// a zone); a parse error names file:line. $INCLUDE is refused.
//
// Writing follows libdns v1: AppendRecords adds records (one already present
// with the same name, type and data is left as it is), SetRecords replaces
// the RRsets named by the (name, type) pairs of its input and nothing else,
// DeleteRecords removes records matching name, type, TTL and data, an empty
// type, a zero TTL or empty data matching any. Records given with TTL 0 get
// the zone's default ($TTL, else the SOA's TTL); a TTL under a second is
// written as 0; the TTLs of the other members of an RRset are not changed by
// AppendRecords. The SOA cannot be changed through these methods. Names and
// targets without a trailing dot are relative to the zone; TXT data is the
// raw text, which is written as quoted strings of at most 255 bytes with " \
// and non-printable bytes escaped.
//
// ReplaceRecords (providers.Replacer) removes records matching name, type
// and data (never a wildcard: each must give all three) and then adds
// records as AppendRecords does, in one read-modify-write: one file
// replacement and one serial step, so that no reader of the file (nor a
// server loading it) ever sees the old and the new values together.
//
// Every write is a read-modify-write under a per-zone lock in this process
// and an exclusive flock on the zone file itself against other processes
// (waiting honours ctx; no lock file is made). A write that changes nothing
// does not touch the file. One that does bumps the SOA serial (YYYYMMDDnn
// serials move to today's date, others are incremented) and replaces the
// file atomically: a temporary file in the same directory, fsync, rename,
// fsync of the directory, the old file's mode (and owner, when running as
// root) kept. Temporary files a killed writer left are removed by the next
// write. Each call is atomic: it is written whole or not at all, and a bad
// input record fails the call before anything is written. The directory
// must be writable (temporary files live next to the zone files).
//
// The file is edited in place (see edit.go): lines the write does not
// change stay byte for byte (comments, blank lines, order, layout, $ORIGIN,
// $TTL, $GENERATE); a changed record is changed where it stands, keeping
// its owner, TTL and class fields and its comment where it can; a new
// record goes after the last record of its RRset, else of its owner name,
// else at the end of the file; the SOA serial is changed within its line.
// The text to be written is parsed again with miekg/dns and must hold
// exactly the records meant, or nothing is written. A record that a
// $GENERATE line makes is cut out of its range (the line is split around
// it); $INCLUDE is refused.
//
// A zone file holding DNSSEC signatures (RRSIG records) is never written:
// an edit would break its signatures. GuardWrite (providers.WriteGuard)
// says so before the engine plans a write, and every write method refuses
// such a file with a *RefusedError, the file untouched. So is a write that
// would leave a CNAME beside other data at a name (kind cname), which no
// server loads; a conflict the file had already does not block writes.
//
// ReplaceRecordsIf (providers.ConditionalReplacer) checks, under the zone's
// lock and in the same read-modify-write, that every RRset it expects holds
// exactly its values; otherwise nothing is written and the error wraps a
// *providers.ChangedError.
package zonefile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/libdns/libdns"
	"github.com/miekg/dns"

	"github.com/maildns/maildns/internal/readfile"
	"github.com/maildns/maildns/providers"
)

func init() {
	providers.Register("zonefile", newFromSettings)
}

// Provider reads and writes zone files in Directory.
type Provider struct {
	// Directory holds the zone files.
	Directory string
	// FileSuffix ends every zone file's name; "" means ".zone".
	FileSuffix string
	// PostWrite is a command (argv, no shell) run after each write of a
	// zone, {zone} and {file} substituted; none when empty.
	PostWrite []string
	// PostWriteTimeout bounds PostWrite; 0 means DefaultPostWriteTimeout.
	PostWriteTimeout time.Duration

	now  func() time.Time // the clock for SOA serials; nil means time.Now
	post postWriteState
	// temps finds what killed writers left in the zone directories.
	temps staleTemps
	// watch spares ZoneVersion most stats.
	watch zoneWatch
}

var (
	_ providers.Provider            = (*Provider)(nil)
	_ providers.Replacer            = (*Provider)(nil)
	_ providers.ConditionalReplacer = (*Provider)(nil)
	_ providers.CanonicalGetter     = (*Provider)(nil)
	_ providers.LocalReader         = (*Provider)(nil)
	_ libdns.ZoneLister             = (*Provider)(nil)
)

func newFromSettings(s *providers.Settings) (providers.Provider, error) {
	if _, err := s.Required("directory"); err != nil {
		return nil, err
	}
	dir := s.Path("directory", "")
	suffix := s.String("file_suffix", ".zone")
	if suffix == "" || strings.ContainsAny(suffix, `/\`) {
		return nil, &providers.SettingError{Key: "file_suffix", Err: fmt.Errorf("want a file name ending such as .zone, have %q", suffix)}
	}
	argv, timeout, err := postWriteSettings(s)
	if err != nil {
		return nil, err
	}
	return &Provider{Directory: dir, FileSuffix: suffix, PostWrite: argv, PostWriteTimeout: timeout}, nil
}

func (p *Provider) suffix() string {
	if p.FileSuffix == "" {
		return ".zone"
	}
	return p.FileSuffix
}

func (p *Provider) clock() time.Time {
	if p.now != nil {
		return p.now()
	}
	return time.Now()
}

// ZonePath returns the zone file of zone (with or without trailing dot) and
// the zone's name in the form used as $ORIGIN: lower case, trailing dot.
func (p *Provider) ZonePath(zone string) (path, origin string, err error) {
	name := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(zone), "."))
	if name == "" || strings.HasPrefix(name, ".") || strings.Contains(name, "..") ||
		strings.ContainsAny(name, "/\\\x00 \t\r\n") {
		return "", "", fmt.Errorf("zone %q: not a zone name", zone)
	}
	if _, ok := dns.IsDomainName(name); !ok {
		return "", "", fmt.Errorf("zone %q: not a zone name", zone)
	}
	if origin = zone; len(zone) != len(name)+1 || zone[:len(name)] != name || zone[len(name)] != '.' {
		origin = name + "." // not as the engine asks it
	}
	suffix := p.suffix()
	if dir := p.Directory; dir != "" && dir != "." && dir != "/" && filepath.Clean(dir) == dir && !strings.ContainsRune(suffix, filepath.Separator) {
		// What filepath.Join gives (a clean directory, a name without a
		// separator or a leading dot), made in one string.
		return dir + string(filepath.Separator) + name + suffix, origin, nil
	}
	return filepath.Join(p.Directory, name+suffix), origin, nil
}

// readFile reads the zone file of a zone, naming the path when it is missing.
func readFile(path, origin string) ([]byte, error) {
	return readFileInto(path, origin, nil)
}

// readFileInto is readFile into buf when the file fits (readfile.ReadInto).
func readFileInto(path, origin string, buf []byte) ([]byte, error) {
	data, info, err := readfile.ReadInto(path, -1, buf)
	if err != nil || !info.Regular() {
		// Not a regular file, or a failure: as os.ReadFile reads and
		// says it (readfile is the fast path of regular files).
		data, err = os.ReadFile(path)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("zone %s: zone file %s does not exist: %w", origin, path, err)
		}
		return nil, fmt.Errorf("zone %s: %w", origin, err)
	}
	return data, nil
}

// GetRecords returns every record of the zone but its SOA, normalised.
func (p *Provider) GetRecords(ctx context.Context, zone string) ([]libdns.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	path, origin, err := p.ZonePath(zone)
	if err != nil {
		return nil, err
	}
	data, err := readFile(path, origin)
	if err != nil {
		return nil, err
	}
	return records(data, path, origin)
}

// GetRecordsCanonical implements providers.CanonicalGetter: a zone file
// the fast parser takes (which holds no RRSIG, so GuardWrite lets it be
// written) is read straight into canonical records (readCanonical).
func (p *Provider) GetRecordsCanonical(ctx context.Context, zone string) ([]libdns.RR, []libdns.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	path, origin, err := p.ZonePath(zone)
	if err != nil {
		return nil, nil, err
	}
	// The file is read into a pooled buffer: canonical records are
	// copies, so the buffer is free again once they are made (at 100,000
	// zones, 100 MB not allocated).
	bp := zoneTexts.Get().(*[]byte)
	data, err := readFileInto(path, origin, *bp)
	if err != nil {
		zoneTexts.Put(bp)
		return nil, nil, err
	}
	if canon, ok := readCanonical(data, origin); ok {
		if cap(data) <= zoneTextKeep {
			*bp = data[:0]
		}
		zoneTexts.Put(bp)
		return canon, nil, nil
	}
	*bp = nil // data may be in it, and records may keep parts of data
	zoneTexts.Put(bp)
	recs, err := records(data, path, origin)
	return nil, recs, err
}

// zoneTexts holds the buffers zone files are read into for canonical
// records (*[]byte), of at most zoneTextKeep bytes: a big shared zone's
// text is not kept for the small zones after it.
var zoneTexts = sync.Pool{New: func() any { return new([]byte) }}

const zoneTextKeep = 64 << 10

// ReadsLocally implements providers.LocalReader: a read is a file read,
// which takes no context once it has begun.
func (p *Provider) ReadsLocally() bool { return true }

// records returns the records of the zone file text data but its SOA, as
// GetRecords does.
func records(data []byte, path, origin string) ([]libdns.Record, error) {
	recs := make([]libdns.Record, 0, countLines(data))
	if rrs, ok := parseZoneFast(data, origin); ok {
		for _, rr := range rrs {
			if rr.Header().Rrtype != dns.TypeSOA {
				recs = append(recs, toLibdns(rr, origin))
			}
		}
		return recs, nil
	}
	err := parseZone(data, path, origin, func(rr dns.RR, _ string) {
		if rr.Header().Rrtype == dns.TypeSOA {
			return
		}
		recs = append(recs, toLibdns(rr, origin))
	})
	if err != nil {
		return nil, fmt.Errorf("zone %s: %w", origin, err)
	}
	return recs, nil
}

// countLines estimates the number of records in a zone file.
func countLines(data []byte) int {
	n := 0
	for _, c := range data {
		if c == '\n' {
			n++
		}
	}
	return n
}

// ListZones lists the zones with a file in Directory.
func (p *Provider) ListZones(ctx context.Context) ([]libdns.Zone, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(p.Directory)
	if err != nil {
		return nil, fmt.Errorf("listing zones: %w", err)
	}
	var zones []libdns.Zone
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".") || e.IsDir() || !strings.HasSuffix(name, p.suffix()) {
			continue
		}
		if zone := strings.TrimSuffix(name, p.suffix()); zone != "" {
			zones = append(zones, libdns.Zone{Name: zone + "."})
		}
	}
	return zones, nil
}

// AppendRecords adds recs to the zone. A record already present (same name,
// type and data) is left as it is and returned as found.
func (p *Provider) AppendRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	return p.modify(ctx, zone, "appending records", func(z *zoneData) ([]libdns.Record, bool, error) {
		news, err := entriesFor(z, recs)
		if err != nil {
			return nil, false, err
		}
		out := make([]libdns.Record, 0, len(news))
		changed := false
	next:
		for _, n := range news {
			for i := range z.entries {
				if e := &z.entries[i]; e.name == n.name && sameRecord(z.full(e).key, n.key) {
					out = append(out, e.rec)
					continue next
				}
			}
			z.entries = append(z.entries, n)
			out = append(out, n.rec)
			changed = true
		}
		return out, changed, nil
	})
}

// SetRecords makes the records of recs the only members of their RRsets
// ((name, type) pairs) and leaves every other record alone.
func (p *Provider) SetRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	return p.modify(ctx, zone, "setting records", func(z *zoneData) ([]libdns.Record, bool, error) {
		news, err := entriesFor(z, recs)
		if err != nil {
			return nil, false, err
		}
		type rrset struct{ name, typ string }
		var order []rrset
		want := map[rrset][]entry{}
	input:
		for _, n := range news {
			k := rrset{n.key.Name, n.key.Type}
			for i, w := range want[k] {
				if sameRecord(w.key, n.key) {
					want[k][i] = n // the last TTL given wins
					continue input
				}
			}
			if _, seen := want[k]; !seen {
				order = append(order, k)
			}
			want[k] = append(want[k], n)
		}

		changed := false
		var out []libdns.Record
		for _, k := range order {
			var have []int // each worked out (full), for sameSet
			for i := range z.entries {
				if e := &z.entries[i]; e.name == k.name && z.full(e).key.Type == k.typ {
					have = append(have, i)
				}
			}
			if sameSet(z.entries, have, want[k]) {
				for _, i := range have {
					out = append(out, z.entries[i].rec)
				}
				continue
			}
			changed = true
			kept := z.entries[:0]
			for i := range z.entries {
				if e := &z.entries[i]; e.name != k.name || z.full(e).key.Type != k.typ {
					kept = append(kept, *e)
				}
			}
			z.entries = kept
			for _, n := range want[k] {
				z.entries = append(z.entries, n)
				out = append(out, n.rec)
			}
		}
		return out, changed, nil
	})
}

// ReplaceRecords implements providers.Replacer: the records of remove
// (matched by name, type and data, whatever their TTL) are removed and the
// records of add are added (one already present with the same name, type
// and data, and not removed, is left as it is), in one atomic rewrite of
// the zone file with one serial step. Every other record is kept as it is.
// It returns the records of add as they are in the file.
func (p *Provider) ReplaceRecords(ctx context.Context, zone string, remove, add []libdns.Record) ([]libdns.Record, error) {
	if err := providers.CheckReplace(remove, add); err != nil {
		return nil, fmt.Errorf("zone %s: %w", zone, err)
	}
	return p.modify(ctx, zone, "replacing records", func(z *zoneData) ([]libdns.Record, bool, error) {
		return z.replace(remove, add)
	})
}

// replace removes the records of remove (matched by name, type and data,
// as the file holds them: any TTL, any case, TXT split anyhow) and adds
// those of add that are not there.
func (z *zoneData) replace(remove, add []libdns.Record) ([]libdns.Record, bool, error) {
	dels, err := entriesFor(z, remove)
	if err != nil {
		return nil, false, err
	}
	adds, err := entriesFor(z, add)
	if err != nil {
		return nil, false, err
	}
	type key struct{ name, typ, data string }
	// Records are looked up by name first: in a zone of many domains the
	// write touches a few names of many.
	gone := make(map[key]bool, len(dels))
	goneNames := make(map[string]bool, len(dels))
	for _, d := range dels {
		gone[key{d.key.Name, d.key.Type, d.key.Data}] = true
		goneNames[d.key.Name] = true
	}
	changed := false
	if len(dels) > 0 {
		kept := z.entries[:0]
		for i := range z.entries {
			e := &z.entries[i]
			if goneNames[e.name] {
				if k := z.full(e).key; gone[key{k.Name, k.Type, k.Data}] {
					changed = true
					continue
				}
			}
			kept = append(kept, *e)
		}
		z.entries = kept
	}
	addNames := make(map[string]bool, len(adds))
	for _, n := range adds {
		addNames[n.key.Name] = true
	}
	have := make(map[key]int, len(adds)) // of entries worked out (full)
	for i := range z.entries {
		if e := &z.entries[i]; addNames[e.name] {
			k := z.full(e).key
			have[key{k.Name, k.Type, k.Data}] = i
		}
	}
	out := make([]libdns.Record, 0, len(adds))
	for _, n := range adds {
		k := key{n.key.Name, n.key.Type, n.key.Data}
		if i, ok := have[k]; ok {
			out = append(out, z.entries[i].rec)
			continue
		}
		have[k] = len(z.entries)
		z.entries = append(z.entries, n)
		out = append(out, n.rec)
		changed = true
	}
	return out, changed, nil
}

// ReplaceRecordsIf implements providers.ConditionalReplacer: under the
// zone's lock, the file is read and every RRset of expect must hold exactly
// its values (providers.CheckExpect); then the replacement is made as
// ReplaceRecords makes it, in the same read-modify-write. Otherwise nothing
// is written and the error wraps a *providers.ChangedError. The check and
// the write are one atomic step for every maildns process: both happen
// under the file lock. A zone file edited by hand meanwhile (a writer that
// does not take the lock) is the only window left.
func (p *Provider) ReplaceRecordsIf(ctx context.Context, zone string, expect []providers.RRsetState, remove, add []libdns.Record) ([]libdns.Record, error) {
	if err := providers.CheckReplace(remove, add); err != nil {
		return nil, fmt.Errorf("zone %s: %w", zone, err)
	}
	return p.modify(ctx, zone, "replacing records", func(z *zoneData) ([]libdns.Record, bool, error) {
		// CheckExpect looks only at the names of expect: the records at
		// other names need not be normalised for it. An entry's key name
		// is canonical already (RelativeName leaves it as it is).
		names := make(map[string]bool, len(expect))
		for _, e := range expect {
			names[providers.RelativeName(e.Name, z.origin)] = true
		}
		var live []libdns.Record
		for i := range z.entries {
			if e := &z.entries[i]; names[e.name] {
				live = append(live, z.full(e).rec)
			}
		}
		if err := providers.CheckExpect(z.origin, expect, live); err != nil {
			return nil, false, err
		}
		return z.replace(remove, add)
	})
}

// sameSet reports whether the entries at indexes have hold exactly the
// records of want, TTLs included.
func sameSet(entries []entry, have []int, want []entry) bool {
	if len(have) != len(want) {
		return false
	}
	for _, w := range want {
		found := false
		for _, i := range have {
			if sameRecord(entries[i].key, w.key) && entries[i].key.TTL == w.key.TTL {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// DeleteRecords removes the records matching recs: the name must match, and
// so must the type, TTL and data unless they are empty ("", 0, "").
func (p *Provider) DeleteRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	return p.modify(ctx, zone, "deleting records", func(z *zoneData) ([]libdns.Record, bool, error) {
		matchers := make([]func(*entry) bool, 0, len(recs))
		for _, rec := range recs {
			m, err := matcherFor(z, rec)
			if err != nil {
				return nil, false, err
			}
			matchers = append(matchers, m)
		}
		var out []libdns.Record
		kept := z.entries[:0]
		for i := range z.entries {
			e := &z.entries[i]
			del := false
			for _, m := range matchers {
				if m(e) {
					del = true
					break
				}
			}
			if del {
				out = append(out, e.rec) // worked out by the matcher
			} else {
				kept = append(kept, *e)
			}
		}
		z.entries = kept
		return out, len(out) > 0, nil
	})
}

// matcherFor returns the test of DeleteRecords for one input record; an
// entry it matches is worked out (full).
func matcherFor(z *zoneData, rec libdns.Record) (func(*entry) bool, error) {
	r := rec.RR()
	if strings.TrimSpace(r.Name) == "" {
		return nil, fmt.Errorf("%s record with an empty name: libdns requires a name to delete", r.Type)
	}
	name := providers.RelativeName(r.Name, z.origin)
	typ := strings.ToUpper(strings.TrimSpace(r.Type))
	ttl := r.TTL.Truncate(time.Second)
	// The data is compared in canonical form, which depends on the type:
	// it is worked out once per type met.
	data := map[string]string{}
	if r.Data != "" && typ != "" {
		e, err := z.entryFor(libdns.RR{Name: name, Type: typ, TTL: time.Second, Data: r.Data})
		if err != nil {
			return nil, err
		}
		data[typ] = e.key.Data
	}
	return func(e *entry) bool {
		if e.name != name {
			return false
		}
		k := z.full(e).key
		if (typ != "" && k.Type != typ) || (ttl != 0 && k.TTL != ttl) {
			return false
		}
		if r.Data == "" {
			return true
		}
		want, ok := data[k.Type]
		if !ok {
			if c, err := z.entryFor(libdns.RR{Name: name, Type: k.Type, TTL: time.Second, Data: r.Data}); err == nil {
				want = c.key.Data
			}
			data[k.Type] = want
		}
		return want != "" && k.Data == want
	}, nil
}

// entriesFor converts every input record, or fails on the first bad one.
func entriesFor(z *zoneData, recs []libdns.Record) ([]entry, error) {
	out := make([]entry, 0, len(recs))
	for _, rec := range recs {
		e, err := z.entryFor(rec)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// modify runs a read-modify-write of a zone file under its locks. change
// edits z and says whether anything changed; only then is the SOA serial
// bumped and the file edited in place, checked and replaced. post_write
// runs after the file was replaced, once the lock is released.
func (p *Provider) modify(ctx context.Context, zone, what string, change func(z *zoneData) ([]libdns.Record, bool, error)) ([]libdns.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	path, origin, err := p.ZonePath(zone)
	if err != nil {
		return nil, err
	}
	out, wrote, err := p.modifyLocked(ctx, path, origin, what, change)
	if err != nil {
		return nil, err
	}
	if wrote || p.owesPostWrite(path) {
		if err := p.postWrite(ctx, path, origin); err != nil {
			return out, err
		}
	}
	return out, nil
}

// modifyLocked is the read-modify-write of modify under the zone's locks;
// wrote says whether the file was replaced.
func (p *Provider) modifyLocked(ctx context.Context, path, origin, what string, change func(z *zoneData) ([]libdns.Record, bool, error)) ([]libdns.Record, bool, error) {
	// A zone file that is a symbolic link is locked and replaced where it
	// points, and the link is kept.
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, false, fmt.Errorf("zone %s: zone file %s does not exist: %w", origin, path, err)
		}
		return nil, false, fmt.Errorf("zone %s: %w", origin, err)
	}
	unlock, err := lockZone(ctx, target)
	if err != nil {
		return nil, false, fmt.Errorf("zone %s: %s: %w", origin, what, err)
	}
	defer unlock()
	p.temps.remove(target)

	info, err := os.Stat(target)
	if err != nil {
		return nil, false, fmt.Errorf("zone %s: %w", origin, err)
	}
	data, err := readFile(target, origin)
	if err != nil {
		return nil, false, err
	}
	z, err := readZone(data, path, origin)
	if err != nil {
		return nil, false, fmt.Errorf("zone %s: %w", origin, err)
	}
	// Defence in depth: the engine asks GuardWrite first.
	for _, e := range z.entries {
		if e.rr.Header().Rrtype == dns.TypeRRSIG {
			return nil, false, &RefusedError{Zone: origin, Refusal: signedRefusal(path)}
		}
	}
	out, changed, err := change(z)
	if err != nil {
		return nil, false, fmt.Errorf("zone %s: %s: %w", origin, what, err)
	}
	if !changed {
		return out, false, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("zone %s: %s: %w", origin, what, err)
	}
	// Only a name the write changes can gain a conflict.
	names := z.changedNames()
	if ref := newCNAMEConflict(z.keysAsRead(names), z.keys(names)); ref != nil {
		return nil, false, &RefusedError{Zone: origin, Refusal: ref}
	}
	if z.soa != nil {
		z.soa.Serial = nextSerial(z.soa.Serial, p.clock())
	}
	text, err := z.editedText()
	if err != nil {
		return nil, false, fmt.Errorf("zone %s: %s: %w", origin, what, err)
	}
	// The text as checked and written is the edit's own, not a copy: both
	// only read it.
	written := unsafe.Slice(unsafe.StringData(text), len(text))
	if err := checkAndWrite(z, target, written, info); err != nil {
		return nil, false, fmt.Errorf("zone %s: %s: %w", origin, what, err)
	}
	return out, true, nil
}

// checkAndWrite checks the edited text (checkData) and writes it over the
// zone file at target: the temporary file is written and synced while a
// large text is checked, and renamed into place only when the check
// passed; else it is removed and nothing changes.
func checkAndWrite(z *zoneData, target string, text []byte, info os.FileInfo) error {
	if len(text) < parallelMin {
		if err := z.checkData(text); err != nil {
			return err
		}
		return writeFileAtomic(target, text, info)
	}
	type temp struct {
		name string
		err  error
	}
	done := make(chan temp, 1)
	go func() {
		name, err := writeTemp(target, text, info)
		done <- temp{name, err}
	}()
	cerr := z.checkData(text)
	t := <-done
	if cerr != nil {
		if t.err == nil {
			_ = os.Remove(t.name)
		}
		return cerr
	}
	if t.err != nil {
		return t.err
	}
	return installTemp(t.name, target)
}
