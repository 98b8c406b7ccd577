package sync

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/policy"
)

// stsDomain is example.com with one mail host and an MTA-STS policy.
func stsDomain(mode string, mx []string) *policy.Domain {
	return &policy.Domain{Domain: "example.com", Zone: "example.com", Provider: "mem", TTL: time.Hour,
		MailHosts: []policy.MailHost{{Name: "mail", IPv4: []string{"203.0.113.25"}}},
		MTASTS:    &policy.MTASTS{Mode: mode, MaxAge: 86400, MX: mx}}
}

// stsEngine is an engine over the fake store with d compiled for real.
func stsEngine(t *testing.T, d *policy.Domain, zone []libdns.RR) (*Engine, *fakeStore) {
	t.Helper()
	e, st, _ := testEngine(t, map[string][]libdns.RR{"example.com.": zone}, map[string][]policy.RRset{"example.com": nil})
	e.Config.Domains = []*policy.Domain{d}
	e.Compile = policy.Compile
	return e, st
}

func TestMTASTSPolicyFile(t *testing.T) {
	dir := t.TempDir()
	d := stsDomain("enforce", nil)
	d.MTASTS.PolicyDir = dir
	d.Pos = policy.Pos{File: "policies/example.com.yaml", Line: 1}
	zone := []libdns.RR{
		{Name: "mail", Type: "A", TTL: time.Hour, Data: "203.0.113.25"},
		{Name: "@", Type: "MX", TTL: time.Hour, Data: "10 mail.example.com."},
	}
	e, st := stsEngine(t, d, zone)
	path := filepath.Join(dir, "example.com", ".well-known", "mta-sts.txt")
	want := policy.MTASTSPolicyText(d)
	ctx := context.Background()

	plan, err := e.Run(ctx, Options{Mode: ModeDryRun})
	if err != nil {
		t.Fatal(err)
	}
	zp := plan.Zones[0]
	if zp.Status != StatusDrift || len(zp.Files) != 1 || zp.Files[0].Action != ActionCreate || zp.Files[0].Path != path || zp.Files[0].After != want {
		t.Fatalf("dry-run plan %+v", zp)
	}
	if plan.Summary.Create != 2 { // the file and _mta-sts TXT
		t.Errorf("summary %+v, want 2 creates", plan.Summary)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("dry-run wrote the policy file: %v", err)
	}
	var text bytes.Buffer
	_ = WriteText(&text, plan, false)
	if !strings.Contains(text.String(), "+ file  "+path+"  (MTA-STS policy, mode enforce)") {
		t.Errorf("text plan lacks the file:\n%s", text.String())
	}
	var js bytes.Buffer
	_ = WriteJSON(&js, plan)
	if !strings.Contains(js.String(), `"files": [`) {
		t.Errorf("JSON plan lacks files:\n%s", js.String())
	}

	plan, err = e.Run(ctx, Options{Mode: ModeOnce})
	if err != nil || plan.Zones[0].Status != StatusApplied {
		t.Fatalf("once: %v %+v", err, plan.Zones[0])
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != want {
		t.Fatalf("policy file %q (%v), want %q", got, err, want)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("policy file mode %v, want 0644 (the web server reads it)", fi.Mode())
	}
	var rec string
	for _, rr := range st.records("example.com.") {
		if rr.Name == "_mta-sts" {
			rec = rr.Data
		}
	}
	if rec != policy.MTASTSRecord(want) {
		t.Errorf("_mta-sts TXT %q, want %q", rec, policy.MTASTSRecord(want))
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("files beside the policy: %v (a temporary file left?)", entries)
	}
	plan, _ = e.Run(ctx, Options{Mode: ModeDryRun})
	if plan.Zones[0].Status != StatusInSync || len(plan.Zones[0].Files) != 0 {
		t.Errorf("after once: %+v", plan.Zones[0])
	}

	// The mode going down is weakening: refused, nothing written.
	d.MTASTS.Mode = "testing"
	plan, _ = e.Run(ctx, Options{Mode: ModeOnce})
	if plan.Zones[0].Status != StatusRefused {
		t.Errorf("enforce → testing: status %s, want refused", plan.Zones[0].Status)
	}
	found := false
	for _, f := range plan.Findings {
		if f.Kind == "safety" && f.Severity == SevError && strings.Contains(f.Message, "lowers the mode from enforce to testing") && strings.Contains(f.Message, "--allow-weakening") {
			found = true
		}
	}
	if !found {
		t.Errorf("no safety error for enforce → testing: %+v", plan.Findings)
	}
	if got, _ := os.ReadFile(path); string(got) != want {
		t.Errorf("a refused run rewrote the policy: %q", got)
	}
	plan, _ = e.Run(ctx, Options{Mode: ModeDryRun})
	if plan.Zones[0].Status != StatusDrift || len(plan.Zones[0].Files) != 1 || plan.Zones[0].Files[0].Action != ActionUpdate {
		t.Errorf("dry-run after the refusal: %+v", plan.Zones[0])
	}
	text.Reset()
	_ = WriteText(&text, plan, false)
	if !strings.Contains(text.String(), "~ file  "+path+"  (MTA-STS policy, mode enforce → testing)") {
		t.Errorf("text plan lacks the mode change:\n%s", text.String())
	}
	plan, _ = e.Run(ctx, Options{Mode: ModeOnce, AllowWeakening: true})
	if plan.Zones[0].Status != StatusApplied {
		t.Errorf("with --allow-weakening: %+v %+v", plan.Zones[0], plan.Findings)
	}
	if got, _ := os.ReadFile(path); string(got) != policy.MTASTSPolicyText(d) {
		t.Errorf("policy file %q, want the testing one", got)
	}
	// Going up is not weakening.
	d.MTASTS.Mode = "enforce"
	plan, _ = e.Run(ctx, Options{Mode: ModeOnce})
	if plan.Zones[0].Status != StatusApplied {
		t.Errorf("testing → enforce: %+v %+v", plan.Zones[0], plan.Findings)
	}
}

// TestMTASTSPolicyFileUnwritable: a policy file that cannot be written
// leaves the records alone (the file goes first).
func TestMTASTSPolicyFileUnwritable(t *testing.T) {
	dir := t.TempDir()
	d := stsDomain("enforce", nil)
	d.MTASTS.PolicyDir = dir
	// A file where the domain's directory must go.
	if err := os.WriteFile(filepath.Join(dir, "example.com"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	e, st := stsEngine(t, d, []libdns.RR{{Name: "@", Type: "MX", TTL: time.Hour, Data: "10 mail.example.com."}})
	plan, err := e.Run(context.Background(), Options{Mode: ModeOnce})
	if err == nil || plan.Zones[0].Status != StatusError || !strings.Contains(plan.Zones[0].Error, "MTA-STS policy") {
		t.Fatalf("err %v, zone %+v", err, plan.Zones[0])
	}
	if st.appends+st.deletes+st.sets+st.replaces > 0 {
		t.Errorf("records written although the policy file was not")
	}
}

// TestMTASTSPolicyFileWriteFails: a policy file that can be read (it is
// not there) but not written (its directory cannot be made) leaves the
// records alone, and the share's journal entry says that none of its
// changes was attempted.
func TestMTASTSPolicyFileWriteFails(t *testing.T) {
	dir := t.TempDir()
	d := stsDomain("enforce", nil)
	d.MTASTS.PolicyDir = dir
	// The domain's directory is a link to nowhere: reading finds no file,
	// making the directory fails.
	if err := os.Symlink(filepath.Join(dir, "nowhere", "x"), filepath.Join(dir, "example.com")); err != nil {
		t.Fatal(err)
	}
	e, st := stsEngine(t, d, []libdns.RR{{Name: "@", Type: "MX", TTL: time.Hour, Data: "10 mail.example.com."}})
	e.Config.StateDir = t.TempDir()
	plan, err := e.Run(context.Background(), Options{Mode: ModeOnce})
	if err == nil || plan.Zones[0].Status != StatusError || !strings.Contains(plan.Zones[0].Error, "writing the MTA-STS policy") {
		t.Fatalf("err %v, zone %+v", err, plan.Zones[0])
	}
	if st.appends+st.deletes+st.sets+st.replaces > 0 {
		t.Errorf("records written although the policy file was not")
	}
	ents := journalEntries(t, e.Config.StateDir)
	if len(ents) != 1 || ents[0].Result == nil || ents[0].Result.Status != StatusError || len(ents[0].Result.Changes) == 0 {
		t.Fatalf("journal %+v", ents)
	}
	for _, c := range ents[0].Result.Changes {
		if c.Result != ChangeNotAttempted {
			t.Errorf("%s %s: %s, want not attempted", c.Name, c.Type, c.Result)
		}
	}
}

// TestMTASTSJournalRestore: the journal entry of a run that writes the
// policy file records its text before, and restore puts it back (a file
// the run created is removed).
func TestMTASTSJournalRestore(t *testing.T) {
	dir := t.TempDir()
	d := stsDomain("enforce", nil)
	d.MTASTS.PolicyDir = dir
	e, st := stsEngine(t, d, []libdns.RR{
		{Name: "mail", Type: "A", TTL: time.Hour, Data: "203.0.113.25"},
		{Name: "@", Type: "MX", TTL: time.Hour, Data: "10 mail.example.com."},
	})
	e.Config.StateDir = filepath.Join(t.TempDir(), "state")
	path := policy.MTASTSPolicyFile(d)
	ctx := context.Background()
	enforce := policy.MTASTSPolicyText(d)
	if plan, err := e.Run(ctx, Options{Mode: ModeOnce}); err != nil {
		t.Fatal(err, plan)
	}
	d.MTASTS.Mode = "testing"
	if plan, err := e.Run(ctx, Options{Mode: ModeOnce, AllowWeakening: true}); err != nil || plan.Zones[0].Status != StatusApplied {
		t.Fatal(err, plan.Zones[0])
	}
	entries, err := ListJournal(e.Config.StateDir)
	if err != nil || len(entries) != 2 {
		t.Fatalf("journal %v %v, want 2 entries", entries, err)
	}
	// Entries of the same second sort by their random suffix: tell them
	// apart by what they did.
	if first, _ := ReadJournal(entries[0]); len(first.Files) == 1 && first.Files[0].Action == ActionUpdate {
		entries[0], entries[1] = entries[1], entries[0]
	}
	second, _ := ReadJournal(entries[1])
	if len(second.Files) != 1 || second.Files[0].Before != enforce || second.Files[0].Path != path {
		t.Fatalf("journal entry files %+v, want the enforce text before", second.Files)
	}
	txt := func() string {
		for _, rr := range st.records("example.com.") {
			if rr.Name == "_mta-sts" {
				return rr.Data
			}
		}
		return ""
	}

	// Restoring testing → enforce is not weakening; the dry run writes nothing.
	plan, err := e.Restore(ctx, entries[1], Options{Mode: ModeDryRun})
	if err != nil || len(plan.Zones[0].Files) != 1 || plan.Zones[0].Files[0].After != enforce {
		t.Fatalf("restore dry-run: %v %+v", err, plan.Zones[0])
	}
	if got, _ := os.ReadFile(path); string(got) == enforce {
		t.Fatal("restore --dry-run wrote the file")
	}
	if plan, err = e.Restore(ctx, entries[1], Options{Mode: ModeOnce}); err != nil || plan.Zones[0].Status != StatusApplied {
		t.Fatalf("restore: %v %+v %+v", err, plan.Zones[0], plan.Findings)
	}
	if got, _ := os.ReadFile(path); string(got) != enforce {
		t.Errorf("restored policy %q, want %q", got, enforce)
	}
	if got := txt(); got != policy.MTASTSRecord(enforce) {
		t.Errorf("restored _mta-sts %q, want %q", got, policy.MTASTSRecord(enforce))
	}
	// The first entry created the file: restoring it removes the file and
	// the record (removing an MTA-STS record is not weakening by itself).
	if plan, err = e.Restore(ctx, entries[0], Options{Mode: ModeOnce}); err != nil || plan.Zones[0].Status != StatusApplied {
		t.Fatalf("restore of the first entry: %v %+v %+v", err, plan.Zones[0], plan.Findings)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the policy file the first run created is still there: %v", err)
	}
	if got := txt(); got != "" {
		t.Errorf("_mta-sts %q after restoring the first entry, want none", got)
	}
}
