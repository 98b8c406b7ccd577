package rfc2136

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/providers"
	"github.com/miekg/dns"
)

// session is one TCP connection to the server with TSIG state: every
// message we send is signed, every answer must be signed and verify, and
// the answers of a zone transfer are chained to each other (RFC 8945 5.3.1).
type session struct {
	conn       *dns.Conn
	key        *tsigKey
	timeout    time.Duration
	ctx        context.Context
	mac        string // the MAC the next answer's signature covers
	timersOnly bool
	stop       func() bool
}

var errUnsigned = errors.New("the answer is not TSIG-signed")

func (p *Provider) dial(ctx context.Context) (*session, error) {
	d := net.Dialer{Timeout: p.timeout}
	nc, err := d.DialContext(ctx, "tcp", p.server)
	if err != nil {
		return nil, err
	}
	s := &session{conn: &dns.Conn{Conn: nc}, key: p.key, timeout: p.timeout, ctx: ctx}
	// A cancelled context closes the connection, which ends any read.
	s.stop = context.AfterFunc(ctx, func() { nc.Close() })
	return s, nil
}

func (s *session) close() {
	s.stop()
	s.conn.Close()
}

func (s *session) deadline() time.Time {
	d := time.Now().Add(s.timeout)
	if cd, ok := s.ctx.Deadline(); ok && cd.Before(d) {
		return cd
	}
	return d
}

// ctxErr prefers the context's error to the closed connection it caused.
func (s *session) ctxErr(err error) error {
	if cerr := s.ctx.Err(); cerr != nil {
		return cerr
	}
	return err
}

func (s *session) send(m *dns.Msg) error {
	m.SetTsig(s.key.name, s.key.wire, 300, time.Now().Unix())
	buf, mac, err := dns.TsigGenerateWithProvider(m, s.key, "", false)
	if err != nil {
		return err
	}
	s.mac = mac
	s.timersOnly = false // the next answer is the first to this request
	if err := s.conn.SetWriteDeadline(s.deadline()); err != nil {
		return s.ctxErr(err)
	}
	if _, err := s.conn.Write(buf); err != nil {
		return s.ctxErr(err)
	}
	return nil
}

// recv reads one answer. A message is returned with a TSIG error so that
// its rcode can be reported.
func (s *session) recv() (*dns.Msg, uint16, error) {
	if err := s.conn.SetReadDeadline(s.deadline()); err != nil {
		return nil, 0, s.ctxErr(err)
	}
	raw, err := s.conn.ReadMsgHeader(nil)
	if err != nil {
		return nil, 0, s.ctxErr(err)
	}
	m := new(dns.Msg)
	if err := m.Unpack(raw); err != nil {
		return nil, 0, fmt.Errorf("unreadable answer: %w", err)
	}
	t := m.IsTsig()
	if t == nil {
		return m, 0, errUnsigned
	}
	if t.Error != 0 {
		return m, t.Error, nil
	}
	if err := dns.TsigVerifyWithProvider(raw, s.key, s.mac, s.timersOnly); err != nil {
		if errors.Is(err, dns.ErrTime) {
			return m, dns.RcodeBadTime, nil
		}
		return m, 0, err
	}
	s.mac = t.MAC
	s.timersOnly = true
	return m, 0, nil
}

// extendedError returns the text of the answer's extended DNS errors.
func extendedError(m *dns.Msg) string {
	opt := m.IsEdns0()
	if opt == nil {
		return ""
	}
	var parts []string
	for _, o := range opt.Option {
		if ede, ok := o.(*dns.EDNS0_EDE); ok {
			s := dns.ExtendedErrorCodeToString[ede.InfoCode]
			if ede.ExtraText != "" {
				s += ": " + ede.ExtraText
			}
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "; ")
}

// toRR builds the wire record of rec (canonical or libdns form) in zone.
// Names are made fully qualified; TXT is split into strings of at most 255
// bytes and escaped for the wire; a PTR target is always fully qualified.
func toRR(rec libdns.Record, zone string) (dns.RR, error) {
	r := rec.RR()
	typ := strings.ToUpper(strings.TrimSpace(r.Type))
	rrtype, ok := dns.StringToType[typ]
	if !ok {
		return nil, fmt.Errorf("unknown record type %q", r.Type)
	}
	if r.TTL < 0 || r.TTL > time.Duration(1<<31-1)*time.Second {
		return nil, fmt.Errorf("TTL %s out of range", r.TTL)
	}
	hdr := dns.RR_Header{
		Name:   providers.AbsoluteName(strings.TrimSpace(r.Name), zone),
		Rrtype: rrtype,
		Class:  dns.ClassINET,
		Ttl:    uint32(r.TTL / time.Second),
	}
	if _, ok := dns.IsDomainName(hdr.Name); !ok {
		return nil, fmt.Errorf("bad name %q", r.Name)
	}
	data := strings.TrimSpace(r.Data)
	switch typ {
	case "TXT":
		return &dns.TXT{Hdr: hdr, Txt: wireTXT(r.Data)}, nil
	case "SPF":
		return &dns.SPF{Hdr: hdr, Txt: wireTXT(r.Data)}, nil
	case "PTR":
		// A reverse zone never holds the host a PTR names: a target
		// without its trailing dot is already fully qualified.
		if data != "" && !strings.HasSuffix(data, ".") {
			data += "."
		}
	case "A", "AAAA", "MX", "CNAME", "NS":
		var err error
		if data, err = providers.CanonicalData(typ, data, zone); err != nil {
			return nil, err
		}
	}
	if data == "" {
		return nil, errors.New("empty data")
	}
	rr, err := dns.NewRR(fmt.Sprintf("$ORIGIN %s\n%s %d IN %s %s", zone, hdr.Name, hdr.Ttl, typ, data))
	if err != nil {
		return nil, fmt.Errorf("bad %s data %q: %w", typ, data, err)
	}
	if rr == nil {
		return nil, fmt.Errorf("bad %s data %q", typ, data)
	}
	return rr, nil
}

// wireTXT splits text into strings of at most 255 bytes and escapes them
// the way package dns keeps TXT strings (presentation form: \" \\ \DDD).
func wireTXT(text string) []string {
	parts := providers.SplitTXT(text)
	for i, p := range parts {
		parts[i] = escapeTXT(p)
	}
	return parts
}

func escapeTXT(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c > '~':
			b.WriteByte('\\')
			b.WriteString(fmt.Sprintf("%03d", c))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// fromRR returns the canonical record of a record read from zone.
func fromRR(rr dns.RR, zone string) (libdns.RR, error) {
	hdr := rr.Header()
	out := libdns.RR{
		Name: hdr.Name,
		TTL:  time.Duration(hdr.Ttl) * time.Second,
		Type: dns.TypeToString[hdr.Rrtype],
	}
	switch v := rr.(type) {
	case *dns.TXT:
		out.Data = quotedTXT(v.Txt)
	case *dns.SPF:
		out.Data = quotedTXT(v.Txt)
	case *dns.RFC3597:
		out.Type = "TYPE" + strconv.Itoa(int(hdr.Rrtype))
		out.Data = fmt.Sprintf(`\# %d %s`, len(v.Rdata)/2, v.Rdata)
	default:
		out.Data = strings.TrimPrefix(rr.String(), hdr.String())
	}
	if out.Type == "" {
		out.Type = "TYPE" + strconv.Itoa(int(hdr.Rrtype))
	}
	return providers.Normalize(out, zone)
}

// quotedTXT is the presentation form `"a" "b"` of TXT strings as package
// dns keeps them (already escaped), which providers.CanonicalTXT reads back
// unambiguously.
func quotedTXT(txt []string) string {
	return `"` + strings.Join(txt, `" "`) + `"`
}

// describe names records for an error: "@ TXT, mail A (2 records)".
func describe(recs []libdns.Record) string {
	var keys []string
	n := map[string]int{}
	for _, rec := range recs {
		r := rec.RR()
		name := r.Name
		if name == "" {
			name = "@"
		}
		k := name + " " + strings.ToUpper(r.Type)
		if n[k] == 0 {
			keys = append(keys, k)
		}
		n[k]++
	}
	const max = 5
	var parts []string
	for i, k := range keys {
		if i == max {
			parts = append(parts, fmt.Sprintf("and %d more", len(keys)-max))
			break
		}
		if n[k] > 1 {
			k += fmt.Sprintf(" (%d records)", n[k])
		}
		parts = append(parts, k)
	}
	return strings.Join(parts, ", ")
}
