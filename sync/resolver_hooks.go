package sync

import (
	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
)

// The engine builds a run's resolver through these hooks: the configured
// (or system) resolvers, behind a per-run cache, behind the zones read this
// run. A new cache per run: answers never outlive the run.
func init() {
	newResolver = func(cfg *policy.Config) (Resolver, error) {
		return NewDNSResolver(cfg.Resolvers, DefaultResolverTimeout), nil
	}
	zoneResolver = func(base Resolver, zones []zoneRecords) Resolver {
		var next Resolver
		if base != nil {
			next = NewCachingResolver(base)
		}
		m := map[string][]libdns.RR{}
		for _, z := range zones {
			m[z.Zone] = append(m[z.Zone], z.Records...)
		}
		return NewZoneResolver(m, next)
	}
}
