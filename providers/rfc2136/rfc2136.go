// Package rfc2136 is the "rfc2136" provider: any name server that accepts
// TSIG-signed dynamic updates (RFC 2136) and zone transfers, such as BIND 9,
// Knot or PowerDNS.
//
// It speaks DNS itself with package dns rather than through
// github.com/libdns/rfc2136 v1.0.1, whose defects it would otherwise have to
// undo: TXT read back presentation-escaped, the SOA read twice, a PTR target
// without its trailing dot taken as relative to the reverse zone, TXT split
// by characters rather than bytes and quoted with Go escapes, answer codes
// only as text (so SERVFAIL could not be told from REFUSED), a zone transfer
// that ignores the context. Every operation is one TCP connection carrying
// TSIG-signed requests:
//   - GetRecords: one AXFR; the SOA and the records the server maintains for
//     DNSSEC (RRSIG, NSEC, NSEC3) are left out, every other record is
//     returned in the canonical form of providers.Normalize;
//   - AppendRecords: adds each record the zone does not hold yet, as
//     ReplaceRecords adds;
//   - DeleteRecords: records named by value as ReplaceRecords removes them;
//     otherwise one UPDATE (empty Data: the whole RRset; empty Type: every
//     record of the name);
//   - SetRecords: one UPDATE that deletes each (name, type) RRset given and
//     adds the given records, applied by the server atomically;
//   - ReplaceRecords (providers.Replacer) and ReplaceRecordsIf
//     (providers.ConditionalReplacer): UPDATEs that delete in the server's
//     own form (kept from the last AXFR) and add, each carrying whole RRset
//     changes with RFC 2136 prerequisites that those RRsets still hold what
//     was read, applied by the server atomically.
//
// Values of a shared RRset that the caller does not name are never touched
// by AppendRecords and DeleteRecords; SetRecords replaces whole RRsets, as
// libdns defines it. In DNS all records of an RRset share one TTL: adding a
// record with another TTL changes the TTL of the whole RRset.
package rfc2136

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/providers"
	"github.com/miekg/dns"
)

// Type is the provider type in maildns.yaml.
const Type = "rfc2136"

// Settings of the provider.
const (
	SettingServer       = "server"        // host:port of the primary, e.g. 192.0.2.53:53
	SettingKeyName      = "key_name"      // TSIG key name
	SettingKeyAlgorithm = "key_algorithm" // TSIG algorithm, default hmac-sha256
	SettingKey          = "key"           // TSIG secret, base64 (a secret)
	SettingTimeout      = "timeout"       // deadline of one exchange, default 30s
)

// DefaultTimeout bounds one exchange (dial, request, whole answer) when the
// timeout setting is absent.
const DefaultTimeout = 30 * time.Second

func init() {
	providers.Register(Type, New)
}

// Provider manages zones on one server. Build it with New.
type Provider struct {
	server  string
	key     *tsigKey
	timeout time.Duration

	mu     sync.Mutex
	held   map[string]*held  // by zone: the last transfer, for the next write
	pruned time.Time         // when held was last rid of old reads
	soft   *string           // the server's software, once asked
	seen   map[string]uint32 // by zone: the serial ZoneVersion found last
	bases  map[string]*base  // by zone: the last full copy, for IXFR
	udp    udpMux            // the serial checks' UDP socket
}

var (
	_ providers.Provider            = (*Provider)(nil)
	_ providers.Replacer            = (*Provider)(nil)
	_ providers.ConditionalReplacer = (*Provider)(nil)
)

// MaxUpdateSize bounds the bytes of one UPDATE message (before name
// compression and the TSIG record): a zone's changes that need more are
// sent in several UPDATEs, each carrying whole RRset changes. DNS over TCP
// carries at most 65,535 bytes.
const MaxUpdateSize = 60000

// New builds a provider from its settings without touching the network.
func New(s *providers.Settings) (providers.Provider, error) {
	server, err := s.Required(SettingServer)
	if err != nil {
		return nil, err
	}
	if err := checkServer(server); err != nil {
		return nil, &providers.SettingError{Key: SettingServer, Err: err}
	}

	keyName, err := s.Required(SettingKeyName)
	if err != nil {
		return nil, err
	}
	keyName = dns.CanonicalName(strings.TrimSpace(keyName))
	if _, ok := dns.IsDomainName(keyName); !ok || keyName == "." {
		return nil, &providers.SettingError{Key: SettingKeyName, Err: fmt.Errorf("want a key name such as maildns-key, have %q", keyName)}
	}

	algName := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s.String(SettingKeyAlgorithm, "hmac-sha256"))), ".")
	alg, ok := algorithms[algName]
	if !ok {
		return nil, &providers.SettingError{Key: SettingKeyAlgorithm, Err: fmt.Errorf("unsupported TSIG algorithm %q (supported: %s)", algName, algorithmNames)}
	}

	raw, err := s.Required(SettingKey)
	if err != nil {
		return nil, err
	}
	sec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(raw))
	if err != nil || len(sec) == 0 {
		// The value is a secret: say what is wrong, never what it is.
		return nil, &providers.SettingError{Key: SettingKey, Err: errors.New("want the TSIG secret in base64 (as in the server's key statement); the value is not valid base64")}
	}

	timeout, err := s.Duration(SettingTimeout, DefaultTimeout)
	if err != nil {
		return nil, err
	}
	if timeout <= 0 {
		return nil, &providers.SettingError{Key: SettingTimeout, Err: errors.New("want a duration above 0s")}
	}

	return &Provider{
		server:  server,
		key:     &tsigKey{name: keyName, alg: algName, wire: alg.wire, hash: alg.hash, secret: sec},
		timeout: timeout,
	}, nil
}

func checkServer(v string) error {
	host, port, err := net.SplitHostPort(strings.TrimSpace(v))
	if err != nil {
		return fmt.Errorf("want host:port such as 192.0.2.53:53 or [2001:db8::53]:53, have %q (%v)", v, hintPort(v, err))
	}
	if host == "" {
		return fmt.Errorf("want host:port such as 192.0.2.53:53, have %q (no host)", v)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("want host:port such as 192.0.2.53:53, have %q (port must be 1 to 65535)", v)
	}
	return nil
}

func hintPort(v string, err error) string {
	if strings.Contains(err.Error(), "missing port") {
		return "the port is missing; the DNS port is usually 53"
	}
	if strings.Count(v, ":") > 1 && !strings.HasPrefix(v, "[") {
		return "write an IPv6 address in brackets"
	}
	return err.Error()
}

// String describes the provider without its secret.
func (p *Provider) String() string {
	return fmt.Sprintf("rfc2136 server=%s key=%s (%s)", p.server, p.key.name, p.key.alg)
}

// GoString is String: a %#v must not print the secret.
func (p *Provider) GoString() string { return p.String() }

// LogValue logs the provider without its secret.
func (p *Provider) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("server", p.server),
		slog.String("key_name", p.key.name),
		slog.String("key_algorithm", p.key.alg),
	)
}

func fqdnZone(zone string) string {
	return dns.CanonicalName(strings.TrimSpace(zone))
}

// fail builds the *Error of a failed exchange. A temporary failure that
// certainly changed nothing (the connection was never made, or the server
// answered with an error code: a failed UPDATE has no effect) is wrapped in
// a *providers.TransientError with NotApplied, so that the retry wrapper
// need not re-read the zone before trying again.
func (p *Provider) fail(ctx context.Context, op, zone, records string, rcode int, tsigErr uint16, m *dns.Msg, err error, sent bool) error {
	e := &Error{
		Op: op, Zone: zone, Server: p.server, Records: records,
		Rcode: rcode, TSIGError: tsigErr, KeyName: p.key.name, KeyAlg: p.key.alg, Err: err,
	}
	if m != nil {
		e.Detail = extendedError(m)
	}
	if e.refusal() {
		e.Software = p.software(ctx)
	}
	if e.Temporary() && (!sent || rcode >= 0) {
		return &providers.TransientError{Err: e, NotApplied: true}
	}
	return e
}

// GetRecords implements libdns.RecordGetter with one zone transfer. What
// it read is kept, in the server's own form, for the next write of the
// zone. After a serial check (ZoneVersion) found a serial newer than the
// zone's last full copy, the transfer is incremental where the server
// offers it (see ixfr).
func (p *Provider) GetRecords(ctx context.Context, zone string) ([]libdns.Record, error) {
	zone = fqdnZone(zone)
	if b := p.incremental(ctx, zone); b != nil {
		out, h, nb, whole, err := p.ixfr(ctx, zone, b)
		if err == nil {
			p.keepBase(zone, nb)
			// Only a whole transfer is kept for a write: a write after an
			// incremental read transfers the zone whole first.
			if whole {
				p.remember(zone, h)
			} else {
				p.forget(zone)
			}
			return out, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		// Refused, not chained, not understood: read the zone whole.
	}
	out, h, nb, err := p.transfer(ctx, zone)
	if err != nil {
		return nil, err
	}
	p.remember(zone, h)
	p.keepBase(zone, nb)
	return out, nil
}

// transfer reads zone with one AXFR: its records in canonical form, as the
// server holds them, and the copy kept for IXFR (nil for a small zone).
func (p *Provider) transfer(ctx context.Context, zone string) ([]libdns.Record, *held, *base, error) {
	fail := func(rcode int, tsigErr uint16, m *dns.Msg, err error) ([]libdns.Record, *held, *base, error) {
		return nil, nil, nil, p.fail(ctx, "AXFR", zone, "", rcode, tsigErr, m, err, true)
	}
	s, err := p.dial(ctx)
	if err != nil {
		return nil, nil, nil, p.fail(ctx, "AXFR", zone, "", -1, 0, nil, err, false)
	}
	defer s.close()

	q := new(dns.Msg)
	q.SetAxfr(zone)
	if err := s.send(q); err != nil {
		return fail(-1, 0, nil, err)
	}

	var rrs []dns.RR
	var serial uint32
	soas := 0
	for first := true; soas < 2; first = false {
		m, tsigErr, err := s.recv()
		switch {
		case m != nil && (tsigErr != 0 || m.Rcode != dns.RcodeSuccess):
			return fail(m.Rcode, tsigErr, m, nil)
		case err != nil:
			return fail(-1, 0, m, err)
		case m.Id != q.Id:
			return fail(-1, 0, m, dns.ErrId)
		case first && (len(m.Answer) == 0 || m.Answer[0].Header().Rrtype != dns.TypeSOA):
			return fail(-1, 0, m, errors.New("the transfer does not start with the SOA"))
		}
		if soa, ok := m.Answer[0].(*dns.SOA); ok && first {
			serial = soa.Serial
		}
		for _, rr := range m.Answer {
			if rr.Header().Rrtype == dns.TypeSOA {
				soas++
				continue
			}
			if soas >= 2 {
				return fail(-1, 0, m, errors.New("records after the closing SOA"))
			}
			rrs = append(rrs, rr)
		}
	}
	out, h, err := p.build(zone, "AXFR", rrs)
	if err != nil {
		return nil, nil, nil, err
	}
	return out, h, newBase(serial, rrs), nil
}

// build returns the canonical records of a zone transferred (rrs, the SOA
// left out) and the zone as the server holds them. The records the server
// maintains for DNSSEC (RRSIG, NSEC, NSEC3) are left out of both.
func (p *Provider) build(zone, op string, rrs []dns.RR) ([]libdns.Record, *held, error) {
	out := make([]libdns.Record, 0, len(rrs))
	h := newHeld()
	for _, rr := range rrs {
		switch rr.Header().Rrtype {
		case dns.TypeRRSIG, dns.TypeNSEC, dns.TypeNSEC3:
			continue
		}
		rec, err := fromRR(rr, zone)
		if err != nil {
			return nil, nil, fmt.Errorf("%s at %s: reading %s: %w", op, p.server, rr.Header().Name, err)
		}
		out = append(out, rec)
		h.add(rr, rec, zone)
	}
	return out, h, nil
}

// update sends one UPDATE of zone built by build and checks its answer.
func (p *Provider) update(ctx context.Context, zone string, records []libdns.Record, build func(m *dns.Msg) error) error {
	what := describe(records)
	m := new(dns.Msg)
	m.SetUpdate(zone)
	if err := build(m); err != nil {
		return fmt.Errorf("UPDATE (%s): %w", what, err)
	}
	p.forget(zone)
	s, err := p.dial(ctx)
	if err != nil {
		return p.fail(ctx, "UPDATE", zone, what, -1, 0, nil, err, false)
	}
	defer s.close()
	if err := s.send(m); err != nil {
		return p.fail(ctx, "UPDATE", zone, what, -1, 0, nil, err, true)
	}
	r, tsigErr, err := s.recv()
	switch {
	case r != nil && (tsigErr != 0 || r.Rcode != dns.RcodeSuccess):
		return p.fail(ctx, "UPDATE", zone, what, r.Rcode, tsigErr, r, nil, true)
	case err != nil:
		return p.fail(ctx, "UPDATE", zone, what, -1, 0, r, err, true)
	case r.Id != m.Id:
		return p.fail(ctx, "UPDATE", zone, what, -1, 0, r, dns.ErrId, true)
	}
	return nil
}

// wireRecords converts records, naming the one that fails.
func wireRecords(records []libdns.Record, zone string) ([]dns.RR, error) {
	rrs := make([]dns.RR, 0, len(records))
	for _, rec := range records {
		rr, err := toRR(rec, zone)
		if err != nil {
			r := rec.RR()
			return nil, fmt.Errorf("record %s %s: %w", providers.RelativeName(r.Name, zone), r.Type, err)
		}
		rrs = append(rrs, rr)
	}
	return rrs, nil
}

// AppendRecords implements libdns.RecordAppender: it adds each record
// the zone does not hold yet, as ReplaceRecords adds (in UPDATEs sized to
// fit, conditional on the RRsets still holding what was read). A value
// the zone holds in another form (a TXT split into other strings) is not
// added again.
func (p *Provider) AppendRecords(ctx context.Context, zone string, records []libdns.Record) ([]libdns.Record, error) {
	if len(records) == 0 {
		return nil, nil
	}
	if err := providers.CheckReplace(nil, records); err != nil {
		return nil, err
	}
	if err := p.replace(ctx, fqdnZone(zone), nil, false, nil, records); err != nil {
		return nil, err
	}
	return records, nil
}

// SetRecords implements libdns.RecordSetter with one UPDATE that replaces
// every (name, type) RRset given, atomically.
func (p *Provider) SetRecords(ctx context.Context, zone string, records []libdns.Record) ([]libdns.Record, error) {
	if len(records) == 0 {
		return nil, nil
	}
	zone = fqdnZone(zone)
	err := p.update(ctx, zone, records, func(m *dns.Msg) error {
		rrs, err := wireRecords(records, zone)
		if err != nil {
			return err
		}
		type key struct {
			name string
			typ  uint16
		}
		seen := map[key]bool{}
		var sets []dns.RR
		for _, rr := range rrs {
			h := rr.Header()
			k := key{strings.ToLower(h.Name), h.Rrtype}
			if !seen[k] {
				seen[k] = true
				sets = append(sets, &dns.ANY{Hdr: dns.RR_Header{Name: h.Name, Rrtype: h.Rrtype}})
			}
		}
		m.RemoveRRset(sets)
		m.Insert(rrs)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return records, nil
}

// DeleteRecords implements libdns.RecordDeleter. Records named by value are
// deleted as ReplaceRecords deletes them, in the form the server holds
// them; records without data or type (whole RRsets, whole names) in one
// UPDATE. It returns the records it was given: RFC 2136 does not say which
// of them existed.
func (p *Provider) DeleteRecords(ctx context.Context, zone string, records []libdns.Record) ([]libdns.Record, error) {
	if len(records) == 0 {
		return nil, nil
	}
	zone = fqdnZone(zone)
	byValue := !slices.ContainsFunc(records, func(rec libdns.Record) bool {
		r := rec.RR()
		return strings.TrimSpace(r.Type) == "" || strings.TrimSpace(r.Data) == ""
	})
	if byValue {
		if err := p.replace(ctx, zone, nil, false, records, nil); err != nil {
			return nil, err
		}
		return records, nil
	}
	p.forget(zone)
	err := p.update(ctx, zone, records, func(m *dns.Msg) error {
		for _, rec := range records {
			r := rec.RR()
			name := providers.AbsoluteName(strings.TrimSpace(r.Name), zone)
			typ := strings.ToUpper(strings.TrimSpace(r.Type))
			switch {
			case typ == "":
				m.RemoveName([]dns.RR{&dns.ANY{Hdr: dns.RR_Header{Name: name}}})
			case strings.TrimSpace(r.Data) == "":
				t, ok := dns.StringToType[typ]
				if !ok {
					return fmt.Errorf("record %s %s: unknown record type", providers.RelativeName(name, zone), r.Type)
				}
				m.RemoveRRset([]dns.RR{&dns.ANY{Hdr: dns.RR_Header{Name: name, Rrtype: t}}})
			default:
				rrs, err := wireRecords([]libdns.Record{rec}, zone)
				if err != nil {
					return err
				}
				m.Remove(rrs)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return records, nil
}

// ReplaceRecords implements providers.Replacer. Each RRset it touches
// changes whole in one UPDATE, which the server applies whole or not at all
// (RFC 2136 section 3.4): no query sees two SPF records or none. A record
// to remove is deleted in the form the server holds it (as the last
// transfer read it), so a TXT the server keeps as "v=spf1 a " "~all" is
// found by "v=spf1 a ~all"; each UPDATE states as prerequisites that the
// RRsets it touches still hold what was read, and when another writer
// changed one since, the zone is transferred again and the replacement
// planned anew (at most twice). Values not named are never touched; adding
// a value to an RRset with another TTL gives the whole RRset the TTL of the
// added value, as in AppendRecords. Changes that do not fit in one message
// (MaxUpdateSize) go in several, over one connection.
func (p *Provider) ReplaceRecords(ctx context.Context, zone string, remove, add []libdns.Record) ([]libdns.Record, error) {
	if err := providers.CheckReplace(remove, add); err != nil {
		return nil, err
	}
	if len(remove)+len(add) == 0 {
		return nil, nil
	}
	if err := p.replace(ctx, fqdnZone(zone), nil, false, remove, add); err != nil {
		return nil, err
	}
	return add, nil
}

// ReplaceRecordsIf implements providers.ConditionalReplacer: ReplaceRecords,
// made only when every RRset of expect holds exactly its values. The check
// is the server's: each UPDATE carries as prerequisites (RFC 2136 section
// 2.4) the RRsets it touches and those of expect exactly as the server held
// them when the zone was last read, or that they do not exist; the server
// answers NXRRSET or YXRRSET and changes nothing when one no longer holds
// it. That answer becomes a *providers.ChangedError naming the RRset, read
// again. When the changes need several UPDATEs, each is conditional on its
// own RRsets: a change found stale stops the rest, those sent before stay.
func (p *Provider) ReplaceRecordsIf(ctx context.Context, zone string, expect []providers.RRsetState, remove, add []libdns.Record) ([]libdns.Record, error) {
	if err := providers.CheckReplace(remove, add); err != nil {
		return nil, err
	}
	if len(remove)+len(add)+len(expect) == 0 {
		return nil, nil
	}
	if err := p.replace(ctx, fqdnZone(zone), expect, true, remove, add); err != nil {
		return nil, err
	}
	return add, nil
}

// replace plans a replacement against what the server holds and sends it.
func (p *Provider) replace(ctx context.Context, zone string, expect []providers.RRsetState, conditional bool, remove, add []libdns.Record) error {
	// A record the server could not be sent fails before anything is.
	for _, recs := range [][]libdns.Record{remove, add} {
		if _, err := inputs(recs, zone); err != nil {
			return fmt.Errorf("UPDATE: %w", err)
		}
	}
	h := p.recall(zone)
	for attempt := 0; ; attempt++ {
		if h == nil {
			var err error
			if _, h, _, err = p.transfer(ctx, zone); err != nil {
				return err
			}
		}
		if conditional {
			if err := checkHeld(zone, h, expect); err != nil {
				return err
			}
		}
		changes, err := planChanges(zone, h, remove, add, expect)
		if err != nil {
			return fmt.Errorf("UPDATE: %w", err)
		}
		if !conditional {
			changes = slices.DeleteFunc(changes, func(c *setChange) bool { return !c.written() })
		}
		if len(changes) == 0 {
			return nil
		}
		p.forget(zone)
		err = p.send(ctx, zone, pack(changes, MaxUpdateSize))
		var stale *staleError
		if !errors.As(err, &stale) {
			return err
		}
		// Another writer changed an RRset since it was read.
		_, fresh, _, rerr := p.transfer(ctx, zone)
		if rerr != nil {
			return fmt.Errorf("%w; reading the zone again: %w", err, rerr)
		}
		p.remember(zone, fresh)
		if conditional || attempt >= 2 {
			return changedError(zone, fresh, stale.changes)
		}
		h = fresh
	}
}

// checkHeld compares expect with what the server held when last read, as
// every backend does (providers.CheckExpect).
func checkHeld(zone string, h *held, expect []providers.RRsetState) error {
	// CheckExpect normalises the records it is given but not the values
	// expected, and normalising canonical TXT again is not the identity (a
	// backslash is read as an escape): values are compared in that form on
	// both sides, whether the caller normalised them again or not.
	same := make([]providers.RRsetState, len(expect))
	for i, e := range expect {
		if _, ok := dns.StringToType[strings.ToUpper(e.Type)]; !ok {
			return fmt.Errorf("expected RRset %s %s: unknown record type", e.Name, e.Type)
		}
		same[i] = providers.RRsetState{Name: e.Name, Type: e.Type}
		for _, v := range e.Values {
			same[i].Values = append(same[i].Values, sameForm(libdns.RR{Name: e.Name, Type: e.Type, Data: v}, zone))
		}
	}
	return providers.CheckExpect(zone, same, h.records(zone, expect))
}

// changedError names the first RRset of the refused UPDATE (changes) that
// no longer holds what was read, in the zone as read again. Earlier
// UPDATEs of the same write have landed: their RRsets are not compared.
func changedError(zone string, fresh *held, changes []*setChange) error {
	c := changes[0]
	for _, cc := range changes {
		if !slices.Equal(canonicalOf(zone, cc.live), fresh.canonicalSet(cc.key)) {
			c = cc
			break
		}
	}
	return &providers.ChangedError{Zone: zone, Name: providers.RelativeName(c.key.name, zone), Type: dns.TypeToString[c.key.typ],
		Want: canonicalOf(zone, c.live), Have: fresh.canonicalSet(c.key)}
}

func canonicalOf(zone string, rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		if c, err := fromRR(rr, zone); err == nil {
			out = append(out, c.Data)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// staleError is an UPDATE refused because a prerequisite no longer held.
type staleError struct {
	err     error
	changes []*setChange
}

func (e *staleError) Error() string { return e.err.Error() }
func (e *staleError) Unwrap() error { return e.err }

// send sends msgs, one UPDATE each, in order over one connection, and stops
// at the first that fails.
func (p *Provider) send(ctx context.Context, zone string, msgs [][]*setChange) error {
	s, err := p.dial(ctx)
	if err != nil {
		return p.fail(ctx, "UPDATE", zone, describeChanges(zone, msgs[0]), -1, 0, nil, err, false)
	}
	defer s.close()
	for i, changes := range msgs {
		what := describeChanges(zone, changes)
		if len(msgs) > 1 {
			what = fmt.Sprintf("message %d of %d: %s", i+1, len(msgs), what)
		}
		m := new(dns.Msg)
		m.SetUpdate(zone)
		m.Compress = true
		build(m, changes)
		if err := s.send(m); err != nil {
			return p.fail(ctx, "UPDATE", zone, what, -1, 0, nil, err, true)
		}
		r, tsigErr, err := s.recv()
		switch {
		case r != nil && tsigErr == 0 && (r.Rcode == dns.RcodeNXRrset || r.Rcode == dns.RcodeYXRrset):
			return &staleError{err: p.fail(ctx, "UPDATE", zone, what, r.Rcode, 0, r, nil, true), changes: changes}
		case r != nil && (tsigErr != 0 || r.Rcode != dns.RcodeSuccess):
			return p.fail(ctx, "UPDATE", zone, what, r.Rcode, tsigErr, r, nil, true)
		case err != nil:
			return p.fail(ctx, "UPDATE", zone, what, -1, 0, r, err, true)
		case r.Id != m.Id:
			return p.fail(ctx, "UPDATE", zone, what, -1, 0, r, dns.ErrId, true)
		}
	}
	return nil
}
