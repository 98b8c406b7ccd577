package sync

import (
	"strings"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/sync/check"
)

// Lookup returns the records at rel of type typ (any case): the index is
// the engine's check.ZoneIndex of a large zone.
func (idx liveIndex) Lookup(rel, typ string) []libdns.RR {
	return idx[nameType{strings.ToLower(rel), strings.ToUpper(typ)}]
}

// forChecks returns idx as the checks' index: nil (a small zone, scanned)
// stays nil.
func (idx liveIndex) forChecks() check.ZoneIndex {
	if idx == nil {
		return nil
	}
	return idx
}

// liveIndexed returns the index of z.live when the zone is large enough to
// keep one (planZone builds it), else nil: the SPF hold looks the zone up
// for each domain that shares it.
func (z *zoneState) liveIndexed() liveIndex {
	if len(z.live) <= indexedZone {
		return nil
	}
	return z.liveIdx
}

// touchedLive returns the records of live that may be at k: its index entry
// when idx is not nil (one of many domains' changes in a shared zone), else
// all of live.
func touchedLive(live []libdns.RR, idx liveIndex, k nameType) []libdns.RR {
	if idx == nil {
		return live
	}
	return idx[nameType{strings.ToLower(k.name), strings.ToUpper(k.typ)}]
}
