package desec

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const tok = "t0ken"

func call(t *testing.T, s *Server, method, path, body string) (int, http.Header, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Token "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, strings.TrimSpace(string(b))
}

func newServer(t *testing.T) *Server {
	s := New()
	t.Cleanup(s.Close)
	s.Token = tok
	s.AddZone("example.com.")
	return s
}

func TestBulkWriteIsAtomic(t *testing.T) {
	s := newServer(t)
	s.Put("example.com", RRset{Subname: "", Type: "TXT", TTL: 3600, Records: []string{`"foreign"`}})
	before := s.RRsets("example.com")
	tests := []struct {
		name, body string
		wantBody   string
	}{
		{"a TTL below the minimum",
			`[{"subname":"","type":"TXT","ttl":3600,"records":["\"x\""]},{"subname":"a","type":"A","ttl":300,"records":["192.0.2.1"]}]`,
			`[{},{"ttl":["Ensure this value is greater than or equal to 3600."]}]`},
		{"the apex written @",
			`[{"subname":"@","type":"TXT","ttl":3600,"records":["\"x\""]}]`,
			`[{"subname":["Subname can only use (lowercase) a-z, 0-9, ., -, and _, may start with a '*.', or just be '*'. Components may not exceed 63 characters."]}]`},
		{"a TXT string over 255 bytes",
			`[{"subname":"k","type":"TXT","ttl":3600,"records":["\"` + strings.Repeat("a", 256) + `\""]}]`,
			""},
		{"the same RRset twice",
			`[{"subname":"a","type":"A","ttl":3600,"records":["192.0.2.1"]},{"subname":"a","type":"A","ttl":3600,"records":[]}]`,
			`[{"__all__":["Same subname and type as in another RRset of this request."]},{"__all__":["Same subname and type as in another RRset of this request."]}]`},
		{"a CNAME beside another type",
			`[{"subname":"w","type":"CNAME","ttl":3600,"records":["example.net."]},{"subname":"w","type":"A","ttl":3600,"records":["192.0.2.1"]}]`,
			""},
		{"a relative MX target",
			`[{"subname":"","type":"MX","ttl":3600,"records":["10 mail"]}]`,
			""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := call(t, s, http.MethodPatch, "/domains/example.com/rrsets/", tt.body)
			if status != http.StatusBadRequest {
				t.Errorf("status %d, want 400: %s", status, body)
			}
			if tt.wantBody != "" && body != tt.wantBody {
				t.Errorf("body %s\nwant %s", body, tt.wantBody)
			}
			if diff := cmp.Diff(before, s.RRsets("example.com"), cmp.AllowUnexported(RRset{})); diff != "" {
				t.Errorf("a refused write changed the zone:\n%s", diff)
			}
		})
	}
	// A valid one: written, canonicalised, an RRset with records [] deleted.
	status, _, body := call(t, s, http.MethodPatch, "/domains/example.com/rrsets/",
		`[{"subname":"","type":"TXT","records":[]},{"subname":"k","type":"TXT","ttl":3600,"records":["\"say \\\"hi\\\" caf\u00e9\" bare"]}]`)
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	got := s.RRsets("example.com")
	if len(got) != 1 || got[0].Subname != "k" || !cmp.Equal(got[0].Records, []string{`"say \"hi\" caf\195\169" "bare"`}) {
		t.Errorf("zone now %+v", got)
	}
	if n := s.Calls("PATCH rrsets"); n != len(tests)+1 {
		t.Errorf("PATCH rrsets counted %d, want %d", n, len(tests)+1)
	}
}

func TestPaginationAndErrors(t *testing.T) {
	s := newServer(t)
	s.PageSize = 2
	for _, sub := range []string{"a", "b", "c"} {
		s.Put("example.com", RRset{Subname: sub, Type: "A", TTL: 3600, Records: []string{"192.0.2.1"}})
	}
	if status, _, body := call(t, s, http.MethodGet, "/domains/example.com/rrsets/", ""); status != http.StatusBadRequest || !strings.Contains(body, "Pagination required") {
		t.Errorf("over a page without cursor: %d %s", status, body)
	}
	var subs []string
	path := "/domains/example.com/rrsets/?cursor="
	for pages := 0; path != "" && pages < 5; pages++ {
		status, h, body := call(t, s, http.MethodGet, path, "")
		if status != http.StatusOK {
			t.Fatalf("%s: %d %s", path, status, body)
		}
		var page []struct{ Subname string }
		if err := json.Unmarshal([]byte(body), &page); err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			subs = append(subs, r.Subname)
		}
		path = ""
		for _, l := range strings.Split(h.Get("Link"), ", ") {
			if strings.HasSuffix(l, `rel="next"`) {
				u := strings.TrimSuffix(strings.TrimPrefix(l, "<"), `>; rel="next"`)
				path = u[strings.Index(u, "/api/v1")+len("/api/v1"):]
			}
		}
	}
	if diff := cmp.Diff([]string{"c", "b", "a"}, subs); diff != "" {
		t.Errorf("pages, newest first (-want +got):\n%s", diff)
	}
	if status, _, _ := call(t, s, http.MethodGet, "/domains/example.org/rrsets/", ""); status != http.StatusNotFound {
		t.Errorf("unknown domain: %d, want 404", status)
	}
	if status, _, body := call(t, s, http.MethodGet, "/domains/example.com/rrsets/@/A/", ""); status != http.StatusNotFound {
		t.Errorf("absent RRset: %d %s, want 404", status, body)
	}
	s.Fail(1, http.StatusTooManyRequests, "3")
	if status, h, _ := call(t, s, http.MethodGet, "/domains/example.com/", ""); status != http.StatusTooManyRequests || h.Get("Retry-After") != "3" {
		t.Errorf("throttled: %d Retry-After %q", status, h.Get("Retry-After"))
	}
	s.Token = "other"
	if status, _, _ := call(t, s, http.MethodGet, "/domains/", ""); status != http.StatusUnauthorized {
		t.Errorf("wrong token: %d, want 401", status)
	}
}
