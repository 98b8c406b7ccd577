package importer

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestTextDiff(t *testing.T) {
	want := "version: STSv1\r\nmode: enforce\r\nmx: a.example\r\nmax_age: 86400\r\n"
	for _, c := range []struct{ served, says string }{
		{strings.ReplaceAll(want, "\r\n", "\n"), "LF line ends, not CRLF"},
		{"version: STSv1\r\nmx: a.example\r\nmode: enforce\r\nmax_age: 86400\r\n", "another field order"},
		{want + "note: x\r\n", `lines maildns does not write: ["note: x"]`},
		{want + "mx: a.example\r\n", "repeated lines"},
		{"version:STSv1\r\nmode:  enforce\r\nmx: a.example\r\nmax_age: 86400\r\n", "spacing"},
	} {
		if got := textDiff(c.served, want); !strings.Contains(got, c.says) {
			t.Errorf("textDiff(%q) = %q, want it to say %q", c.served, got, c.says)
		}
	}
}

// fetchPolicy with DefaultHTTPClient's rules: no redirects followed (a
// policy behind one is no policy), 200 only, a size limit.
func TestFetchPolicy(t *testing.T) {
	big := strings.Repeat("x", maxPolicySize+1)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.Write([]byte("version: STSv1\n"))
		case "/moved":
			http.Redirect(w, r, "/ok", http.StatusFound)
		case "/big":
			w.Write([]byte(big))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c := DefaultHTTPClient()
	c.Transport = srv.Client().Transport // trusts the test server's certificate
	ctx := context.Background()
	if text, err := fetchPolicy(ctx, c, srv.URL+"/ok"); err != nil || text != "version: STSv1\n" {
		t.Errorf("/ok: %q, %v", text, err)
	}
	for path, says := range map[string]string{"/moved": "HTTP 302", "/none": "HTTP 404", "/big": "over 65536 bytes"} {
		if text, err := fetchPolicy(ctx, c, srv.URL+path); err == nil || !strings.Contains(err.Error(), says) || text != "" {
			t.Errorf("%s: %q, %v; want an error saying %q", path, text, err, says)
		}
	}
	// The default client trusts the system roots only: the test server's
	// certificate does not validate.
	if _, err := fetchPolicy(ctx, DefaultHTTPClient(), srv.URL+"/ok"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted certificate: %v", err)
	}
}
