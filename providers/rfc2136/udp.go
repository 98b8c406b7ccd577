package rfc2136

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// udpIdle is how long the shared UDP socket stays open with no query in
// flight.
var udpIdle = 2 * time.Second

// udpMux is one connected UDP socket to the server, shared by the serial
// checks in flight: a daemon cycle over many zones opens one socket, not
// one per zone. Answers go to the query waiting with their message ID.
// The socket closes itself once idle for udpIdle, or on a read error (an
// ICMP unreachable: every query waiting then goes over TCP).
type udpMux struct {
	mu      sync.Mutex
	conn    net.Conn
	waiting map[uint16]*udpWaiter
	idle    *time.Timer
}

type udpWaiter struct {
	conn net.Conn
	ch   chan udpReply // buffered: the reader never blocks
}

type udpReply struct {
	msg []byte
	err error
}

// register opens the socket if need be and a waiter for q, whose ID it
// may change to one no other query in flight uses. release ends the wait.
func (u *udpMux) register(ctx context.Context, p *Provider, q *dns.Msg) (w *udpWaiter, release func(), err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.idle != nil {
		u.idle.Stop()
		u.idle = nil
	}
	if u.conn == nil {
		d := net.Dialer{Timeout: p.timeout}
		c, err := d.DialContext(ctx, "udp", p.server)
		if err != nil {
			u.closeIdle()
			return nil, nil, err
		}
		u.conn = c
		go u.read(c)
	}
	if u.waiting == nil {
		u.waiting = map[uint16]*udpWaiter{}
	}
	for u.waiting[q.Id] != nil {
		q.Id = dns.Id()
	}
	id := q.Id
	w = &udpWaiter{conn: u.conn, ch: make(chan udpReply, 4)}
	u.waiting[id] = w
	return w, func() {
		u.mu.Lock()
		defer u.mu.Unlock()
		if u.waiting[id] == w {
			delete(u.waiting, id)
		}
		u.closeIdle()
	}, nil
}

// closeIdle arms the close of an idle socket; u.mu is held.
func (u *udpMux) closeIdle() {
	if len(u.waiting) > 0 || u.conn == nil || u.idle != nil {
		return
	}
	c := u.conn
	u.idle = time.AfterFunc(udpIdle, func() {
		u.mu.Lock()
		defer u.mu.Unlock()
		if len(u.waiting) == 0 && u.conn == c {
			u.conn = nil
			u.idle = nil
			c.Close()
		}
	})
}

// read hands each datagram of c to the query waiting for its ID, until c
// fails or is closed; then every query waiting on c is told.
func (u *udpMux) read(c net.Conn) {
	buf := make([]byte, udpAnswerSize)
	for {
		n, err := c.Read(buf)
		if err != nil {
			c.Close()
			u.mu.Lock()
			if u.conn == c {
				u.conn = nil
			}
			for _, w := range u.waiting {
				if w.conn == c {
					select {
					case w.ch <- udpReply{err: err}:
					default:
					}
				}
			}
			u.mu.Unlock()
			return
		}
		if n < 12 {
			continue
		}
		u.mu.Lock()
		w := u.waiting[binary.BigEndian.Uint16(buf)]
		u.mu.Unlock()
		if w != nil {
			select {
			case w.ch <- udpReply{msg: bytes.Clone(buf[:n])}:
			default: // a flood of answers to one ID: the first ones are kept
			}
		}
	}
}

// queryUDP sends q signed over the shared UDP socket and returns the
// signed answer to it; errNoUDPAnswer when none came in time or the
// socket failed. Datagrams that do not answer q (another question, an
// unreadable or badly signed message) are ignored.
func (p *Provider) queryUDP(ctx context.Context, q *dns.Msg) (*dns.Msg, uint16, error) {
	w, release, err := p.udp.register(ctx, p, q)
	if err != nil {
		return nil, 0, errNoUDPAnswer
	}
	defer release()
	q.SetEdns0(udpAnswerSize, false)
	q.SetTsig(p.key.name, p.key.wire, 300, time.Now().Unix())
	buf, mac, err := dns.TsigGenerateWithProvider(q, p.key, "", false)
	if err != nil {
		return nil, 0, err
	}
	for _, wait := range udpTries {
		if _, err := w.conn.Write(buf); err != nil {
			return nil, 0, errNoUDPAnswer
		}
		t := time.NewTimer(min(wait, p.timeout))
	wait:
		for {
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, 0, ctx.Err()
			case <-t.C:
				break wait // send again
			case r := <-w.ch:
				if r.err != nil {
					t.Stop()
					return nil, 0, errNoUDPAnswer // ICMP unreachable and the like: TCP may work
				}
				m := new(dns.Msg)
				if m.Unpack(r.msg) != nil || m.Id != q.Id || len(m.Question) != 1 ||
					!strings.EqualFold(m.Question[0].Name, q.Question[0].Name) || m.Question[0].Qtype != q.Question[0].Qtype {
					continue
				}
				t.Stop()
				return checkSigned(r.msg, m, p.key, mac)
			}
		}
	}
	return nil, 0, errNoUDPAnswer
}

var errNoUDPAnswer = errors.New("no answer over UDP")
