package sync

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/sync/check"
)

// rotationEngine is an engine in daemon mode over a fake zone, with the
// real compiler and a fake clock, for one domain with the selectors given.
func rotationEngine(t *testing.T, clock *time.Time, keys ...policy.DKIM) (*Engine, *fakeStore, *bytes.Buffer) {
	t.Helper()
	st := newFakeStore(t.Name(), map[string][]libdns.RR{"example.com.": comZone()})
	t.Cleanup(func() { fakeStores.Delete(t.Name()) })
	for i := range keys {
		keys[i].Key, keys[i].KeyType = testEd25519(i), "ed25519"
	}
	cfg := &policy.Config{
		File: "maildns.yaml", Dir: t.TempDir(), StateDir: t.TempDir(),
		Safety: policy.Safety{MaxChanges: 10},
		Providers: map[string]*policy.ProviderConfig{
			"mem": {Name: "mem", Type: "fake", Settings: map[string]string{"store": t.Name()}},
		},
		Domains: []*policy.Domain{{Domain: "example.com", Provider: "mem", Zone: "example.com", TTL: time.Hour, DKIM: keys}},
	}
	provs, err := BuildProviders(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	e := &Engine{Config: cfg, Providers: provs, Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
		Now: func() time.Time { return *clock }, Checks: []check.Check{}}
	return e, st, &logs
}

// testEd25519 is a well-formed Ed25519 p= (32 bytes), one per i.
func testEd25519(i int) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{byte(i + 1)}, ed25519.PublicKeySize))
}

// published returns each selector's record in the zone: its key, "retired"
// or "absent".
func published(st *fakeStore, sels ...string) map[string]string {
	out := map[string]string{}
	for _, s := range sels {
		out[s] = "absent"
	}
	for _, rr := range st.records("example.com.") {
		if sel, ok := strings.CutSuffix(rr.Name, "._domainkey"); ok {
			out[sel] = "key"
			if rr.Data == "v=DKIM1; p=" {
				out[sel] = "retired"
			}
		}
	}
	return out
}

type rotationLog struct{ selector, from, to string }

func rotationLines(t *testing.T, logs *bytes.Buffer) []rotationLog {
	t.Helper()
	var out []rotationLog
	for l := range strings.SplitSeq(logs.String(), "\n") {
		var m map[string]string
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "dkim rotation" {
			if m["domain"] != "example.com" || m["level"] != "INFO" {
				t.Errorf("dkim rotation line %v", m)
			}
			out = append(out, rotationLog{m["selector"], m["from"], m["to"]})
		}
	}
	logs.Reset()
	return out
}

// A rotation by dates through daemon runs on a fake clock: s2 is published
// as next, becomes active, s1 retires and is removed; each step is logged
// once (two runs a day), and some selector always publishes a key.
func TestRotationByDates(t *testing.T) {
	day := func(d, h int) time.Time { return time.Date(2026, 12, d, h, 0, 0, 0, time.UTC) }
	clock := day(1, 0)
	e, st, logs := rotationEngine(t, &clock,
		policy.DKIM{Selector: "s1", Dates: &policy.DKIMDates{RetireAt: day(3, 0), RemoveAt: day(5, 0)}},
		policy.DKIM{Selector: "s2", State: "next", Dates: &policy.DKIMDates{ActiveFrom: day(2, 0)}},
	)
	steps := []struct {
		at     time.Time
		s1, s2 string // in the zone after the run
		logged []rotationLog
	}{
		{day(1, 1), "key", "key", nil}, // first sight: recorded, not a step
		{day(1, 12), "key", "key", nil},
		{day(2, 1), "key", "key", []rotationLog{{"s2", "next", "active"}}},
		{day(2, 12), "key", "key", nil},
		{day(3, 1), "retired", "key", []rotationLog{{"s1", "active", "retired"}}},
		{day(3, 12), "retired", "key", nil},
		{day(5, 1), "absent", "key", []rotationLog{{"s1", "retired", "absent"}}},
		{day(6, 1), "absent", "key", nil},
	}
	for _, s := range steps {
		clock = s.at
		plan, err := e.Run(context.Background(), Options{Mode: ModeDaemon})
		if err != nil {
			t.Fatalf("%s: %v", s.at, err)
		}
		for _, f := range plan.Findings {
			t.Errorf("%s: finding %v", s.at, f)
		}
		got := published(st, "s1", "s2")
		if got["s1"] != s.s1 || got["s2"] != s.s2 {
			t.Errorf("%s: zone has s1 %s, s2 %s; want %s, %s", s.at, got["s1"], got["s2"], s.s1, s.s2)
		}
		if got["s1"] != "key" && got["s2"] != "key" {
			t.Errorf("%s: no selector publishes a key", s.at)
		}
		if lines := rotationLines(t, logs); fmt.Sprint(lines) != fmt.Sprint(s.logged) {
			t.Errorf("%s: logged %v, want %v", s.at, lines, s.logged)
		}
	}
}

// A step the safety rules refuse: s1 is to retire a day before s2 becomes
// active (no signing key would be left), and then s2 is first published
// less than its TTL before s1's retirement.
func TestRotationRefusals(t *testing.T) {
	day := func(d, h int) time.Time { return time.Date(2026, 12, d, h, 0, 0, 0, time.UTC) }
	clock := day(1, 0)
	e, st, logs := rotationEngine(t, &clock,
		policy.DKIM{Selector: "s1", Dates: &policy.DKIMDates{RetireAt: day(3, 0)}},
		policy.DKIM{Selector: "s2", State: "next", Dates: &policy.DKIMDates{ActiveFrom: day(4, 0)}},
	)
	run := func() *Plan {
		t.Helper()
		plan, err := e.Run(context.Background(), Options{Mode: ModeDaemon})
		if err != nil {
			t.Fatal(err)
		}
		return plan
	}
	run()
	clock = day(3, 1)
	plan := run()
	if got := published(st, "s1", "s2"); got["s1"] != "key" {
		t.Errorf("s1 retired with no other active selector: %v", got)
	}
	if len(plan.Findings) != 1 || plan.Findings[0].Kind != "dkim" || plan.Findings[0].Severity != SevAction ||
		!strings.Contains(plan.Findings[0].Message, "no other selector of example.com would be active") {
		t.Errorf("findings %v", plan.Findings)
	}
	if lines := rotationLines(t, logs); len(lines) != 0 {
		t.Errorf("a refused step was logged: %v", lines)
	}
	clock = day(4, 1)
	plan = run()
	if got := published(st, "s1", "s2"); got["s1"] != "retired" || got["s2"] != "key" || len(plan.Findings) != 0 {
		t.Errorf("day 4: %v, findings %v", got, plan.Findings)
	}
	if lines := rotationLines(t, logs); len(lines) != 2 {
		t.Errorf("day 4 logged %v, want s2 next→active and s1 active→retired", lines)
	}

	// s3 appears active at the moment s2 is to retire: its key has not
	// been out for its TTL (1 h), so s2 stays active until it has.
	d := e.Config.Domains[0]
	d.DKIM[1].Dates.RetireAt = day(6, 0)
	d.DKIM = append(d.DKIM, policy.DKIM{Selector: "s3", Key: testEd25519(3), KeyType: "ed25519"})
	clock = day(6, 0)
	plan = run()
	if got := published(st, "s2", "s3"); got["s2"] != "key" || got["s3"] != "key" {
		t.Errorf("day 6 00:00: %v", got)
	}
	if len(plan.Findings) != 1 || !strings.Contains(plan.Findings[0].Message, "less than its TTL (3600 s) ago") {
		t.Errorf("day 6 00:00 findings %v", plan.Findings)
	}
	clock = day(6, 0).Add(59 * time.Minute)
	if plan = run(); len(plan.Findings) != 1 {
		t.Errorf("59 minutes later: findings %v", plan.Findings)
	}
	clock = day(6, 1)
	plan = run()
	if got := published(st, "s2", "s3"); got["s2"] != "retired" || len(plan.Findings) != 0 {
		t.Errorf("an hour later: %v, findings %v", got, plan.Findings)
	}
}

// A policy whose selectors already have the run's states is the run's
// policy itself, not a copy: what the daemon keeps by policy between runs
// (compiled RRsets) is found again.
func TestPlanRotationKeepsUnmovedPolicies(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	still := &policy.Domain{Domain: "a.example", DKIM: []policy.DKIM{{Selector: "s1", Key: "x"}}}
	moved := &policy.Domain{Domain: "b.example", DKIM: []policy.DKIM{
		{Selector: "s1", Key: "x", Dates: &policy.DKIMDates{RetireAt: now.Add(-time.Hour)}}, {Selector: "s2", Key: "y"}}}
	out, _ := planRotation("", now, []*policy.Domain{still, moved})
	if out[0] != still {
		t.Error("a policy whose states did not move was copied")
	}
	if out[1] == moved || out[1].DKIM[0].State != "retired" {
		t.Errorf("a retired selector: %+v", out[1].DKIM)
	}
}

// The rotation records are parsed once while the file is unchanged, and
// read again when anything else wrote it.
func TestRotationRecordsFollowTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, RotationFile)
	write := func(state string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(`{"a.example s1": {"state": "`+state+`"}}`), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	state := func() string {
		t.Helper()
		_, rot := planRotation(dir, time.Now(), nil)
		if r := rot.records["a.example s1"]; r != nil {
			return r.State
		}
		return ""
	}
	write("next")
	if got := state(); got != "next" {
		t.Fatalf("state %q, want next", got)
	}
	first := loadRotation(path)
	if again := loadRotation(path); len(first) == 0 || again["a.example s1"] != first["a.example s1"] {
		t.Fatal("an unchanged file was parsed again")
	}
	write("active") // same size: the new inode and time tell
	if got := state(); got != "active" {
		t.Fatalf("after another writer: state %q, want active", got)
	}
	if err := os.WriteFile(path, []byte("{damaged"), 0o640); err != nil {
		t.Fatal(err)
	}
	if got := state(); got != "" {
		t.Fatalf("a damaged file gave state %q, want none", got)
	}
}
