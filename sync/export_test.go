package sync

import (
	"testing"
	"time"

	"github.com/libdns/libdns"
)

// Names of this package's test fakes and helpers for the tests in package
// sync_test, which run the engine through sync/daemon (it imports sync).

// NewFakeStore registers the fake store name with zones (see fake_test.go).
func NewFakeStore(name string, zones map[string][]libdns.RR) { newFakeStore(name, zones) }

// DeleteFakeStore removes the fake store name.
func DeleteFakeStore(name string) { fakeStores.Delete(name) }

// FakeRR is tRR: one record in the canonical form.
func FakeRR(name, typ string, ttl time.Duration, data string) libdns.RR {
	return tRR(name, typ, ttl, data)
}

// WriteTestFile is writeFile.
func WriteTestFile(t *testing.T, path, content string) { writeFile(t, path, content) }

// CacheZone is cacheZone.
const CacheZone = cacheZone
