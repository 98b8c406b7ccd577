package check

import (
	"slices"
	gosync "sync"

	"github.com/maildns/maildns/policy"
)

// dkimKeys remembers parsed RSA DKIM key records: a platform's domains share
// a few keys, and decoding an RSA key (x509) for every zone in every run cost
// more than the rest of the DKIM check. Ed25519 records are cheap to parse
// and many (one per domain): they are not kept. The map is bounded; when
// full it starts again empty.
var dkimKeys = struct {
	mu gosync.Mutex
	m  map[string]dkimParsed
}{m: map[string]dkimParsed{}}

// dkimKeysMax bounds dkimKeys (RSA records are about 400 bytes).
const dkimKeysMax = 4096

type dkimParsed struct {
	p   *policy.ParsedDKIMKey
	err error
}

// parseDKIMKey is policy.ParseDKIMKey, once per distinct RSA record. The
// result is shared: callers only read it. A record not remembered is
// parsed into into when it is not nil (a reused env's), and remembered as
// a copy of its own.
func parseDKIMKey(record string, into *policy.ParsedDKIMKey) (*policy.ParsedDKIMKey, error) {
	dkimKeys.mu.Lock()
	r, ok := dkimKeys.m[record]
	dkimKeys.mu.Unlock()
	if ok {
		return r.p, r.err
	}
	p, err := policy.ParseDKIMKeyInto(into, record)
	if err == nil && p.KeyType == "rsa" && !p.Revoked {
		kept := p
		if p == into {
			c := *p
			c.Tags = slices.Clone(p.Tags) // into's array is parsed into again
			kept = &c
		}
		dkimKeys.mu.Lock()
		if len(dkimKeys.m) >= dkimKeysMax {
			clear(dkimKeys.m)
		}
		dkimKeys.m[record] = dkimParsed{kept, nil}
		dkimKeys.mu.Unlock()
	}
	return p, err
}
