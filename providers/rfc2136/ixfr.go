package rfc2136

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/providers"
	"github.com/miekg/dns"
)

// ixfrMinRecords is the size from which the last full copy of a zone is
// kept for an incremental transfer. A smaller zone is transferred whole:
// its AXFR takes a message or two, as an IXFR would, and a copy of every
// small zone would cost the daemon memory for nothing.
var ixfrMinRecords = 200

// base is the last full copy of a zone, kept to ask for the differences
// since (IXFR, RFC 1995): its serial and its records (SOA apart, DNSSEC
// records included, as an IXFR deletes them too) packed in wire form
// without compression, one slice per zone.
type base struct {
	serial uint32
	wire   []byte
	n      int
}

// newBase packs rrs at serial; nil for a zone too small to keep.
func newBase(serial uint32, rrs []dns.RR) *base {
	if len(rrs) < ixfrMinRecords {
		return nil
	}
	size := 0
	for _, rr := range rrs {
		size += dns.Len(rr)
	}
	buf := make([]byte, size)
	off := 0
	for _, rr := range rrs {
		var err error
		if off, err = dns.PackRR(rr, buf, off, nil, false); err != nil {
			return nil // not kept: the next read is whole
		}
	}
	return &base{serial: serial, wire: buf[:off], n: len(rrs)}
}

// records unpacks the copy.
func (b *base) records() ([]dns.RR, error) {
	out := make([]dns.RR, 0, b.n)
	for off := 0; off < len(b.wire); {
		rr, next, err := dns.UnpackRR(b.wire, off)
		if err != nil {
			return nil, err
		}
		out = append(out, rr)
		off = next
	}
	return out, nil
}

// keepBase keeps b as zone's last full copy; nil drops it.
func (p *Provider) keepBase(zone string, b *base) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if b == nil {
		delete(p.bases, zone)
		return
	}
	if p.bases == nil {
		p.bases = map[string]*base{}
	}
	p.bases[zone] = b
}

// serialNewer reports whether serial a follows b (RFC 1982).
func serialNewer(a, b uint32) bool {
	return a != b && a-b < 1<<31
}

// incremental returns the copy of zone to ask the differences since, nil
// when the read must be whole: no copy is kept, the caller asked for a
// full read (providers.WithFullRead), or no serial check since the copy
// found a newer serial. So an IXFR is asked only by the daemon's read of a
// zone whose serial moved; every other read (a write's read under its
// lock, the read back after a write, a one-shot run) is an AXFR.
func (p *Provider) incremental(ctx context.Context, zone string) *base {
	if providers.IsFullRead(ctx) {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.bases[zone]
	seen, ok := p.seen[zone]
	if b == nil || !ok || !serialNewer(seen, b.serial) {
		return nil
	}
	return b
}

// errNotChained is an IXFR answer whose differences do not lead from the
// copy to the server's serial.
var errNotChained = errors.New("the differences do not apply to the copy kept")

// ixfr reads zone with one IXFR from the copy b: the records of b with the
// server's differences applied, the zone as held, and the new copy. A
// server may answer an IXFR with the whole zone (AXFR-style, RFC 1995
// section 4): then whole is true. Any error (a refusal, differences that
// do not chain, an answer at the old serial) makes the caller transfer the
// zone whole.
func (p *Provider) ixfr(ctx context.Context, zone string, b *base) (out []libdns.Record, h *held, nb *base, whole bool, err error) {
	fail := func(rcode int, tsigErr uint16, m *dns.Msg, err error) ([]libdns.Record, *held, *base, bool, error) {
		return nil, nil, nil, false, p.fail(ctx, "IXFR", zone, "", rcode, tsigErr, m, err, true)
	}
	s, err := p.dial(ctx)
	if err != nil {
		return nil, nil, nil, false, p.fail(ctx, "IXFR", zone, "", -1, 0, nil, err, false)
	}
	defer s.close()

	q := new(dns.Msg)
	q.SetIxfr(zone, b.serial, ".", ".")
	if err := s.send(q); err != nil {
		return fail(-1, 0, nil, err)
	}

	// Read until the answer ends (as package dns does): a lone SOA (no
	// change), the server's SOA twice (a whole zone) or three times
	// (differences: it opens the answer, the last additions and closes).
	var rrs []dns.RR
	var serial uint32
	seen, incr := 0, false
	for done := false; !done; {
		m, tsigErr, err := s.recv()
		switch {
		case m != nil && (tsigErr != 0 || m.Rcode != dns.RcodeSuccess):
			return fail(m.Rcode, tsigErr, m, nil)
		case err != nil:
			return fail(-1, 0, m, err)
		case m.Id != q.Id:
			return fail(-1, 0, m, dns.ErrId)
		}
		for i, rr := range m.Answer {
			soa, isSOA := rr.(*dns.SOA)
			if len(rrs) == 0 {
				if !isSOA {
					return fail(-1, 0, m, errors.New("the transfer does not start with the SOA"))
				}
				serial = soa.Serial
				if !serialNewer(serial, b.serial) {
					return fail(-1, 0, m, fmt.Errorf("the server is at serial %d, not newer than %d", serial, b.serial))
				}
			}
			rrs = append(rrs, rr)
			if len(rrs) == 2 && isSOA && soa.Serial == b.serial {
				incr = true
			}
			if isSOA && soa.Serial == serial {
				seen++
				if (!incr && seen == 2) || seen == 3 {
					if i != len(m.Answer)-1 {
						return fail(-1, 0, m, errors.New("records after the closing SOA"))
					}
					done = true
				}
			}
		}
	}

	if !incr {
		out, h, err := p.build(zone, "IXFR", rrs[1:len(rrs)-1])
		if err != nil {
			return nil, nil, nil, false, err
		}
		return out, h, newBase(serial, rrs[1:len(rrs)-1]), true, nil
	}
	recs, err := b.records()
	if err != nil {
		return fail(-1, 0, nil, fmt.Errorf("unpacking the copy kept: %w", err))
	}
	recs, err = applyDiffs(recs, b.serial, serial, rrs[1:])
	if err != nil {
		return fail(-1, 0, nil, err)
	}
	out, h, err = p.build(zone, "IXFR", recs)
	if err != nil {
		return nil, nil, nil, false, err
	}
	return out, h, newBase(serial, recs), false, nil
}

// applyDiffs applies the differences of an IXFR answer (diffs: the
// answer after its opening SOA, up to and including its closing SOA) to
// recs, the zone at serial from, and returns the zone at serial to. Each
// difference is the SOA it starts from, the records deleted, the SOA it
// leads to and the records added; a deletion must name a record held
// (TTL aside) and the differences must lead from `from` to `to`, else
// errNotChained.
func applyDiffs(recs []dns.RR, from, to uint32, diffs []dns.RR) ([]dns.RR, error) {
	idx := make(map[string][]int, len(recs))
	for i, rr := range recs {
		k := rrKey(rr)
		idx[k] = append(idx[k], i)
	}
	gone := make([]bool, len(recs))
	find := func(rr dns.RR) int {
		for _, i := range idx[rrKey(rr)] {
			if !gone[i] && dns.IsDuplicate(recs[i], rr) {
				return i
			}
		}
		return -1
	}
	cur := from
	i := 0
	last := len(diffs) - 1 // the closing SOA
	for i < last {
		start, ok := diffs[i].(*dns.SOA)
		if !ok || start.Serial != cur {
			return nil, fmt.Errorf("%w: a difference starts at %s, the copy is at serial %d", errNotChained, diffs[i].Header().String(), cur)
		}
		for i++; i < last && diffs[i].Header().Rrtype != dns.TypeSOA; i++ {
			j := find(diffs[i])
			if j < 0 {
				return nil, fmt.Errorf("%w: serial %d deletes %s, which the copy does not hold", errNotChained, cur, diffs[i].String())
			}
			gone[j] = true
		}
		if i >= last {
			return nil, fmt.Errorf("%w: a difference from serial %d has no end", errNotChained, cur)
		}
		cur = diffs[i].(*dns.SOA).Serial
		for i++; i < last && diffs[i].Header().Rrtype != dns.TypeSOA; i++ {
			rr := diffs[i]
			if j := find(rr); j >= 0 {
				recs[j] = rr // the same record again: its TTL may be new
				continue
			}
			k := rrKey(rr)
			idx[k] = append(idx[k], len(recs))
			recs = append(recs, rr)
			gone = append(gone, false)
		}
	}
	if cur != to {
		return nil, fmt.Errorf("%w: the differences end at serial %d, the server is at %d", errNotChained, cur, to)
	}
	out := recs[:0:0]
	for j, rr := range recs {
		if !gone[j] {
			out = append(out, rr)
		}
	}
	return out, nil
}

// rrKey groups records that may be the same (dns.IsDuplicate decides):
// owner, class and type, and the data, all in lower case.
func rrKey(rr dns.RR) string {
	h := rr.Header()
	return fmt.Sprintf("%s %d %d %s", strings.ToLower(h.Name), h.Class, h.Rrtype,
		strings.ToLower(strings.TrimPrefix(rr.String(), h.String())))
}
