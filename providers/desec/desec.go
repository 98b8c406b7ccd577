// Package desec is the deSEC backend (https://desec.io), speaking the deSEC
// REST API itself rather than through github.com/libdns/desec, which sends
// through http.DefaultClient, writes a TXT over 255 bytes as one string
// (deSEC refuses it) and retries 429 answers without limit.
//
// deSEC holds RRsets: records of one name and type with one TTL, in
// presentation format. Every write here is one bulk PATCH of the list
// endpoint, which deSEC applies whole or not at all, carrying each touched
// RRset in full: the values it holds as just read (foreign values byte for
// byte as deSEC returned them) with the requested change applied; an RRset
// left without values is written as records [] (deleted). So AppendRecords,
// SetRecords, DeleteRecords and ReplaceRecords each make one read of the
// touched RRsets and at most one write, and a write never shows a resolver
// the zone half changed.
//
// Settings: token (required, secret), base_url (optional; default
// https://desec.io/api/v1; https, or http to a loopback address only).
package desec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/libdns/libdns"

	"github.com/maildns/maildns/providers"
)

// Type is the backend type name in maildns.yaml.
const Type = "desec"

// DefaultBaseURL is the deSEC API's base URL.
const DefaultBaseURL = "https://desec.io/api/v1"

// defaultTTL is the TTL of a new RRset written without one (libdns TTL 0):
// deSEC's default minimum TTL.
const defaultTTL = 3600

func init() {
	providers.Register(Type, func(s *providers.Settings) (providers.Provider, error) {
		if s.Secret == nil {
			s.Secret = map[string]bool{}
		}
		s.Secret["token"] = true
		token, err := s.Required("token")
		if err != nil {
			return nil, err
		}
		if err := checkToken(token); err != nil {
			return nil, &providers.SettingError{Key: "token", Err: err}
		}
		return New(Config{Token: token, BaseURL: s.String("base_url", DefaultBaseURL)})
	})
}

// checkToken rejects values that cannot be a token, without showing them.
func checkToken(t string) error {
	if strings.TrimSpace(t) != t || strings.ContainsAny(t, " \t\r\n\"") {
		return errors.New("the token holds spaces, quotes or line breaks (a stray newline in the secret file?)")
	}
	return nil
}

// Config configures New.
type Config struct {
	Token   string // deSEC API token; required
	BaseURL string // default DefaultBaseURL
	// HTTPClient sends the requests; nil: a client of its own with a 30s
	// timeout (never http.DefaultClient).
	HTTPClient *http.Client
}

// Provider is the deSEC backend. It is safe for concurrent use.
type Provider struct {
	token  string
	base   string // without trailing slash
	client *http.Client
	gate   func(ctx context.Context) error
	red    *providers.Redactor // the token, out of every error text
}

var (
	_ providers.Provider     = (*Provider)(nil)
	_ providers.RequestGater = (*Provider)(nil)
	_ providers.Replacer     = (*Provider)(nil)
	_ libdns.ZoneLister      = (*Provider)(nil)

	_ providers.ConditionalReplacer = (*Provider)(nil)
)

// New returns a deSEC backend. It touches no network.
func New(c Config) (*Provider, error) {
	if c.Token == "" {
		return nil, &providers.SettingError{Key: "token", Err: providers.ErrMissing}
	}
	base := c.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	if err := checkBaseURL(base); err != nil {
		return nil, &providers.SettingError{Key: "base_url", Err: err}
	}
	client := c.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	return &Provider{token: c.Token, base: strings.TrimSuffix(base, "/"), client: client, red: providers.NewRedactor(c.Token)}, nil
}

// checkBaseURL accepts https URLs, and http ones to a loopback address
// (a test server): the token must not cross a network in clear text.
func checkBaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("want a URL such as %s, have %q", DefaultBaseURL, s)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		h := u.Hostname()
		if ip := net.ParseIP(h); h == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
		return fmt.Errorf("%q: http (without TLS) is allowed to a loopback address only: the token would travel in clear text", s)
	default:
		return fmt.Errorf("want an https URL, have %q", s)
	}
}

// String keeps the token out of any print of the provider.
func (p *Provider) String() string { return "desec provider" }

// GoString keeps the token out of %#v.
func (p *Provider) GoString() string { return "desec.Provider{[redacted]}" }

// SetRequestGate implements providers.RequestGater: gate is called before
// every API request. Call it before the provider is used.
func (p *Provider) SetRequestGate(gate func(ctx context.Context) error) { p.gate = gate }

// apiRRset is an RRset as the API reads and writes it. On writes, TTL nil
// leaves it out (a deletion).
type apiRRset struct {
	Subname string   `json:"subname"`
	Type    string   `json:"type"`
	TTL     *int     `json:"ttl,omitempty"`
	Records []string `json:"records"`
}

// statusError is a failing answer that is not worth retrying (4xx).
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }

// request sends one request to path (below the base URL, with its trailing
// slash), decoding a successful JSON answer into out. what names the
// request in errors; labels name the RRsets of a bulk body, in order, so
// that per-RRset errors say which. It returns the answer's headers.
func (p *Provider) request(ctx context.Context, method, path string, q url.Values, body, out any, what string, labels []string) (http.Header, error) {
	u := p.base + path
	if q != nil {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Token "+p.token)
	if p.gate != nil {
		if err := p.gate(ctx); err != nil {
			return nil, err
		}
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: reading the answer: %w", what, err)
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		return nil, providers.HTTPStatusError(resp.StatusCode, resp.Header, what, p.describe(raw, labels))
	}
	if resp.StatusCode >= 400 {
		msg := fmt.Sprintf("%s: HTTP %d %s", what, resp.StatusCode, http.StatusText(resp.StatusCode))
		if d := p.describe(raw, labels); d != "" {
			msg += ": " + d
		}
		switch resp.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			msg += " (is the token valid, and allowed to manage this domain?)"
		case http.StatusBadRequest:
			if bytes.Contains(raw, []byte(`"ttl"`)) {
				msg += " (deSEC refuses a TTL below the domain's minimum TTL, 3600 seconds unless deSEC lowered it for the domain: raise the ttl of the policy)"
			}
		}
		return nil, &statusError{status: resp.StatusCode, msg: msg}
	}
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.Unmarshal(raw, out); err != nil {
			return nil, fmt.Errorf("%s: HTTP %d: undecodable answer: %w", what, resp.StatusCode, err)
		}
	}
	return resp.Header, nil
}

// describe turns an error answer into one line: {"detail": ...}, field
// errors {"ttl": [...]}, or a bulk list of those (one per RRset, {} for the
// valid ones), named by labels. The token never appears in it: the text is
// redacted before it is cut to 600 bytes, so that a token across the cut
// leaves no prefix behind.
func (p *Provider) describe(raw []byte, labels []string) string {
	var out string
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		var parts []string
		for i, item := range list {
			if d := fields(item); d != "" {
				name := fmt.Sprintf("RRset %d", i+1)
				if i < len(labels) {
					name = labels[i]
				}
				parts = append(parts, name+": "+d)
			}
		}
		out = strings.Join(parts, "; ")
	} else if d := fields(raw); d != "" {
		out = d
	} else {
		out = strings.Join(strings.Fields(string(raw)), " ")
	}
	out = p.red.Redact(out)
	if len(out) > 600 {
		out = out[:600] + "..."
	}
	return out
}

// fields renders a JSON object of errors: "detail" first, then each field.
func fields(raw []byte) string {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil || len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	if d, ok := m["detail"]; ok {
		parts = append(parts, flat(d))
	}
	for _, k := range keys {
		if k != "detail" {
			parts = append(parts, k+": "+flat(m[k]))
		}
	}
	return strings.Join(parts, "; ")
}

func flat(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		parts := make([]string, 0, len(v))
		for _, x := range v {
			parts = append(parts, flat(x))
		}
		return strings.Join(parts, " ")
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, 0, len(v))
		for _, k := range keys {
			parts = append(parts, k+": "+flat(v[k]))
		}
		return strings.Join(parts, "; ")
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// domainName is the zone as deSEC names domains: lower case, no trailing dot.
func domainName(zone string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(zone), "."))
}

func rrsetsPath(zone string) string {
	return "/domains/" + url.PathEscape(domainName(zone)) + "/rrsets/"
}

var linkRE = regexp.MustCompile(`<([^>]*)>\s*;\s*rel="?([a-zA-Z]+)"?`)

// nextCursor returns the cursor of the rel="next" link of a Link header.
// Only the cursor is taken from it: requests go to the base URL, so that
// the token is never sent where a link points.
func nextCursor(h http.Header) (string, bool) {
	for _, v := range h.Values("Link") {
		for _, m := range linkRE.FindAllStringSubmatch(v, -1) {
			if m[2] != "next" {
				continue
			}
			u, err := url.Parse(m[1])
			if err != nil {
				return "", false
			}
			return u.Query().Get("cursor"), true
		}
	}
	return "", false
}

// list reads every item of a list endpoint into out (a pointer to a
// slice), page by page: the cursor parameter is always sent (empty for the
// first page), so deSEC answers one page of up to 500 items and links the
// next one.
func list[T any](ctx context.Context, p *Provider, path string, q url.Values, what string) ([]T, error) {
	if q == nil {
		q = url.Values{}
	}
	q.Set("cursor", "")
	var all []T
	seen := map[string]bool{}
	for {
		var page []T
		h, err := p.request(ctx, http.MethodGet, path, q, nil, &page, what, nil)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		cur, ok := nextCursor(h)
		if !ok || len(page) == 0 {
			return all, nil
		}
		if seen[cur] {
			return nil, fmt.Errorf("%s: the API links page %q twice", what, cur)
		}
		seen[cur] = true
		q.Set("cursor", cur)
	}
}

// rrkey names an RRset: canonical relative name ("@" at the apex) and type.
// A type of "" stands for every type at the name (DeleteRecords).
type rrkey struct{ name, typ string }

func (k rrkey) String() string { return k.name + " " + k.typ }

func subname(name string) string {
	if name == "@" {
		return ""
	}
	return name
}

// value is one record of an RRset: as deSEC holds it and in canonical form.
type value struct{ raw, data string }

// rrset is an RRset as read, or as it will be written.
type rrset struct {
	key    rrkey
	ttl    int
	values []value
}

func (s *rrset) has(data string) bool {
	return slices.ContainsFunc(s.values, func(v value) bool { return v.data == data })
}

func (s *rrset) raws() []string {
	out := make([]string, len(s.values))
	for i, v := range s.values {
		out[i] = v.raw
	}
	return out
}

// fromAPI turns an API RRset into canonical values (zone with trailing dot).
func fromAPI(a apiRRset, zone string) (*rrset, error) {
	name := providers.RelativeName(a.Subname, zone)
	s := &rrset{key: rrkey{name, a.Type}, ttl: 0, values: make([]value, 0, len(a.Records))}
	if a.TTL != nil {
		s.ttl = *a.TTL
	}
	for _, raw := range a.Records {
		rr, err := providers.Normalize(libdns.RR{Name: name, Type: a.Type, Data: raw}, zone)
		if err != nil {
			return nil, fmt.Errorf("RRset %s %s: %w", name, a.Type, err)
		}
		s.values = append(s.values, value{raw: raw, data: rr.Data})
	}
	return s, nil
}

// records returns the RRset's values as canonical records.
func (s *rrset) records() []libdns.Record {
	out := make([]libdns.Record, 0, len(s.values))
	for _, v := range s.values {
		out = append(out, libdns.RR{Name: s.key.name, Type: s.key.typ, TTL: time.Duration(s.ttl) * time.Second, Data: v.data})
	}
	return out
}

// GetRecords implements libdns.RecordGetter: every record of the zone in
// canonical form, one request per 500 RRsets.
func (p *Provider) GetRecords(ctx context.Context, zone string) ([]libdns.Record, error) {
	sets, err := list[apiRRset](ctx, p, rrsetsPath(zone), nil, fmt.Sprintf("desec: reading zone %q", zone))
	if err != nil {
		return nil, p.zoneErr(zone, err)
	}
	var out []libdns.Record
	for _, a := range sets {
		s, err := fromAPI(a, zone)
		if err != nil {
			return nil, fmt.Errorf("desec: reading zone %q: %w", zone, err)
		}
		out = append(out, s.records()...)
	}
	return out, nil
}

// zoneErr explains a 404 on a domain's endpoint.
func (p *Provider) zoneErr(zone string, err error) error {
	var se *statusError
	if errors.As(err, &se) && se.status == http.StatusNotFound {
		return fmt.Errorf("%w (zone %q is not a domain of this deSEC account)", err, zone)
	}
	return err
}

// ListZones implements libdns.ZoneLister: the domains of the account.
func (p *Provider) ListZones(ctx context.Context) ([]libdns.Zone, error) {
	ds, err := list[struct {
		Name string `json:"name"`
	}](ctx, p, "/domains/", nil, "desec: listing domains")
	if err != nil {
		return nil, err
	}
	out := make([]libdns.Zone, 0, len(ds))
	for _, d := range ds {
		out = append(out, libdns.Zone{Name: d.Name + "."})
	}
	return out, nil
}

// read returns the RRsets of zone named by keys (those that exist), in as
// few requests as it can: one RRset is asked for alone; several of one type,
// or at one name, through the list filtered by type or name; else the
// whole zone is listed.
func (p *Provider) read(ctx context.Context, zone string, keys []rrkey) (map[rrkey]*rrset, error) {
	out := map[rrkey]*rrset{}
	if len(keys) == 0 {
		return out, nil
	}
	what := fmt.Sprintf("desec: reading %s in zone %q", joinKeys(keys), zone)
	var got []apiRRset
	sameType, sameName := true, true
	for _, k := range keys {
		sameType = sameType && k.typ != "" && k.typ == keys[0].typ
		sameName = sameName && k.name == keys[0].name
	}
	switch {
	case len(keys) == 1 && keys[0].typ != "":
		sub := keys[0].name
		var a apiRRset
		_, err := p.request(ctx, http.MethodGet, rrsetsPath(zone)+url.PathEscape(sub)+"/"+url.PathEscape(keys[0].typ)+"/", nil, nil, &a, what, nil)
		var se *statusError
		switch {
		case errors.As(err, &se) && se.status == http.StatusNotFound:
			// No such RRset: or no such domain, which the write will say.
		case err != nil:
			return nil, err
		default:
			got = []apiRRset{a}
		}
	case sameType:
		var err error
		if got, err = list[apiRRset](ctx, p, rrsetsPath(zone), url.Values{"type": {keys[0].typ}}, what); err != nil {
			return nil, p.zoneErr(zone, err)
		}
	case sameName:
		var err error
		if got, err = list[apiRRset](ctx, p, rrsetsPath(zone), url.Values{"subname": {subname(keys[0].name)}}, what); err != nil {
			return nil, p.zoneErr(zone, err)
		}
	default:
		var err error
		if got, err = list[apiRRset](ctx, p, rrsetsPath(zone), nil, what); err != nil {
			return nil, p.zoneErr(zone, err)
		}
	}
	want := map[rrkey]bool{}
	for _, k := range keys {
		want[k] = true
	}
	for _, a := range got {
		s, err := fromAPI(a, zone)
		if err != nil {
			return nil, fmt.Errorf("desec: reading zone %q: %w", zone, err)
		}
		if want[s.key] || want[rrkey{s.key.name, ""}] {
			out[s.key] = s
		}
	}
	return out, nil
}

func joinKeys(keys []rrkey) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k.String()
		if k.typ == "" {
			parts[i] = k.name + " (every type)"
		}
	}
	return strings.Join(parts, ", ")
}

// write sends sets (each in full; without values: deleted) as one bulk
// PATCH, which deSEC applies whole or not at all.
func (p *Provider) write(ctx context.Context, zone string, sets []*rrset) error {
	if len(sets) == 0 {
		return nil
	}
	body := make([]apiRRset, len(sets))
	labels := make([]string, len(sets))
	keys := make([]rrkey, len(sets))
	for i, s := range sets {
		body[i] = apiRRset{Subname: subname(s.key.name), Type: s.key.typ, Records: s.raws()}
		if len(s.values) > 0 {
			ttl := s.ttl
			body[i].TTL = &ttl
		}
		labels[i] = fmt.Sprintf("%s (TTL %d)", s.key, s.ttl)
		keys[i] = s.key
	}
	what := fmt.Sprintf("desec: writing %s in zone %q", joinKeys(keys), zone)
	_, err := p.request(ctx, http.MethodPatch, rrsetsPath(zone), nil, body, nil, what, labels)
	return p.zoneErr(zone, err)
}

// incoming is a record of a call, canonical, grouped by RRset.
type incoming struct {
	keys []rrkey
	recs map[rrkey][]libdns.RR
}

// group normalises recs (providers.NormalizeInput) and groups them by
// RRset, in input order; with wildcards, a record without type or data is
// kept as a pattern (DeleteRecords).
func group(recs []libdns.Record, zone string, wildcards bool) (incoming, error) {
	in := incoming{recs: map[rrkey][]libdns.RR{}}
	for _, r := range recs {
		raw := r.RR()
		var rr libdns.RR
		if wildcards && (raw.Type == "" || raw.Data == "") {
			rr = libdns.RR{Name: providers.RelativeName(raw.Name, zone), Type: strings.ToUpper(strings.TrimSpace(raw.Type)), TTL: raw.TTL}
		} else {
			var err error
			if rr, err = providers.NormalizeInput(r, zone); err != nil {
				return in, fmt.Errorf("zone %q: %w", zone, err)
			}
		}
		if strings.HasSuffix(rr.Name, ".") {
			return in, fmt.Errorf("zone %q: the name %q is outside the zone", zone, raw.Name)
		}
		if rr.Type == "" && !wildcards {
			return in, fmt.Errorf("zone %q: a record at %q without a type", zone, rr.Name)
		}
		k := rrkey{rr.Name, rr.Type}
		if _, ok := in.recs[k]; !ok {
			in.keys = append(in.keys, k)
		}
		in.recs[k] = append(in.recs[k], rr)
	}
	return in, nil
}

// present writes canonical data as deSEC takes it: TXT text quoted, split
// into strings of at most 255 bytes, `"` and `\` escaped and bytes outside
// printable ASCII as \DDD; other types as they are.
func present(typ, data string) string {
	if typ != "TXT" && typ != "SPF" {
		return data
	}
	var b strings.Builder
	for i, part := range providers.SplitTXT(data) {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteByte('"')
		for j := 0; j < len(part); j++ {
			c := part[j]
			switch {
			case c == '"' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case c >= 0x20 && c < 0x7f:
				b.WriteByte(c)
			default:
				fmt.Fprintf(&b, "\\%03d", c)
			}
		}
		b.WriteByte('"')
	}
	return b.String()
}

// ttlOf returns the first TTL set among recs, in whole seconds, or 0.
func ttlOf(recs []libdns.RR) int {
	for _, r := range recs {
		if t := int(r.TTL / time.Second); t > 0 {
			return t
		}
	}
	return 0
}

// start returns a copy of the RRset as read, or a new empty one.
func start(live map[rrkey]*rrset, k rrkey) *rrset {
	if s := live[k]; s != nil {
		return &rrset{key: k, ttl: s.ttl, values: slices.Clone(s.values)}
	}
	return &rrset{key: k}
}

// changed reports whether next differs from what live holds.
func changed(live map[rrkey]*rrset, next *rrset) bool {
	old := live[next.key]
	if old == nil {
		return len(next.values) > 0
	}
	if len(next.values) == 0 {
		return true
	}
	return old.ttl != next.ttl || !slices.Equal(old.raws(), next.raws())
}

func finish(s *rrset, ttl int) {
	switch {
	case ttl > 0:
		s.ttl = ttl
	case s.ttl == 0:
		s.ttl = defaultTTL
	}
}

// AppendRecords implements libdns.RecordAppender: the values are added to
// their RRsets (a value already there is left as it is), which take the
// TTL given (deSEC has one TTL per RRset). One read, one bulk write.
func (p *Provider) AppendRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	in, err := group(recs, zone, false)
	if err != nil {
		return nil, fmt.Errorf("desec: appending: %w", err)
	}
	live, err := p.read(ctx, zone, in.keys)
	if err != nil {
		return nil, err
	}
	var writes []*rrset
	var out []libdns.Record
	for _, k := range in.keys {
		s := start(live, k)
		for _, r := range in.recs[k] {
			if !s.has(r.Data) {
				s.values = append(s.values, value{raw: present(k.typ, r.Data), data: r.Data})
			}
		}
		finish(s, ttlOf(in.recs[k]))
		if changed(live, s) {
			writes = append(writes, s)
		}
		for _, r := range in.recs[k] {
			r.TTL = time.Duration(s.ttl) * time.Second
			out = append(out, r)
		}
	}
	if err := p.write(ctx, zone, writes); err != nil {
		return nil, err
	}
	return out, nil
}

// SetRecords implements libdns.RecordSetter: for each RRset in recs, the
// values in recs become its only values (TTL: the first given, else the
// RRset's own, else 3600). One read (an RRset already as wanted is not
// written again), one bulk write.
func (p *Provider) SetRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	in, err := group(recs, zone, false)
	if err != nil {
		return nil, fmt.Errorf("desec: setting: %w", err)
	}
	live, err := p.read(ctx, zone, in.keys)
	if err != nil {
		return nil, err
	}
	var writes []*rrset
	var out []libdns.Record
	for _, k := range in.keys {
		s := start(live, k)
		old := map[string]string{}
		for _, v := range s.values {
			old[v.data] = v.raw
		}
		s.values = nil
		for _, r := range in.recs[k] {
			if s.has(r.Data) {
				continue
			}
			raw, ok := old[r.Data]
			if !ok {
				raw = present(k.typ, r.Data)
			}
			s.values = append(s.values, value{raw: raw, data: r.Data})
		}
		finish(s, ttlOf(in.recs[k]))
		if changed(live, s) {
			writes = append(writes, s)
		}
		for _, v := range s.values {
			out = append(out, libdns.RR{Name: k.name, Type: k.typ, TTL: time.Duration(s.ttl) * time.Second, Data: v.data})
		}
	}
	if err := p.write(ctx, zone, writes); err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteRecords implements libdns.RecordDeleter: the values matching recs
// are removed (an empty type or data, or a TTL of 0, matches any); an RRset
// left empty is deleted. Values not there are ignored. One read, one bulk
// write (none when nothing matches).
func (p *Provider) DeleteRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	in, err := group(recs, zone, true)
	if err != nil {
		return nil, fmt.Errorf("desec: deleting: %w", err)
	}
	live, err := p.read(ctx, zone, in.keys)
	if err != nil {
		return nil, err
	}
	liveKeys := make([]rrkey, 0, len(live))
	for k := range live {
		liveKeys = append(liveKeys, k)
	}
	slices.SortFunc(liveKeys, func(a, b rrkey) int { return strings.Compare(a.String(), b.String()) })
	var writes []*rrset
	var out []libdns.Record
	for _, k := range liveKeys {
		var want []libdns.RR
		want = append(want, in.recs[k]...)
		want = append(want, in.recs[rrkey{k.name, ""}]...)
		if len(want) == 0 {
			continue
		}
		s := start(live, k)
		kept := s.values[:0:0]
		for _, v := range s.values {
			if slices.ContainsFunc(want, func(w libdns.RR) bool {
				return (w.Data == "" || w.Data == v.data) && (w.TTL == 0 || int(w.TTL/time.Second) == s.ttl)
			}) {
				out = append(out, libdns.RR{Name: k.name, Type: k.typ, TTL: time.Duration(s.ttl) * time.Second, Data: v.data})
				continue
			}
			kept = append(kept, v)
		}
		s.values = kept
		if changed(live, s) {
			writes = append(writes, s)
		}
	}
	if err := p.write(ctx, zone, writes); err != nil {
		return nil, err
	}
	return out, nil
}

// ReplaceRecords implements providers.Replacer atomically: the RRsets
// touched are read, and written back in one bulk PATCH, which deSEC
// applies whole or not at all, each RRset in full: its values as read
// (foreign ones byte for byte) less those of remove (matched on canonical
// data, whatever the TTL) plus those of add (one already there and not
// removed is kept as it is); an RRset given values by add takes add's TTL.
// An RRset left empty is deleted. Requests: one read (see read), and one
// write unless nothing changes. Another client writing the same RRsets
// between the read and the write would see its change undone: deSEC has
// no conditional write (see ReplaceRecordsIf for what is checked).
func (p *Provider) ReplaceRecords(ctx context.Context, zone string, remove, add []libdns.Record) ([]libdns.Record, error) {
	return p.replace(ctx, zone, nil, remove, add)
}

// ReplaceRecordsIf implements providers.ConditionalReplacer as closely as
// the deSEC API allows. It has no conditional request (no version or
// If-Match on RRsets), so the RRsets of expect and those the write touches
// are read just before the write, in the same call, and compared with
// expect: a difference is a *providers.ChangedError and nothing is
// written. The write is then the one bulk request of ReplaceRecords, which
// deSEC applies whole or not at all, carrying every touched RRset in full
// as just read. When every RRset the write touches is expected absent it
// is a bulk POST, which deSEC refuses whole if any of them exists by then:
// that check is atomic. Otherwise (a PATCH) the window left is the time
// between this read and the write (one round trip): a change another
// client makes to those RRsets in it is overwritten.
func (p *Provider) ReplaceRecordsIf(ctx context.Context, zone string, expect []providers.RRsetState, remove, add []libdns.Record) ([]libdns.Record, error) {
	if expect == nil {
		expect = []providers.RRsetState{}
	}
	return p.replace(ctx, zone, expect, remove, add)
}

// replace is ReplaceRecords, and ReplaceRecordsIf when expect is not nil.
func (p *Provider) replace(ctx context.Context, zone string, expect []providers.RRsetState, remove, add []libdns.Record) ([]libdns.Record, error) {
	if err := providers.CheckReplace(remove, add); err != nil {
		return nil, fmt.Errorf("desec: zone %q: %w", zone, err)
	}
	rm, err := group(remove, zone, false)
	if err != nil {
		return nil, fmt.Errorf("desec: replacing: %w", err)
	}
	ad, err := group(add, zone, false)
	if err != nil {
		return nil, fmt.Errorf("desec: replacing: %w", err)
	}
	keys := slices.Clone(rm.keys)
	for _, k := range ad.keys {
		if _, ok := rm.recs[k]; !ok {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	readKeys := slices.Clone(keys)
	absent := map[rrkey]bool{}
	for _, e := range expect {
		k := rrkey{providers.RelativeName(e.Name, zone), strings.ToUpper(e.Type)}
		if len(e.Values) == 0 {
			absent[k] = true
		}
		if !slices.Contains(readKeys, k) {
			readKeys = append(readKeys, k)
		}
	}
	live, err := p.read(ctx, zone, readKeys)
	if err != nil {
		return nil, err
	}
	if expect != nil {
		var read []libdns.Record
		for _, s := range live {
			read = append(read, s.records()...)
		}
		if err := providers.CheckExpect(zone, expect, read); err != nil {
			return nil, fmt.Errorf("desec: zone %q: %w", zone, err)
		}
	}
	var writes []*rrset
	var out []libdns.Record
	create := expect != nil
	for _, k := range keys {
		s := start(live, k)
		// A value both removed and added (a new TTL) stays where it is.
		gone := map[string]bool{}
		for _, r := range rm.recs[k] {
			gone[r.Data] = true
		}
		for _, r := range ad.recs[k] {
			delete(gone, r.Data)
		}
		s.values = slices.DeleteFunc(s.values, func(v value) bool { return gone[v.data] })
		for _, r := range ad.recs[k] {
			if !s.has(r.Data) {
				s.values = append(s.values, value{raw: present(k.typ, r.Data), data: r.Data})
			}
		}
		finish(s, ttlOf(ad.recs[k]))
		if changed(live, s) {
			writes = append(writes, s)
			create = create && absent[k] && live[k] == nil && len(s.values) > 0
		}
		for _, r := range ad.recs[k] {
			out = append(out, r)
		}
	}
	if create && len(writes) > 0 {
		err = p.createAll(ctx, zone, writes)
	} else {
		err = p.write(ctx, zone, writes)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// createAll creates sets (each new) in one bulk POST, which deSEC refuses
// whole when any of them exists: then a *providers.ChangedError.
func (p *Provider) createAll(ctx context.Context, zone string, sets []*rrset) error {
	body := make([]apiRRset, len(sets))
	labels := make([]string, len(sets))
	keys := make([]rrkey, len(sets))
	for i, s := range sets {
		ttl := s.ttl
		body[i] = apiRRset{Subname: subname(s.key.name), Type: s.key.typ, TTL: &ttl, Records: s.raws()}
		labels[i] = fmt.Sprintf("%s (TTL %d)", s.key, s.ttl)
		keys[i] = s.key
	}
	what := fmt.Sprintf("desec: creating %s in zone %q", joinKeys(keys), zone)
	_, err := p.request(ctx, http.MethodPost, rrsetsPath(zone), nil, body, nil, what, labels)
	var se *statusError
	if errors.As(err, &se) && se.status == http.StatusBadRequest && strings.Contains(se.msg, "Another RRset with the same subdomain and type exists") {
		k := keys[0]
		for i, l := range labels {
			if strings.Contains(se.msg, l+": ") {
				k = keys[i]
				break
			}
		}
		// Another client created it since the read: say what it holds.
		ce := &providers.ChangedError{Zone: zone, Name: k.name, Type: k.typ}
		if now, rerr := p.read(ctx, zone, []rrkey{k}); rerr == nil && now[k] != nil {
			for _, v := range now[k].values {
				ce.Have = append(ce.Have, v.data)
			}
			slices.Sort(ce.Have)
		}
		return fmt.Errorf("desec: zone %q: %w", zone, ce)
	}
	return p.zoneErr(zone, err)
}
