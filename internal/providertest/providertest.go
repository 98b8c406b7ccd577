// Package providertest holds the helpers the backends' own tests share.
package providertest

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/providers"
)

// Render renders records as "name ttl type data", sorted, for comparison.
func Render(recs []libdns.Record) []string {
	out := make([]string, 0, len(recs))
	for _, r := range recs {
		rr := r.RR()
		out = append(out, rr.Name+" "+rr.TTL.String()+" "+rr.Type+" "+rr.Data)
	}
	sort.Strings(out)
	return out
}

// Get reads zone through p and renders the records at (name, type).
func Get(t testing.TB, p providers.Provider, zone, name, typ string) []string {
	t.Helper()
	recs, err := p.GetRecords(context.Background(), zone)
	if err != nil {
		t.Fatalf("GetRecords: %v", err)
	}
	var out []libdns.Record
	for _, r := range recs {
		if rr := r.RR(); rr.Name == name && rr.Type == typ {
			out = append(out, r)
		}
	}
	return Render(out)
}

// Wrap wraps p as the engine does, with a fast retry (10 ms base delay,
// giving up after maxTime) and no real rate limit, counting into counts
// under name.
func Wrap(p providers.Provider, name, typ string, counts *providers.Counts, maxTime time.Duration) providers.Provider {
	return providers.Wrap(p, providers.WrapOptions{Name: name, Type: typ, Counts: counts, RateLimit: 1000,
		RetryMaxTime: maxTime, RetryBaseDelay: 10 * time.Millisecond})
}
