package providertest

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/libdns/libdns"

	"github.com/maildns/maildns/providers"
)

// Keys and values the backends' tests seed as people write them by hand
// and replace as maildns does.
const (
	// OldDKIMKey and NewDKIMKey are RSA public keys as a DKIM record
	// carries them (p=), long enough that the record spans several strings.
	OldDKIMKey = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwHtfhYCF1UljKtqmhpFh1ecmNpSNyLArAyaDjbAYF2JzZCk9iUhNEGGpWfp5e2nI/58lMv0xzHR5u1uBjHqc61hI01X9B0hfXZTDlFUjzLGPxF3pZuHxYCcahkJwd8hSSTQFMsj5gXeKE5XxU5ib2yFG+vxBwDVVWwrfgO0R3y6rzFYKZrbOlqOEDaW5oo1UmhtaCYVIJr6nZ0tRk2tmKDBsTcH1q2bOpBYbFVRcOtBAb8tSXkxG4X7d+nc7/f0x2LEnSi2SGTzZvn8aFJlj5OxutkAoNsPKnIyUJwDnqkH5whnCUsHx0y6qNaPHyeBaeaxEdu9Y+7a9E2PLFr3HjwIDAQAB"
	NewDKIMKey = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAyZ0Xq3v4Jm2Jd7l8c1hO6b0xVbqQ9QJkqE5m1x3p4n8W2u7b9r5Tg6Yh1k0dL3s2F9aZcV8nM7pQ4eR2tW6yU0iO5pA3sD1fG9hJ8kL4zX7cV2bN6mQ0wE3rT5yU9iO1pA7sD4fG2hJ6kL8zX0cV3bN5mQ9wE1rT7yU4iO6pA2sD8fG0hJ3kL5zX9cV1bN7mQ2wE6rT0yU8iO3pA9sD5fG1hJ7kL2zX6cV4bN0mQ8wE5rT2yU7iO9pA1sD3fG6hJ0kL7zX4cV8bN2mQ5wE9rT1yU3iO0pA8sD6fG4hJ2kL9zX1cV5bN3mQwIDAQAB"
)

// OldDKIM and NewDKIM are the DKIM records of the keys.
var (
	OldDKIM = "v=DKIM1; k=rsa; p=" + OldDKIMKey
	NewDKIM = "v=DKIM1; k=rsa; p=" + NewDKIMKey
)

// SplitAt cuts text into strings of n bytes (the last shorter), as control
// panels and hand-written zones split long TXT records: not at 255.
func SplitAt(text string, n int) []string {
	var out []string
	for len(text) > n {
		out = append(out, text[:n])
		text = text[n:]
	}
	return append(out, text)
}

// Quoted writes strings as a TXT record's presentation: each quoted, `"`
// and `\` escaped, separated by one space.
func Quoted(parts ...string) string {
	q := make([]string, len(parts))
	for i, p := range parts {
		q[i] = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(p) + `"`
	}
	return strings.Join(q, " ")
}

// MailUpdate is the replacement maildns makes of hand-made mail records:
// an SPF update beside foreign apex TXT, a DKIM key update, a DMARC update
// and an MX whose mixed-case target is replaced.
type MailUpdate struct {
	Remove, Add []libdns.Record
	Expect      []providers.RRsetState
}

// Owned RRsets of a MailUpdate, relative to the zone.
var mailKeys = []providers.RRsetKey{{Name: "@", Type: "TXT"}, {Name: "s1._domainkey", Type: "TXT"}, {Name: "_dmarc", Type: "TXT"}, {Name: "@", Type: "MX"}}

// PlanMailUpdate reads zone through p, as the engine does, and returns the
// replacement: the removes are the records p returned (whatever form it
// gave them in), expect every value it holds at the touched RRsets.
func PlanMailUpdate(t testing.TB, p providers.Provider, zone string) MailUpdate {
	t.Helper()
	live, err := p.GetRecords(context.Background(), zone)
	if err != nil {
		t.Fatalf("GetRecords: %v", err)
	}
	var u MailUpdate
	values := map[providers.RRsetKey][]string{}
	for _, r := range live {
		rr, err := providers.Normalize(r, zone)
		if err != nil {
			t.Fatalf("normalising %v: %v", r, err)
		}
		k := providers.RRsetKey{Name: rr.Name, Type: rr.Type}
		values[k] = append(values[k], rr.Data)
		switch {
		case k == mailKeys[0] && strings.HasPrefix(rr.Data, "v=spf1"),
			k == mailKeys[1], k == mailKeys[2], k == mailKeys[3]:
			u.Remove = append(u.Remove, r)
		}
	}
	for _, k := range mailKeys {
		u.Expect = append(u.Expect, providers.RRsetState{Name: k.Name, Type: k.Type, Values: values[k]})
	}
	u.Add = []libdns.Record{
		libdns.RR{Name: "@", Type: "TXT", TTL: 3600e9, Data: "v=spf1 ip4:192.0.2.25 -all"},
		libdns.RR{Name: "s1._domainkey", Type: "TXT", TTL: 3600e9, Data: NewDKIM},
		libdns.RR{Name: "_dmarc", Type: "TXT", TTL: 3600e9, Data: "v=DMARC1; p=reject"},
		libdns.RR{Name: "@", Type: "MX", TTL: 3600e9, Data: "10 mail.example.com."},
	}
	return u
}

// CheckMailUpdated reads zone through p and checks that each owned RRset
// holds exactly one owned value, the new one, and that the apex TXT still
// holds the foreign values given (canonical).
func CheckMailUpdated(t testing.TB, p providers.Provider, zone string, foreignApex []string) {
	t.Helper()
	got := map[providers.RRsetKey][]string{}
	live, err := p.GetRecords(context.Background(), zone)
	if err != nil {
		t.Fatalf("GetRecords: %v", err)
	}
	for _, r := range live {
		rr := r.RR()
		k := providers.RRsetKey{Name: providers.RelativeName(rr.Name, zone), Type: rr.Type}
		got[k] = append(got[k], rr.Data)
	}
	var spf []string
	var foreign []string
	for _, v := range got[mailKeys[0]] {
		if strings.HasPrefix(v, "v=spf1") {
			spf = append(spf, v)
		} else {
			foreign = append(foreign, v)
		}
	}
	want := append([]string(nil), foreignApex...)
	sort.Strings(want)
	sort.Strings(foreign)
	if strings.Join(spf, "|") != "v=spf1 ip4:192.0.2.25 -all" {
		t.Errorf("SPF at the apex: %q, want exactly the new one", spf)
	}
	if strings.Join(foreign, "|") != strings.Join(want, "|") {
		t.Errorf("foreign apex TXT: %q, want %q", foreign, want)
	}
	for k, want := range map[providers.RRsetKey]string{mailKeys[1]: NewDKIM, mailKeys[2]: "v=DMARC1; p=reject", mailKeys[3]: "10 mail.example.com."} {
		if strings.Join(got[k], "|") != want {
			t.Errorf("%s %s: %q, want exactly %q", k.Name, k.Type, got[k], want)
		}
	}
}
