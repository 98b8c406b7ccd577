package check

import (
	"context"

	"github.com/libdns/libdns"
)

// Resolver answers the live DNS questions of the checks (SPF include tree,
// MX targets, PTR, DMARC report authorisation). Names are fully qualified with
// a trailing dot; qtype is "TXT", "A", "AAAA", "MX", "PTR", "CNAME", "SOA", "NS".
//
// NXDOMAIN and NODATA are not errors: they return an Answer with Rcode set
// and no records. An error means the question could not be answered (timeout,
// SERVFAIL, refused): checks must report "could not verify", never "missing".
type Resolver interface {
	Lookup(ctx context.Context, name, qtype string) (Answer, error)
}

// Answer rcodes.
const (
	RcodeSuccess  = 0
	RcodeNXDomain = 3
)

// Answer is the answer to one question. Records have absolute names (trailing
// dot) and canonical data (see package providers); a CNAME chain that led to
// the answer is included, in order.
type Answer struct {
	Rcode   int
	Records []libdns.RR
	// FromZone is set when the answer came from a zone maildns read from its
	// provider in this run rather than from the network.
	FromZone bool
}
