package providers

import "github.com/libdns/libdns"

// Refusal is a backend's reason not to write a zone as it stands, found
// from the zone's records alone. The engine turns it into a finding of Kind
// (for example "dnssec") and writes nothing to the zone; the plan still
// shows what would change.
type Refusal struct {
	Kind    string // a finding kind, SPEC §4
	Message string // what is wrong and what to do instead
}

// WriteGuard is implemented by backends that must not write some zones: a
// zone file holding DNSSEC signatures, whose signatures an edit would break.
// GuardWrite is given the zone's records as GetRecords returned them and
// returns nil when the zone may be written.
type WriteGuard interface {
	GuardWrite(zone string, live []libdns.Record) *Refusal
}

// GuardWrite asks p, looking through wrappers, whether zone may be written;
// nil when it may (or p has no WriteGuard).
func GuardWrite(p Provider, zone string, live []libdns.Record) *Refusal {
	for p != nil {
		if g, ok := p.(WriteGuard); ok {
			return g.GuardWrite(zone, live)
		}
		u, ok := p.(interface{ Unwrap() Provider })
		if !ok {
			return nil
		}
		p = u.Unwrap()
	}
	return nil
}
