package policy

import (
	"testing"
	"time"
)

func TestDKIMStateAt(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 12, d, 0, 0, 0, 0, time.UTC) }
	next := DKIM{State: "next", Dates: &DKIMDates{ActiveFrom: day(10), RetireAt: day(20), RemoveAt: day(30)}}
	old := DKIM{Dates: &DKIMDates{RetireAt: day(12), RemoveAt: day(22)}}
	for _, c := range []struct {
		k    DKIM
		at   time.Time
		want string
	}{
		{next, day(1), "next"},
		{next, day(10), "active"},
		{next, day(20), "retired"},
		{next, day(29), "retired"},
		{next, day(30), "absent"},
		{old, day(11), "active"},
		{old, day(12), "retired"},
		{old, day(23), "absent"},
		{DKIM{State: "retired", Dates: &DKIMDates{RemoveAt: day(5)}}, day(4), "retired"},
		{DKIM{State: "retired", Dates: &DKIMDates{RemoveAt: day(5)}}, day(5), "absent"},
		{DKIM{State: "next"}, day(30), "next"}, // no date: stays
		{DKIM{}, day(30), "active"},
	} {
		if got := DKIMStateAt(c.k, c.at); got != c.want {
			t.Errorf("%+v at %s: %s, want %s", c.k, c.at.Format(time.DateOnly), got, c.want)
		}
	}
}

func TestLoadDKIMRotation(t *testing.T) {
	_, cfgPath := writeTree(t, map[string]string{
		"maildns.yaml": "policies: [\"policies/*.yaml\"]\nproviders:\n  local: {type: zonefile, directory: zones}\n",
		"policies/p.yaml": `domain: example.com
provider: local
dkim:
  - selector: s1
    key: MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=
    retire_at: 2026-12-20
    remove_at: "2026-12-30T12:00:00Z"
  - selector: s2
    key: MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=
    state: next
    active_from: 2026-12-10T08:00:00Z
`,
	})
	cfg, err := LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	k := cfg.Domains[0].DKIM
	if !k[0].Dates.RetireAt.Equal(time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC)) || !k[0].Dates.RemoveAt.Equal(time.Date(2026, 12, 30, 12, 0, 0, 0, time.UTC)) ||
		k[1].State != "next" || !k[1].Dates.ActiveFrom.Equal(time.Date(2026, 12, 10, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("dates %+v", k)
	}
	sets, err := Compile(cfg.Domains[0])
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range sets {
		if s.Element == ElemDKIM && len(s.Values) == 1 && s.Values[0] != "v=DKIM1; p=" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d DKIM keys published, want 2 (next publishes its key)", n)
	}
	ret, _ := Compile(WithDKIMStates(cfg.Domains[0], map[string]string{"s1": "retired", "s2": "active"}))
	for _, s := range ret {
		if s.Name == "s1._domainkey" && (len(s.Values) != 1 || s.Values[0] != "v=DKIM1; p=") {
			t.Errorf("retired s1 compiles to %v", s.Values)
		}
	}
	if cfg.Domains[0].DKIM[0].State != "" {
		t.Error("WithDKIMStates changed the loaded domain")
	}
}

// TestDKIMKeysHoldTheDates: a dkim item takes every rotation date key.
func TestDKIMKeysHoldTheDates(t *testing.T) {
	for _, k := range dkimDateKeys {
		if !contains(dkimKeys, k) {
			t.Errorf("dkim item key %s missing from dkimKeys", k)
		}
	}
}
