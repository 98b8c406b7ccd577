// Package providers holds the registry of DNS provider backends, the
// normalisation of the records they return, and the wrappers (retry, rate
// limit, call counting) shared by every backend. It knows nothing of policies.
package providers

import (
	"fmt"
	"sort"
	"sync"

	"github.com/libdns/libdns"
)

// Provider is what maildns needs of a DNS backend: the four libdns record
// interfaces. Zone names passed to it are fully qualified with a trailing dot.
type Provider interface {
	libdns.RecordGetter
	libdns.RecordAppender
	libdns.RecordSetter
	libdns.RecordDeleter
}

// Factory builds a provider from its settings. It must not touch the network:
// --validate builds every provider to check its settings. It reads every
// setting it knows through s, so that Settings.Unknown can report the rest.
type Factory func(s *Settings) (Provider, error)

var (
	registryMu sync.RWMutex
	registry   = map[string]Factory{}
)

// Register makes a backend available under typ. It is meant to be called from
// a backend's init function and panics on a duplicate or nil factory.
func Register(typ string, f Factory) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if f == nil {
		panic("providers: Register factory is nil for " + typ)
	}
	if _, dup := registry[typ]; dup {
		panic("providers: Register called twice for " + typ)
	}
	registry[typ] = f
}

// Types lists the registered backend types, sorted.
func Types() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]string, 0, len(registry))
	for t := range registry {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// New builds a provider of type typ from its settings. An unknown type, a
// missing or bad setting and an unknown setting are errors; errors about one
// setting are *SettingError so that callers can point at the line.
func New(typ string, s *Settings) (Provider, error) {
	registryMu.RLock()
	f, ok := registry[typ]
	registryMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("unknown provider type %q (known: %v)", typ, Types())
	}
	if s == nil {
		s = &Settings{}
	}
	s.Type = typ
	p, err := f(s)
	if err != nil {
		// A backend's message may quote a setting's value: one placed
		// through a ${...} reference is a secret whatever its key.
		return nil, RedactorFor(s).Error(err)
	}
	if err := s.Unknown(); err != nil {
		return nil, err
	}
	return p, nil
}

// Known reports whether typ is a registered backend type.
func Known(typ string) bool {
	registryMu.RLock()
	defer registryMu.RUnlock()
	_, ok := registry[typ]
	return ok
}
