package sync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/sync/check"
)

// testEngine builds an engine over a fake store named after the test, with
// one policy per entry of desired (domain -> RRsets).
func testEngine(t *testing.T, zones map[string][]libdns.RR, desired map[string][]policy.RRset) (*Engine, *fakeStore, *bytes.Buffer) {
	t.Helper()
	st := newFakeStore(t.Name(), zones)
	t.Cleanup(func() { fakeStores.Delete(t.Name()) })
	cfg := &policy.Config{
		File:   "maildns.yaml",
		Dir:    t.TempDir(),
		Safety: policy.Safety{MaxChanges: 10},
		Providers: map[string]*policy.ProviderConfig{
			"mem": {Name: "mem", Type: "fake", Settings: map[string]string{"store": t.Name()}, Pos: policy.Pos{File: "maildns.yaml", Line: 3}},
		},
	}
	for dom, sets := range desired {
		zone := dom
		for _, s := range sets {
			if s.Element != policy.ElemPTR {
				zone = s.Zone
			}
		}
		cfg.Domains = append(cfg.Domains, &policy.Domain{Domain: dom, Provider: "mem", Zone: zone, TTL: time.Hour})
	}
	slices.SortFunc(cfg.Domains, func(a, b *policy.Domain) int { return strings.Compare(a.Domain, b.Domain) })
	provs, err := BuildProviders(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	e := &Engine{
		Config:    cfg,
		Providers: provs,
		Logger:    slog.New(slog.NewJSONHandler(&logs, nil)),
		Compile: func(d *policy.Domain) ([]policy.RRset, error) {
			return desired[d.Domain], nil
		},
		// The checks are tested on their own; TestRunChecks sets its own.
		Checks: []check.Check{},
	}
	return e, st, &logs
}

func tOwned(domain, zone, name, typ string, ttl time.Duration, values ...string) policy.RRset {
	return policy.RRset{Provider: "mem", Zone: zone, Name: name, Type: typ, TTL: ttl, Values: values}
}

func tOwnedSPF(domain, zone string, values ...string) policy.RRset {
	s := tOwned(domain, zone, "@", "TXT", time.Hour, values...)
	s.Own, s.Element = policy.OwnPrefix, policy.ElemSPF
	return s
}

var comForeign = []libdns.RR{
	tRR("@", "SOA", tHour, "ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 3600"),
	tRR("@", "NS", tHour, "ns1.example.com."),
	tRR("@", "TXT", tHour, "google-site-verification=abc"),
	tRR("@", "TXT", tHour, "MS=ms123"),
	tRR("@", "TXT", 300*time.Second, "some other text"),
	tRR("www", "A", 60*time.Second, "192.0.2.80"),
	tRR("mail", "TXT", tHour, "not ours"),
}

func comZone(extra ...libdns.RR) []libdns.RR {
	return append(append([]libdns.RR{}, comForeign...), extra...)
}

func comPolicy() []policy.RRset {
	return []policy.RRset{
		tOwned("example.com", "example.com", "mail", "A", tHour, "203.0.113.25"),
		tOwned("example.com", "example.com", "@", "MX", tHour, "10 mail.example.com."),
		tOwnedSPF("example.com", "example.com", "v=spf1 ip4:203.0.113.25 -all"),
		tOwned("example.com", "example.com", "_dmarc", "TXT", tHour, "v=DMARC1; p=reject"),
	}
}

func TestRunDryRunWritesNothing(t *testing.T) {
	live := comZone(tRR("@", "TXT", tHour, "v=spf1 mx ~all"), tRR("mail", "A", tHour, "203.0.113.25"))
	e, st, logs := testEngine(t, map[string][]libdns.RR{"example.com.": live}, map[string][]policy.RRset{"example.com": comPolicy()})
	plan, err := e.Run(context.Background(), Options{Mode: ModeDryRun})
	if err != nil {
		t.Fatal(err)
	}
	if st.appends+st.deletes+st.sets != 0 {
		t.Errorf("dry-run wrote: %d appends, %d deletes, %d sets", st.appends, st.deletes, st.sets)
	}
	want := []ZonePlan{{Domain: "example.com", Zone: "example.com", Provider: "mem", Status: StatusDrift, Changes: []Change{
		{Action: ActionCreate, Name: "@", Type: "MX", TTL: 3600, After: []string{"10 mail.example.com."}},
		{Action: ActionUpdate, Name: "@", Type: "TXT", TTL: 3600, Before: []string{"v=spf1 mx ~all"}, After: []string{"v=spf1 ip4:203.0.113.25 -all"}},
		{Action: ActionCreate, Name: "_dmarc", Type: "TXT", TTL: 3600, After: []string{"v=DMARC1; p=reject"}},
	}}}
	if diff := cmp.Diff(want, plan.Zones); diff != "" {
		t.Errorf("zones (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Summary{Create: 2, Update: 1}, plan.Summary); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if plan.Version != 1 || plan.Mode != ModeDryRun {
		t.Errorf("version %d mode %q", plan.Version, plan.Mode)
	}
	// Every drift is logged with the SPEC keys.
	var drifts []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == "drift" {
			drifts = append(drifts, m)
		}
	}
	if len(drifts) != 3 {
		t.Fatalf("%d drift log records, want 3:\n%s", len(drifts), logs)
	}
	d := drifts[1]
	for k, v := range map[string]string{"level": "WARN", "domain": "example.com", "zone": "example.com", "provider": "mem",
		"name": "@", "type": "TXT", "want": "v=spf1 ip4:203.0.113.25 -all", "have": "v=spf1 mx ~all", "action": "would_correct"} {
		if d[k] != v {
			t.Errorf("drift log %s = %v, want %q", k, d[k], v)
		}
	}
	if !strings.Contains(logs.String(), `"msg":"sync finished"`) {
		t.Errorf("no sync finished log:\n%s", logs)
	}
}

// TestRunOnceKeepsForeign applies a plan over a zone full of foreign values
// and checks that every foreign value is as it was, byte for byte.
func TestRunOnceKeepsForeign(t *testing.T) {
	live := comZone(
		tRR("@", "TXT", tHour, "v=spf1 mx ~all"),
		tRR("mail", "A", 300*time.Second, "198.51.100.9"),
		tRR("@", "MX", 300*time.Second, "10 mail.example.com."), // TTL-only change
	)
	e, st, logs := testEngine(t, map[string][]libdns.RR{"example.com.": live}, map[string][]policy.RRset{"example.com": comPolicy()})
	plan, err := e.Run(context.Background(), Options{Mode: ModeOnce})
	if err != nil {
		t.Fatalf("%v\n%s", err, logs)
	}
	if got := plan.Zones[0].Status; got != StatusApplied {
		t.Fatalf("status %q, want applied (%s)", got, plan.Zones[0].Error)
	}
	if st.sets != 0 {
		t.Errorf("SetRecords called %d times", st.sets)
	}
	after := st.records("example.com.")
	for _, f := range comForeign {
		n := 0
		for _, a := range after {
			if a == f {
				n++
			}
		}
		if n != 1 {
			t.Errorf("foreign record %v appears %d times after applying", f, n)
		}
	}
	for _, want := range []libdns.RR{
		tRR("@", "TXT", tHour, "v=spf1 ip4:203.0.113.25 -all"),
		tRR("mail", "A", tHour, "203.0.113.25"),
		tRR("@", "MX", tHour, "10 mail.example.com."),
		tRR("_dmarc", "TXT", tHour, "v=DMARC1; p=reject"),
	} {
		if !slices.Contains(after, want) {
			t.Errorf("record %v missing after applying", want)
		}
	}
	if len(after) != len(comForeign)+4 {
		t.Errorf("%d records after applying, want %d: %v", len(after), len(comForeign)+4, after)
	}
	if !strings.Contains(logs.String(), `"action":"corrected"`) {
		t.Errorf("no corrected drift log:\n%s", logs)
	}
	// A second run finds nothing to do.
	plan, err = e.Run(context.Background(), Options{Mode: ModeDryRun})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Zones[0].Status != StatusInSync || len(plan.Zones[0].Changes) != 0 {
		t.Errorf("after applying: %+v", plan.Zones[0])
	}
}

func TestRunOneReadPerZone(t *testing.T) {
	zones := map[string][]libdns.RR{
		"example.com.":            comZone(),
		"113.0.203.in-addr.arpa.": {tRR("@", "SOA", tHour, "ns1.example.com. h.example.com. 1 2 3 4 5")},
	}
	ptr := tOwned("example.com", "113.0.203.in-addr.arpa", "25", "PTR", tHour, "mail.example.com.")
	ptr.Element = policy.ElemPTR
	desired := map[string][]policy.RRset{
		"example.com":     append(comPolicy(), ptr),
		"a.example.com":   {tOwned("a.example.com", "example.com", "_dmarc.a", "TXT", tHour, "v=DMARC1; p=none")},
		"b.example.com":   {tOwned("b.example.com", "example.com", "_dmarc.b", "TXT", tHour, "v=DMARC1; p=none")},
		"sub.example.com": {tOwned("sub.example.com", "example.com", "mail.sub", "A", tHour, "203.0.113.26")},
	}
	for _, mode := range []string{ModeDryRun, ModeOnce} {
		t.Run(mode, func(t *testing.T) {
			e, st, _ := testEngine(t, zones, desired)
			plan, err := e.Run(context.Background(), Options{Mode: mode})
			if err != nil {
				t.Fatal(err)
			}
			reads := 1
			if mode == ModeOnce {
				reads = 2 // and the read-back
			}
			for z, n := range st.gets {
				if n != reads {
					t.Errorf("zone %s read %d times, want %d", z, n, reads)
				}
			}
			if len(st.gets) != 2 {
				t.Errorf("zones read: %v", st.gets)
			}
			var got []string
			for _, z := range plan.Zones {
				got = append(got, z.Domain+" "+z.Zone+" "+z.Status)
			}
			status := StatusDrift
			if mode == ModeOnce {
				status = StatusApplied
			}
			want := []string{
				"a.example.com example.com " + status,
				"b.example.com example.com " + status,
				"example.com example.com " + status,
				"example.com 113.0.203.in-addr.arpa " + status,
				"sub.example.com example.com " + status,
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("zone plans (-want +got):\n%s", diff)
			}
			if mode == ModeOnce && !slices.Contains(st.records("113.0.203.in-addr.arpa."), tRR("25", "PTR", tHour, "mail.example.com.")) {
				t.Errorf("PTR not written to the reverse zone: %v", st.records("113.0.203.in-addr.arpa."))
			}
		})
	}
}

func TestRunFailingZoneDoesNotStopOthers(t *testing.T) {
	zones := map[string][]libdns.RR{
		"example.com.": comZone(),
		"example.net.": {},
		"example.org.": {},
	}
	desired := map[string][]policy.RRset{
		"example.com": comPolicy(),
		"example.net": {tOwned("example.net", "example.net", "_dmarc", "TXT", tHour, "v=DMARC1; p=reject")},
		"example.org": {tOwned("example.org", "example.org", "_dmarc", "TXT", tHour, "v=DMARC1; p=reject")},
	}
	e, st, _ := testEngine(t, zones, desired)
	st.failGet["example.net."] = errors.New("503 Service Unavailable")
	plan, err := e.Run(context.Background(), Options{Mode: ModeOnce})
	if err == nil || !strings.Contains(err.Error(), "example.net") || !strings.Contains(err.Error(), "503") {
		t.Fatalf("err = %v, want one naming example.net", err)
	}
	byDomain := map[string]ZonePlan{}
	for _, z := range plan.Zones {
		byDomain[z.Domain] = z
	}
	if z := byDomain["example.net"]; z.Status != StatusError || !strings.Contains(z.Error, "503") {
		t.Errorf("example.net: %+v", z)
	}
	for _, d := range []string{"example.com", "example.org"} {
		if z := byDomain[d]; z.Status != StatusApplied {
			t.Errorf("%s: status %q (%s), want applied", d, z.Status, z.Error)
		}
	}
	if plan.Summary.Errors != 1 {
		t.Errorf("summary errors = %d, want 1", plan.Summary.Errors)
	}
	if !slices.Contains(st.records("example.org."), tRR("_dmarc", "TXT", tHour, "v=DMARC1; p=reject")) {
		t.Error("example.org was not written")
	}
}

func TestRunVerifyCatchesDroppedWrite(t *testing.T) {
	e, st, _ := testEngine(t, map[string][]libdns.RR{"example.com.": comZone()}, map[string][]policy.RRset{"example.com": comPolicy()})
	st.dropWrites = true
	plan, err := e.Run(context.Background(), Options{Mode: ModeOnce})
	if err == nil {
		t.Fatal("no error for a provider that drops writes")
	}
	z := plan.Zones[0]
	if z.Status != StatusError || !strings.Contains(z.Error, "verify") {
		t.Errorf("zone: %+v", z)
	}
	var verify []Finding
	for _, f := range plan.Findings {
		if f.Kind == "verify" {
			verify = append(verify, f)
		}
	}
	if len(verify) != 4 {
		t.Fatalf("%d verify findings, want 4 (one per RRset): %+v", len(verify), plan.Findings)
	}
	if verify[0].Severity != SevError || verify[0].Subject == "" {
		t.Errorf("finding: %+v", verify[0])
	}
}

func TestRunApplyErrorIsReported(t *testing.T) {
	e, st, logs := testEngine(t, map[string][]libdns.RR{"example.com.": comZone()}, map[string][]policy.RRset{"example.com": comPolicy()})
	st.failAppend = errors.New("429 Too Many Requests")
	plan, err := e.Run(context.Background(), Options{Mode: ModeOnce})
	if err == nil || !strings.Contains(err.Error(), "429") || !strings.Contains(err.Error(), "example.com.") {
		t.Fatalf("err = %v", err)
	}
	if plan.Zones[0].Status != StatusError {
		t.Errorf("status %q", plan.Zones[0].Status)
	}
	if !strings.Contains(logs.String(), `"action":"failed"`) {
		t.Errorf("drift not logged as failed:\n%s", logs)
	}
}

func TestRunMaxChanges(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mode   string
		force  bool
		status string
		sev    string
		writes bool
	}{
		{"once refused", ModeOnce, false, StatusRefused, SevError, false},
		{"once forced", ModeOnce, true, StatusApplied, "", true},
		{"dry-run warns", ModeDryRun, false, StatusDrift, SevWarning, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, st, logs := testEngine(t, map[string][]libdns.RR{"example.com.": comZone()}, map[string][]policy.RRset{"example.com": comPolicy()})
			e.Config.Safety.MaxChanges = 3
			plan, _ := e.Run(context.Background(), Options{Mode: tc.mode, Force: tc.force})
			if got := plan.Zones[0].Status; got != tc.status {
				t.Errorf("status %q, want %q", got, tc.status)
			}
			if wrote := st.appends+st.deletes > 0; wrote != tc.writes {
				t.Errorf("wrote = %v, want %v", wrote, tc.writes)
			}
			var sev string
			for _, f := range plan.Findings {
				if f.Kind == "safety" {
					sev = f.Severity
				}
			}
			if sev != tc.sev {
				t.Errorf("safety finding severity %q, want %q", sev, tc.sev)
			}
			if tc.status == StatusRefused && !strings.Contains(logs.String(), `"action":"refused"`) {
				t.Errorf("drift not logged as refused:\n%s", logs)
			}
		})
	}
}

func TestRunNormalisesLiveRecords(t *testing.T) {
	dkim := "v=DKIM1; k=rsa; p=" + strings.Repeat("A", 400)
	live := comZone(
		tRR("@", "TXT", tHour, "v=spf1 ip4:203.0.113.25 -all"),
		tRR("mail.example.com.", "a", tHour, "203.0.113.25"),
		tRR("@", "MX", tHour, "10 MAIL"),
		tRR("_dmarc", "TXT", tHour, "v=DMARC1; p=reject"),
		tRR("s1._domainkey", "TXT", tHour, dkim),
	)
	desired := append(comPolicy(), tOwned("example.com", "example.com", "s1._domainkey", "TXT", tHour, dkim))
	e, st, _ := testEngine(t, map[string][]libdns.RR{"example.com.": live}, map[string][]policy.RRset{"example.com": desired})
	st.rawTXT = true
	plan, err := e.Run(context.Background(), Options{Mode: ModeDryRun})
	if err != nil {
		t.Fatal(err)
	}
	if z := plan.Zones[0]; z.Status != StatusInSync {
		t.Errorf("zone: %+v", z)
	}
}

func TestRunChecks(t *testing.T) {
	e, _, logs := testEngine(t, map[string][]libdns.RR{"example.com.": comZone()}, map[string][]policy.RRset{"example.com": comPolicy()})
	var envs []*CheckEnv
	e.Checks = []check.Check{{Name: "test", Run: func(ctx context.Context, env *CheckEnv, d *policy.Domain) []Finding {
		envs = append(envs, env)
		return []Finding{
			{Severity: SevWarning, Kind: "zz", Domain: d.Domain, Subject: "b", Message: "second"},
			{Severity: SevAction, Kind: "ptr", Domain: d.Domain, Subject: "a", Message: "first", ISPRequest: "please"},
		}
	}}}
	e.Config.LiveChecks = true
	plan, err := e.Run(context.Background(), Options{Mode: ModeOnce, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(envs) != 1 {
		t.Fatalf("check ran %d times", len(envs))
	}
	if envs[0].Live || envs[0].Resolver != nil {
		t.Errorf("offline run: Live %v, Resolver %v", envs[0].Live, envs[0].Resolver)
	}
	// The check sees the zone as it is after applying.
	if !slices.Contains(envs[0].Zone, tRR("_dmarc", "TXT", tHour, "v=DMARC1; p=reject")) {
		t.Errorf("check zone has not the applied records: %v", envs[0].Zone)
	}
	var kinds []string
	for _, f := range plan.Findings {
		kinds = append(kinds, f.Kind)
	}
	if diff := cmp.Diff([]string{"ptr", "zz"}, kinds); diff != "" {
		t.Errorf("findings order (-want +got):\n%s", diff)
	}
	if plan.Summary.Findings != 2 {
		t.Errorf("summary findings %d", plan.Summary.Findings)
	}
	if n := strings.Count(logs.String(), `"msg":"finding"`); n != 2 {
		t.Errorf("%d finding logs, want 2:\n%s", n, logs)
	}
}

func TestRunUnknownDomain(t *testing.T) {
	e, st, _ := testEngine(t, map[string][]libdns.RR{"example.com.": comZone()}, map[string][]policy.RRset{"example.com": comPolicy()})
	_, err := e.Run(context.Background(), Options{Mode: ModeDryRun, Domains: []string{"example.org"}})
	if err == nil || !strings.Contains(err.Error(), "example.org") {
		t.Fatalf("err = %v", err)
	}
	if len(st.gets) != 0 {
		t.Errorf("zones read: %v", st.gets)
	}
	plan, err := e.Run(context.Background(), Options{Mode: ModeDryRun, Domains: []string{"Example.COM."}})
	if err != nil || len(plan.Zones) != 1 {
		t.Fatalf("plan %+v, err %v", plan, err)
	}
}

func TestBuildProvidersErrors(t *testing.T) {
	cfg := &policy.Config{
		File: "maildns.yaml",
		Providers: map[string]*policy.ProviderConfig{
			"typo": {Name: "typo", Type: "nonesuch", Pos: policy.Pos{File: "maildns.yaml", Line: 6},
				KeyPos: map[string]policy.Pos{"type": {File: "maildns.yaml", Line: 7}}},
			"bad": {Name: "bad", Type: "fake", Settings: map[string]string{"store": "x", "password": "hunter2"},
				Secret: map[string]bool{"password": true},
				Pos:    policy.Pos{File: "maildns.yaml", Line: 9},
				KeyPos: map[string]policy.Pos{"store": {File: "maildns.yaml", Line: 10}, "password": {File: "maildns.yaml", Line: 11}}},
			"missing": {Name: "missing", Type: "fake", Pos: policy.Pos{File: "maildns.yaml", Line: 12}},
		},
	}
	_, err := BuildProviders(cfg)
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{
		`maildns.yaml:7: provider typo: unknown provider type "nonesuch"`,
		`maildns.yaml:10: provider bad: setting store: no fake store "x"`,
		`maildns.yaml:12: provider missing: setting store: required setting is missing`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "hunter2") {
		t.Errorf("secret in error: %s", msg)
	}
}

// TestRunUnparseableLiveRecord: a record that does not normalise is kept as
// read: at an owned name it is replaced, elsewhere it is left alone.
func TestRunUnparseableLiveRecord(t *testing.T) {
	live := comZone(tRR("mail", "A", tHour, "not-an-address"), tRR("odd", "A", tHour, "also-not"))
	e, st, _ := testEngine(t, map[string][]libdns.RR{"example.com.": live}, map[string][]policy.RRset{"example.com": comPolicy()})
	plan, err := e.Run(context.Background(), Options{Mode: ModeOnce})
	if err != nil {
		t.Fatal(err)
	}
	var mail *Change
	for i, c := range plan.Zones[0].Changes {
		if c.Name == "mail" && c.Type == "A" {
			mail = &plan.Zones[0].Changes[i]
		}
	}
	if mail == nil || mail.Action != ActionUpdate || !slices.Equal(mail.Before, []string{"not-an-address"}) {
		t.Errorf("mail A change: %+v", mail)
	}
	after := st.records("example.com.")
	if slices.Contains(after, tRR("mail", "A", tHour, "not-an-address")) || !slices.Contains(after, tRR("odd", "A", tHour, "also-not")) {
		t.Errorf("after applying: %v", after)
	}
}

func TestRunProviderNotConfigured(t *testing.T) {
	e, _, _ := testEngine(t, map[string][]libdns.RR{"example.com.": comZone()}, map[string][]policy.RRset{"example.com": comPolicy()})
	delete(e.Providers, "mem")
	plan, err := e.Run(context.Background(), Options{Mode: ModeDryRun})
	if err == nil || !strings.Contains(err.Error(), `provider "mem" is not configured`) {
		t.Fatalf("err = %v", err)
	}
	if plan.Zones[0].Status != StatusError {
		t.Errorf("zone: %+v", plan.Zones[0])
	}
}

// A TTL-only drift names both TTLs in its log line; want == have otherwise.
func TestDriftLogNamesTTLs(t *testing.T) {
	live := comZone(tRR("@", "TXT", tHour, "v=spf1 ip4:203.0.113.25 -all"), tRR("mail", "A", 300*time.Second, "203.0.113.25"),
		tRR("@", "MX", tHour, "10 mail.example.com."), tRR("_dmarc", "TXT", tHour, "v=DMARC1; p=reject"))
	e, _, logs := testEngine(t, map[string][]libdns.RR{"example.com.": live}, map[string][]policy.RRset{"example.com": comPolicy()})
	if _, err := e.Run(context.Background(), Options{Mode: ModeDryRun}); err != nil {
		t.Fatal(err)
	}
	var drifts []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == "drift" {
			drifts = append(drifts, m)
		}
	}
	if len(drifts) != 1 {
		t.Fatalf("%d drift log records, want 1:\n%s", len(drifts), logs)
	}
	if d := drifts[0]; d["name"] != "mail" || d["want_ttl"] != float64(3600) || d["have_ttl"] != float64(300) {
		t.Errorf("drift log %v, want name mail, want_ttl 3600, have_ttl 300", d)
	}
}
