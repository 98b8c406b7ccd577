package sync

import (
	"context"
	"fmt"
	"strings"
	stdsync "sync"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/providers"
)

// fakeStore is an in-memory DNS provider registered as type "fake" through
// the real registry; the setting "store" picks the store by name.
type fakeStore struct {
	mu      stdsync.Mutex
	zones   map[string][]libdns.RR // by zone FQDN; names relative
	gets    map[string]int
	appends int
	deletes int
	sets    int
	// failGet makes GetRecords of a zone fail.
	failGet map[string]error
	// failAppend makes AppendRecords fail.
	failAppend error
	// dropWrites makes AppendRecords report success and store nothing.
	dropWrites bool
	// rawTXT returns TXT values quoted and split, as some backends do.
	rawTXT bool
	// replacer makes the provider a providers.Replacer (built after it is set).
	replacer    bool
	replaces    int
	failReplace error
	// conditional makes the provider a providers.ConditionalReplacer too
	// (built after it is set); replaceIfs counts its calls, changed those
	// that found the zone changed.
	conditional         bool
	replaceIfs, changed int
}

var fakeStores stdsync.Map

func init() {
	providers.Register("fake", func(s *providers.Settings) (providers.Provider, error) {
		name, err := s.Required("store")
		if err != nil {
			return nil, err
		}
		st, ok := fakeStores.Load(name)
		if !ok {
			return nil, &providers.SettingError{Key: "store", Err: fmt.Errorf("no fake store %q", name)}
		}
		if st.(*fakeStore).conditional {
			return &fakeConditional{fakeReplacer{fakeProvider{st.(*fakeStore)}}}, nil
		}
		if st.(*fakeStore).replacer {
			return &fakeReplacer{fakeProvider{st.(*fakeStore)}}, nil
		}
		return &fakeProvider{st.(*fakeStore)}, nil
	})
}

func newFakeStore(name string, zones map[string][]libdns.RR) *fakeStore {
	st := &fakeStore{zones: map[string][]libdns.RR{}, gets: map[string]int{}, failGet: map[string]error{}}
	for z, recs := range zones {
		st.zones[z] = append([]libdns.RR(nil), recs...)
	}
	fakeStores.Store(name, st)
	return st
}

func (st *fakeStore) records(zone string) []libdns.RR {
	st.mu.Lock()
	defer st.mu.Unlock()
	return append([]libdns.RR(nil), st.zones[zone]...)
}

type fakeProvider struct{ st *fakeStore }

var _ providers.Provider = (*fakeProvider)(nil)

func (p *fakeProvider) GetRecords(ctx context.Context, zone string) ([]libdns.Record, error) {
	st := p.st
	st.mu.Lock()
	defer st.mu.Unlock()
	st.gets[zone]++
	if err := st.failGet[zone]; err != nil {
		return nil, err
	}
	return st.getLocked(zone)
}

// getLocked returns zone's records as GetRecords does; st.mu is held.
func (st *fakeStore) getLocked(zone string) ([]libdns.Record, error) {
	recs, ok := st.zones[zone]
	if !ok {
		return nil, fmt.Errorf("zone %q not found", zone)
	}
	out := make([]libdns.Record, 0, len(recs))
	for _, r := range recs {
		if st.rawTXT && r.Type == "TXT" {
			parts := providers.SplitTXT(r.Data)
			for i := range parts {
				parts[i] = `"` + strings.ReplaceAll(parts[i], `"`, `\"`) + `"`
			}
			r.Data = strings.Join(parts, " ")
		}
		out = append(out, r)
	}
	return out, nil
}

func (p *fakeProvider) AppendRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	st := p.st
	st.mu.Lock()
	defer st.mu.Unlock()
	st.appends++
	if st.failAppend != nil {
		return nil, st.failAppend
	}
	if st.dropWrites {
		return recs, nil
	}
	for _, r := range recs {
		st.zones[zone] = append(st.zones[zone], r.RR())
	}
	return recs, nil
}

// SetRecords replaces whole RRsets, foreign values included, as some
// backends do: the engine must never call it on a shared RRset.
func (p *fakeProvider) SetRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	st := p.st
	st.mu.Lock()
	defer st.mu.Unlock()
	st.sets++
	type key struct{ n, t string }
	replace := map[key]bool{}
	for _, r := range recs {
		replace[key{r.RR().Name, r.RR().Type}] = true
	}
	var keep []libdns.RR
	for _, r := range st.zones[zone] {
		if !replace[key{r.Name, r.Type}] {
			keep = append(keep, r)
		}
	}
	for _, r := range recs {
		keep = append(keep, r.RR())
	}
	st.zones[zone] = keep
	return recs, nil
}

func (p *fakeProvider) DeleteRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	st := p.st
	st.mu.Lock()
	defer st.mu.Unlock()
	st.deletes++
	var deleted []libdns.Record
	var keep []libdns.RR
	for _, have := range st.zones[zone] {
		gone := false
		for _, r := range recs {
			d := r.RR()
			if d.Name == have.Name && (d.Type == "" || d.Type == have.Type) &&
				(d.TTL == 0 || d.TTL == have.TTL) && (d.Data == "" || d.Data == have.Data) {
				gone = true
			}
		}
		if gone {
			deleted = append(deleted, have)
		} else {
			keep = append(keep, have)
		}
	}
	st.zones[zone] = keep
	return deleted, nil
}

// fakeReplacer is a fakeProvider that replaces records in one step: exact
// removes by name, type and data, then adds (a value already there is left).
type fakeReplacer struct{ fakeProvider }

var _ providers.Replacer = (*fakeReplacer)(nil)

func (p *fakeReplacer) ReplaceRecords(ctx context.Context, zone string, remove, add []libdns.Record) ([]libdns.Record, error) {
	if err := providers.CheckReplace(remove, add); err != nil {
		return nil, err
	}
	st := p.st
	st.mu.Lock()
	defer st.mu.Unlock()
	st.replaces++
	if st.failReplace != nil {
		return nil, st.failReplace
	}
	st.replaceLocked(zone, remove, add)
	return add, nil
}

// replaceLocked removes and adds records exactly; st.mu is held.
func (st *fakeStore) replaceLocked(zone string, remove, add []libdns.Record) {
	same := func(a, b libdns.RR) bool { return a.Name == b.Name && a.Type == b.Type && a.Data == b.Data }
	var keep []libdns.RR
	for _, have := range st.zones[zone] {
		gone := false
		for _, r := range remove {
			if same(r.RR(), have) {
				gone = true
			}
		}
		if !gone {
			keep = append(keep, have)
		}
	}
next:
	for _, r := range add {
		for _, have := range keep {
			if same(r.RR(), have) {
				continue next
			}
		}
		keep = append(keep, r.RR())
	}
	st.zones[zone] = keep
}

// fakeConditional is a fakeReplacer that also replaces conditionally: the
// check and the replacement are one step under the store's lock.
type fakeConditional struct{ fakeReplacer }

var _ providers.ConditionalReplacer = (*fakeConditional)(nil)

func (p *fakeConditional) ReplaceRecordsIf(ctx context.Context, zone string, expect []providers.RRsetState, remove, add []libdns.Record) ([]libdns.Record, error) {
	if err := providers.CheckReplace(remove, add); err != nil {
		return nil, err
	}
	st := p.st
	st.mu.Lock()
	defer st.mu.Unlock()
	st.replaceIfs++
	if st.failReplace != nil {
		return nil, st.failReplace
	}
	live, err := st.getLocked(zone)
	if err != nil {
		return nil, err
	}
	if err := providers.CheckExpect(zone, expect, live); err != nil {
		st.changed++
		return nil, err
	}
	st.replaceLocked(zone, remove, add)
	return add, nil
}
