package contract

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/sync"
	"github.com/miekg/dns"
)

func init() {
	scenarios = append(scenarios, scenario{"tlsa_mta_sts", []zoneSeed{{name: zone, recs: foreignApexRecords()}}, testTLSAAndMTASTS})
}

// testTLSAAndMTASTS: a mail host's TLSA (two keys: a rollover) and the
// _mta-sts TXT are written, read back as compiled, and then in sync; a
// rollover's end (the old key dropped) is one update.
func testTLSAAndMTASTS(t *testing.T, h *harness) {
	ed, err := os.ReadFile(filepath.Join("..", "policy", "testdata", "golden", "keys", "ed25519-private.pem"))
	if err != nil {
		t.Fatal(err)
	}
	h.write(filepath.Join("keys", "ed25519.pem"), string(ed))
	withTLSA := func(tlsa string) string {
		y := pol{spf: "none"}.yaml()
		y = strings.Replace(y, "    ipv4: [203.0.113.25]\n", "    ipv4: [203.0.113.25]\n    tlsa: "+tlsa+"\n", 1)
		return y + "mta_sts: {mode: testing, max_age: 86400}\n"
	}
	h.policy(withTLSA("{cert_file: ../keys/rsa2048.pem, next_cert_file: ../keys/ed25519.pem}"))
	run := func(step string, want ...string) {
		t.Helper()
		plan, c, err := h.run(sync.ModeOnce)
		if err != nil {
			t.Fatalf("%s: %v\n%s", step, err, planText(plan))
		}
		h.measure(step, c)
		h.wantChanges(plan, want...)
		for _, z := range plan.Zones {
			if z.Status != sync.StatusApplied {
				t.Errorf("%s: zone %s %s %s", step, z.Zone, z.Status, z.Error)
			}
		}
		for _, f := range plan.Findings {
			// The zones here are unsigned: the TLSA check says so.
			if f.Kind != "tlsa" && (f.Severity == sync.SevError || f.Kind == "safety" || f.Kind == "verify") {
				t.Errorf("%s: finding %s/%s %s: %s", step, f.Severity, f.Kind, f.Subject, f.Message)
			}
		}
		h.assertConverged()
		h.inSync()
	}
	run("1 create", zone+" create @ MX", zone+" create mail A", zone+" create @ TXT", zone+" create _25._tcp.mail TLSA", zone+" create _mta-sts TXT")

	var want []string
	for _, d := range h.load().Domains {
		sets, _ := policy.Compile(d)
		for _, s := range sets {
			if s.Type == "TLSA" {
				want = s.Values
			}
		}
	}
	got := h.records(zone, "_25._tcp.mail", "TLSA")
	if len(want) != 2 || len(got) != 2 || got[0].Data != want[0] || got[1].Data != want[1] {
		t.Errorf("TLSA read back %v, want %v", got, want)
	}
	if h.fx.query != nil {
		served := h.served("_25._tcp.mail."+zone+".", dns.TypeTLSA)
		if len(served) != 2 || !strings.EqualFold(served[0], "3600 "+want[0]) {
			t.Errorf("TLSA as served %v, want %v", served, want)
		}
	}
	if txt := h.records(zone, "_mta-sts", "TXT"); len(txt) != 1 || !strings.HasPrefix(txt[0].Data, "v=STSv1; id=") {
		t.Errorf("_mta-sts read back %v", txt)
	}

	// The rollover's end: the next key becomes the only one.
	h.policy(withTLSA("{cert_file: ../keys/ed25519.pem}"))
	run("2 rollover done", zone+" update _25._tcp.mail TLSA")
	if got := h.records(zone, "_25._tcp.mail", "TLSA"); len(got) != 1 || got[0].Data != want[0] && got[0].Data != want[1] {
		t.Errorf("TLSA after the rollover %v", got)
	}
}
