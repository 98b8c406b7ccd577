package rfc2136

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/miekg/dns"
)

// Error is a failed AXFR or UPDATE exchange with the server. It never holds
// the TSIG secret.
type Error struct {
	Op      string // "AXFR", "IXFR", "SOA" (a serial check) or "UPDATE"
	Zone    string // fully qualified
	Server  string // host:port
	Records string // the records of an UPDATE, "@ TXT, mail A"; empty for AXFR
	// Rcode is the server's answer code, -1 when there was no answer.
	Rcode int
	// TSIGError is the TSIG error the server reported (dns.RcodeBadSig,
	// BadKey, BadTime), 0 when none.
	TSIGError uint16
	// KeyName and KeyAlg name the TSIG key in use, for TSIG errors.
	KeyName, KeyAlg string
	// Detail is the server's extended error text, if any.
	Detail string
	// Software is the server's answer to "version.bind" (asked after a
	// refusal, to say what to check on that kind of server), "" when
	// unknown.
	Software string
	// Err is the transport or verification failure, nil for an rcode.
	Err error
}

func (e *Error) Error() string {
	// The zone is named by the caller (the provider wrapper names the
	// provider and the zone once); the server is named here.
	where := fmt.Sprintf("%s at %s", e.Op, e.Server)
	if e.Software != "" {
		where += " (" + e.Software + ")"
	}
	if e.Records != "" {
		where += " of " + e.Records
	}
	var what string
	switch {
	case e.TSIGError == dns.RcodeBadKey && e.kind() == kindKnot:
		what = fmt.Sprintf("the server answered %s with TSIG BADKEY for key %q (%s): %s",
			rcodeText(e.Rcode), e.KeyName, e.KeyAlg, e.keyHint())
	case e.TSIGError != 0:
		what = fmt.Sprintf("the server rejected TSIG key %q (%s): %s; %s",
			e.KeyName, e.KeyAlg, tsigErrorText(e.TSIGError), e.keyHint())
	case e.Rcode == dns.RcodeNotAuth && e.Err == nil:
		what = fmt.Sprintf("the server answered NOTAUTH: it is not authoritative for the zone or does not accept TSIG key %q (%s) for it; %s",
			e.KeyName, e.KeyAlg, e.keyHint())
	case (e.Rcode == dns.RcodeNXRrset || e.Rcode == dns.RcodeYXRrset) && e.Err == nil:
		what = "the server answered " + rcodeText(e.Rcode) + ": an RRset no longer holds what was read (another writer changed it); nothing was written"
	case e.Rcode >= 0 && e.Err == nil:
		what = "the server answered " + rcodeText(e.Rcode)
		if e.Rcode == dns.RcodeRefused {
			what += ": " + e.refusedHint()
		}
	case errors.Is(e.Err, errSig):
		what = fmt.Sprintf("%v: the server does not share TSIG key %q (%s) with us; check key_name, key_algorithm and key",
			e.Err, e.KeyName, e.KeyAlg)
	default:
		what = e.Err.Error()
	}
	if e.Detail != "" {
		what += ": " + e.Detail
	}
	return where + ": " + what
}

// refusal reports whether the server refused the key or the request: the
// server's software then tells what to check.
func (e *Error) refusal() bool {
	return e.Err == nil && (e.TSIGError != 0 || e.Rcode == dns.RcodeRefused || e.Rcode == dns.RcodeNotAuth)
}

// Kinds of server software, as their version answers name them.
const (
	kindBIND     = "bind"
	kindKnot     = "knot"
	kindPowerDNS = "powerdns"
)

// kind tells the server software from its version answer, "" when unknown.
func (e *Error) kind() string {
	v := strings.ToLower(e.Software)
	switch {
	case strings.Contains(v, "knot"):
		return kindKnot
	case strings.Contains(v, "powerdns"):
		return kindPowerDNS
	case strings.Contains(v, "bind") || strings.HasPrefix(v, "9."):
		return kindBIND
	}
	return ""
}

// reads reports whether the exchange only read (a transfer or a serial
// check): the server's transfer rules apply to it.
func (e *Error) reads() bool { return e.Op != "UPDATE" }

func (e *Error) action() string {
	if e.reads() {
		return "transfer"
	}
	return "update"
}

// keyHint says what to check when the server did not accept the key.
func (e *Error) keyHint() string {
	k := e.KeyName
	bind := fmt.Sprintf("BIND: a key %q statement in named.conf with algorithm %s and the same secret", k, e.KeyAlg)
	knot := fmt.Sprintf("Knot DNS answers NOTAUTH with BADKEY both for a key it does not know and for a key the zone's acl does not allow: check that knot.conf has key %q (algorithm %s, the same secret) and that the zone's acl lists it with action [transfer, update]", k, e.KeyAlg)
	pdns := fmt.Sprintf("PowerDNS: the key imported with pdnsutil import-tsig-key %s %s <secret> and named in the zone's %s metadata", k, e.KeyAlg, e.pdnsMeta())
	switch e.kind() {
	case kindBIND:
		return "check key_name, key_algorithm and key against " + bind
	case kindKnot:
		return knot
	case kindPowerDNS:
		return "check key_name, key_algorithm and key against " + pdns
	}
	return "check key_name, key_algorithm and key against the server's key; " + bind + "; " + knot + "; " + pdns
}

func (e *Error) pdnsMeta() string {
	if e.reads() {
		return "TSIG-ALLOW-AXFR"
	}
	return "TSIG-ALLOW-DNSUPDATE"
}

// refusedHint says what to check when the server answered REFUSED.
func (e *Error) refusedHint() string {
	k := e.KeyName
	if e.Op == "SOA" {
		// A query, not a transfer: refused by a server without the zone.
		return "the server does not serve this zone (check server and the zone's name) or does not answer queries from this host"
	}
	var bind, pdns string
	if e.reads() {
		bind = fmt.Sprintf("BIND: the zone's allow-transfer { key %q; }", k)
		pdns = fmt.Sprintf("PowerDNS: the zone's TSIG-ALLOW-AXFR metadata (pdnsutil set-meta ZONE TSIG-ALLOW-AXFR %s), the key imported (pdnsutil import-tsig-key), disable-axfr=no", k)
	} else {
		bind = fmt.Sprintf("BIND: the zone's update-policy (e.g. grant %s zonesub ANY;) or allow-update { key %q; } allows this key, and the update passes the zone's checks (check-integrity: an MX or SRV to an in-zone name without an address); see named's log", k, k)
		pdns = fmt.Sprintf("PowerDNS: dnsupdate=yes, allow-dnsupdate-from includes this host, the key imported (pdnsutil import-tsig-key %s %s <secret>) and named in the zone's TSIG-ALLOW-DNSUPDATE metadata (pdnsutil set-meta ZONE TSIG-ALLOW-DNSUPDATE %s); see its log", k, e.KeyAlg, k)
	}
	knot := fmt.Sprintf("Knot DNS: the zone's acl in knot.conf lists key %s with action [transfer, update]; see knotd's log", k)
	switch e.kind() {
	case kindBIND:
		return "check " + bind
	case kindKnot:
		return "check " + knot
	case kindPowerDNS:
		return "check " + pdns
	}
	return fmt.Sprintf("the server does not allow key %q to %s this zone; check, by server: %s; %s; %s", k, e.action(), bind, knot, pdns)
}

func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether trying again may succeed: a SERVFAIL, a timeout,
// a refused, reset or dropped connection. A REFUSED answer, a TSIG failure
// or a cancelled context is not.
func (e *Error) Temporary() bool {
	if e.TSIGError != 0 {
		return false
	}
	if e.Err == nil {
		return e.Rcode == dns.RcodeServerFailure
	}
	if errors.Is(e.Err, context.Canceled) || errors.Is(e.Err, errSig) {
		return false
	}
	if errors.Is(e.Err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	if errors.As(e.Err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(e.Err, syscall.ECONNREFUSED) || errors.Is(e.Err, syscall.ECONNRESET) ||
		errors.Is(e.Err, io.EOF) || errors.Is(e.Err, io.ErrUnexpectedEOF)
}

func rcodeText(rc int) string {
	if s, ok := dns.RcodeToString[rc]; ok {
		return s
	}
	return fmt.Sprintf("RCODE%d", rc)
}

func tsigErrorText(code uint16) string {
	switch code {
	case dns.RcodeBadSig:
		return "BADSIG, the signature does not verify: the secret or algorithm differs"
	case dns.RcodeBadKey:
		return "BADKEY, the server does not know this key name with this algorithm"
	case dns.RcodeBadTime:
		return "BADTIME, our clock and the server's differ by more than 5 minutes"
	default:
		return "TSIG error " + rcodeText(int(code))
	}
}

// software asks the server which software it runs ("version.bind", class
// CHAOS), once per provider, for the hints of a refusal; "" when it does
// not say.
func (p *Provider) software(ctx context.Context) string {
	p.mu.Lock()
	if p.soft != nil {
		defer p.mu.Unlock()
		return *p.soft
	}
	p.mu.Unlock()
	m := new(dns.Msg)
	m.SetQuestion("version.bind.", dns.TypeTXT)
	m.Question[0].Qclass = dns.ClassCHAOS
	c := &dns.Client{Net: "tcp", Timeout: 2 * time.Second}
	v := ""
	if r, _, err := c.ExchangeContext(ctx, m, p.server); err == nil {
		for _, rr := range r.Answer {
			if t, ok := rr.(*dns.TXT); ok && len(t.Txt) > 0 {
				v = strings.Map(func(r rune) rune {
					if r < ' ' || r > '~' || r == '\\' {
						return -1
					}
					return r
				}, strings.Join(t.Txt, ""))
				if len(v) > 80 {
					v = v[:80]
				}
				break
			}
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.soft = &v
	return v
}
