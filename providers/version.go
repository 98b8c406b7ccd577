package providers

import "context"

// Versioner is implemented by backends that can tell cheaply whether a
// zone may have changed: ZoneVersion returns a token that differs from the
// last one whenever the zone's records may differ (a zone file: its size,
// modification time, inode and device). Equal tokens mean the records of
// the last full read still hold; the daemon then skips the read.
type Versioner interface {
	ZoneVersion(ctx context.Context, zone string) (string, error)
}

// ZoneVersion asks p, looking through wrappers, for zone's version token;
// ok is false when p has no cheap change signal (it must be read in full).
func ZoneVersion(ctx context.Context, p Provider, zone string) (token string, ok bool, err error) {
	for p != nil {
		if v, isV := p.(Versioner); isV {
			token, err = v.ZoneVersion(ctx, zone)
			return token, err == nil, err
		}
		u, isW := p.(interface{ Unwrap() Provider })
		if !isW {
			return "", false, nil
		}
		p = u.Unwrap()
	}
	return "", false, nil
}

type fullReadKey struct{}

// WithFullRead marks ctx for reads that must not build on an earlier read:
// a backend that can read a zone incrementally (rfc2136 by IXFR) then
// transfers it whole. The daemon asks for it when a zone's last full read
// is older than full_read_every.
func WithFullRead(ctx context.Context) context.Context {
	return context.WithValue(ctx, fullReadKey{}, true)
}

// IsFullRead reports whether ctx asks for whole reads (WithFullRead).
func IsFullRead(ctx context.Context) bool {
	v, _ := ctx.Value(fullReadKey{}).(bool)
	return v
}
