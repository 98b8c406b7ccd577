package testbind

import (
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"
)

// Counts are the DNS traffic a Proxy has relayed.
type Counts struct {
	Conns     int // TCP connections accepted
	Requests  int // DNS messages from the client to the server
	Responses int // DNS messages from the server to the client
}

// Proxy relays DNS over TCP to the server and counts connections and
// messages, so tests can measure how many a client operation costs.
type Proxy struct {
	// Addr is where clients connect instead of the server's Addr.
	Addr string

	l      net.Listener
	target string
	mu     sync.Mutex
	counts Counts
	maxReq int
	open   map[net.Conn]bool // connections to close when the test ends
	wg     sync.WaitGroup
}

// CountingProxy starts a TCP proxy to the server on loopback, closed when
// the test ends.
func (s *Server) CountingProxy(t testing.TB) *Proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testbind: proxy: %v", err)
	}
	p := &Proxy{Addr: l.Addr().String(), l: l, target: s.Addr, open: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		l.Close()
		p.mu.Lock()
		for c := range p.open {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

// Counts returns the traffic so far.
func (p *Proxy) Counts() Counts {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts
}

// MaxRequest returns the size in bytes of the largest message the client
// sent since the last Reset.
func (p *Proxy) MaxRequest() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.maxReq
}

// Reset sets the counts to zero.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts = Counts{}
	p.maxReq = 0
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.counts.Conns++
		p.mu.Unlock()
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.relay(c)
		}()
	}
}

// track adds c to the open connections, or removes it when done.
func (p *Proxy) track(c net.Conn, done bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if done {
		delete(p.open, c)
	} else {
		p.open[c] = true
	}
}

func (p *Proxy) relay(c net.Conn) {
	p.track(c, false)
	defer p.track(c, true)
	defer c.Close()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	p.track(up, false)
	defer p.track(up, true)
	defer up.Close()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		p.copyMessages(up, c, &p.counts.Requests)
		up.(*net.TCPConn).CloseWrite()
	}()
	go func() {
		defer wg.Done()
		p.copyMessages(c, up, &p.counts.Responses)
		c.(*net.TCPConn).CloseWrite()
	}()
	wg.Wait()
}

// copyMessages copies length-prefixed DNS messages from src to dst, counting
// each one in *n, until either side closes.
func (p *Proxy) copyMessages(dst io.Writer, src io.Reader, n *int) {
	hdr := make([]byte, 2, 2+65535)
	buf := make([]byte, 65535)
	for {
		if _, err := io.ReadFull(src, hdr); err != nil {
			return
		}
		size := int(binary.BigEndian.Uint16(hdr))
		if _, err := io.ReadFull(src, buf[:size]); err != nil {
			return
		}
		p.mu.Lock()
		*n++
		if n == &p.counts.Requests && size > p.maxReq {
			p.maxReq = size
		}
		p.mu.Unlock()
		msg := append(hdr[:2], buf[:size]...)
		if _, err := dst.Write(msg); err != nil {
			return
		}
	}
}
