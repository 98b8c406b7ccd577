package check

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	neturl "net/url"
	"slices"
	"strings"
	"time"

	"github.com/maildns/maildns/policy"
)

// KindMTASTS is the finding kind of the MTA-STS checks.
const KindMTASTS = "mta_sts"

// policyFetchTimeout bounds one MTA-STS policy fetch (RFC 8461 §3.3
// suggests senders wait at least a minute; an audit should not).
const policyFetchTimeout = 15 * time.Second

// maxPolicySize bounds a fetched policy (RFC 8461 §3.3: 64 KiB).
const maxPolicySize = 64 << 10

// CheckMTASTS checks the domain's MTA-STS (RFC 8461). Without lookups:
// more than one v=STSv1 record at _mta-sts (error: senders see no
// policy); an MX host no mx pattern covers (error in enforce: senders will
// not deliver to it; warning in testing). With lookups, it fetches the
// policy from https://mta-sts.<domain>/.well-known/mta-sts.txt with
// certificate validation: a certificate that does not validate (error),
// an answer other than 200 (error: no policy), a policy that does not
// parse or differs from the intended one (error: stale), the served text
// intended but the live id not the one derived from it (error: senders
// keep their cached policy); a host that cannot be reached is a warning
// (could not verify).
func CheckMTASTS(ctx context.Context, env *Env, d *policy.Domain) []Finding {
	m := d.MTASTS
	if m == nil {
		return nil
	}
	c := newMailCheck(env, d, KindMTASTS)
	recName := c.fqdn("_mta-sts")
	var liveIDs []string
	for _, v := range c.liveValues("_mta-sts", "TXT") {
		if strings.HasPrefix(strings.TrimSpace(v), "v=STSv1") {
			id, ok := policy.ParseMTASTSRecord(v)
			if !ok {
				c.add(SevError, recName, "the live record at %s is not a valid MTA-STS record (v=STSv1; id=1-32 letters or digits): %q", recName, v)
				continue
			}
			liveIDs = append(liveIDs, id)
		}
	}
	if len(liveIDs) > 1 {
		c.add(SevError, recName, "%d MTA-STS records at %s: senders treat the domain as having no policy (RFC 8461 §3.1)", len(liveIDs), recName)
	}

	// MX hosts the policy does not cover.
	patterns := policy.MTASTSMX(d)
	var hosts []string
	for _, v := range append(c.desiredValues("mx", "", "MX"), c.liveValues("", "MX")...) {
		_, host, ok := strings.Cut(v, " ")
		host = strings.TrimSuffix(strings.ToLower(host), ".")
		if ok && host != "" && !slices.Contains(hosts, host) {
			hosts = append(hosts, host)
		}
	}
	if m.Mode != "none" {
		for _, h := range hosts {
			if slices.ContainsFunc(patterns, func(p string) bool { return policy.MTASTSMatch(p, h) }) {
				continue
			}
			if m.Mode == "enforce" {
				c.add(SevError, h, "MX host %s matches no mx pattern of the MTA-STS policy (%s): in mode enforce senders will not deliver to it", h, strings.Join(patterns, ", "))
			} else {
				c.add(SevWarning, h, "MX host %s matches no mx pattern of the MTA-STS policy (%s): in mode enforce senders would not deliver to it", h, strings.Join(patterns, ", "))
			}
		}
	}

	if !env.Live {
		c.add(SevInfo, "", SkippedMessage)
		return c.out
	}
	want := policy.MTASTSPolicyText(d)
	url := policy.MTASTSURL(d.Domain)
	served, status, err := fetchPolicy(ctx, env, url)
	var certErr *tls.CertificateVerificationError
	var hostErr x509.HostnameError
	var unknownAuth x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &certErr), errors.As(err, &hostErr), errors.As(err, &unknownAuth), errors.As(err, &invalid):
		c.add(SevError, url, "the certificate of mta-sts.%s does not validate, so senders ignore the policy: %v", d.Domain, err)
		return c.out
	case err != nil:
		var ue *neturl.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is in the message already
		}
		c.add(SevWarning, url, "could not verify the MTA-STS policy at %s: %v", url, err)
		return c.out
	case status != http.StatusOK:
		c.add(SevError, url, "%s answered HTTP %d: senders find no MTA-STS policy (publish the policy file there)", url, status)
		return c.out
	}
	if _, _, _, perr := policy.ParseMTASTSPolicy(served); perr != nil {
		c.add(SevError, url, "the policy served at %s is invalid, so senders ignore it: %v", url, perr)
		return c.out
	}
	wantID := policy.MTASTSID(want)
	if normPolicy(served) != normPolicy(want) {
		where := ""
		if f := policy.MTASTSPolicyFile(d); f != "" {
			where = fmt.Sprintf(" (maildns writes it to %s: does the web server serve that file?)", f)
		}
		c.add(SevError, url, "the policy served at %s is stale: it differs from the policy's%s; served %q, want %q", url, where, served, want)
		return c.out
	}
	for _, id := range liveIDs {
		if id != wantID {
			c.add(SevError, recName, "the policy served at %s changed but the id at %s is still %s (want %s): senders that cached the old policy keep it", url, recName, id, wantID)
		}
	}
	return c.out
}

// normPolicy compares policies line by line (LF or CRLF).
func normPolicy(s string) string {
	return strings.TrimRight(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
}

// fetchPolicy GETs url with the environment's client (else one resolving
// through env.Resolver) and returns the body and status.
func fetchPolicy(ctx context.Context, env *Env, url string) (string, int, error) {
	ctx, cancel := context.WithTimeout(ctx, policyFetchTimeout)
	defer cancel()
	client := env.HTTPClient
	if client == nil {
		client = resolvingClient(env.Resolver)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPolicySize+1))
	if err != nil {
		return "", 0, err
	}
	if len(body) > maxPolicySize {
		return "", resp.StatusCode, fmt.Errorf("the policy is over %d bytes", maxPolicySize)
	}
	return string(body), resp.StatusCode, nil
}

// resolvingClient is an HTTP client that resolves host names through r
// (names in the zones read this run from those records), follows no
// redirects (RFC 8461 §3.3: senders must not) and validates certificates
// against the system roots.
func resolvingClient(r Resolver) *http.Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			return dialResolved(ctx, r, host, port)
		},
		TLSHandshakeTimeout: 10 * time.Second,
		DisableKeepAlives:   true,
	}
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return errors.New("redirected: MTA-STS policy fetches do not follow redirects (RFC 8461 §3.3)")
	}}
}

// dialResolved connects to port of host's addresses, looked up through r.
// Documentation addresses (RFC 5737, RFC 3849) are not dialled: no one can
// reach them, and the example's hosts use them.
func dialResolved(ctx context.Context, r Resolver, host, port string) (net.Conn, error) {
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = append(addrs, ip)
	} else {
		if r == nil {
			return nil, fmt.Errorf("no resolver to look up %s", host)
		}
		var lookupErr error
		for _, qt := range []string{"A", "AAAA"} {
			ans, err := r.Lookup(ctx, strings.TrimSuffix(host, ".")+".", qt)
			if err != nil {
				lookupErr = err
				continue
			}
			for _, rr := range ans.Records {
				if rr.Type != qt {
					continue
				}
				if ip, err := netip.ParseAddr(rr.Data); err == nil {
					addrs = append(addrs, ip)
				}
			}
		}
		if len(addrs) == 0 {
			if lookupErr != nil {
				return nil, fmt.Errorf("looking up %s: %w", host, lookupErr)
			}
			return nil, fmt.Errorf("%s has no address (A or AAAA)", host)
		}
	}
	var errs []string // one line: it ends up in a finding's message
	var doc []string
	for _, ip := range addrs {
		if documentation(ip) {
			doc = append(doc, ip.String())
			continue
		}
		var d net.Dialer
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		conn, err := d.DialContext(dctx, "tcp", net.JoinHostPort(ip.String(), port))
		cancel()
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err.Error())
	}
	if len(doc) > 0 {
		errs = append(errs, fmt.Sprintf("%s is %s: documentation addresses no one can reach", host, strings.Join(doc, ", ")))
	}
	return nil, errors.New(strings.Join(errs, "; "))
}

var docPrefixes = []netip.Prefix{
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("2001:db8::/32"),
}

func documentation(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range docPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
