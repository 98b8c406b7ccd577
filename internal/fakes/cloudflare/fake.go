// Package cloudflare is an in-process fake of the subset of the Cloudflare v4
// API that DNS clients use: zone lookup by name, DNS record list with
// filters and pagination, create, update (PATCH/PUT), delete, and the
// batch endpoint (deletes, patches, puts, posts in one transaction: a
// missing record ID or an invalid record fails it whole). It stores
// TXT content as Cloudflare does (quoted as sent, content over 255 bytes
// split into `"a" "b"`), can answer 429 with Retry-After or 5xx a given
// number of times, and counts every call.
//
// Clients reach it through Client(), whose transport sends every request,
// whatever its host (api.cloudflare.com), to the fake.
package cloudflare

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/maildns/maildns/internal/fakes/ledger"
)

// Record is a DNS record as the fake stores it (Cloudflare's fields).
type Record struct {
	ID       string          `json:"id"`
	ZoneID   string          `json:"zone_id"`
	ZoneName string          `json:"zone_name"`
	Name     string          `json:"name"` // fully qualified, no trailing dot
	Type     string          `json:"type"`
	Content  string          `json:"content"`
	Priority *uint16         `json:"priority,omitempty"`
	TTL      int             `json:"ttl"`
	Proxied  bool            `json:"proxied"`
	Data     json.RawMessage `json:"data,omitempty"`
	Created  time.Time       `json:"created_on"`
	Modified time.Time       `json:"modified_on"`
}

type zone struct {
	id, name string
	recs     []*Record
}

// Server is the fake. Its zero value is not usable; call New.
type Server struct {
	srv *httptest.Server
	// Ledger counts requests by "METHOD kind" ("GET zones", "GET dns_records",
	// "POST dns_records", "PATCH dns_records", "PUT dns_records",
	// "DELETE dns_records", "POST batch"); Fail(n, status, retryAfter) answers the next n
	// requests with status (429, 5xx) and that Retry-After; a retryAfter
	// of "echo" answers errors that quote the request's credentials.
	ledger.Ledger

	// MaxPerPage caps per_page on lists (default 100), to force pagination.
	MaxPerPage int
	// Token, when set, is the only API token accepted (Authorization: Bearer).
	Token string
	// EchoCredentials answers every request 403 with errors that quote the
	// credentials it carried (the Authorization header, the token alone),
	// as a misbehaving API or proxy might: for tests that no error text
	// shows them.
	EchoCredentials bool
	// BeforeWrite, when set, is called as a write to DNS records (POST,
	// PATCH, PUT, DELETE, a batch) arrives, before it is looked at (the
	// fake's lock not held): a test's other writer changes the zone there,
	// between a client's read and its write.
	BeforeWrite func()

	mu     sync.Mutex
	zones  map[string]*zone // by id
	nextID int
}

// New starts a fake server; Close stops it.
func New() *Server {
	s := &Server{zones: map[string]*zone{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// URL is the server's base URL.
func (s *Server) URL() string { return s.srv.URL }

// Client returns an HTTP client whose every request goes to the fake,
// whatever host and scheme it names.
func (s *Server) Client() *http.Client {
	u, _ := url.Parse(s.srv.URL)
	return &http.Client{Transport: &rewrite{target: u, base: s.srv.Client().Transport}, Timeout: 30 * time.Second}
}

type rewrite struct {
	target *url.URL
	base   http.RoundTripper
}

func (r *rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme = r.target.Scheme
	req.URL.Host = r.target.Host
	req.Host = r.target.Host
	return r.base.RoundTrip(req)
}

// AddZone creates a zone ("example.com" or "example.com.") and returns its ID.
func (s *Server) AddZone(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	id := fmt.Sprintf("zone%04d", s.nextID)
	s.zones[id] = &zone{id: id, name: strings.ToLower(strings.TrimSuffix(name, "."))}
	return id
}

// Put stores a record as given (Name relative, "@" or FQDN; Content stored
// verbatim) and returns its ID: for seeding foreign records.
func (s *Server) Put(zoneName string, r Record) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.zoneByName(zoneName)
	if z == nil {
		panic("fake cloudflare: no zone " + zoneName)
	}
	s.nextID++
	r.ID = fmt.Sprintf("rec%06d", s.nextID)
	r.ZoneID, r.ZoneName = z.id, z.name
	r.Name = fqdn(r.Name, z.name)
	if r.TTL == 0 {
		r.TTL = 1
	}
	r.Created = time.Now().UTC()
	r.Modified = r.Created
	z.recs = append(z.recs, &r)
	return r.ID
}

// Remove deletes the record of that ID, as another client would; it
// reports whether there was one.
func (s *Server) Remove(zoneName, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.zoneByName(zoneName)
	if z == nil {
		return false
	}
	for i, r := range z.recs {
		if r.ID == id {
			z.recs = append(z.recs[:i], z.recs[i+1:]...)
			return true
		}
	}
	return false
}

// Records returns a copy of the zone's records, sorted by name, type, content.
func (s *Server) Records(zoneName string) []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.zoneByName(zoneName)
	if z == nil {
		return nil
	}
	out := make([]Record, 0, len(z.recs))
	for _, r := range z.recs {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		return a.Content < b.Content
	})
	return out
}

func (s *Server) zoneByName(name string) *zone {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	for _, z := range s.zones {
		if z.name == name {
			return z
		}
	}
	return nil
}

// fqdn completes a record name as Cloudflare does: "@" is the apex, a name
// not ending in the zone gets it appended; no trailing dot.
func fqdn(name, zone string) string {
	name = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(name), "."))
	switch {
	case name == "" || name == "@" || name == zone:
		return zone
	case strings.HasSuffix(name, "."+zone):
		return name
	default:
		return name + "." + zone
	}
}

type apiError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type resultInfo struct {
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	Count      int `json:"count"`
	TotalCount int `json:"total_count"`
	TotalPages int `json:"total_pages"`
}

type response struct {
	Result     any         `json:"result"`
	Success    bool        `json:"success"`
	Errors     []apiError  `json:"errors"`
	Messages   []any       `json:"messages"`
	ResultInfo *resultInfo `json:"result_info,omitempty"`
}

func reply(w http.ResponseWriter, status int, result any, info *resultInfo) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(response{Result: result, Success: true, Errors: []apiError{}, Messages: []any{}, ResultInfo: info})
}

func replyErr(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(response{Success: false, Errors: []apiError{{Code: code, Message: msg}}, Messages: []any{}})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/client/v4")
	parts := strings.Split(strings.Trim(path, "/"), "/")
	kind := "other"
	switch {
	case len(parts) == 1 && parts[0] == "zones":
		kind = "zones"
	case len(parts) == 4 && parts[0] == "zones" && parts[2] == "dns_records" && parts[3] == "batch":
		kind = "batch"
	case len(parts) >= 3 && parts[0] == "zones" && parts[2] == "dns_records":
		kind = "dns_records"
	}
	key := r.Method + " " + kind

	if f, failed := s.Record(key); failed {
		status, ra := f.Status, f.Detail
		if ra == "echo" {
			echoCredentials(w, r, status)
			return
		}
		if ra != "" {
			w.Header().Set("Retry-After", ra)
		}
		if status == http.StatusTooManyRequests {
			replyErr(w, status, 971, "Please wait and consider throttling your request speed")
		} else {
			replyErr(w, status, 10000, "Internal server error")
		}
		return
	}
	if s.BeforeWrite != nil && (kind == "dns_records" || kind == "batch") && r.Method != http.MethodGet {
		s.BeforeWrite()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	auth := r.Header.Get("Authorization")
	if s.EchoCredentials {
		echoCredentials(w, r, http.StatusForbidden)
		return
	}
	if !strings.HasPrefix(auth, "Bearer ") || (s.Token != "" && auth != "Bearer "+s.Token) {
		replyErr(w, http.StatusForbidden, 10000, "Authentication error")
		return
	}

	switch {
	case kind == "zones" && r.Method == http.MethodGet:
		s.listZones(w, r)
	case kind == "batch" && r.Method == http.MethodPost:
		z := s.zones[parts[1]]
		if z == nil {
			replyErr(w, http.StatusNotFound, 7003, "Could not route to /zones/"+parts[1]+"/dns_records/batch, perhaps your object identifier is invalid?")
			return
		}
		s.batch(w, r, z)
	case kind == "dns_records":
		z := s.zones[parts[1]]
		if z == nil {
			replyErr(w, http.StatusNotFound, 7003, "Could not route to /zones/"+parts[1]+"/dns_records, perhaps your object identifier is invalid?")
			return
		}
		switch {
		case len(parts) == 3 && r.Method == http.MethodGet:
			s.listRecords(w, r, z)
		case len(parts) == 3 && r.Method == http.MethodPost:
			s.createRecord(w, r, z)
		case len(parts) == 4 && (r.Method == http.MethodPatch || r.Method == http.MethodPut):
			s.updateRecord(w, r, z, parts[3])
		case len(parts) == 4 && r.Method == http.MethodDelete:
			s.deleteRecord(w, z, parts[3])
		case len(parts) == 4 && r.Method == http.MethodGet:
			for _, rec := range z.recs {
				if rec.ID == parts[3] {
					reply(w, http.StatusOK, rec, nil)
					return
				}
			}
			replyErr(w, http.StatusNotFound, 81044, "Record does not exist.")
		default:
			replyErr(w, http.StatusMethodNotAllowed, 10000, "method not allowed")
		}
	default:
		replyErr(w, http.StatusNotFound, 7000, "No route for that URI")
	}
}

// echoCredentials answers with errors that quote the request's credentials.
func echoCredentials(w http.ResponseWriter, r *http.Request, status int) {
	auth := r.Header.Get("Authorization")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(response{Success: false, Messages: []any{}, Errors: []apiError{
		{Code: 10000, Message: "Authentication error: request header Authorization: " + auth},
		{Code: 9109, Message: "Invalid access token " + strings.TrimPrefix(auth, "Bearer ") + " for " + r.URL.Path},
	}})
}

// batchInput is the body of POST dns_records/batch.
type batchInput struct {
	Deletes []struct {
		ID string `json:"id"`
	} `json:"deletes"`
	Patches []json.RawMessage `json:"patches"`
	Puts    []json.RawMessage `json:"puts"`
	Posts   []json.RawMessage `json:"posts"`
}

// batch serves POST dns_records/batch as Cloudflare does: deletes, then
// patches, puts and posts, in one transaction: a record ID that does not
// exist or an invalid record fails the whole batch, which changes nothing.
func (s *Server) batch(w http.ResponseWriter, r *http.Request, z *zone) {
	var in batchInput
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &in); err != nil {
		replyErr(w, http.StatusBadRequest, 9207, "Request body is invalid.")
		return
	}
	work := make([]*Record, len(z.recs))
	for i, rec := range z.recs {
		c := *rec
		work[i] = &c
	}
	tmp := &zone{id: z.id, name: z.name, recs: work}
	find := func(id string) int {
		for i, rec := range tmp.recs {
			if rec.ID == id {
				return i
			}
		}
		return -1
	}
	fail := func(code int, msg string) {
		replyErr(w, http.StatusBadRequest, code, msg)
	}
	now := time.Now().UTC()
	out := map[string][]Record{"deletes": {}, "patches": {}, "puts": {}, "posts": {}}
	for _, d := range in.Deletes {
		i := find(d.ID)
		if i < 0 {
			fail(81044, "Record does not exist.")
			return
		}
		out["deletes"] = append(out["deletes"], *tmp.recs[i])
		tmp.recs = append(tmp.recs[:i], tmp.recs[i+1:]...)
	}
	for kind, list := range map[string][]json.RawMessage{"patches": in.Patches, "puts": in.Puts} {
		for _, raw := range list {
			var id struct {
				ID string `json:"id"`
			}
			var rin recordInput
			if json.Unmarshal(raw, &id) != nil || json.Unmarshal(raw, &rin) != nil {
				fail(9207, "Request body is invalid.")
				return
			}
			i := find(id.ID)
			if i < 0 {
				fail(81044, "Record does not exist.")
				return
			}
			next := *tmp.recs[i]
			if code, msg := s.apply(tmp, &next, rin, kind == "puts"); code != 0 {
				fail(code, msg)
				return
			}
			next.Modified = now
			tmp.recs[i] = &next
			out[kind] = append(out[kind], next)
		}
	}
	for _, raw := range in.Posts {
		var rin recordInput
		if json.Unmarshal(raw, &rin) != nil {
			fail(9207, "Request body is invalid.")
			return
		}
		s.nextID++
		rec := &Record{ID: fmt.Sprintf("rec%06d", s.nextID), ZoneID: z.id, ZoneName: z.name, Created: now, Modified: now}
		if code, msg := s.apply(tmp, rec, rin, true); code != 0 {
			fail(code, msg)
			return
		}
		tmp.recs = append(tmp.recs, rec)
		out["posts"] = append(out["posts"], *rec)
	}
	z.recs = tmp.recs
	reply(w, http.StatusOK, out, nil)
}

type zoneJSON struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
	Type   string `json:"type"`
}

func (s *Server) listZones(w http.ResponseWriter, r *http.Request) {
	want := strings.ToLower(strings.TrimSuffix(r.URL.Query().Get("name"), "."))
	var out []zoneJSON
	ids := make([]string, 0, len(s.zones))
	for id := range s.zones {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		z := s.zones[id]
		if want == "" || z.name == want {
			out = append(out, zoneJSON{ID: z.id, Name: z.name, Status: "active", Type: "full"})
		}
	}
	if out == nil {
		out = []zoneJSON{}
	}
	reply(w, http.StatusOK, out, &resultInfo{Page: 1, PerPage: 20, Count: len(out), TotalCount: len(out), TotalPages: 1})
}

func (s *Server) listRecords(w http.ResponseWriter, r *http.Request, z *zone) {
	q := r.URL.Query()
	var match []*Record
	for _, rec := range z.recs {
		if v := q.Get("type"); v != "" && !strings.EqualFold(v, rec.Type) {
			continue
		}
		if v := first(q, "name", "name.exact"); v != "" && fqdn(v, z.name) != rec.Name {
			continue
		}
		if v := first(q, "content", "content.exact"); v != "" && v != rec.Content {
			continue
		}
		if v := q.Get("content.contains"); v != "" && !strings.Contains(strings.ToLower(rec.Content), strings.ToLower(v)) {
			continue
		}
		match = append(match, rec)
	}
	page, perPage := 1, 100
	if v, err := strconv.Atoi(q.Get("page")); err == nil && v > 0 {
		page = v
	}
	if v, err := strconv.Atoi(q.Get("per_page")); err == nil && v > 0 {
		perPage = v
	}
	maxPer := s.MaxPerPage
	if maxPer <= 0 {
		maxPer = 100
	}
	if perPage > maxPer {
		perPage = maxPer
	}
	total := len(match)
	lo := (page - 1) * perPage
	if lo > total {
		lo = total
	}
	hi := lo + perPage
	if hi > total {
		hi = total
	}
	out := make([]Record, 0, hi-lo)
	for _, rec := range match[lo:hi] {
		out = append(out, *rec)
	}
	reply(w, http.StatusOK, out, &resultInfo{Page: page, PerPage: perPage, Count: len(out), TotalCount: total, TotalPages: (total + perPage - 1) / perPage})
}

type recordInput struct {
	Type     *string          `json:"type"`
	Name     *string          `json:"name"`
	Content  *string          `json:"content"`
	Priority *uint16          `json:"priority"`
	TTL      *int             `json:"ttl"`
	Proxied  *bool            `json:"proxied"`
	Data     *json.RawMessage `json:"data"`
}

// apply validates in and applies it to rec (all fields for PUT and POST).
func (s *Server) apply(z *zone, rec *Record, in recordInput, full bool) (int, string) {
	if full && (in.Type == nil || in.Name == nil || *in.Type == "" || *in.Name == "") {
		return 9000, "DNS record type and name are required"
	}
	if in.Type != nil {
		rec.Type = strings.ToUpper(*in.Type)
	}
	if in.Name != nil {
		rec.Name = fqdn(*in.Name, z.name)
	}
	if in.Content != nil {
		rec.Content = *in.Content
	} else if full {
		rec.Content = ""
	}
	if in.Priority != nil {
		p := *in.Priority
		rec.Priority = &p
	}
	if in.TTL != nil {
		rec.TTL = *in.TTL
	}
	if rec.TTL == 0 {
		rec.TTL = 1
	}
	if rec.TTL != 1 && (rec.TTL < 30 || rec.TTL > 86400) {
		return 9021, "Invalid TTL. Must be between 30 and 86400 seconds, or 1 for Automatic."
	}
	if in.Proxied != nil {
		rec.Proxied = *in.Proxied
	}
	if in.Data != nil {
		rec.Data = append(json.RawMessage(nil), *in.Data...)
	}
	switch rec.Type {
	case "CNAME", "MX", "NS", "PTR":
		if rec.Content != "." || rec.Type != "MX" { // a null MX (RFC 7505) is stored as "."
			rec.Content = strings.ToLower(strings.TrimSuffix(rec.Content, "."))
		}
	case "TXT":
		rec.Content = storeTXT(rec.Content)
	}
	if rec.Content == "" && rec.Type != "SRV" && rec.Type != "HTTPS" && rec.Type != "SVCB" && rec.Type != "CAA" {
		return 9005, "Content for " + rec.Type + " record is invalid."
	}
	if rec.Type == "MX" && rec.Priority == nil {
		return 9101, "Priority is required for MX records."
	}
	for _, other := range z.recs {
		if other.ID != rec.ID && other.Type == rec.Type && other.Name == rec.Name && other.Content == rec.Content &&
			string(other.Data) == string(rec.Data) && (rec.Type != "MX" || *other.Priority == *rec.Priority) {
			return 81058, "An identical record already exists."
		}
		if other.ID != rec.ID && other.Name == rec.Name && (other.Type == "CNAME") != (rec.Type == "CNAME") {
			return 81053, "An A, AAAA, or CNAME record with that host already exists."
		}
	}
	return 0, ""
}

// storeTXT stores TXT content as Cloudflare does: a quoted string longer
// than 255 bytes (or unquoted text that long) is split into quoted strings
// of 255 bytes; other content is kept as sent.
func storeTXT(c string) string {
	inner := c
	if len(c) >= 2 && strings.HasPrefix(c, `"`) && strings.HasSuffix(c, `"`) {
		if strings.Contains(c[1:len(c)-1], `" "`) {
			return c // already split by the client
		}
		inner = c[1 : len(c)-1]
	}
	if len(inner) <= 255 {
		return c
	}
	var parts []string
	for len(inner) > 255 {
		cut := 255
		// never split inside an escape sequence
		for k := cut - 1; k >= cut-3 && k >= 0; k-- {
			if inner[k] == '\\' {
				cut = k
				break
			}
		}
		parts = append(parts, `"`+inner[:cut]+`"`)
		inner = inner[cut:]
	}
	parts = append(parts, `"`+inner+`"`)
	return strings.Join(parts, " ")
}

func (s *Server) createRecord(w http.ResponseWriter, r *http.Request, z *zone) {
	var in recordInput
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &in); err != nil {
		replyErr(w, http.StatusBadRequest, 9207, "Request body is invalid.")
		return
	}
	s.nextID++
	now := time.Now().UTC()
	rec := &Record{ID: fmt.Sprintf("rec%06d", s.nextID), ZoneID: z.id, ZoneName: z.name, Created: now, Modified: now}
	if code, msg := s.apply(z, rec, in, true); code != 0 {
		replyErr(w, http.StatusBadRequest, code, msg)
		return
	}
	z.recs = append(z.recs, rec)
	reply(w, http.StatusOK, rec, nil)
}

func (s *Server) updateRecord(w http.ResponseWriter, r *http.Request, z *zone, id string) {
	var in recordInput
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &in); err != nil {
		replyErr(w, http.StatusBadRequest, 9207, "Request body is invalid.")
		return
	}
	for i, rec := range z.recs {
		if rec.ID != id {
			continue
		}
		next := *rec
		if code, msg := s.apply(z, &next, in, r.Method == http.MethodPut); code != 0 {
			replyErr(w, http.StatusBadRequest, code, msg)
			return
		}
		next.Modified = time.Now().UTC()
		z.recs[i] = &next
		reply(w, http.StatusOK, &next, nil)
		return
	}
	replyErr(w, http.StatusNotFound, 81044, "Record does not exist.")
}

func (s *Server) deleteRecord(w http.ResponseWriter, z *zone, id string) {
	for i, rec := range z.recs {
		if rec.ID == id {
			z.recs = append(z.recs[:i], z.recs[i+1:]...)
			reply(w, http.StatusOK, map[string]string{"id": id}, nil)
			return
		}
	}
	replyErr(w, http.StatusNotFound, 81044, "Record does not exist.")
}

func first(q url.Values, keys ...string) string {
	for _, k := range keys {
		if v := q.Get(k); v != "" {
			return v
		}
	}
	return ""
}
