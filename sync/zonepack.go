package sync

import (
	"strings"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/internal/canon"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/sync/check"
)

// pack keeps z's records packed once z is planned, when only the checks
// read them afterwards (a dry run's zone): at 100,000 zones of a dozen
// records, their []libdns.RR and strings held ~1.2 KB a zone until every
// domain was checked; packed, the values the zone's policies want (and
// the zone has) shared with the compiled sets, a few hundred bytes. A
// large zone, indexed for the checks' lookups, stays as read.
func (z *zoneState) pack() {
	if z.err != nil || len(z.live) == 0 || len(z.live) > indexedZone {
		return
	}
	z.packed = canon.Pack(z.live, z)
	z.live, z.liveIdx = nil, nil
	// A change's values before are pieces of the text the records were
	// read into: copied, they do not keep all of it.
	for _, p := range z.parts {
		for i := range p.plan.Changes {
			for j, v := range p.plan.Changes[i].Before {
				p.plan.Changes[i].Before[j] = strings.Clone(v)
			}
		}
	}
}

// Ref makes the values of z's shares' compiled sets the dictionary of its
// packed records (canon.Dict): the sets outlive the records.
func (z *zoneState) Ref(data string) (int, int, bool) {
	if len(z.parts) == 1 { // a zone of one domain, as most are
		return setsRef(z.parts[0].sets, data)
	}
	i := 0
	for _, p := range z.parts {
		for k := range p.sets {
			for j, v := range p.sets[k].Values {
				if v == data {
					return i + k, j, true
				}
			}
		}
		i += len(p.sets)
	}
	return 0, 0, false
}

func setsRef(sets []policy.RRset, data string) (int, int, bool) {
	for k := range sets {
		for j, v := range sets[k].Values {
			if v == data {
				return k, j, true
			}
		}
	}
	return 0, 0, false
}

// Value returns the value Ref found at i, j.
func (z *zoneState) Value(i, j int) string {
	if len(z.parts) == 1 {
		return z.parts[0].sets[i].Values[j]
	}
	for _, p := range z.parts {
		if i < len(p.sets) {
			return p.sets[i].Values[j]
		}
		i -= len(p.sets)
	}
	panic("sync: a packed zone's value outside its sets")
}

// checksIndex returns the checks' view of z's records beyond Env.Zone: a
// large zone's index, the packed records, or nil (Env.Zone is scanned).
func (z *zoneState) checksIndex() check.ZoneIndex {
	if z.packed.Len() > 0 {
		// A copy: an env kept for the scorecards outlives dropZones.
		p := z.packed
		return &p
	}
	return z.currentIndex().forChecks()
}

// zoneRecords returns the records of a zone of the checks' resolver,
// unpacked when packed.
func zoneRecords(z check.Zone) []libdns.RR {
	if z.Packed != nil {
		return z.Packed.Unpack()
	}
	return z.Records
}
