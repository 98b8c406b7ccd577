package sync

import (
	"slices"
	"testing"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
)

// simulate applies ops to zone as a provider that stores records exactly
// and deletes by exact match would.
func simulate(zone []libdns.RR, ops writeOps) []libdns.RR {
	del := func(zone []libdns.RR, recs []libdns.RR) []libdns.RR {
		return slices.DeleteFunc(zone, func(have libdns.RR) bool {
			for _, r := range recs {
				if r == have {
					return true
				}
			}
			return false
		})
	}
	zone = append(zone, ops.Append...)
	zone = del(zone, ops.Delete)
	zone = del(zone, ops.Replace)
	return append(zone, ops.ReplaceWith...)
}

// simulateReplace applies ops as one ReplaceRecords call of a provider
// that removes by name, type and data and adds each value not there.
func simulateReplace(zone []libdns.RR, ops writeOps) []libdns.RR {
	same := func(a, b libdns.RR) bool { return a.Name == b.Name && a.Type == b.Type && a.Data == b.Data }
	zone = slices.DeleteFunc(zone, func(have libdns.RR) bool {
		return slices.ContainsFunc(slices.Concat(ops.Delete, ops.Replace), func(r libdns.RR) bool { return same(r, have) })
	})
	for _, r := range slices.Concat(ops.Append, ops.ReplaceWith) {
		if !slices.ContainsFunc(zone, func(have libdns.RR) bool { return same(r, have) }) {
			zone = append(zone, r)
		}
	}
	return zone
}

// fuzzRecords decodes data into live records and a desired RRset at a few
// names and types, with values drawn from a small alphabet so that they
// collide often.
func fuzzRecords(data []byte) ([]libdns.RR, []policy.RRset) {
	names := []string{"@", "mail", "_dmarc"}
	types := []string{"TXT", "A"}
	txt := []string{"v=spf1 -all", "v=spf1 mx ~all", "V=SPF1 a -all", "MS=ms123", "google-site-verification=x", "v=DMARC1; p=reject"}
	addrs := []string{"192.0.2.1", "192.0.2.2", "203.0.113.25"}
	ttls := []time.Duration{300 * time.Second, time.Hour}
	value := func(typ string, b byte) string {
		if typ == "A" {
			return addrs[int(b)%len(addrs)]
		}
		return txt[int(b)%len(txt)]
	}
	var live []libdns.RR
	var desired []policy.RRset
	for i := 0; i+3 < len(data); i += 4 {
		name, typ := names[int(data[i])%len(names)], types[int(data[i+1])%len(types)]
		switch data[i+3] % 4 {
		case 0, 1: // a live record
			live = append(live, libdns.RR{Name: name, Type: typ, TTL: ttls[int(data[i+3]>>2)%2], Data: value(typ, data[i+2])})
		case 2, 3: // a value the policy wants (at most one RRset per name and type)
			idx := slices.IndexFunc(desired, func(s policy.RRset) bool { return s.Name == name && s.Type == typ })
			if idx < 0 {
				s := policy.RRset{Zone: "example.com", Name: name, Type: typ, TTL: ttls[int(data[i+3]>>2)%2]}
				if name == "@" && typ == "TXT" {
					s.Own = policy.OwnPrefix
				}
				if data[i+3]>>3&1 == 1 {
					s.Absent = true
				}
				desired = append(desired, s)
				idx = len(desired) - 1
			}
			v := value(typ, data[i+2])
			if !desired[idx].Absent && desired[idx].Owns(v) {
				desired[idx].Values = append(desired[idx].Values, v)
			}
		}
	}
	return live, desired
}

// FuzzApplyConverges checks the two promises of apply on any zone and
// policy: after the writes the owned values are as planned (a new diff is
// empty), and every foreign record is exactly as it was.
func FuzzApplyConverges(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 1, 0, 0, 4, 4})
	f.Add([]byte{1, 1, 0, 1, 1, 1, 2, 6, 1, 1, 1, 3})
	f.Add([]byte{2, 0, 5, 0, 2, 0, 5, 7, 0, 0, 0, 10})
	f.Fuzz(func(t *testing.T, data []byte) {
		live, desired := fuzzRecords(data)
		before := diffRRsets(desired, live)
		zone := slices.Clone(live)
		// As a provider that can replace gets them: one call for the share.
		replaced := slices.Clone(live)
		var all writeOps
		for i := range before {
			o := opsFor(&before[i])
			zone = simulate(zone, o)
			all.Append = append(all.Append, o.Append...)
			all.Delete = append(all.Delete, o.Delete...)
			all.Replace = append(all.Replace, o.Replace...)
			all.ReplaceWith = append(all.ReplaceWith, o.ReplaceWith...)
		}
		replaced = simulateReplace(replaced, all)
		for _, d := range diffRRsets(desired, zone) {
			if d.Change != nil {
				t.Fatalf("not converged: %+v\nlive %v\ndesired %+v\nafter %v", *d.Change, live, desired, zone)
			}
		}
		for _, d := range diffRRsets(desired, replaced) {
			if d.Change != nil {
				t.Fatalf("not converged by one replacement: %+v\nlive %v\ndesired %+v\nafter %v", *d.Change, live, desired, replaced)
			}
		}
		// Foreign records: every live record no desired set owns.
		owned := func(r libdns.RR) bool {
			for _, s := range desired {
				if s.Name == r.Name && s.Type == r.Type && s.Owns(r.Data) {
					return true
				}
			}
			return false
		}
		var fBefore, fAfter []libdns.RR
		for _, r := range live {
			if !owned(r) {
				fBefore = append(fBefore, r)
			}
		}
		for _, r := range zone {
			if !owned(r) {
				fAfter = append(fAfter, r)
			}
		}
		if !slices.Equal(fBefore, fAfter) {
			t.Fatalf("foreign records changed:\nbefore %v\nafter  %v\ndesired %+v", fBefore, fAfter, desired)
		}
		var fReplaced []libdns.RR
		for _, r := range replaced {
			if !owned(r) {
				fReplaced = append(fReplaced, r)
			}
		}
		if !slices.Equal(fBefore, fReplaced) {
			t.Fatalf("foreign records changed by one replacement:\nbefore %v\nafter  %v\ndesired %+v", fBefore, fReplaced, desired)
		}
	})
}
