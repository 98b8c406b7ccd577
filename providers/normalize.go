package providers

import (
	"fmt"
	"strings"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/internal/canon"
)

// The canonical form of records inside maildns, shared by every backend on
// read, by the policy compiler and by the differ:
//   - Name: relative to the zone, lower case, "@" for the apex.
//   - Type: upper case.
//   - Data: A/AAAA the address as netip prints it; MX "PREF TARGET." with the
//     target lower case and fully qualified ("0 ." for a null MX);
//     PTR, CNAME, NS the target lower case, fully qualified; TXT the text
//     unquoted and unescaped with split strings joined.
//   - TTL: whole seconds.

// Normalize returns rec in the canonical form for zone (fully qualified with
// trailing dot, or bare). Backends call it on every record they read.
func Normalize(rec libdns.Record, zone string) (libdns.RR, error) {
	rr := rec.RR()
	typ := strings.ToUpper(strings.TrimSpace(rr.Type))
	name := RelativeName(rr.Name, zone)
	data, err := CanonicalData(typ, rr.Data, zone)
	if err != nil {
		return libdns.RR{}, fmt.Errorf("%s %s: %w", name, typ, err)
	}
	return libdns.RR{Name: name, Type: typ, TTL: rr.TTL.Truncate(time.Second), Data: data}, nil
}

// RelativeName returns name relative to zone, lower case, "@" for the apex.
// name may be relative (as libdns records are), "@" or fully qualified.
func RelativeName(name, zone string) string { return canon.RelativeName(name, zone) }

// AbsoluteName returns the fully qualified name (trailing dot) of a relative name in zone.
func AbsoluteName(name, zone string) string { return canon.AbsoluteName(name, zone) }

// CanonicalData returns data of type typ in the canonical form. Relative
// targets are completed with zone.
func CanonicalData(typ, data, zone string) (string, error) { return canon.Data(typ, data, zone) }

// CanonicalTXT turns the many shapes providers return TXT data in into the
// plain text (canon.TXT).
func CanonicalTXT(s string) string { return canon.TXT(s) }

// SplitTXT splits text into strings of at most 255 bytes, as DNS carries them.
func SplitTXT(text string) []string {
	if len(text) <= 255 {
		return []string{text}
	}
	var out []string
	for len(text) > 255 {
		out = append(out, text[:255])
		text = text[255:]
	}
	if text != "" {
		out = append(out, text)
	}
	return out
}

// NormalizeInput is Normalize for a record handed to a provider to write. By
// the libdns convention its TXT data is the text itself, so a quote or a
// backslash in it is a character and is kept as given.
func NormalizeInput(rec libdns.Record, zone string) (libdns.RR, error) {
	rr, err := Normalize(rec, zone)
	if err == nil && (rr.Type == "TXT" || rr.Type == "SPF") {
		rr.Data = rec.RR().Data
	}
	return rr, err
}

// RRsetKey names an RRset in a zone: the name relative to the zone and the type.
type RRsetKey struct{ Name, Type string }

// GroupRRsets normalises records handed to a provider (NormalizeInput) and
// groups them by RRset, the RRsets in the order they first appear.
func GroupRRsets(recs []libdns.Record, zone string) ([]RRsetKey, map[RRsetKey][]libdns.RR, error) {
	var keys []RRsetKey
	m := map[RRsetKey][]libdns.RR{}
	for _, r := range recs {
		rr, err := NormalizeInput(r, zone)
		if err != nil {
			return nil, nil, fmt.Errorf("zone %q: %w", zone, err)
		}
		k := RRsetKey{rr.Name, rr.Type}
		if _, ok := m[k]; !ok {
			keys = append(keys, k)
		}
		m[k] = append(m[k], rr)
	}
	return keys, m, nil
}
