// Package desec is an in-process fake of the subset of the deSEC REST API
// (https://desec.io/api/v1) that DNS clients use: the domain list and one
// domain, the RRset list of a domain (filters type and subname, cursor
// pagination with Link headers when more than PageSize RRsets match), one
// RRset (GET, PATCH, PUT, DELETE) and the bulk POST, PATCH and PUT of a
// list of RRsets. Like deSEC it
//   - keeps records in presentation format, canonicalised: TXT strings
//     quoted, `"` and `\` escaped, bytes outside printable ASCII as \DDD,
//     and refuses a TXT string over 255 bytes (a client must split it);
//   - applies a bulk request whole or not at all: every RRset is checked
//     first, and one invalid RRset answers 400 with one error object per
//     RRset (`{}` for the valid ones) and changes nothing;
//   - refuses a TTL below the domain's minimum (MinimumTTL, 3600 unless
//     set) or above 604800;
//   - deletes an RRset written with records [].
//
// It can answer 429 with Retry-After (or 5xx) a given number of times and
// counts every request by endpoint.
package desec

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/maildns/maildns/internal/fakes/ledger"
)

// RRset is an RRset as the fake stores it. Subname is "" at the apex;
// Records are in presentation format as deSEC stores them.
type RRset struct {
	Subname string
	Type    string
	TTL     int
	Records []string
	Created time.Time
	Touched time.Time
	seq     int
}

type key struct{ subname, typ string }

type domain struct {
	name    string
	created time.Time
	seq     int
	rrsets  map[key]*RRset
}

// Server is the fake. Its zero value is not usable; call New.
type Server struct {
	srv *httptest.Server
	// Ledger counts requests by "METHOD kind" ("GET domains", "GET domain",
	// "GET rrsets", "PATCH rrsets", "PUT rrsets", "GET rrset", "PATCH rrset",
	// "PUT rrset", "DELETE rrset"); Fail(n, status, retryAfter) answers the
	// next n requests with status (429, 5xx) and that Retry-After; a
	// retryAfter of "echo" answers a detail that quotes the request's token
	// (EchoToken's, or a short one).
	ledger.Ledger

	// Token, when set, is the only token accepted (Authorization: Token ...).
	Token string
	// EchoToken is the detail of an injected failure whose retryAfter is
	// "echo" (see Ledger), in which "{token}" stands for the token the
	// request carried: for tests that no error text shows it, wherever it
	// falls in a long answer. Default "Invalid token {token}.".
	EchoToken string
	// BeforeWrite, when set, is called as a write of RRsets (POST, PATCH,
	// PUT) arrives, before it is looked at (the fake's lock not held): a
	// test's other writer changes the zone there, between a client's read
	// and its write.
	BeforeWrite func()
	// MinimumTTL is every domain's minimum TTL (deSEC's default is 3600);
	// 0 accepts any TTL from 1 up. Set it before use.
	MinimumTTL int
	// PageSize is the number of items above which a list needs the cursor
	// parameter (deSEC: 500), and the size of a page.
	PageSize int

	mu      sync.Mutex
	domains map[string]*domain
	seq     int
}

// New starts a fake server; Close stops it.
func New() *Server {
	s := &Server{MinimumTTL: 3600, PageSize: 500, domains: map[string]*domain{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// URL is the API's base URL, as the setting base_url takes it
// ("http://127.0.0.1:port/api/v1").
func (s *Server) URL() string { return s.srv.URL + "/api/v1" }

// AddZone creates a domain ("example.com" or "example.com.").
func (s *Server) AddZone(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	n := strings.ToLower(strings.TrimSuffix(name, "."))
	s.domains[n] = &domain{name: n, created: time.Now().UTC(), seq: s.seq, rrsets: map[key]*RRset{}}
}

// Put stores an RRset as another client would have written it (subname ""
// or "@" for the apex), records canonicalised as deSEC does; the TTL is not
// checked against the minimum (an RRset may predate it). No records: the
// RRset is deleted. It panics on an
// unknown zone or invalid records: it is for seeding tests.
func (s *Server) Put(zone string, r RRset) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.domains[strings.ToLower(strings.TrimSuffix(zone, "."))]
	if d == nil {
		panic("fake desec: no zone " + zone)
	}
	if r.Subname == "@" {
		r.Subname = ""
	}
	recs, err := canonicalRecords(r.Type, r.Records)
	if err != nil {
		panic(fmt.Sprintf("fake desec: Put %q %s: %v", r.Subname, r.Type, err))
	}
	k := key{r.Subname, r.Type}
	if len(recs) == 0 {
		delete(d.rrsets, k) // as a write of records [] does
		return
	}
	if old := d.rrsets[k]; old != nil {
		old.Records = recs
		old.TTL = r.TTL
		old.Touched = time.Now().UTC()
		return
	}
	s.seq++
	now := time.Now().UTC()
	d.rrsets[k] = &RRset{Subname: r.Subname, Type: r.Type, TTL: r.TTL, Records: recs, Created: now, Touched: now, seq: s.seq}
}

// RRsets returns a copy of the zone's RRsets sorted by subname and type.
func (s *Server) RRsets(zone string) []RRset {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.domains[strings.ToLower(strings.TrimSuffix(zone, "."))]
	if d == nil {
		return nil
	}
	out := make([]RRset, 0, len(d.rrsets))
	for _, r := range d.rrsets {
		c := *r
		c.Records = append([]string(nil), r.Records...)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Subname != out[j].Subname {
			return out[i].Subname < out[j].Subname
		}
		return out[i].Type < out[j].Type
	})
	return out
}

func reply(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if body != nil {
		_ = json.NewEncoder(w).Encode(body)
	}
}

func detail(w http.ResponseWriter, status int, msg string) {
	reply(w, status, map[string]string{"detail": msg})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.EscapedPath(), "/api/v1/")
	var parts []string
	if ok && strings.HasSuffix(path, "/") {
		for _, p := range strings.Split(strings.TrimSuffix(path, "/"), "/") {
			u, err := url.PathUnescape(p)
			if err != nil {
				u = p
			}
			parts = append(parts, u)
		}
	}
	kind := "other"
	switch {
	case len(parts) == 1 && parts[0] == "domains":
		kind = "domains"
	case len(parts) == 2 && parts[0] == "domains":
		kind = "domain"
	case len(parts) == 3 && parts[0] == "domains" && parts[2] == "rrsets":
		kind = "rrsets"
	case len(parts) == 5 && parts[0] == "domains" && parts[2] == "rrsets":
		kind = "rrset"
	}
	k := r.Method + " " + kind

	if f, failed := s.Record(k); failed {
		status, ra := f.Status, f.Detail
		if ra == "echo" {
			s.mu.Lock()
			tmpl := s.EchoToken
			s.mu.Unlock()
			if tmpl == "" {
				tmpl = "Invalid token {token}."
			}
			detail(w, status, strings.ReplaceAll(tmpl, "{token}", strings.TrimPrefix(r.Header.Get("Authorization"), "Token ")))
			return
		}
		if ra != "" {
			w.Header().Set("Retry-After", ra)
		}
		if status == http.StatusTooManyRequests {
			detail(w, status, "Request was throttled. Expected available in "+ra+" seconds.")
		} else {
			detail(w, status, "Internal Server Error")
		}
		return
	}
	if s.BeforeWrite != nil && (kind == "rrsets" || kind == "rrset") && r.Method != http.MethodGet && r.Method != http.MethodDelete {
		s.BeforeWrite()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "Token ") || (s.Token != "" && auth != "Token "+s.Token) {
		detail(w, http.StatusUnauthorized, "Invalid token.")
		return
	}
	if kind == "other" {
		detail(w, http.StatusNotFound, "Not found.")
		return
	}
	if kind == "domains" {
		if r.Method != http.MethodGet {
			detail(w, http.StatusMethodNotAllowed, "Method \""+r.Method+"\" not allowed.")
			return
		}
		s.listDomains(w, r)
		return
	}
	d := s.domains[strings.ToLower(parts[1])]
	if d == nil {
		detail(w, http.StatusNotFound, "Not found.")
		return
	}
	switch {
	case kind == "domain" && r.Method == http.MethodGet:
		reply(w, http.StatusOK, s.domainJSON(d))
	case kind == "rrsets" && r.Method == http.MethodGet:
		s.listRRsets(w, r, d)
	case kind == "rrsets" && (r.Method == http.MethodPost || r.Method == http.MethodPatch || r.Method == http.MethodPut):
		s.write(w, r, d, nil)
	case kind == "rrset":
		sub := parts[3]
		switch {
		case sub == "@":
			sub = ""
		case strings.HasSuffix(sub, "..."):
			sub = strings.TrimSuffix(sub, "...")
		}
		k := key{sub, parts[4]}
		switch r.Method {
		case http.MethodGet:
			if rr := d.rrsets[k]; rr != nil {
				reply(w, http.StatusOK, rrsetJSON(d, rr))
				return
			}
			detail(w, http.StatusNotFound, "Not found.")
		case http.MethodDelete:
			delete(d.rrsets, k)
			reply(w, http.StatusNoContent, nil)
		case http.MethodPatch, http.MethodPut:
			s.write(w, r, d, &k)
		default:
			detail(w, http.StatusMethodNotAllowed, "Method \""+r.Method+"\" not allowed.")
		}
	default:
		detail(w, http.StatusMethodNotAllowed, "Method \""+r.Method+"\" not allowed.")
	}
}

type domainOut struct {
	Name       string    `json:"name"`
	MinimumTTL int       `json:"minimum_ttl"`
	Created    time.Time `json:"created"`
	Published  time.Time `json:"published"`
	Touched    time.Time `json:"touched"`
}

func (s *Server) domainJSON(d *domain) domainOut {
	min := s.MinimumTTL
	if min <= 0 {
		min = 1
	}
	return domainOut{Name: d.name, MinimumTTL: min, Created: d.created, Published: d.created, Touched: d.created}
}

type rrsetOut struct {
	Created time.Time `json:"created"`
	Domain  string    `json:"domain"`
	Subname string    `json:"subname"`
	Name    string    `json:"name"`
	Type    string    `json:"type"`
	Records []string  `json:"records"`
	TTL     int       `json:"ttl"`
	Touched time.Time `json:"touched"`
}

func rrsetJSON(d *domain, r *RRset) rrsetOut {
	name := d.name + "."
	if r.Subname != "" {
		name = r.Subname + "." + name
	}
	return rrsetOut{Created: r.Created, Domain: d.name, Subname: r.Subname, Name: name, Type: r.Type,
		Records: append([]string(nil), r.Records...), TTL: r.TTL, Touched: r.Touched}
}

// paginate answers items (already in order) as deSEC does: all of them when
// they fit in a page and no cursor was asked for; else 400 without the
// cursor parameter, and one page with Link headers with it.
func (s *Server) paginate(w http.ResponseWriter, r *http.Request, items []any) {
	size := s.PageSize
	if size <= 0 {
		size = 500
	}
	q := r.URL.Query()
	cur, paged := q["cursor"]
	if !paged {
		if len(items) > size {
			detail(w, http.StatusBadRequest, fmt.Sprintf("Pagination required. You can query up to %d items at a time ("+
				"%d total). Please use the `first` page link (see Link header).", size, len(items)))
			return
		}
		reply(w, http.StatusOK, items)
		return
	}
	offset := 0
	if len(cur) > 0 && cur[0] != "" {
		b, err := base64.RawURLEncoding.DecodeString(cur[0])
		n, err2 := strconv.Atoi(string(b))
		if err != nil || err2 != nil || n < 0 {
			detail(w, http.StatusNotFound, "Invalid cursor")
			return
		}
		offset = n
	}
	if offset > len(items) {
		offset = len(items)
	}
	end := min(offset+size, len(items))
	link := func(off int, rel string) string {
		u := *r.URL
		u.Scheme, u.Host = "http", r.Host
		qq := u.Query()
		if off == 0 {
			qq.Set("cursor", "")
		} else {
			qq.Set("cursor", base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(off))))
		}
		u.RawQuery = qq.Encode()
		return "<" + u.String() + `>; rel="` + rel + `"`
	}
	links := []string{link(0, "first")}
	if offset > 0 {
		links = append(links, link(max(0, offset-size), "prev"))
	}
	if end < len(items) {
		links = append(links, link(end, "next"))
	}
	w.Header().Set("Link", strings.Join(links, ", "))
	reply(w, http.StatusOK, items[offset:end])
}

func (s *Server) listDomains(w http.ResponseWriter, r *http.Request) {
	ds := make([]*domain, 0, len(s.domains))
	for _, d := range s.domains {
		ds = append(ds, d)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].name < ds[j].name })
	items := make([]any, 0, len(ds))
	for _, d := range ds {
		items = append(items, s.domainJSON(d))
	}
	s.paginate(w, r, items)
}

func (s *Server) listRRsets(w http.ResponseWriter, r *http.Request, d *domain) {
	q := r.URL.Query()
	var match []*RRset
	for _, rr := range d.rrsets {
		if t, ok := q["type"]; ok && rr.Type != t[0] {
			continue
		}
		if sub, ok := q["subname"]; ok && rr.Subname != sub[0] {
			continue
		}
		match = append(match, rr)
	}
	// Newest first, as deSEC lists them.
	sort.Slice(match, func(i, j int) bool { return match[i].seq > match[j].seq })
	items := make([]any, 0, len(match))
	for _, rr := range match {
		items = append(items, rrsetJSON(d, rr))
	}
	s.paginate(w, r, items)
}

// rrsetIn is one RRset of a write; nil fields were not given.
type rrsetIn struct {
	Subname *string   `json:"subname"`
	Type    *string   `json:"type"`
	TTL     *int      `json:"ttl"`
	Records *[]string `json:"records"`
}

type errs map[string][]string

func (e errs) add(field, msg string) { e[field] = append(e[field], msg) }

var subnameRE = regexp.MustCompile(`^([*]|([*][.])?([a-z0-9_-]{1,63}[.])*[a-z0-9_-]{1,63})$`)

// forbidden are the types deSEC manages itself or refuses.
var forbidden = map[string]bool{"SOA": true, "DNSKEY": true, "RRSIG": true, "NSEC": true, "NSEC3": true,
	"NSEC3PARAM": true, "CDS": true, "CDNSKEY": true, "ALIAS": true, "DNAME": true}

// change is what one RRset of a write does: set (records, TTL) or delete.
type change struct {
	k       key
	del     bool
	ttl     int
	records []string
}

// check validates one RRset of a write against the domain as it stands.
// single names the RRset of a one-RRset endpoint (nil for the list endpoint).
func (s *Server) check(d *domain, in rrsetIn, method string, single *key) (change, errs) {
	e := errs{}
	var c change
	if single != nil {
		c.k = *single
	} else {
		if in.Subname != nil {
			c.k.subname = *in.Subname
		}
		if in.Type == nil || *in.Type == "" {
			e.add("type", "This field is required.")
			return c, e
		}
		c.k.typ = *in.Type
	}
	if c.k.subname != "" && !subnameRE.MatchString(c.k.subname) {
		e.add("subname", "Subname can only use (lowercase) a-z, 0-9, ., -, and _, may start with a '*.', or just be '*'. Components may not exceed 63 characters.")
	}
	if c.k.typ != strings.ToUpper(c.k.typ) || !regexp.MustCompile(`^[A-Z][A-Z0-9]*$`).MatchString(c.k.typ) {
		e.add("type", "Type must be uppercase alphanumeric and start with a letter.")
	} else if forbidden[c.k.typ] {
		e.add("type", "You cannot tinker with the "+c.k.typ+" RR set. It is managed automatically.")
	}
	old := d.rrsets[c.k]
	full := method == http.MethodPost || method == http.MethodPut || (method == http.MethodPatch && old == nil)
	if in.Records != nil && len(*in.Records) == 0 {
		if method == http.MethodPost {
			e.add("records", "This field must not be empty.")
		}
		c.del = true
		return c, e
	}
	if method == http.MethodPost && old != nil {
		e.add("__all__", "Another RRset with the same subdomain and type exists for this domain.")
	}
	if full && in.TTL == nil {
		e.add("ttl", "This field is required.")
	}
	if full && in.Records == nil {
		e.add("records", "This field is required.")
	}
	c.ttl = 0
	if old != nil {
		c.ttl = old.TTL
		c.records = old.Records
	}
	if in.TTL != nil {
		c.ttl = *in.TTL
		min := s.MinimumTTL
		if min <= 0 {
			min = 1
		}
		if c.ttl < min {
			e.add("ttl", fmt.Sprintf("Ensure this value is greater than or equal to %d.", min))
		}
		if c.ttl > 604800 {
			e.add("ttl", "Ensure this value is less than or equal to 604800.")
		}
	}
	if in.Records != nil {
		recs, err := canonicalRecords(c.k.typ, *in.Records)
		if err != nil {
			e.add("records", err.Error())
		}
		c.records = recs
		if c.k.typ == "CNAME" && len(recs) > 1 {
			e.add("records", "CNAME RRset cannot have multiple records.")
		}
	}
	return c, e
}

// write serves a bulk write (single nil) or a write of one RRset.
func (s *Server) write(w http.ResponseWriter, r *http.Request, d *domain, single *key) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		detail(w, http.StatusBadRequest, "unreadable body")
		return
	}
	var ins []rrsetIn
	bulk := single == nil && strings.HasPrefix(strings.TrimSpace(string(body)), "[")
	if bulk {
		err = json.Unmarshal(body, &ins)
	} else {
		var one rrsetIn
		err = json.Unmarshal(body, &one)
		ins = []rrsetIn{one}
	}
	if err != nil {
		detail(w, http.StatusBadRequest, "JSON parse error - "+err.Error())
		return
	}
	if single == nil && !bulk && r.Method != http.MethodPost {
		detail(w, http.StatusBadRequest, "Expected a list of items but got type \"dict\".")
		return
	}
	changes := make([]change, len(ins))
	all := make([]errs, len(ins))
	bad := false
	seen := map[key]int{}
	for i, in := range ins {
		changes[i], all[i] = s.check(d, in, r.Method, single)
		if j, dup := seen[changes[i].k]; dup {
			for _, n := range []int{i, j} {
				all[n].add("__all__", "Same subname and type as in another RRset of this request.")
			}
		}
		seen[changes[i].k] = i
		if len(all[i]) > 0 {
			bad = true
		}
	}
	if !bad {
		// A CNAME shares its name with nothing, in the zone as it would be.
		after := map[key]bool{}
		for k := range d.rrsets {
			after[k] = true
		}
		for _, c := range changes {
			after[c.k] = !c.del
		}
		cname, other := map[string]bool{}, map[string]bool{}
		for k, live := range after {
			if !live {
				continue
			}
			if k.typ == "CNAME" {
				cname[k.subname] = true
			} else {
				other[k.subname] = true
			}
		}
		for sub := range cname {
			if other[sub] {
				detail(w, http.StatusBadRequest, fmt.Sprintf("RRset with conflicting type present: %q. (No other RRsets are allowed alongside CNAME.)", sub))
				return
			}
		}
	}
	if bad {
		if bulk {
			reply(w, http.StatusBadRequest, all)
		} else {
			reply(w, http.StatusBadRequest, all[0])
		}
		return
	}
	now := time.Now().UTC()
	var out []rrsetOut
	for _, c := range changes {
		if c.del {
			delete(d.rrsets, c.k)
			continue
		}
		rr := d.rrsets[c.k]
		if rr == nil {
			s.seq++
			rr = &RRset{Subname: c.k.subname, Type: c.k.typ, Created: now, seq: s.seq}
			d.rrsets[c.k] = rr
		}
		rr.TTL, rr.Records, rr.Touched = c.ttl, c.records, now
		out = append(out, rrsetJSON(d, rr))
	}
	status := http.StatusOK
	if r.Method == http.MethodPost {
		status = http.StatusCreated
	}
	switch {
	case bulk:
		if out == nil {
			out = []rrsetOut{}
		}
		reply(w, status, out)
	case len(out) == 0:
		reply(w, http.StatusNoContent, nil)
	default:
		reply(w, status, out[0])
	}
}

// canonicalRecords checks records of type typ and returns them as deSEC
// stores them, duplicates dropped.
func canonicalRecords(typ string, recs []string) ([]string, error) {
	out := make([]string, 0, len(recs))
	seen := map[string]bool{}
	for _, r := range recs {
		c, err := canonicalRecord(typ, r)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", r, err)
		}
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out, nil
}

func canonicalRecord(typ, r string) (string, error) {
	r = strings.TrimSpace(r)
	if r == "" {
		return "", fmt.Errorf("empty record")
	}
	target := func(t string) (string, error) {
		if !strings.HasSuffix(t, ".") {
			return "", fmt.Errorf("the name %s must end with a dot", t)
		}
		return t, nil
	}
	switch typ {
	case "A", "AAAA":
		ip, err := netip.ParseAddr(r)
		if err != nil || (typ == "A") != ip.Is4() {
			return "", fmt.Errorf("not an %s address", typ)
		}
		return ip.String(), nil
	case "MX":
		f := strings.Fields(r)
		if len(f) != 2 {
			return "", fmt.Errorf("want preference and exchange")
		}
		p, err := strconv.ParseUint(f[0], 10, 16)
		if err != nil {
			return "", fmt.Errorf("bad preference")
		}
		t, err := target(f[1])
		if err != nil {
			return "", err
		}
		return strconv.FormatUint(p, 10) + " " + t, nil
	case "CNAME", "NS", "PTR":
		if len(strings.Fields(r)) != 1 {
			return "", fmt.Errorf("want one name")
		}
		return target(r)
	case "TXT", "SPF":
		parts, err := parseTXT(r)
		if err != nil {
			return "", err
		}
		return renderTXT(parts), nil
	default:
		return r, nil
	}
}

// parseTXT reads TXT presentation data: quoted or bare strings, with the
// escapes \X and \DDD; each string at most 255 bytes.
func parseTXT(s string) ([][]byte, error) {
	var out [][]byte
	i := 0
	for i < len(s) {
		if s[i] == ' ' || s[i] == '\t' {
			i++
			continue
		}
		quoted := s[i] == '"'
		if quoted {
			i++
		}
		var b []byte
		closed := !quoted
		for i < len(s) {
			c := s[i]
			if quoted && c == '"' {
				i++
				closed = true
				break
			}
			if !quoted && (c == ' ' || c == '\t') {
				break
			}
			if !quoted && c == '"' {
				return nil, fmt.Errorf("a quote inside a bare string")
			}
			if c == '\\' {
				if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
					v, _ := strconv.Atoi(s[i+1 : i+4])
					if v > 255 {
						return nil, fmt.Errorf("bad escape \\%s", s[i+1:i+4])
					}
					b = append(b, byte(v))
					i += 4
					continue
				}
				if i+1 >= len(s) {
					return nil, fmt.Errorf("a backslash at the end")
				}
				b = append(b, s[i+1])
				i += 2
				continue
			}
			b = append(b, c)
			i++
		}
		if !closed {
			return nil, fmt.Errorf("unterminated quoted string")
		}
		if len(b) > 255 {
			return nil, fmt.Errorf("string too long (%d bytes; at most 255 per string)", len(b))
		}
		out = append(out, b)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no string")
	}
	return out, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// renderTXT writes TXT strings as deSEC returns them.
func renderTXT(parts [][]byte) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteByte('"')
		for _, c := range p {
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
