package check

import (
	"context"
	"errors"
	"slices"
	"strings"
	gosync "sync"
	"sync/atomic"

	"golang.org/x/sync/singleflight"
)

// CachingResolver remembers every answer (and every failure other than a
// cancelled context) for its lifetime, which is one run, and asks next
// once for identical questions asked at the same time. Build a new one per
// run: it never expires anything.
type CachingResolver struct {
	next   Resolver
	group  singleflight.Group
	mu     gosync.Mutex
	cache  map[string]cachedAnswer
	misses atomic.Int64
	hits   atomic.Int64
}

type cachedAnswer struct {
	ans Answer
	err error
}

var _ Resolver = (*CachingResolver)(nil)

// NewCachingResolver returns a per-run cache in front of next.
func NewCachingResolver(next Resolver) Resolver {
	return &CachingResolver{next: next, cache: map[string]cachedAnswer{}}
}

// Lookups returns how many questions were passed to next.
func (c *CachingResolver) Lookups() int64 { return c.misses.Load() }

// Hits returns how many questions were answered from the cache or shared
// with an identical question already in flight.
func (c *CachingResolver) Hits() int64 { return c.hits.Load() }

// Lookup answers from the cache, or asks next.
func (c *CachingResolver) Lookup(ctx context.Context, name, qtype string) (Answer, error) {
	key := strings.ToLower(name) + " " + strings.ToUpper(qtype)
	c.mu.Lock()
	e, ok := c.cache[key]
	c.mu.Unlock()
	if ok {
		c.hits.Add(1)
		return cloneAnswer(e.ans), e.err
	}
	leader := false
	ch := c.group.DoChan(key, func() (any, error) {
		// Answered between the look in the cache above and this flight
		// (a flight ends when its answer is cached): use that answer,
		// do not ask again.
		c.mu.Lock()
		e, ok := c.cache[key]
		c.mu.Unlock()
		if ok {
			return e.ans, e.err
		}
		leader = true
		c.misses.Add(1)
		// The question is shared: one caller giving up must not fail the
		// others, so it runs to its own timeouts.
		ans, err := c.next.Lookup(context.WithoutCancel(ctx), name, qtype)
		if err == nil || !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			c.mu.Lock()
			c.cache[key] = cachedAnswer{ans, err}
			c.mu.Unlock()
		}
		return ans, err
	})
	select {
	case <-ctx.Done():
		return Answer{}, ctx.Err()
	case res := <-ch:
		if !leader {
			c.hits.Add(1)
		}
		ans, _ := res.Val.(Answer)
		return cloneAnswer(ans), res.Err
	}
}

func cloneAnswer(a Answer) Answer {
	a.Records = slices.Clone(a.Records)
	return a
}
