// Package route53 is an in-process fake of the subset of the Amazon Route 53
// REST/XML API that DNS clients use: ListHostedZonesByName,
// ListResourceRecordSets (with Route 53's ordering and pagination by
// NextRecordName/NextRecordType), ChangeResourceRecordSets (CREATE, UPSERT,
// DELETE; a batch applies whole or not at all, with InvalidChangeBatch
// errors like the real service: a DELETE that does not match the RRset
// exactly, values and TTL, a CREATE of an RRset that exists, a batch over
// 1,000 values or 32,000 characters) and GetChange. It can answer Throttling
// (HTTP 400) or 5xx a given number of times and counts every call.
// Request signatures are not checked.
//
// Point the AWS SDK at URL() with the endpoint setting or
// AWS_ENDPOINT_URL_ROUTE_53, with any static credentials.
package route53

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/maildns/maildns/internal/fakes/ledger"
)

const xmlns = "https://route53.amazonaws.com/doc/2013-04-01/"

// RRset is a resource record set as the fake stores it. Name is fully
// qualified with a trailing dot, lower case; TXT values are stored as sent
// (quoted strings).
type RRset struct {
	Name   string
	Type   string
	TTL    int64
	Values []string
}

type zone struct {
	id, name string
	private  bool
	sets     []*RRset
}

// Server is the fake. Create it with New.
type Server struct {
	srv *httptest.Server
	// Ledger counts requests by operation ("ListHostedZonesByName",
	// "ListResourceRecordSets", "ChangeResourceRecordSets", "GetChange");
	// Fail(n, status, code) answers the next n requests with 400 Throttling
	// when code is "Throttling", else status with code (default
	// "ServiceUnavailable" for 5xx).
	ledger.Ledger

	// MaxItems caps maxitems on ListResourceRecordSets (default 300, as
	// Route 53 does), to force pagination in tests.
	MaxItems int
	// SignatureMismatch answers every request 403 SignatureDoesNotMatch
	// with the message AWS gives, which quotes the canonical request (the
	// session token among its headers) and the string to sign, and the
	// Authorization header (the access key id): for tests that no error
	// text shows them.
	SignatureMismatch bool
	// BeforeChange, when set, is called as a ChangeResourceRecordSets
	// request arrives, before the batch is looked at (the fake's lock not
	// held): a test's other writer changes the zone there, between a
	// client's read and its write.
	BeforeChange func()

	mu     sync.Mutex
	zones  []*zone
	nextID int
}

// New starts a fake; Close stops it.
func New() *Server {
	s := &Server{}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// URL is the endpoint to give the SDK.
func (s *Server) URL() string { return s.srv.URL }

// AddZone creates a public hosted zone and returns its ID (without the
// /hostedzone/ prefix). It holds an SOA and NS set, as new zones do.
func (s *Server) AddZone(name string) string { return s.addZone(name, false) }

// AddPrivateZone creates a private hosted zone of that name.
func (s *Server) AddPrivateZone(name string) string { return s.addZone(name, true) }

func (s *Server) addZone(name string, private bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	name = canonName(name)
	id := fmt.Sprintf("Z%08dFAKE", s.nextID)
	z := &zone{id: id, name: name, private: private}
	z.sets = []*RRset{
		{Name: name, Type: "NS", TTL: 172800, Values: []string{"ns-1.awsdns-01.org.", "ns-2.awsdns-02.net."}},
		{Name: name, Type: "SOA", TTL: 900, Values: []string{"ns-1.awsdns-01.org. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"}},
	}
	s.zones = append(s.zones, z)
	return id
}

// Put stores an RRset as given, values byte for byte (seeding records as
// people made them, or another writer's change), in place of the RRset of
// that name and type if there is one; no values: the RRset is deleted.
func (s *Server) Put(zoneName string, set RRset) {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.zoneByName(zoneName)
	if z == nil {
		panic("fake route53: no zone " + zoneName)
	}
	set.Name = canonName(set.Name)
	set.Type = strings.ToUpper(set.Type)
	set.Values = append([]string(nil), set.Values...)
	for i, old := range z.sets {
		if old.Name == set.Name && old.Type == set.Type {
			if len(set.Values) == 0 {
				z.sets = append(z.sets[:i], z.sets[i+1:]...)
			} else {
				z.sets[i] = &set
			}
			return
		}
	}
	if len(set.Values) > 0 {
		z.sets = append(z.sets, &set)
	}
}

// RRsets returns a copy of the zone's sets in Route 53 order.
func (s *Server) RRsets(zoneName string) []RRset {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.zoneByName(zoneName)
	if z == nil {
		return nil
	}
	sortSets(z.sets)
	out := make([]RRset, 0, len(z.sets))
	for _, r := range z.sets {
		c := *r
		c.Values = append([]string(nil), r.Values...)
		out = append(out, c)
	}
	return out
}

func (s *Server) zoneByName(name string) *zone {
	name = canonName(name)
	for _, z := range s.zones {
		if z.name == name {
			return z
		}
	}
	return nil
}

func (s *Server) zoneByID(id string) *zone {
	id = strings.TrimPrefix(id, "/hostedzone/")
	for _, z := range s.zones {
		if z.id == id {
			return z
		}
	}
	return nil
}

// canonName lower-cases, adds the trailing dot and writes "*" as Route 53
// returns it (\052).
func canonName(n string) string {
	n = strings.ToLower(strings.TrimSpace(n))
	n = strings.ReplaceAll(n, "*", `\052`)
	if !strings.HasSuffix(n, ".") {
		n += "."
	}
	return n
}

// orderKey sorts names as Route 53 lists them: by labels from the right.
func orderKey(name string) string {
	labels := strings.Split(strings.TrimSuffix(name, "."), ".")
	for i, j := 0, len(labels)-1; i < j; i, j = i+1, j-1 {
		labels[i], labels[j] = labels[j], labels[i]
	}
	return strings.Join(labels, "\x00")
}

func less(aName, aType, bName, bType string) bool {
	ka, kb := orderKey(aName), orderKey(bName)
	if ka != kb {
		return ka < kb
	}
	return aType < bType
}

func sortSets(sets []*RRset) {
	sort.SliceStable(sets, func(i, j int) bool { return less(sets[i].Name, sets[i].Type, sets[j].Name, sets[j].Type) })
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/2013-04-01")
	parts := strings.Split(strings.Trim(path, "/"), "/")
	op := "Unknown"
	switch {
	case r.Method == http.MethodGet && len(parts) == 1 && parts[0] == "hostedzonesbyname":
		op = "ListHostedZonesByName"
	case r.Method == http.MethodGet && len(parts) == 3 && parts[0] == "hostedzone" && parts[2] == "rrset":
		op = "ListResourceRecordSets"
	case r.Method == http.MethodPost && len(parts) == 3 && parts[0] == "hostedzone" && parts[2] == "rrset":
		op = "ChangeResourceRecordSets"
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "change":
		op = "GetChange"
	}

	if f, failed := s.Record(op); failed {
		status, code := f.Status, f.Detail
		switch {
		case code == "Throttling":
			writeErr(w, http.StatusBadRequest, "Sender", "Throttling", "Rate exceeded")
		case code == "SignatureDoesNotMatch":
			writeErr(w, http.StatusForbidden, "Sender", code, signatureMessage(r))
		case status >= 500:
			if code == "" {
				code = "ServiceUnavailable"
			}
			writeErr(w, status, "Receiver", code, "Service unavailable")
		default:
			writeErr(w, status, "Sender", code, "injected failure")
		}
		return
	}
	if op == "ChangeResourceRecordSets" && s.BeforeChange != nil {
		s.BeforeChange()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.SignatureMismatch {
		writeErr(w, http.StatusForbidden, "Sender", "SignatureDoesNotMatch", signatureMessage(r))
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		writeErr(w, http.StatusForbidden, "Sender", "MissingAuthenticationToken", "Missing Authentication Token")
		return
	}

	switch op {
	case "ListHostedZonesByName":
		s.listZones(w, r)
	case "ListResourceRecordSets":
		s.listSets(w, r, parts[1])
	case "ChangeResourceRecordSets":
		s.change(w, r, parts[1])
	case "GetChange":
		writeXML(w, http.StatusOK, getChangeResponse{Xmlns: xmlns, ChangeInfo: changeInfo{
			ID: "/change/" + parts[1], Status: "INSYNC", SubmittedAt: time.Now().UTC().Format(time.RFC3339)}})
	default:
		writeErr(w, http.StatusNotFound, "Sender", "UnknownOperationException", "unknown operation "+r.Method+" "+r.URL.Path)
	}
}

// signatureMessage is AWS's SignatureDoesNotMatch message for r: it quotes
// the canonical request and the string to sign.
func signatureMessage(r *http.Request) string {
	auth := r.Header.Get("Authorization")
	// The credential: the access key id and the scope, as a misbehaving
	// endpoint might quote it in the string to sign.
	scope := ""
	if _, cred, ok := strings.Cut(auth, "Credential="); ok {
		scope, _, _ = strings.Cut(cred, ",")
	}
	hdrs := []string{"host:" + r.Host}
	for _, h := range []string{"x-amz-date", "x-amz-security-token"} {
		if v := r.Header.Get(h); v != "" {
			hdrs = append(hdrs, h+":"+v)
		}
	}
	canonical := r.Method + "\n" + r.URL.EscapedPath() + "\n" + r.URL.RawQuery + "\n" + strings.Join(hdrs, "\n") + "\n"
	return "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key " +
		"and signing method. Consult the service documentation for details.\n\nThe Canonical String for this request should have been\n'" +
		canonical + "'\n\nThe String-to-Sign should have been\n'AWS4-HMAC-SHA256\n" + r.Header.Get("X-Amz-Date") + "\n" + scope + "\n'" +
		"\n\nThe request carried: Authorization: " + auth + "; X-Amz-Security-Token=" + r.Header.Get("X-Amz-Security-Token")
}

type errorResponse struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Error   struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

func writeErr(w http.ResponseWriter, status int, typ, code, msg string) {
	var e errorResponse
	e.Xmlns = xmlns
	e.Error.Type, e.Error.Code, e.Error.Message = typ, code, msg
	e.RequestID = "fake-request"
	writeXML(w, status, e)
}

type invalidChangeBatch struct {
	XMLName   xml.Name `xml:"InvalidChangeBatch"`
	Xmlns     string   `xml:"xmlns,attr"`
	Messages  []string `xml:"Messages>Message"`
	RequestID string   `xml:"RequestId"`
}

func writeXML(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", "fake-request")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, xml.Header)
	_ = xml.NewEncoder(w).Encode(v)
}

type hostedZone struct {
	ID              string `xml:"Id"`
	Name            string `xml:"Name"`
	CallerReference string `xml:"CallerReference"`
	Config          struct {
		PrivateZone bool `xml:"PrivateZone"`
	} `xml:"Config"`
	ResourceRecordSetCount int `xml:"ResourceRecordSetCount"`
}

type listZonesResponse struct {
	XMLName          xml.Name     `xml:"ListHostedZonesByNameResponse"`
	Xmlns            string       `xml:"xmlns,attr"`
	HostedZones      []hostedZone `xml:"HostedZones>HostedZone"`
	DNSName          string       `xml:"DNSName,omitempty"`
	IsTruncated      bool         `xml:"IsTruncated"`
	MaxItems         int          `xml:"MaxItems"`
	NextDNSName      string       `xml:"NextDNSName,omitempty"`
	NextHostedZoneID string       `xml:"NextHostedZoneId,omitempty"`
}

func (s *Server) listZones(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	start := ""
	if v := q.Get("dnsname"); v != "" {
		start = canonName(v)
	}
	maxItems := 100
	if v, err := strconv.Atoi(q.Get("maxitems")); err == nil && v > 0 && v < maxItems {
		maxItems = v
	}
	zs := append([]*zone(nil), s.zones...)
	sort.SliceStable(zs, func(i, j int) bool { return orderKey(zs[i].name) < orderKey(zs[j].name) })
	resp := listZonesResponse{Xmlns: xmlns, DNSName: q.Get("dnsname"), MaxItems: maxItems}
	for _, z := range zs {
		if start != "" && orderKey(z.name) < orderKey(start) {
			continue
		}
		if len(resp.HostedZones) == maxItems {
			resp.IsTruncated = true
			resp.NextDNSName, resp.NextHostedZoneID = z.name, "/hostedzone/"+z.id
			break
		}
		hz := hostedZone{ID: "/hostedzone/" + z.id, Name: z.name, CallerReference: "fake-" + z.id, ResourceRecordSetCount: len(z.sets)}
		hz.Config.PrivateZone = z.private
		resp.HostedZones = append(resp.HostedZones, hz)
	}
	writeXML(w, http.StatusOK, resp)
}

type xmlRecord struct {
	Value string `xml:"Value"`
}

type xmlSet struct {
	Name            string      `xml:"Name"`
	Type            string      `xml:"Type"`
	TTL             *int64      `xml:"TTL,omitempty"`
	ResourceRecords []xmlRecord `xml:"ResourceRecords>ResourceRecord"`
	AliasTarget     *struct {
		DNSName string `xml:"DNSName"`
	} `xml:"AliasTarget,omitempty"`
	SetIdentifier string `xml:"SetIdentifier,omitempty"`
}

type listSetsResponse struct {
	XMLName        xml.Name `xml:"ListResourceRecordSetsResponse"`
	Xmlns          string   `xml:"xmlns,attr"`
	Sets           []xmlSet `xml:"ResourceRecordSets>ResourceRecordSet"`
	IsTruncated    bool     `xml:"IsTruncated"`
	MaxItems       int      `xml:"MaxItems"`
	NextRecordName string   `xml:"NextRecordName,omitempty"`
	NextRecordType string   `xml:"NextRecordType,omitempty"`
}

func toXML(r *RRset) xmlSet {
	ttl := r.TTL
	x := xmlSet{Name: r.Name, Type: r.Type, TTL: &ttl}
	for _, v := range r.Values {
		x.ResourceRecords = append(x.ResourceRecords, xmlRecord{Value: v})
	}
	return x
}

func (s *Server) listSets(w http.ResponseWriter, r *http.Request, id string) {
	z := s.zoneByID(id)
	if z == nil {
		writeErr(w, http.StatusNotFound, "Sender", "NoSuchHostedZone", "No hosted zone found with ID: "+id)
		return
	}
	q := r.URL.Query()
	startName, startType := q.Get("name"), strings.ToUpper(q.Get("type"))
	if startType != "" && startName == "" {
		writeErr(w, http.StatusBadRequest, "Sender", "InvalidInput", "The input is not valid: type requires name")
		return
	}
	if startName != "" {
		startName = canonName(startName)
	}
	maxCap := s.MaxItems
	if maxCap <= 0 {
		maxCap = 300
	}
	maxItems := maxCap
	if v, err := strconv.Atoi(q.Get("maxitems")); err == nil && v > 0 && v < maxItems {
		maxItems = v
	}
	sortSets(z.sets)
	resp := listSetsResponse{Xmlns: xmlns, MaxItems: maxItems}
	for _, set := range z.sets {
		if startName != "" && less(set.Name, set.Type, startName, startType) {
			continue
		}
		if len(resp.Sets) == maxItems {
			resp.IsTruncated = true
			resp.NextRecordName, resp.NextRecordType = set.Name, set.Type
			break
		}
		resp.Sets = append(resp.Sets, toXML(set))
	}
	writeXML(w, http.StatusOK, resp)
}

type changeRequest struct {
	XMLName     xml.Name `xml:"ChangeResourceRecordSetsRequest"`
	ChangeBatch struct {
		Comment string `xml:"Comment"`
		Changes []struct {
			Action string `xml:"Action"`
			Set    xmlSet `xml:"ResourceRecordSet"`
		} `xml:"Changes>Change"`
	} `xml:"ChangeBatch"`
}

type changeInfo struct {
	ID          string `xml:"Id"`
	Status      string `xml:"Status"`
	SubmittedAt string `xml:"SubmittedAt"`
}

type changeResponse struct {
	XMLName    xml.Name   `xml:"ChangeResourceRecordSetsResponse"`
	Xmlns      string     `xml:"xmlns,attr"`
	ChangeInfo changeInfo `xml:"ChangeInfo"`
}

type getChangeResponse struct {
	XMLName    xml.Name   `xml:"GetChangeResponse"`
	Xmlns      string     `xml:"xmlns,attr"`
	ChangeInfo changeInfo `xml:"ChangeInfo"`
}

func sameValues(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := append([]string(nil), a...), append([]string(nil), b...)
	sort.Strings(x)
	sort.Strings(y)
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}

func (s *Server) change(w http.ResponseWriter, r *http.Request, id string) {
	z := s.zoneByID(id)
	if z == nil {
		writeErr(w, http.StatusNotFound, "Sender", "NoSuchHostedZone", "No hosted zone found with ID: "+id)
		return
	}
	var req changeRequest
	if err := xml.NewDecoder(r.Body).Decode(&req); err != nil {
		writeErr(w, http.StatusBadRequest, "Sender", "InvalidInput", "malformed request: "+err.Error())
		return
	}
	if len(req.ChangeBatch.Changes) == 0 {
		writeErr(w, http.StatusBadRequest, "Sender", "InvalidInput", "ChangeBatch has no changes")
		return
	}
	// Work on a copy: the batch applies whole or not at all.
	sets := make([]*RRset, 0, len(z.sets))
	for _, set := range z.sets {
		c := *set
		c.Values = append([]string(nil), set.Values...)
		sets = append(sets, &c)
	}
	find := func(name, typ string) int {
		for i, set := range sets {
			if set.Name == name && set.Type == typ {
				return i
			}
		}
		return -1
	}
	var msgs []string
	// Route 53's limits on one batch: 1,000 values, 32,000 characters in
	// them (an UPSERT counts twice).
	nrec, nchar := 0, 0
	for _, c := range req.ChangeBatch.Changes {
		k := 1
		if c.Action == "UPSERT" {
			k = 2
		}
		for _, rr := range c.Set.ResourceRecords {
			nrec, nchar = nrec+k, nchar+k*len(rr.Value)
		}
	}
	if nrec > 1000 {
		msgs = append(msgs, "Number of records limit of 1000 exceeded.")
	}
	if nchar > 32000 {
		msgs = append(msgs, "RDATA character limit of 32000 exceeded.")
	}
	for _, c := range req.ChangeBatch.Changes {
		name, typ := canonName(c.Set.Name), strings.ToUpper(c.Set.Type)
		var values []string
		seen := map[string]bool{}
		for _, rr := range c.Set.ResourceRecords {
			if seen[rr.Value] {
				msgs = append(msgs, fmt.Sprintf("Duplicate Resource Record: '%s'", rr.Value))
			}
			seen[rr.Value] = true
			values = append(values, rr.Value)
		}
		if c.Set.TTL == nil || len(values) == 0 {
			msgs = append(msgs, fmt.Sprintf("Invalid Resource Record Set: %s type %s needs a TTL and at least one value", name, typ))
			continue
		}
		if name != z.name && !strings.HasSuffix(name, "."+z.name) {
			msgs = append(msgs, fmt.Sprintf("RRSet with DNS name %s is not permitted in zone %s", name, z.name))
			continue
		}
		if typ == "TXT" || typ == "SPF" {
			for _, v := range values {
				if msg := checkTXT(v); msg != "" {
					msgs = append(msgs, msg)
				}
			}
		}
		i := find(name, typ)
		next := &RRset{Name: name, Type: typ, TTL: *c.Set.TTL, Values: values}
		switch c.Action {
		case "CREATE":
			if i >= 0 {
				msgs = append(msgs, fmt.Sprintf("Tried to create resource record set [name='%s', type='%s'] but it already exists", name, typ))
				continue
			}
			sets = append(sets, next)
		case "UPSERT":
			if i >= 0 {
				sets[i] = next
			} else {
				sets = append(sets, next)
			}
		case "DELETE":
			if i < 0 {
				msgs = append(msgs, fmt.Sprintf("Tried to delete resource record set [name='%s', type='%s'] but it was not found", name, typ))
				continue
			}
			// Route 53 deletes an RRset only when the DELETE names it
			// exactly: every value as stored, and its TTL.
			if sets[i].TTL != next.TTL || !sameValues(sets[i].Values, next.Values) {
				msgs = append(msgs, fmt.Sprintf("Tried to delete resource record set [name='%s', type='%s'] but the values provided do not match the current values", name, typ))
				continue
			}
			sets = append(sets[:i], sets[i+1:]...)
		default:
			msgs = append(msgs, "Invalid action "+c.Action)
		}
	}
	if len(msgs) > 0 {
		writeXML(w, http.StatusBadRequest, invalidChangeBatch{Xmlns: xmlns, Messages: msgs, RequestID: "fake-request"})
		return
	}
	z.sets = sets
	s.nextID++
	writeXML(w, http.StatusOK, changeResponse{Xmlns: xmlns, ChangeInfo: changeInfo{
		ID: fmt.Sprintf("/change/C%08dFAKE", s.nextID), Status: "PENDING", SubmittedAt: time.Now().UTC().Format(time.RFC3339)}})
}

// checkTXT applies Route 53's rules for a TXT value: quoted strings of at
// most 255 characters each.
func checkTXT(v string) string {
	if !strings.HasPrefix(v, `"`) {
		return "" // Route 53 accepts an unquoted single word
	}
	in, n := false, 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\\' && in:
			if i+3 < len(v) && v[i+1] >= '0' && v[i+1] <= '7' {
				i += 3
			} else {
				i++
			}
			n++
		case c == '"':
			in = !in
			if in {
				n = 0
			}
		case in:
			n++
		}
		if n > 255 {
			return "Invalid Resource Record: 'FATAL problem: TXTRDATATooLong (Value is too long) encountered with '" + v[:20] + "...''"
		}
	}
	if in {
		return "Invalid Resource Record: 'FATAL problem: InvalidCharacterString (Value should be enclosed in quotation marks) encountered with '" + v + "''"
	}
	return ""
}
