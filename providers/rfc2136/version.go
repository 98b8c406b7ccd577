package rfc2136

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/maildns/maildns/providers"
	"github.com/miekg/dns"
)

var _ providers.Versioner = (*Provider)(nil)

// udpTries are the waits for an answer to a SOA query over UDP, one per
// datagram sent (each bounded by the timeout setting); when none comes,
// or the answer is truncated, the query goes once more over TCP, so a
// server reached only over TCP still answers.
var udpTries = []time.Duration{time.Second, 2 * time.Second}

// udpAnswerSize is the largest answer over UDP we take (EDNS0): a signed
// SOA answer is about 200 bytes.
const udpAnswerSize = 1232

// ZoneVersion implements providers.Versioner with one TSIG-signed SOA query
// to the server (over UDP, as secondaries check a primary's serial). The
// token is the server and the zone's SOA as it answered it, serial
// included: a change by dynamic update or through the server's tools moves
// the serial. A zone file edited by hand and reloaded without a new serial
// keeps the token; the daemon's periodic full read (full_read_every) finds
// that drift.
func (p *Provider) ZoneVersion(ctx context.Context, zone string) (string, error) {
	zone = fqdnZone(zone)
	soa, err := p.soa(ctx, zone)
	if err != nil {
		return "", err
	}
	p.saw(zone, soa.Serial)
	return fmt.Sprintf("%s %s", p.server, strings.TrimPrefix(soa.String(), soa.Hdr.String())), nil
}

// soa asks the server for zone's SOA: over UDP, over TCP when the UDP
// answer is truncated or none came.
func (p *Provider) soa(ctx context.Context, zone string) (*dns.SOA, error) {
	q := new(dns.Msg)
	q.SetQuestion(zone, dns.TypeSOA)
	q.RecursionDesired = false
	m, tsigErr, err := p.queryUDP(ctx, q)
	if err == nil && tsigErr == 0 && m.Truncated || errors.Is(err, errNoUDPAnswer) {
		m, tsigErr, err = p.queryTCP(ctx, q)
	}
	switch {
	case errors.Is(err, errDial):
		return nil, p.fail(ctx, "SOA", zone, "", -1, 0, nil, errors.Unwrap(err), false)
	case m != nil && (tsigErr != 0 || m.Rcode != dns.RcodeSuccess):
		return nil, p.fail(ctx, "SOA", zone, "", m.Rcode, tsigErr, m, nil, true)
	case err != nil:
		return nil, p.fail(ctx, "SOA", zone, "", -1, 0, m, err, true)
	case !m.Authoritative:
		return nil, p.fail(ctx, "SOA", zone, "", -1, 0, m, errors.New("the answer is not authoritative: the server is not a primary of the zone"), true)
	}
	for _, rr := range m.Answer {
		if soa, ok := rr.(*dns.SOA); ok && strings.EqualFold(soa.Hdr.Name, zone) {
			return soa, nil
		}
	}
	return nil, p.fail(ctx, "SOA", zone, "", -1, 0, m, errors.New("the answer holds no SOA of the zone"), true)
}

var errDial = errors.New("dial")

// queryTCP sends q signed over one TCP connection and returns the answer.
func (p *Provider) queryTCP(ctx context.Context, q *dns.Msg) (*dns.Msg, uint16, error) {
	s, err := p.dial(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", errDial, err)
	}
	defer s.close()
	q = q.Copy()
	q.Extra = nil // the old signature; send signs again
	if err := s.send(q); err != nil {
		return nil, 0, err
	}
	m, tsigErr, err := s.recv()
	if err == nil && tsigErr == 0 && m.Id != q.Id {
		return m, 0, dns.ErrId
	}
	return m, tsigErr, err
}

// checkSigned verifies the TSIG of the answer raw (m unpacked) to a request
// whose MAC was mac, as session.recv does.
func checkSigned(raw []byte, m *dns.Msg, key *tsigKey, mac string) (*dns.Msg, uint16, error) {
	t := m.IsTsig()
	if t == nil {
		return m, 0, errUnsigned
	}
	if t.Error != 0 {
		return m, t.Error, nil
	}
	if err := dns.TsigVerifyWithProvider(raw, key, mac, false); err != nil {
		if errors.Is(err, dns.ErrTime) {
			return m, dns.RcodeBadTime, nil
		}
		return m, 0, err
	}
	return m, 0, nil
}

// saw notes the serial a serial check found: a transfer of zone that
// follows may then be incremental (see GetRecords).
func (p *Provider) saw(zone string, serial uint32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.seen == nil {
		p.seen = map[string]uint32{}
	}
	p.seen[zone] = serial
}
