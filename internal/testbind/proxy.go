package testbind

import (
	"encoding/binary"
	"errors"
	"io"
	"maps"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Counts are the DNS traffic a Proxy has relayed.
type Counts struct {
	Conns     int // TCP connections accepted
	Requests  int // DNS messages from the client to the server (TCP and UDP)
	Responses int // DNS messages from the server to the client (TCP and UDP)
}

// Traffic is what a Proxy relayed in more detail than Counts.
type Traffic struct {
	UDPRequests   int            // requests that came over UDP
	RequestBytes  int            // bytes of the requests (DNS messages, no TCP length)
	ResponseBytes int            // bytes of the responses
	AnswerRecords int            // records in the answer sections of the responses
	ByType        map[string]int // requests by question type ("SOA", "AXFR", "IXFR"), UPDATE by opcode
}

// Proxy relays DNS over TCP and UDP to the server and counts connections,
// messages, bytes and records, so tests can measure what a client
// operation costs on the wire.
type Proxy struct {
	// Addr is where clients connect (TCP) or send (UDP) instead of the
	// server's Addr.
	Addr string

	l       net.Listener
	pc      net.PacketConn
	target  string
	mu      sync.Mutex
	counts  Counts
	traffic Traffic
	maxReq  int
	open    map[net.Conn]bool // connections to close when the test ends
	wg      sync.WaitGroup
}

// listenBoth listens on one loopback port for TCP and UDP.
func listenBoth() (net.Listener, net.PacketConn, error) {
	var last error
	for try := 0; try < 20; try++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, err
		}
		pc, err := net.ListenPacket("udp", l.Addr().String())
		if err == nil {
			return l, pc, nil
		}
		l.Close()
		last = err
	}
	return nil, nil, errors.Join(errors.New("no port free for both TCP and UDP after 20 tries"), last)
}

// CountingProxy starts a TCP and UDP proxy to the server on loopback,
// closed when the test ends.
func (s *Server) CountingProxy(t testing.TB) *Proxy {
	t.Helper()
	l, pc, err := listenBoth()
	if err != nil {
		t.Fatalf("testbind: proxy: %v", err)
	}
	p := &Proxy{Addr: l.Addr().String(), l: l, pc: pc, target: s.Addr, open: map[net.Conn]bool{}}
	p.wg.Add(2)
	go p.serve()
	go p.serveUDP()
	t.Cleanup(func() {
		l.Close()
		pc.Close()
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

// Traffic returns the detail of the traffic so far.
func (p *Proxy) Traffic() Traffic {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.traffic
	t.ByType = maps.Clone(p.traffic.ByType)
	if t.ByType == nil {
		t.ByType = map[string]int{}
	}
	return t
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
	p.traffic = Traffic{}
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
		p.copyMessages(up, c, true)
		up.(*net.TCPConn).CloseWrite()
	}()
	go func() {
		defer wg.Done()
		p.copyMessages(c, up, false)
		c.(*net.TCPConn).CloseWrite()
	}()
	wg.Wait()
}

// copyMessages copies length-prefixed DNS messages from src to dst, counting
// each one as a request or a response, until either side closes.
func (p *Proxy) copyMessages(dst io.Writer, src io.Reader, request bool) {
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
		p.count(buf[:size], request, false)
		msg := append(hdr[:2], buf[:size]...)
		if _, err := dst.Write(msg); err != nil {
			return
		}
	}
}

// count counts one message relayed.
func (p *Proxy) count(msg []byte, request, udp bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !request {
		p.counts.Responses++
		p.traffic.ResponseBytes += len(msg)
		if len(msg) >= 12 {
			p.traffic.AnswerRecords += int(binary.BigEndian.Uint16(msg[6:8]))
		}
		return
	}
	p.counts.Requests++
	p.traffic.RequestBytes += len(msg)
	if udp {
		p.traffic.UDPRequests++
	}
	if len(msg) > p.maxReq {
		p.maxReq = len(msg)
	}
	if p.traffic.ByType == nil {
		p.traffic.ByType = map[string]int{}
	}
	p.traffic.ByType[requestType(msg)]++
}

// requestType names a request by its opcode (UPDATE) or question type.
func requestType(msg []byte) string {
	m := new(dns.Msg)
	if err := m.Unpack(msg); err != nil {
		return "unreadable"
	}
	if m.Opcode != dns.OpcodeQuery {
		return dns.OpcodeToString[m.Opcode]
	}
	if len(m.Question) == 0 {
		return "none"
	}
	return dns.TypeToString[m.Question[0].Qtype]
}

// serveUDP relays each UDP request to the server and its one answer back.
func (p *Proxy) serveUDP() {
	defer p.wg.Done()
	buf := make([]byte, 65535)
	for {
		n, from, err := p.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		req := append([]byte(nil), buf[:n]...)
		p.count(req, true, true)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			up, err := net.Dial("udp", p.target)
			if err != nil {
				return
			}
			defer up.Close()
			if _, err := up.Write(req); err != nil {
				return
			}
			_ = up.SetReadDeadline(time.Now().Add(5 * time.Second))
			resp := make([]byte, 65535)
			n, err := up.Read(resp)
			if err != nil {
				return
			}
			p.count(resp[:n], false, true)
			_, _ = p.pc.WriteTo(resp[:n], from)
		}()
	}
}
