package providers

import (
	"context"

	"github.com/libdns/libdns"
)

// CanonicalGetter is implemented by backends that can read a zone straight
// into the canonical form the engine compares, sparing it a normalisation
// (and a few allocations) per record.
type CanonicalGetter interface {
	// GetRecordsCanonical reads the records GetRecords would return, as
	// canon when it can give each exactly as Normalize makes it, its TXT
	// and SPF text one Normalize leaves as it is; else as raw, what
	// GetRecords returns (canon nil). A backend that is a WriteGuard gives
	// canon only for a zone its GuardWrite would not refuse whatever its
	// records (the engine then asks it about none).
	GetRecordsCanonical(ctx context.Context, zone string) (canon []libdns.RR, raw []libdns.Record, err error)
}

// GetRecordsCanonical reads zone through p's CanonicalGetter when p has
// one, else by GetRecords (canon nil): one provider call either way.
func GetRecordsCanonical(ctx context.Context, p Provider, zone string) (canon []libdns.RR, raw []libdns.Record, err error) {
	if g, ok := p.(CanonicalGetter); ok {
		return g.GetRecordsCanonical(ctx, zone)
	}
	raw, err = p.GetRecords(ctx, zone)
	return nil, raw, err
}

// GetRecordsCanonical implements CanonicalGetter for every wrapped
// provider, with GetRecords' retries, deadline and counting; one without a
// CanonicalGetter of its own is read by GetRecords.
func (w *Wrapped) GetRecordsCanonical(ctx context.Context, zone string) (canon []libdns.RR, raw []libdns.Record, err error) {
	err = w.do(ctx, OpGetRecords, zone, func(ctx context.Context, _ error) error {
		var err error
		canon, raw, err = GetRecordsCanonical(ctx, w.inner, zone)
		return err
	})
	return canon, raw, err
}
