package providers

import (
	"errors"
	"testing"

	"github.com/libdns/libdns"
)

func TestCheckExpect(t *testing.T) {
	live := []libdns.Record{
		libdns.RR{Name: "@", Type: "TXT", Data: "v=spf1 a ~all"},
		libdns.RR{Name: "@", Type: "TXT", Data: "google-site-verification=x"},
		libdns.RR{Name: "@", Type: "MX", Data: "10 Mail.Example.COM."},
	}
	zone := "example.com."
	for _, tc := range []struct {
		name   string
		expect []RRsetState
		ok     bool
	}{
		{"same", []RRsetState{{Name: "@", Type: "TXT", Values: []string{"google-site-verification=x", "v=spf1 a ~all"}}}, true},
		{"case of a target", []RRsetState{{Name: "@", Type: "MX", Values: []string{"10 mail.example.com."}}}, true},
		{"absent as expected", []RRsetState{{Name: "_dmarc", Type: "TXT"}}, true},
		{"a value changed", []RRsetState{{Name: "@", Type: "TXT", Values: []string{"google-site-verification=x", "v=spf1 -all"}}}, false},
		{"a value added since", []RRsetState{{Name: "@", Type: "TXT", Values: []string{"v=spf1 a ~all"}}}, false},
		{"created since", []RRsetState{{Name: "@", Type: "MX"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckExpect(zone, tc.expect, live)
			if tc.ok != (err == nil) {
				t.Fatalf("CheckExpect = %v, want ok=%v", err, tc.ok)
			}
			if err != nil {
				var ce *ChangedError
				if !errors.Is(err, ErrChanged) || !errors.As(err, &ce) || ce.Zone != zone {
					t.Fatalf("error %v is not a *ChangedError wrapping ErrChanged", err)
				}
			}
		})
	}
}
