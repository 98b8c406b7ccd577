package sync

import (
	"context"
	gosync "sync"
	"time"

	"github.com/maildns/maildns/internal/canon"
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
	// probed holds the version tokens taken this cycle (newCycle clears
	// it): a zone is asked for its token once per cycle, whether the
	// daemon asks first (fresh) or the read does (readFirst).
	probed map[zoneKey]probe
}

// probe is one zone's version token as its backend gave it this cycle.
type probe struct {
	token string
	ok    bool // the backend has a token for the zone
	err   error
}

type zoneCacheEntry struct {
	token string
	live  canon.Packed
	cond  zoneCond
	// fullAt is the time of the last whole read: an incremental read
	// (IXFR) does not move it, so a zone whose serial moves every cycle is
	// still read whole every FullReadEvery.
	fullAt time.Time
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
	if c.now().Sub(e.fullAt) >= every {
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

// newCycle starts a cycle: every zone's version token is asked anew.
func (c *ZoneCache) newCycle() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.probed) // its room is kept for the next cycle's tokens
}

// version returns k's version token, asked of p once per cycle.
func (c *ZoneCache) version(ctx context.Context, k zoneKey, p providers.Provider) probe {
	c.mu.Lock()
	v, ok := c.probed[k]
	c.mu.Unlock()
	if ok {
		return v
	}
	v.token, v.ok, v.err = providers.ZoneVersion(ctx, p, k.zone+".")
	if ctx.Err() != nil {
		return v // not kept: a stopped cycle's answer is no answer
	}
	c.mu.Lock()
	if c.probed == nil {
		c.probed = map[zoneKey]probe{}
	}
	c.probed[k] = v
	c.mu.Unlock()
	return v
}

// fresh reports whether k's records as last read in full still hold: its
// version token is unchanged since that read and FullReadEvery has not
// passed. It returns those records.
func (c *ZoneCache) fresh(ctx context.Context, k zoneKey, p providers.Provider) (canon.Packed, bool) {
	if c == nil || p == nil {
		return canon.Packed{}, false
	}
	v := c.version(ctx, k, p)
	if v.err != nil || !v.ok {
		return canon.Packed{}, false
	}
	e, hit := c.get(k, v.token)
	if !hit {
		return canon.Packed{}, false
	}
	return e.live, true
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
	v := c.version(ctx, z.key, z.provider)
	token := v.token
	if v.err != nil || !v.ok {
		c.forget(z.key)
		readLive(ctx, z)
		return
	}
	e, hit := c.get(z.key, token)
	if hit {
		z.live, z.err, z.cond, z.cached = e.live.Unpack(), nil, e.cond, true
		return
	}
	// Only a zone whose token moved since a read within FullReadEvery may
	// be read incrementally (rfc2136: IXFR); any other read is whole.
	every := c.FullReadEvery
	if every <= 0 {
		every = DefaultFullReadEvery
	}
	readAt, fullAt := c.now(), e.fullAt
	if e.token == "" || readAt.Sub(e.fullAt) >= every {
		ctx = providers.WithFullRead(ctx)
		fullAt = readAt
	}
	readLive(ctx, z)
	if z.err != nil {
		c.forget(z.key)
		return
	}
	c.put(z.key, zoneCacheEntry{token: token, live: canon.Pack(z.live, nil), cond: z.cond, fullAt: fullAt})
}
