package sync

import (
	"strings"

	"github.com/libdns/libdns"
)

// zoneValues returns the values of type typ at rel (a name relative to the
// zone) in env.Zone: by the index when the engine keeps one (a zone shared
// by many domains, where a scan per domain would be quadratic), else by a
// scan of the small zone.
func (env *CheckEnv) zoneValues(rel, typ string) []string {
	var out []string
	if env.index != nil {
		for _, r := range env.index[nameType{strings.ToLower(rel), strings.ToUpper(typ)}] {
			out = append(out, r.Data)
		}
		return out
	}
	for _, r := range env.Zone {
		if strings.EqualFold(r.Type, typ) && strings.EqualFold(r.Name, rel) {
			out = append(out, r.Data)
		}
	}
	return out
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
