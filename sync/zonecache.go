package sync

import (
	"context"
	"slices"
	gosync "sync"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/providers"
)

// DefaultFullReadEvery is how often the daemon reads a zone in full even
// when its version token says it has not changed.
const DefaultFullReadEvery = 24 * time.Hour

// ZoneCache keeps, for the daemon, each zone's records as last read in full
// with the backend's version token taken just before that read
// (providers.ZoneVersion). A zone whose token is unchanged is not read
// again until FullReadEvery has passed since its last full read.
//
// A cached read is never written from: a zone to write is read again in
// full under its lock (applyLocked) before it is planned and written, and
// the write itself is conditional on what that read found
// (providers.ConditionalReplacer), so a stale entry can cost a cycle's
// drift report, never a wrong write.
type ZoneCache struct {
	// FullReadEvery bounds the age of a cached read; 0: DefaultFullReadEvery.
	FullReadEvery time.Duration
	// Now is the cache's clock; nil: time.Now.
	Now func() time.Time

	mu      gosync.Mutex
	entries map[zoneKey]zoneCacheEntry
}

type zoneCacheEntry struct {
	token  string
	live   []libdns.RR
	cond   zoneCond
	readAt time.Time
}

func (c *ZoneCache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *ZoneCache) get(k zoneKey, token string) (zoneCacheEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok || e.token != token {
		return e, false
	}
	every := c.FullReadEvery
	if every <= 0 {
		every = DefaultFullReadEvery
	}
	if c.now().Sub(e.readAt) >= every {
		return e, false
	}
	return e, true
}

func (c *ZoneCache) put(k zoneKey, e zoneCacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[zoneKey]zoneCacheEntry{}
	}
	c.entries[k] = e
}

// forget drops k: maildns wrote the zone (or tried to), so the next cycle
// reads it in full whatever its token says.
func (c *ZoneCache) forget(k zoneKey) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, k)
}

// readFirst is a run's first read of z: from c when z's version token is
// unchanged since its last full read, else in full (and then kept in c).
// A nil c reads in full.
func (c *ZoneCache) readFirst(ctx context.Context, z *zoneState) {
	if c == nil || z.provider == nil {
		readLive(ctx, z)
		return
	}
	// The token is taken before the read: a change made during the read
	// gives another token next cycle.
	token, ok, err := providers.ZoneVersion(ctx, z.provider, z.fqdn)
	if err != nil || !ok {
		c.forget(z.key)
		readLive(ctx, z)
		return
	}
	e, hit := c.get(z.key, token)
	if hit {
		// A copy: the run may index or reorder its records.
		z.live, z.err, z.cond, z.cached = slices.Clone(e.live), nil, e.cond, true
		return
	}
	// Only a zone whose token moved since a read within FullReadEvery may
	// be read incrementally (rfc2136: IXFR); any other read is whole.
	every := c.FullReadEvery
	if every <= 0 {
		every = DefaultFullReadEvery
	}
	if e.token == "" || c.now().Sub(e.readAt) >= every {
		ctx = providers.WithFullRead(ctx)
	}
	readAt := c.now()
	readLive(ctx, z)
	if z.err != nil {
		c.forget(z.key)
		return
	}
	c.put(z.key, zoneCacheEntry{token: token, live: slices.Clone(z.live), cond: z.cond, readAt: readAt})
}
