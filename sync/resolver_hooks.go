package sync

import (
	"slices"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
)

// The engine builds a run's resolver through these hooks: the configured
// (or system) resolvers, behind a per-run cache, behind the zones read this
// run. A new cache per run (shared by the SPF hold before applying and the
// checks after it): answers never outlive the run.
func init() {
	newResolver = func(cfg *policy.Config) (Resolver, error) {
		return NewDNSResolver(cfg.Resolvers, DefaultResolverTimeout), nil
	}
	cacheResolver = NewCachingResolver
	zoneResolver = func(next Resolver, zones []zoneRecords) Resolver {
		m := make(map[string][]libdns.RR, len(zones))
		for _, z := range zones {
			// The zone resolver only reads the records: share them, and
			// copy only to join one zone read at two providers.
			if have, ok := m[z.Zone]; ok {
				m[z.Zone] = append(slices.Clip(have), z.Records...)
			} else {
				m[z.Zone] = z.Records
			}
		}
		return NewZoneResolver(m, next)
	}
}

// LookupStats says how a run's questions were answered.
type LookupStats struct {
	FromZones int64 // answered from the zones read this run
	Cached    int64 // answered from the run's cache (or shared in flight)
	Asked     int64 // questions the cache passed on
	Sent      int64 // questions sent to the resolvers on the network
}

// ResolverStats walks a chain of this package's resolvers (zones -> cache
// -> DNS, as the engine builds it) and adds up their counters.
func ResolverStats(r Resolver) LookupStats {
	var s LookupStats
	for r != nil {
		switch v := r.(type) {
		case *ZoneResolver:
			s.FromZones += v.Lookups()
			r = v.next
		case *CachingResolver:
			s.Cached += v.Hits()
			s.Asked += v.Lookups()
			r = v.next
		case *DNSResolver:
			s.Sent += v.Lookups()
			r = nil
		default:
			r = nil
		}
	}
	return s
}
