package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
)

// maxPolicySize bounds a fetched MTA-STS policy (RFC 8461 §3.3 suggests
// senders limit it; 64 KiB is far above any real one).
const maxPolicySize = 64 << 10

const policyFetchTimeout = 15 * time.Second

// DefaultHTTPClient fetches MTA-STS policies: certificates validated
// against the system roots, no redirects (RFC 8461 §3.3: senders must not
// follow them, so a policy behind one is no policy).
func DefaultHTTPClient() *http.Client {
	return &http.Client{
		Timeout:       policyFetchTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// policyText finds the MTA-STS policy text of domain: in Options.MTASTSDir
// (the layout policy_dir has), else over HTTPS when allowed. It returns
// the text and where it came from, or "" with a note saying why not.
func (im *domainImport) policyText() (text, from string) {
	o := im.opts
	if o.MTASTSDir != "" {
		path := filepath.Join(o.MTASTSDir, im.domain, ".well-known", "mta-sts.txt")
		data, err := os.ReadFile(path)
		switch {
		case err == nil && len(data) > maxPolicySize:
			im.note("MTA-STS policy %s is over %d bytes: not read", path, maxPolicySize)
		case err == nil:
			return string(data), path
		case errors.Is(err, fs.ErrNotExist):
			if !o.MTASTSHTTPS {
				im.note("MTA-STS policy %s does not exist", path)
			}
		default:
			im.note("MTA-STS policy %s: %v", path, err)
		}
	}
	if !o.MTASTSHTTPS {
		return "", ""
	}
	url := policy.MTASTSURL(im.domain)
	text, err := fetchPolicy(im.ctx, cmpClient(o.HTTPClient), url)
	if err != nil {
		im.note("MTA-STS policy at %s could not be read: %v", url, err)
		return "", ""
	}
	return text, url
}

func cmpClient(c *http.Client) *http.Client {
	if c != nil {
		return c
	}
	return DefaultHTTPClient()
}

func fetchPolicy(ctx context.Context, client *http.Client, url string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, policyFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *neturl.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is in the message already
		}
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPolicySize+1))
	if err != nil {
		return "", err
	}
	if len(body) > maxPolicySize {
		return "", fmt.Errorf("the policy is over %d bytes", maxPolicySize)
	}
	return string(body), nil
}

// buildMTASTS imports the mta_sts section. DNS holds only the _mta-sts
// record; mode, mx and max_age come from the policy text. maildns derives
// the record's id from the text it writes, so the record is reproduced
// exactly only when the served text is byte for byte what maildns writes;
// otherwise the section is still imported and a comment says what the
// first run changes.
func (im *domainImport) buildMTASTS() {
	name := im.at("_mta-sts")
	rrs := im.z.get(name, "TXT")
	if len(rrs) == 0 {
		return
	}
	var liveID string
	keep := func(why string) {
		for _, rr := range rrs {
			im.note("TXT _mta-sts at %s left as is (%s): %q", name, why, rr.Data)
		}
	}
	switch {
	case len(rrs) != 1:
		keep(fmt.Sprintf("%d TXT records there", len(rrs)))
	case rrs[0].TTL != im.d.TTL:
		keep(fmt.Sprintf("TTL %d, not the domain's %d", int(rrs[0].TTL.Seconds()), int(im.d.TTL.Seconds())))
	default:
		id, ok := policy.ParseMTASTSRecord(rrs[0].Data)
		if !ok {
			keep("not a valid MTA-STS record")
		}
		liveID = id
	}
	text, from := im.policyText()
	var m *policy.MTASTS
	var mxNote string
	var served []string
	if text != "" {
		mode, mx, maxAge, err := policy.ParseMTASTSPolicy(text)
		if err != nil {
			im.note("MTA-STS policy %s does not parse: %v", from, err)
			text = ""
		} else {
			m = &policy.MTASTS{Mode: mode, MaxAge: maxAge}
			mxNote = im.mxPatterns(m, mx)
			served = mx
		}
	}
	if liveID == "" || m == nil {
		if liveID != "" {
			keep("no MTA-STS policy text read")
		}
		im.mtastsHint = im.mtastsHintFor(rrs, m, from)
		return
	}
	if mxNote != "" {
		im.note("MTA-STS policy %s: %s", from, mxNote)
		m.MX = served
		im.mtastsHint = im.mtastsHintFor(rrs, m, from)
		keep("its mx patterns cannot be written")
		return
	}
	if !strings.HasPrefix(from, "https://") {
		m.PolicyDir = im.opts.MTASTSDir
		if abs, err := filepath.Abs(m.PolicyDir); err == nil {
			m.PolicyDir = abs
		}
	}
	im.d.MTASTS = m
	want := policy.MTASTSPolicyText(&im.d)
	wantID := policy.MTASTSID(want)
	var c []string
	if text != want {
		c = append(c, fmt.Sprintf("The policy text read from %s differs from what maildns writes (%s);", from, textDiff(text, want)))
		lf := func(s string) string { return strings.TrimRight(strings.ReplaceAll(s, "\r\n", "\n"), "\n") }
		switch {
		case m.PolicyDir != "":
			c = append(c, "the first run writes maildns's text (same mode, mx and max_age) to "+policy.MTASTSPolicyFile(&im.d)+".")
		case lf(text) == lf(want):
			c = append(c, "the web server keeps serving its own text, which the live check accepts.")
		default:
			c = append(c, "the web server keeps serving its own text, and the live check reports it as differing",
				"until it serves maildns's (set policy_dir for maildns to write it).")
		}
	}
	if liveID != wantID {
		c = append(c,
			fmt.Sprintf("maildns derives the _mta-sts id from the text it writes: the live id %s is not that,", liveID),
			fmt.Sprintf("so the first run publishes \"%s\" (one change; senders fetch the policy again).", policy.MTASTSRecord(want)),
			"A policy has no fixed id, so this record cannot be reproduced exactly.")
	}
	im.mtastsComments = c
}

// mxPatterns sets m.MX from the served patterns: left out when they are
// the policy's MX hosts in order (the default), else as written. It
// returns why they cannot be written, or "".
func (im *domainImport) mxPatterns(m *policy.MTASTS, served []string) string {
	var mx []string
	for _, p := range served {
		p = strings.TrimSuffix(p, ".")
		if msg := policy.CheckMTASTSMXPattern(p); msg != "" {
			return fmt.Sprintf("mx %q: %s", p, msg)
		}
		if !slices.Contains(mx, p) {
			mx = append(mx, p)
		}
	}
	if len(mx) == 0 {
		if m.Mode == "none" {
			return "no mx lines in mode none, and a policy's mx is never empty"
		}
		return "no mx lines"
	}
	d := im.d
	d.MX, d.MailHosts, d.MTASTS = im.mx, im.hosts, nil
	if !slices.Equal(mx, policy.MTASTSMX(&d)) {
		m.MX = mx
	}
	return ""
}

// textDiff says briefly how a served policy text differs from want.
func textDiff(served, want string) string {
	var why []string
	if !strings.Contains(served, "\r\n") && strings.Contains(served, "\n") {
		why = append(why, "LF line ends, not CRLF")
	}
	norm := func(s string) []string {
		var out []string
		for l := range strings.SplitSeq(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				k, v, _ := strings.Cut(l, ":")
				out = append(out, strings.TrimSpace(k)+": "+strings.TrimSpace(v))
			}
		}
		return out
	}
	s, w := norm(served), norm(want)
	var extra []string
	for _, l := range s {
		if !slices.Contains(w, l) {
			extra = append(extra, l)
		}
	}
	switch {
	case len(extra) > 0:
		why = append(why, fmt.Sprintf("lines maildns does not write: %q", extra))
	case len(s) != len(w):
		why = append(why, "repeated lines")
	case !slices.Equal(s, w):
		why = append(why, "another field order")
	}
	if len(why) == 0 {
		why = append(why, "spacing or number format")
	}
	return strings.Join(why, "; ")
}

// mtastsHintFor is the commented mta_sts section written when the section
// cannot be imported: filled from the policy text when it was read, else
// asking for mode and mx.
func (im *domainImport) mtastsHintFor(rrs []libdns.RR, m *policy.MTASTS, from string) []string {
	var b []string
	b = append(b, fmt.Sprintf("_mta-sts holds %s; maildns does not manage it yet.", quoteRecords(rrs)))
	if m == nil {
		b = append(b,
			"Write the mode and mx of the policy your web server serves at",
			policy.MTASTSURL(im.domain)+" (or run import with --mta-sts-dir or --mta-sts-https):",
			"mta_sts:",
			"  mode: enforce            # enforce | testing | none",
			"  max_age: 604800",
		)
		d := im.d
		d.MX, d.MailHosts, d.MTASTS = im.mx, im.hosts, nil
		if mx := policy.MTASTSMX(&d); len(mx) > 0 {
			b = append(b, "  mx: "+list(mx)+"   # default: the MX hosts above")
		}
		return b
	}
	b = append(b, "The policy read from "+from+" says:", "mta_sts:", "  mode: "+m.Mode, fmt.Sprintf("  max_age: %d", m.MaxAge))
	if len(m.MX) > 0 {
		b = append(b, "  mx: "+list(m.MX))
	}
	return b
}

func quoteRecords(rrs []libdns.RR) string {
	var q []string
	for _, rr := range rrs {
		q = append(q, fmt.Sprintf("%q", rr.Data))
	}
	return strings.Join(q, ", ")
}
