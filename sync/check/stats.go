package check

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
