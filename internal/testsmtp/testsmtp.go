// Package testsmtp is a tiny SMTP server on loopback for tests: a greeting,
// EHLO (offering STARTTLS when it has a certificate), STARTTLS and QUIT,
// enough for a client to see the certificate a mail host presents.
package testsmtp

import (
	"bufio"
	"crypto/tls"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a tiny SMTP server on loopback: greeting, EHLO (with
// STARTTLS when cert is set), STARTTLS, QUIT.
type Server struct {
	Addr string
	mu   sync.Mutex
	cert *tls.Certificate // nil: no STARTTLS offered
}

// Start starts a server on a free loopback port, stopped at the end of
// the test.
func Start(t *testing.T) *Server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: l.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); s.serve(c) }()
		}
	}()
	return s
}

// Present sets the certificate offered from the next connection on;
// nil: no STARTTLS.
func (s *Server) Present(c *tls.Certificate) {
	s.mu.Lock()
	s.cert = c
	s.mu.Unlock()
}

func (s *Server) serve(conn net.Conn) {
	defer func() { conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	s.mu.Lock()
	cert := s.cert
	s.mu.Unlock()
	r := bufio.NewReader(conn)
	w := func(line string) { _, _ = conn.Write([]byte(line + "\r\n")) }
	w("220 mail.example.com ESMTP test")
	tlsOn := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			if cert != nil && !tlsOn {
				w("250-mail.example.com")
				w("250 STARTTLS")
			} else {
				w("250 mail.example.com")
			}
		case cmd == "STARTTLS" && cert != nil && !tlsOn:
			w("220 go ahead")
			tc := tls.Server(conn, &tls.Config{Certificates: []tls.Certificate{*cert}})
			if err := tc.Handshake(); err != nil {
				return
			}
			conn, r, tlsOn = tc, bufio.NewReader(tc), true
		case cmd == "QUIT":
			w("221 bye")
			return
		default:
			w("502 not implemented")
		}
	}
}
