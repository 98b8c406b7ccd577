// Package cloudflare is the Cloudflare backend, built on
// github.com/libdns/cloudflare and working around its defects: its
// SetRecords keeps only the last of several values and overwrites a lone
// foreign TXT at the apex (libdns/cloudflare#31), and a TXT over 255 bytes
// reads back as `a" "b` and cannot be deleted through it (#32). So this
// backend reads through the library and normalises what it reads, creates
// through the library, and sets and deletes by Cloudflare record ID, value
// by value, never touching a value it was not asked to remove.
//
// Settings: api_token (required, secret), zone_token (optional, secret: a
// Zone:Read token used to look zones up).
package cloudflare

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	libcf "github.com/libdns/cloudflare"
	"github.com/libdns/libdns"

	"github.com/maildns/maildns/providers"
)

// Type is the backend type name in maildns.yaml.
const Type = "cloudflare"

const baseURL = "https://api.cloudflare.com/client/v4"

func init() {
	providers.Register(Type, func(s *providers.Settings) (providers.Provider, error) {
		if s.Secret == nil {
			s.Secret = map[string]bool{}
		}
		s.Secret["api_token"] = true
		s.Secret["zone_token"] = true
		token, err := s.Required("api_token")
		if err != nil {
			return nil, err
		}
		zoneToken := s.String("zone_token", "")
		if err := checkToken(token); err != nil {
			return nil, &providers.SettingError{Key: "api_token", Err: err}
		}
		if zoneToken != "" {
			if err := checkToken(zoneToken); err != nil {
				return nil, &providers.SettingError{Key: "zone_token", Err: err}
			}
		}
		return New(Config{APIToken: token, ZoneToken: zoneToken})
	})
}

// checkToken rejects values that cannot be an API token, without showing them.
func checkToken(t string) error {
	if strings.TrimSpace(t) != t || strings.ContainsAny(t, " \t\r\n\"") {
		return errors.New("the token holds spaces, quotes or line breaks (a stray newline in the secret file?)")
	}
	return nil
}

// Config configures New.
type Config struct {
	APIToken  string // API token with Zone.DNS:Edit; required
	ZoneToken string // optional Zone:Read token for zone lookups
	// HTTPClient sends the requests; nil: a client with a 30s timeout.
	// Tests point it at a fake server.
	HTTPClient libcf.HTTPClient
}

// Provider is the Cloudflare backend. It is safe for concurrent use.
type Provider struct {
	lib       *libcf.Provider
	client    libcf.HTTPClient
	apiToken  string
	zoneToken string
	gate      func(ctx context.Context) error
	red       *providers.Redactor // the tokens, out of every error text

	mu    sync.Mutex
	zones map[string]string // zone name without dot -> zone ID
}

var (
	_ providers.Provider     = (*Provider)(nil)
	_ providers.RequestGater = (*Provider)(nil)
	_ providers.Replacer     = (*Provider)(nil)

	_ providers.ConditionalReplacer = (*Provider)(nil)
)

// New returns a Cloudflare backend. It touches no network.
func New(c Config) (*Provider, error) {
	if c.APIToken == "" {
		return nil, &providers.SettingError{Key: "api_token", Err: providers.ErrMissing}
	}
	client := c.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	p := &Provider{client: client, apiToken: c.APIToken, zoneToken: c.ZoneToken, zones: map[string]string{},
		red: providers.NewRedactor(c.APIToken, c.ZoneToken)}
	p.lib = &libcf.Provider{APIToken: c.APIToken, ZoneToken: c.ZoneToken, HTTPClient: doer{p}}
	return p, nil
}

// String keeps the tokens out of any print of the provider.
func (p *Provider) String() string { return "cloudflare provider" }

// GoString keeps the tokens out of %#v.
func (p *Provider) GoString() string { return "cloudflare.Provider{[redacted]}" }

// SetRequestGate implements providers.RequestGater: gate is called before
// every API request. Call it before the provider is used.
func (p *Provider) SetRequestGate(gate func(ctx context.Context) error) { p.gate = gate }

// doer sends every request, the library's and ours: it passes the gate
// (rate limit, counting) and turns 429 and 5xx answers into
// *providers.TransientError, which the library returns to us unchanged.
type doer struct{ p *Provider }

func (d doer) Do(req *http.Request) (*http.Response, error) {
	if d.p.gate != nil {
		if err := d.p.gate(req.Context()); err != nil {
			return nil, err
		}
	}
	resp, err := d.p.client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		return nil, providers.HTTPStatusError(resp.StatusCode, resp.Header, "cloudflare "+req.Method+" "+req.URL.Path, d.p.apiMessages(body))
	}
	return resp, nil
}

// cfRecord is a record as the API sends it.
type cfRecord struct {
	ID       string          `json:"id"`
	Type     string          `json:"type"`
	Name     string          `json:"name"`
	Content  string          `json:"content"`
	Priority *uint16         `json:"priority"`
	TTL      int             `json:"ttl"`
	Data     json.RawMessage `json:"data"`
}

type cfError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type cfResponse struct {
	Result     json.RawMessage `json:"result"`
	Success    bool            `json:"success"`
	Errors     []cfError       `json:"errors"`
	ResultInfo *struct {
		Page       int `json:"page"`
		PerPage    int `json:"per_page"`
		TotalCount int `json:"total_count"`
		TotalPages int `json:"total_pages"`
	} `json:"result_info"`
}

// apiMessages is the errors of an answer as one line, tokens redacted (an
// API may echo the request's credentials).
func (p *Provider) apiMessages(body []byte) string {
	var r cfResponse
	if json.Unmarshal(body, &r) != nil || len(r.Errors) == 0 {
		return ""
	}
	msgs := make([]string, len(r.Errors))
	for i, e := range r.Errors {
		msgs[i] = fmt.Sprintf("code %d: %s", e.Code, e.Message)
	}
	return p.red.Redact(strings.Join(msgs, "; "))
}

// api makes one request of our own and decodes its result into out.
func (p *Provider) api(ctx context.Context, method, path string, q url.Values, body, out any, token string) (*cfResponse, error) {
	u := baseURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := doer{p}.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("cloudflare %s %s: reading the answer: %w", method, path, err)
	}
	var r cfResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("cloudflare %s %s: HTTP %d: undecodable answer: %w", method, path, resp.StatusCode, err)
	}
	if resp.StatusCode >= 400 || !r.Success {
		return nil, fmt.Errorf("cloudflare %s %s: HTTP %d: %s", method, path, resp.StatusCode, p.apiMessages(raw))
	}
	if out != nil && len(r.Result) > 0 {
		if err := json.Unmarshal(r.Result, out); err != nil {
			return nil, fmt.Errorf("cloudflare %s %s: undecodable result: %w", method, path, err)
		}
	}
	return &r, nil
}

// zoneID looks the zone up once and remembers its ID.
func (p *Provider) zoneID(ctx context.Context, zone string) (string, error) {
	name := strings.ToLower(strings.TrimSuffix(zone, "."))
	p.mu.Lock()
	id, ok := p.zones[name]
	p.mu.Unlock()
	if ok {
		return id, nil
	}
	token := p.apiToken
	if p.zoneToken != "" {
		token = p.zoneToken
	}
	var zones []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	if _, err := p.api(ctx, http.MethodGet, "/zones", url.Values{"name": {name}}, nil, &zones, token); err != nil {
		return "", fmt.Errorf("looking up zone %q: %w", zone, err)
	}
	if len(zones) != 1 {
		return "", fmt.Errorf("looking up zone %q: cloudflare has %d zones of that name, want 1 (is the token scoped to it?)", zone, len(zones))
	}
	p.mu.Lock()
	p.zones[name] = zones[0].ID
	p.mu.Unlock()
	return zones[0].ID, nil
}

// live is a record in the zone with its Cloudflare ID, in canonical form.
type live struct {
	id string
	rr libdns.RR
}

// list returns the records at name (relative, canonical; "" for every
// name) of type typ ("" for every type), with their IDs, following
// pagination.
func (p *Provider) list(ctx context.Context, zoneID, zone, name, typ string) ([]live, error) {
	q := url.Values{"per_page": {"100"}}
	if name != "" {
		q.Set("name", strings.TrimSuffix(providers.AbsoluteName(name, zone), "."))
	}
	if typ != "" {
		q.Set("type", typ)
	}
	var out []live
	for page := 1; ; page++ {
		q.Set("page", strconv.Itoa(page))
		var recs []cfRecord
		r, err := p.api(ctx, http.MethodGet, "/zones/"+zoneID+"/dns_records", q, nil, &recs, p.apiToken)
		if err != nil {
			return nil, err
		}
		for _, c := range recs {
			rr, err := canonical(c, zone)
			if err != nil {
				return nil, fmt.Errorf("record %s in zone %q: %w", c.ID, zone, err)
			}
			out = append(out, live{id: c.ID, rr: rr})
		}
		if r.ResultInfo == nil || len(recs) == 0 || page >= r.ResultInfo.TotalPages {
			return out, nil
		}
	}
}

// canonical turns an API record into the canonical form.
func canonical(c cfRecord, zone string) (libdns.RR, error) {
	data := c.Content
	switch strings.ToUpper(c.Type) {
	case "MX":
		var pref uint16
		if c.Priority != nil {
			pref = *c.Priority
		}
		data = fmt.Sprintf("%d %s.", pref, strings.TrimSuffix(c.Content, "."))
	case "CNAME", "NS", "PTR":
		data = strings.TrimSuffix(c.Content, ".") + "."
	case "SRV":
		var d struct {
			Priority, Weight, Port uint16
			Target                 string
		}
		if json.Unmarshal(c.Data, &d) == nil && d.Target != "" {
			data = fmt.Sprintf("%d %d %d %s.", d.Priority, d.Weight, d.Port, strings.TrimSuffix(d.Target, "."))
		}
	}
	return providers.Normalize(libdns.RR{
		Name: providers.RelativeName(strings.TrimSuffix(c.Name, ".")+".", zone),
		Type: c.Type,
		TTL:  time.Duration(c.TTL) * time.Second,
		Data: data,
	}, zone)
}

// GetRecords implements libdns.RecordGetter: every record of the zone, in
// canonical form (one zone lookup on first use, then one request per 100
// records).
func (p *Provider) GetRecords(ctx context.Context, zone string) (_ []libdns.Record, err error) {
	// The library divides by result_info.per_page and dereferences
	// result_info without checking: an odd answer must not bring the
	// daemon down.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cloudflare: reading zone %q: malformed answer from the API (%v)", zone, r)
		}
	}()
	recs, err := p.lib.GetRecords(ctx, zone)
	if err != nil {
		// The library quotes the API's answer as it came.
		return nil, p.red.Error(fmt.Errorf("cloudflare: reading zone %q: %w", zone, err))
	}
	out := make([]libdns.Record, 0, len(recs))
	for _, r := range recs {
		if raw := r.RR(); raw.Type == "PTR" && raw.Data != "" && !strings.HasSuffix(raw.Data, ".") {
			// Cloudflare returns PTR targets without the trailing dot and
			// the library passes them on as they are (it completes CNAME,
			// MX and NS targets only); like every target Cloudflare
			// stores, they are absolute, not relative to the zone.
			raw.Data += "."
			r = raw
		}
		rr, err := providers.Normalize(r, zone)
		if err != nil {
			return nil, fmt.Errorf("cloudflare: reading zone %q: %w", zone, err)
		}
		out = append(out, rr)
	}
	return out, nil
}

// typed turns an RR into the libdns struct of its type, which the library
// needs to send MX priorities and CAA fields.
func typed(r libdns.Record) libdns.Record {
	if rr, ok := r.(libdns.RR); ok {
		if t, err := rr.Parse(); err == nil {
			return t
		}
	}
	return r
}

// AppendRecords implements libdns.RecordAppender: one create request per record.
func (p *Provider) AppendRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	var out []libdns.Record
	for _, r := range recs {
		created, err := p.create(ctx, zone, r)
		if err != nil {
			rr := r.RR()
			return out, p.red.Error(fmt.Errorf("cloudflare: adding %s %s %q in zone %q: %w", rr.Name, rr.Type, rr.Data, zone, err))
		}
		for _, c := range created {
			n, err := providers.Normalize(c, zone)
			if err != nil {
				return out, fmt.Errorf("cloudflare: zone %q: %w", zone, err)
			}
			out = append(out, n)
		}
	}
	return out, nil
}

// create adds one record through the library, except MX records, which
// it sends itself: the library leaves out a priority of 0 (the API then
// refuses the record) and strips the target of a null MX (RFC 7505, "0 .")
// to nothing; Cloudflare stores a null MX with the content ".".
func (p *Provider) create(ctx context.Context, zone string, r libdns.Record) ([]libdns.Record, error) {
	rr, err := providers.Normalize(r, zone)
	if err != nil || rr.Type != "MX" {
		recs, err := p.lib.AppendRecords(ctx, zone, []libdns.Record{typed(r)})
		return recs, p.red.Error(err)
	}
	pref, target, ok := strings.Cut(rr.Data, " ")
	n, err := strconv.ParseUint(pref, 10, 16)
	if !ok || err != nil {
		return nil, fmt.Errorf("MX data %q: want preference and target", rr.Data)
	}
	if target != "." {
		target = strings.TrimSuffix(target, ".")
	}
	zoneID, err := p.zoneID(ctx, zone)
	if err != nil {
		return nil, err
	}
	ttl := int(rr.TTL / time.Second)
	if ttl <= 0 {
		ttl = 1 // automatic
	}
	body := struct {
		Type     string `json:"type"`
		Name     string `json:"name"`
		Content  string `json:"content"`
		Priority uint16 `json:"priority"`
		TTL      int    `json:"ttl"`
	}{"MX", strings.TrimSuffix(providers.AbsoluteName(rr.Name, zone), "."), target, uint16(n), ttl}
	var c cfRecord
	if _, err := p.api(ctx, http.MethodPost, "/zones/"+zoneID+"/dns_records", nil, body, &c, p.apiToken); err != nil {
		return nil, err
	}
	got, err := canonical(c, zone)
	if err != nil {
		return nil, err
	}
	return []libdns.Record{got}, nil
}

type rrsetKey = providers.RRsetKey

// DeleteRecords implements libdns.RecordDeleter. Records are matched in
// canonical form (so a TXT split by Cloudflare into 255-byte strings
// matches) and deleted by ID; an empty type, data or a zero TTL match any.
// One list request per RRset, one delete request per record.
func (p *Provider) DeleteRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	keys, sets, err := providers.GroupRRsets(recs, zone)
	if err != nil {
		return nil, fmt.Errorf("cloudflare: deleting: %w", err)
	}
	zoneID, err := p.zoneID(ctx, zone)
	if err != nil {
		return nil, fmt.Errorf("cloudflare: %w", err)
	}
	var deleted []libdns.Record
	for _, k := range keys {
		have, err := p.list(ctx, zoneID, zone, k.Name, k.Type)
		if err != nil {
			return deleted, fmt.Errorf("cloudflare: reading %s %s in zone %q: %w", k.Name, k.Type, zone, err)
		}
		for _, h := range have {
			if !matchesAny(h.rr, sets[k]) {
				continue
			}
			if err := p.deleteID(ctx, zoneID, h.id); err != nil {
				return deleted, fmt.Errorf("cloudflare: deleting %s %s %q in zone %q: %w", h.rr.Name, h.rr.Type, h.rr.Data, zone, err)
			}
			deleted = append(deleted, h.rr)
		}
	}
	return deleted, nil
}

func matchesAny(have libdns.RR, want []libdns.RR) bool {
	for _, w := range want {
		if (w.Type == "" || w.Type == have.Type) && (w.Data == "" || w.Data == have.Data) && (w.TTL == 0 || w.TTL == have.TTL) {
			return true
		}
	}
	return false
}

func (p *Provider) deleteID(ctx context.Context, zoneID, id string) error {
	_, err := p.api(ctx, http.MethodDelete, "/zones/"+zoneID+"/dns_records/"+id, nil, nil, nil, p.apiToken)
	return err
}

// SetRecords implements libdns.RecordSetter: for each RRset in recs, the
// values in recs become its only values. Values already present stay
// untouched (their TTL is updated if it differs), missing values are
// created first, then values not in recs are deleted, all by ID; a CNAME
// is deleted before its replacement is created. Per RRset: one list
// request, then one request per value created, updated or deleted.
// Not atomic: a failure part way leaves the RRset between old and new.
func (p *Provider) SetRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	keys, sets, err := providers.GroupRRsets(recs, zone)
	if err != nil {
		return nil, fmt.Errorf("cloudflare: setting: %w", err)
	}
	zoneID, err := p.zoneID(ctx, zone)
	if err != nil {
		return nil, fmt.Errorf("cloudflare: %w", err)
	}
	var out []libdns.Record
	for _, k := range keys {
		if err := p.setRRset(ctx, zoneID, zone, k, sets[k]); err != nil {
			return nil, err
		}
		for _, rr := range dedupe(sets[k]) {
			out = append(out, rr)
		}
	}
	return out, nil
}

func dedupe(rrs []libdns.RR) []libdns.RR {
	seen := map[string]bool{}
	var out []libdns.RR
	for _, rr := range rrs {
		if !seen[rr.Data] {
			seen[rr.Data] = true
			out = append(out, rr)
		}
	}
	return out
}

func (p *Provider) setRRset(ctx context.Context, zoneID, zone string, k rrsetKey, want []libdns.RR) error {
	want = dedupe(want)
	have, err := p.list(ctx, zoneID, zone, k.Name, k.Type)
	if err != nil {
		return fmt.Errorf("cloudflare: reading %s %s in zone %q: %w", k.Name, k.Type, zone, err)
	}
	wanted := map[string]libdns.RR{}
	for _, w := range want {
		wanted[w.Data] = w
	}
	present := map[string]bool{}
	var stale []live
	for _, h := range have {
		w, ok := wanted[h.rr.Data]
		if !ok || present[h.rr.Data] { // not wanted, or a duplicate value
			stale = append(stale, h)
			continue
		}
		present[h.rr.Data] = true
		if w.TTL != h.rr.TTL && w.TTL > 0 {
			body := map[string]int{"ttl": int(w.TTL / time.Second)}
			if _, err := p.api(ctx, http.MethodPatch, "/zones/"+zoneID+"/dns_records/"+h.id, nil, body, nil, p.apiToken); err != nil {
				return fmt.Errorf("cloudflare: changing the TTL of %s %s %q in zone %q: %w", k.Name, k.Type, h.rr.Data, zone, err)
			}
		}
	}
	del := func() error {
		for _, h := range stale {
			if err := p.deleteID(ctx, zoneID, h.id); err != nil {
				return fmt.Errorf("cloudflare: deleting %s %s %q in zone %q: %w", k.Name, k.Type, h.rr.Data, zone, err)
			}
		}
		return nil
	}
	if k.Type == "CNAME" {
		if err := del(); err != nil {
			return err
		}
	}
	for _, w := range want {
		if present[w.Data] {
			continue
		}
		if _, err := p.create(ctx, zone, w); err != nil {
			return fmt.Errorf("cloudflare: adding %s %s %q in zone %q: %w", k.Name, k.Type, w.Data, zone, err)
		}
	}
	if k.Type != "CNAME" {
		return del()
	}
	return nil
}

// replaceSets checks and groups the records of a replacement: the RRsets
// it touches (those with removes first, in order, then those only added)
// and the records to remove and to add in each.
func replaceSets(zone string, remove, add []libdns.Record) (keys []rrsetKey, rsets, asets map[rrsetKey][]libdns.RR, err error) {
	if err := providers.CheckReplace(remove, add); err != nil {
		return nil, nil, nil, fmt.Errorf("cloudflare: zone %q: %w", zone, err)
	}
	rkeys, rsets, err := providers.GroupRRsets(remove, zone)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("cloudflare: replacing: %w", err)
	}
	akeys, asets, err := providers.GroupRRsets(add, zone)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("cloudflare: replacing: %w", err)
	}
	keys = rkeys
	for _, k := range akeys {
		if _, ok := rsets[k]; !ok {
			keys = append(keys, k)
		}
	}
	return keys, rsets, asets, nil
}

// ReplaceRecords implements providers.Replacer. Cloudflare's API (as used
// here) has no atomic batch, so the step is atomic per record, not per call:
// for each RRset (name, type) touched, one list request, then
//   - a value removed and added again (a new TTL) is changed in place;
//   - each other removed value is paired with an added value and its record
//     is changed in place (PATCH by ID: the record keeps its ID and goes
//     from the old to the new content at once), for A, AAAA, CNAME, MX, NS,
//     PTR and TXT;
//   - added values left over are created, then removed values left over are
//     deleted (a CNAME's are deleted first).
//
// So an update of one value (an SPF, a DMARC record) never shows two values
// nor none; an RRset whose number of values changes shows, for a moment,
// only part of the change. Removed values are matched on canonical data,
// whatever the TTL; a removed value not there is ignored, an added value
// already there (and not removed) is left as it is. Values not named are
// never touched. A failure part way leaves the records already changed.
func (p *Provider) ReplaceRecords(ctx context.Context, zone string, remove, add []libdns.Record) ([]libdns.Record, error) {
	keys, rsets, asets, err := replaceSets(zone, remove, add)
	if err != nil || len(keys) == 0 {
		return nil, err
	}
	zoneID, err := p.zoneID(ctx, zone)
	if err != nil {
		return nil, fmt.Errorf("cloudflare: %w", err)
	}
	var out []libdns.Record
	for _, k := range keys {
		if err := p.replaceRRset(ctx, zoneID, zone, k, rsets[k], asets[k]); err != nil {
			return nil, err
		}
		for _, rr := range dedupe(asets[k]) {
			out = append(out, rr)
		}
	}
	return out, nil
}

func (p *Provider) replaceRRset(ctx context.Context, zoneID, zone string, k rrsetKey, remove, add []libdns.RR) error {
	have, err := p.list(ctx, zoneID, zone, k.Name, k.Type)
	if err != nil {
		return fmt.Errorf("cloudflare: reading %s %s in zone %q: %w", k.Name, k.Type, zone, err)
	}
	return p.apply(ctx, zoneID, zone, planRRset(k, have, remove, add))
}

// patchOp changes record h in place to w (body: the fields sent).
type patchOp struct {
	h    live
	body map[string]any
	w    libdns.RR
}

// rrsetOps are the requests that replace values of one RRset.
type rrsetOps struct {
	k       rrsetKey
	patches []patchOp   // in place, by ID
	creates []libdns.RR // new records
	deletes []live      // by ID
}

func (o rrsetOps) size() int   { return len(o.patches) + len(o.creates) + len(o.deletes) }
func (o rrsetOps) empty() bool { return o.size() == 0 }

// planRRset pairs the records of an RRset as read (have) with the values
// removed and added (see ReplaceRecords): a value removed and added again
// (a new TTL) and then each other removed value paired with an added one
// are changed in place; added values left over are created, removed
// values left over deleted.
func planRRset(k rrsetKey, have []live, remove, add []libdns.RR) rrsetOps {
	ops := rrsetOps{k: k}
	gone := map[string]bool{}
	for _, r := range remove {
		gone[r.Data] = true
	}
	var stale []live
	kept := map[string]bool{}
	for _, h := range have {
		if gone[h.rr.Data] {
			stale = append(stale, h)
		} else {
			kept[h.rr.Data] = true
		}
	}
	var news []libdns.RR
	for _, a := range dedupe(add) {
		if !kept[a.Data] {
			news = append(news, a)
		}
	}
	// The same value with a new TTL: changed in place.
	used := make([]bool, len(stale))
	var rest []libdns.RR
	for _, w := range news {
		paired := false
		for i, h := range stale {
			if !used[i] && h.rr.Data == w.Data {
				used[i], paired = true, true
				ops.patches = append(ops.patches, patchOp{h, map[string]any{"ttl": cfTTL(w.TTL)}, w})
				break
			}
		}
		if !paired {
			rest = append(rest, w)
		}
	}
	// Another value: the record's content changed in place.
	for _, w := range rest {
		body, ok := patchBody(w)
		paired := false
		for i, h := range stale {
			if ok && !used[i] {
				used[i], paired = true, true
				ops.patches = append(ops.patches, patchOp{h, body, w})
				break
			}
		}
		if !paired {
			ops.creates = append(ops.creates, w)
		}
	}
	for i, h := range stale {
		if !used[i] {
			ops.deletes = append(ops.deletes, h)
		}
	}
	return ops
}

// apply sends the requests of ops one by one: the changes in place, then
// the creates and deletes (a CNAME's deletes first).
func (p *Provider) apply(ctx context.Context, zoneID, zone string, ops rrsetOps) error {
	k := ops.k
	for _, op := range ops.patches {
		if _, err := p.api(ctx, http.MethodPatch, "/zones/"+zoneID+"/dns_records/"+op.h.id, nil, op.body, nil, p.apiToken); err != nil {
			return fmt.Errorf("cloudflare: changing %s %s %q to %q in zone %q: %w", k.Name, k.Type, op.h.rr.Data, op.w.Data, zone, err)
		}
	}
	del := func() error {
		for _, h := range ops.deletes {
			if err := p.deleteID(ctx, zoneID, h.id); err != nil {
				return fmt.Errorf("cloudflare: deleting %s %s %q in zone %q: %w", k.Name, k.Type, h.rr.Data, zone, err)
			}
		}
		return nil
	}
	if k.Type == "CNAME" {
		if err := del(); err != nil {
			return err
		}
	}
	for _, w := range ops.creates {
		if _, err := p.create(ctx, zone, w); err != nil {
			return fmt.Errorf("cloudflare: adding %s %s %q in zone %q: %w", k.Name, k.Type, w.Data, zone, err)
		}
	}
	if k.Type != "CNAME" {
		return del()
	}
	return nil
}

// ReplaceRecordsIf implements providers.ConditionalReplacer as closely as
// the Cloudflare API allows. Cloudflare has no conditional write: the
// RRsets of expect and those the write touches are read again in this call
// (one request each; the zone, 100 records a request, from 8 RRsets up)
// and compared with expect (a difference: a
// *providers.ChangedError, nothing written). The changes then go out as
// one request to the batch endpoint (POST dns_records/batch), which
// Cloudflare runs in one database transaction, all or nothing: deletes
// and changes in place by record ID, so a record another client deleted
// since the read fails the whole batch, reported as ErrChanged. The window
// left, between the read and the batch (one round trip): a record another
// client changed in place (same ID) or added to a touched RRset is not
// seen, and a change in place overwrites it. A batch that holds a type
// whose value is not plain content (SRV, CAA, TLSA...) cannot be built:
// those changes are sent one by one after the check, as ReplaceRecords
// sends them. A write of more than 200 records (Cloudflare's limit for a
// batch on the free plan) goes in several batches of whole RRsets, each
// all or nothing.
func (p *Provider) ReplaceRecordsIf(ctx context.Context, zone string, expect []providers.RRsetState, remove, add []libdns.Record) ([]libdns.Record, error) {
	keys, rsets, asets, err := replaceSets(zone, remove, add)
	if err != nil || len(keys) == 0 {
		return nil, err
	}
	readKeys := append([]rrsetKey(nil), keys...)
	for _, e := range expect {
		k := rrsetKey{Name: providers.RelativeName(e.Name, zone), Type: strings.ToUpper(e.Type)}
		if !slices.Contains(readKeys, k) {
			readKeys = append(readKeys, k)
		}
	}
	zoneID, err := p.zoneID(ctx, zone)
	if err != nil {
		return nil, fmt.Errorf("cloudflare: %w", err)
	}
	haves := map[rrsetKey][]live{}
	var read []libdns.Record
	if len(readKeys) >= zoneReadAt {
		// Many RRsets: the zone in pages of 100 records, not a request
		// per RRset at 4 a second.
		all, err := p.list(ctx, zoneID, zone, "", "")
		if err != nil {
			return nil, fmt.Errorf("cloudflare: reading zone %q: %w", zone, err)
		}
		want := map[rrsetKey]bool{}
		for _, k := range readKeys {
			want[k] = true
		}
		for _, h := range all {
			if k := (rrsetKey{Name: h.rr.Name, Type: h.rr.Type}); want[k] {
				haves[k] = append(haves[k], h)
				read = append(read, h.rr)
			}
		}
	} else {
		for _, k := range readKeys {
			have, err := p.list(ctx, zoneID, zone, k.Name, k.Type)
			if err != nil {
				return nil, fmt.Errorf("cloudflare: reading %s %s in zone %q: %w", k.Name, k.Type, zone, err)
			}
			haves[k] = have
			for _, h := range have {
				read = append(read, h.rr)
			}
		}
	}
	if err := providers.CheckExpect(zone, expect, read); err != nil {
		return nil, fmt.Errorf("cloudflare: zone %q: %w", zone, err)
	}
	var all []rrsetOps
	var out []libdns.Record
	batchable := true
	for _, k := range keys {
		ops := planRRset(k, haves[k], rsets[k], asets[k])
		for _, w := range ops.creates {
			if _, ok := patchBody(w); !ok {
				batchable = false
			}
		}
		all = append(all, ops)
		for _, rr := range dedupe(asets[k]) {
			out = append(out, rr)
		}
	}
	if !batchable {
		for _, ops := range all {
			if err := p.apply(ctx, zoneID, zone, ops); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	// Cloudflare takes at most 200 records in a batch on every plan: a
	// larger write goes in several batches, each of whole RRsets.
	var chunk []rrsetOps
	n := 0
	for i, ops := range all {
		chunk = append(chunk, ops)
		n += ops.size()
		if i+1 < len(all) && n+all[i+1].size() <= maxBatch {
			continue
		}
		if err := p.batch(ctx, zoneID, zone, chunk, expect); err != nil {
			return nil, err
		}
		chunk, n = nil, 0
	}
	return out, nil
}

// zoneReadAt is the number of RRsets from which a conditional write reads
// the whole zone rather than each RRset.
const zoneReadAt = 8

// maxBatch is the number of records Cloudflare takes in one batch request
// on its free plan (3,500 on the others).
const maxBatch = 200

// batch sends every change of ops as one request to the batch endpoint.
func (p *Provider) batch(ctx context.Context, zoneID, zone string, all []rrsetOps, expect []providers.RRsetState) error {
	type idOnly struct {
		ID string `json:"id"`
	}
	body := struct {
		Deletes []idOnly         `json:"deletes,omitempty"`
		Patches []map[string]any `json:"patches,omitempty"`
		Posts   []map[string]any `json:"posts,omitempty"`
	}{}
	var names []string
	for _, ops := range all {
		if ops.empty() {
			continue
		}
		names = append(names, ops.k.Name+" "+ops.k.Type)
		for _, h := range ops.deletes {
			body.Deletes = append(body.Deletes, idOnly{h.id})
		}
		for _, op := range ops.patches {
			b := maps.Clone(op.body)
			b["id"] = op.h.id
			body.Patches = append(body.Patches, b)
		}
		for _, w := range ops.creates {
			b, _ := patchBody(w)
			b["type"] = w.Type
			b["name"] = strings.TrimSuffix(providers.AbsoluteName(w.Name, zone), ".")
			body.Posts = append(body.Posts, b)
		}
	}
	if len(names) == 0 {
		return nil
	}
	_, err := p.api(ctx, http.MethodPost, "/zones/"+zoneID+"/dns_records/batch", nil, body, nil, p.apiToken)
	if err == nil {
		return nil
	}
	what := fmt.Sprintf("cloudflare: replacing %s in zone %q", strings.Join(names, ", "), zone)
	if strings.Contains(err.Error(), "code 81044") {
		// A record the batch deletes or changes by ID is gone: another
		// client changed the zone since the read. Say what it holds now.
		for _, ops := range all {
			if ops.empty() {
				continue
			}
			now, rerr := p.list(ctx, zoneID, zone, ops.k.Name, ops.k.Type)
			if rerr != nil {
				break
			}
			ids := map[string]bool{}
			for _, h := range now {
				ids[h.id] = true
			}
			missing := false
			for _, h := range ops.deletes {
				missing = missing || !ids[h.id]
			}
			for _, op := range ops.patches {
				missing = missing || !ids[op.h.id]
			}
			if missing {
				ce := &providers.ChangedError{Zone: zone, Name: ops.k.Name, Type: ops.k.Type}
				for _, e := range expect {
					if providers.RelativeName(e.Name, zone) == ops.k.Name && strings.EqualFold(e.Type, ops.k.Type) {
						ce.Want = append([]string(nil), e.Values...)
					}
				}
				for _, h := range now {
					ce.Have = append(ce.Have, h.rr.Data)
				}
				slices.Sort(ce.Want)
				slices.Sort(ce.Have)
				return fmt.Errorf("%s: %w", what, ce)
			}
		}
		return fmt.Errorf("%s: a record it changes is gone (%v): %w", what, err, providers.ErrChanged)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// cfTTL is the API's TTL of d: whole seconds, 1 for automatic.
func cfTTL(d time.Duration) int {
	if t := int(d / time.Second); t > 0 {
		return t
	}
	return 1
}

// patchBody is the body of a PATCH that gives a record the value rr (in
// canonical form, TXT as text), sent as the library sends new records; ok
// is false for types whose value is not plain content (SRV, CAA, ...).
func patchBody(rr libdns.RR) (map[string]any, bool) {
	body := map[string]any{"ttl": cfTTL(rr.TTL)}
	switch rr.Type {
	case "A", "AAAA", "PTR":
		body["content"] = rr.Data
	case "CNAME", "NS":
		body["content"] = strings.TrimSuffix(rr.Data, ".")
	case "TXT":
		c := rr.Data
		if !strings.HasPrefix(c, `"`) && !strings.HasSuffix(c, `"`) {
			c = fmt.Sprintf("%q", c) // as the library quotes it on create
		}
		body["content"] = c
	case "MX":
		pref, target, ok := strings.Cut(rr.Data, " ")
		n, err := strconv.ParseUint(pref, 10, 16)
		if !ok || err != nil {
			return nil, false
		}
		if target != "." {
			target = strings.TrimSuffix(target, ".")
		}
		body["content"], body["priority"] = target, uint16(n)
	default:
		return nil, false
	}
	return body, true
}

// ListZones implements libdns.ZoneLister: the zones the token can see.
func (p *Provider) ListZones(ctx context.Context) ([]libdns.Zone, error) {
	zones, err := p.lib.ListZones(ctx)
	if err != nil {
		return nil, p.red.Error(fmt.Errorf("cloudflare: listing zones: %w", err))
	}
	return zones, nil
}
