package sync

import (
	"context"
	"strings"
	"testing"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
)

func TestWeakens(t *testing.T) {
	dm := func(s string) []string { return []string{"v=DMARC1; " + s} }
	for _, tc := range []struct {
		name string
		c    Change
		want string // substring of the reason; "" not weakening
	}{
		{"dmarc reject to none", Change{Type: "TXT", Before: dm("p=reject"), After: dm("p=none")}, "p= from reject to none"},
		{"dmarc reject to quarantine", Change{Type: "TXT", Before: dm("p=reject"), After: dm("p=quarantine")}, "p= from reject to quarantine"},
		{"dmarc none to reject", Change{Type: "TXT", Before: dm("p=none"), After: dm("p=reject")}, ""},
		{"dmarc pct down", Change{Type: "TXT", Before: dm("p=reject"), After: dm("p=reject; pct=50")}, "pct= from 100 to 50"},
		{"dmarc pct up", Change{Type: "TXT", Before: dm("p=reject; pct=20"), After: dm("p=reject")}, ""},
		{"dmarc sp down", Change{Type: "TXT", Before: dm("p=reject; sp=reject"), After: dm("p=reject; sp=none")}, "sp= from reject to none"},
		{"dmarc sp implied down", Change{Type: "TXT", Before: dm("p=reject"), After: dm("p=reject; sp=quarantine")}, "sp= from reject to quarantine"},
		{"dmarc rua only", Change{Type: "TXT", Before: dm("p=reject"), After: dm("p=reject; rua=mailto:d@example.com")}, ""},
		{"dmarc removed", Change{Action: ActionDelete, Type: "TXT", Before: dm("p=none")}, "removes the DMARC record"},
		{"dmarc created", Change{Action: ActionCreate, Type: "TXT", After: dm("p=none")}, ""},
		{"spf fail to softfail", Change{Type: "TXT", Before: []string{"v=spf1 mx -all"}, After: []string{"v=spf1 mx ~all"}}, "from -all (fail) to ~all"},
		{"spf fail to none", Change{Type: "TXT", Before: []string{"v=spf1 mx -all"}, After: []string{"v=spf1 mx"}}, "to ?all (neutral) or no all"},
		{"spf fail to pass", Change{Type: "TXT", Before: []string{"v=spf1 -all"}, After: []string{"v=spf1 +all"}}, "+all"},
		{"spf softfail to fail", Change{Type: "TXT", Before: []string{"v=spf1 ~all"}, After: []string{"v=spf1 -all"}}, ""},
		{"spf softfail to neutral", Change{Type: "TXT", Before: []string{"v=spf1 ~all"}, After: []string{"v=spf1 ?all"}}, "from ~all (softfail) to ?all"},
		{"spf neutral to pass", Change{Type: "TXT", Before: []string{"v=spf1 mx ?all"}, After: []string{"v=spf1 mx +all"}}, "to +all"},
		{"spf none to neutral", Change{Type: "TXT", Before: []string{"v=spf1 mx"}, After: []string{"v=spf1 mx ?all"}}, ""},
		{"spf softfail to redirect", Change{Type: "TXT", Before: []string{"v=spf1 ~all"}, After: []string{"v=spf1 redirect=_spf.example.net"}}, ""},
		{"mx to null mx", Change{Type: "MX", Name: "@", Before: []string{"10 mail.example.com.", "20 mx2.example.com."}, After: []string{"0 ."}}, "with a null MX"},
		{"null mx kept", Change{Type: "MX", Name: "@", Before: []string{"10 ."}, After: []string{"0 ."}}, ""},
		{"null mx to real", Change{Type: "MX", Name: "@", Before: []string{"0 ."}, After: []string{"10 mail.example.com."}}, ""},
		{"spf fail mechanisms change", Change{Type: "TXT", Before: []string{"v=spf1 mx -all"}, After: []string{"v=spf1 ip4:192.0.2.1 -all"}}, ""},
		{"spf removed", Change{Action: ActionDelete, Type: "TXT", Before: []string{"v=spf1 ~all"}}, "removes the SPF record"},
		{"mx removed", Change{Action: ActionDelete, Name: "@", Type: "MX", Before: []string{"10 mail.example.com."}}, "removes every MX"},
		{"mx changed", Change{Type: "MX", Before: []string{"10 mail.example.com."}, After: []string{"20 mx.example.com."}}, ""},
		{"dkim retired", Change{Type: "TXT", Before: []string{"v=DKIM1; k=rsa; p=MIIB"}, After: []string{"v=DKIM1; p="}}, ""},
		{"dkim removed", Change{Action: ActionDelete, Type: "TXT", Before: []string{"v=DKIM1; k=rsa; p=MIIB"}}, ""},
		{"a removed", Change{Action: ActionDelete, Type: "A", Before: []string{"192.0.2.1"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Weakens(tc.c)
			if (got == "") != (tc.want == "") || !strings.Contains(got, tc.want) {
				t.Errorf("Weakens = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRunRefusesWeakening(t *testing.T) {
	live := comZone(
		tRR("mail", "A", tHour, "203.0.113.25"),
		tRR("@", "MX", tHour, "10 mail.example.com."),
		tRR("@", "TXT", tHour, "v=spf1 ip4:203.0.113.25 -all"),
		tRR("_dmarc", "TXT", tHour, "v=DMARC1; p=reject"),
	)
	weak := func() []policy.RRset {
		p := comPolicy()
		p[3] = tOwned("example.com", "example.com", "_dmarc", "TXT", tHour, "v=DMARC1; p=none")
		return p
	}
	yes, no := true, false
	for _, tc := range []struct {
		name    string
		mode    string
		opts    Options
		cfg     bool  // safety.allow_weakening
		pol     *bool // policy allow_weakening
		status  string
		sev     string
		writes  bool
		logWord string
	}{
		{"once refused", ModeOnce, Options{}, false, nil, StatusRefused, SevError, false, `"action":"refused"`},
		{"force does not allow it", ModeOnce, Options{Force: true}, false, nil, StatusRefused, SevError, false, `"action":"refused"`},
		{"flag allows", ModeOnce, Options{AllowWeakening: true}, false, nil, StatusApplied, "", true, `"action":"corrected"`},
		{"config allows", ModeOnce, Options{}, true, nil, StatusApplied, "", true, `"action":"corrected"`},
		{"policy allows", ModeOnce, Options{}, false, &yes, StatusApplied, "", true, `"action":"corrected"`},
		{"policy forbids over config", ModeOnce, Options{}, true, &no, StatusRefused, SevError, false, `"action":"refused"`},
		{"dry-run tells", ModeDryRun, Options{}, false, nil, StatusDrift, SevWarning, false, `"action":"would_correct"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, st, logs := testEngine(t, map[string][]libdns.RR{"example.com.": live}, map[string][]policy.RRset{"example.com": weak()})
			e.Config.Safety.AllowWeakening = tc.cfg
			e.Config.Domains[0].AllowWeakening = tc.pol
			e.Config.Domains[0].Pos = policy.Pos{File: "policies/example.com.yaml", Line: 1}
			tc.opts.Mode = tc.mode
			plan, _ := e.Run(context.Background(), tc.opts)
			if got := plan.Zones[0].Status; got != tc.status {
				t.Errorf("status %q, want %q", got, tc.status)
			}
			if wrote := st.appends+st.deletes > 0; wrote != tc.writes {
				t.Errorf("wrote = %v, want %v", wrote, tc.writes)
			}
			var safety []Finding
			for _, f := range plan.Findings {
				if f.Kind == "safety" {
					safety = append(safety, f)
				}
			}
			if tc.sev == "" {
				if len(safety) > 0 {
					t.Errorf("unexpected safety findings %+v", safety)
				}
			} else {
				if len(safety) != 1 {
					t.Fatalf("safety findings %+v, want one", safety)
				}
				f := safety[0]
				if f.Severity != tc.sev || f.Subject != "_dmarc TXT" {
					t.Errorf("finding %+v, want severity %s subject _dmarc TXT", f, tc.sev)
				}
				for _, w := range []string{"p= from reject to none", "allow_weakening", "--allow-weakening", "policies/example.com.yaml"} {
					if !strings.Contains(f.Message, w) {
						t.Errorf("message %q lacks %q", f.Message, w)
					}
				}
			}
			if !strings.Contains(logs.String(), tc.logWord) {
				t.Errorf("no drift log with %s:\n%s", tc.logWord, logs)
			}
		})
	}
}

func TestTLSAWeakens(t *testing.T) {
	all := Change{Action: ActionDelete, Name: "_25._tcp.mail", Type: "TLSA", Before: []string{"3 1 1 aa", "3 1 1 bb"}}
	if why := Weakens(all); why == "" {
		t.Error("removing every TLSA of a mail host is not weakening")
	}
	one := Change{Action: ActionUpdate, Name: "_25._tcp.mail", Type: "TLSA", Before: []string{"3 1 1 aa", "3 1 1 bb"}, After: []string{"3 1 1 bb"}}
	if why := Weakens(one); why != "" {
		t.Errorf("retiring one key of a rollover is weakening: %s", why)
	}
}
