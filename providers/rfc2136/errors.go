package rfc2136

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/miekg/dns"
)

// Error is a failed AXFR or UPDATE exchange with the server. It never holds
// the TSIG secret.
type Error struct {
	Op      string // "AXFR" or "UPDATE"
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
	// Err is the transport or verification failure, nil for an rcode.
	Err error
}

func (e *Error) Error() string {
	where := fmt.Sprintf("rfc2136 %s of zone %q at %s", e.Op, e.Zone, e.Server)
	if e.Records != "" {
		where += " (" + e.Records + ")"
	}
	var what string
	switch {
	case e.TSIGError != 0:
		what = fmt.Sprintf("the server rejected TSIG key %q (%s): %s; check key_name, key_algorithm and key",
			e.KeyName, e.KeyAlg, tsigErrorText(e.TSIGError))
	case e.Rcode == dns.RcodeNotAuth && e.Err == nil:
		what = fmt.Sprintf("the server answered NOTAUTH: it is not authoritative for the zone or does not accept TSIG key %q (%s) for it",
			e.KeyName, e.KeyAlg)
	case e.Rcode >= 0 && e.Err == nil:
		what = "the server answered " + rcodeText(e.Rcode)
		if e.Rcode == dns.RcodeRefused {
			what += " (the zone's update-policy or allow-transfer does not allow this key, or the update breaks a zone check; see the server's log)"
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
