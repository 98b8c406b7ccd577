package main

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/providers"
	"github.com/maildns/maildns/sync"
)

// The reference (docs/) must name everything maildns accepts and says. The
// lists below are derived from the code that defines them (the loader's key
// lists, the settings each backend reads, the command tree, the log calls,
// the metric definitions), so a key added there and not documented fails.

// docsDir is the reference's folder.
var docsDir = filepath.Join("..", "..", "docs")

// readDocs returns the text of one file of docs/.
func readDocs(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(docsDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// loaderKeys finds every call c.mapping(node, "what", keys) in the policy
// package's sources and returns the documented name of each key: "log.level",
// "dkim[].key_file", "domain" (top-level keys of a config or policy).
func loaderKeys(t *testing.T, dir string) map[string][]string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	lists := map[string][]string{}    // package-level []string vars
	appended := map[string][]string{} // what init functions append to them
	var calls []*ast.CallExpr
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			if gd, ok := decl.(*ast.GenDecl); ok && gd.Tok == token.VAR {
				for _, spec := range gd.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, name := range vs.Names {
						if i < len(vs.Values) {
							if l, ok := stringsLit(vs.Values[i]); ok {
								lists[name.Name] = l
							}
						}
					}
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			// list = append(list, "key", ...): keys a file adds to a list.
			if as, ok := n.(*ast.AssignStmt); ok && len(as.Lhs) == 1 && len(as.Rhs) == 1 {
				lhs, ok1 := as.Lhs[0].(*ast.Ident)
				call, ok2 := as.Rhs[0].(*ast.CallExpr)
				if ok1 && ok2 && len(call.Args) > 1 {
					if fn, ok := call.Fun.(*ast.Ident); ok && fn.Name == "append" {
						if first, ok := call.Args[0].(*ast.Ident); ok && first.Name == lhs.Name {
							for _, a := range call.Args[1:] {
								if lit, ok := a.(*ast.BasicLit); ok && lit.Kind == token.STRING {
									v, _ := strconv.Unquote(lit.Value)
									appended[lhs.Name] = append(appended[lhs.Name], v)
								}
							}
						}
					}
				}
			}
			if call, ok := n.(*ast.CallExpr); ok {
				if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "mapping" && len(call.Args) == 3 {
					calls = append(calls, call)
				}
			}
			return true
		})
	}
	for name, extra := range appended {
		if _, ok := lists[name]; ok {
			lists[name] = append(lists[name], extra...)
		}
	}
	out := map[string][]string{}
	for _, call := range calls {
		lit, ok := call.Args[1].(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			continue // "provider "+name: settings, checked per backend
		}
		what, _ := strconv.Unquote(lit.Value)
		var keys []string
		switch a := call.Args[2].(type) {
		case *ast.Ident:
			if a.Name == "nil" {
				continue
			}
			l, ok := lists[a.Name]
			if !ok {
				t.Fatalf("%s: the keys of %s are in %s, which is not a []string literal", fset.Position(call.Pos()), what, a.Name)
			}
			keys = l
		case *ast.CallExpr: // append([]string{...}, otherList...)
			if fn, ok := a.Fun.(*ast.Ident); !ok || fn.Name != "append" {
				t.Fatalf("%s: cannot read the keys of %s", fset.Position(call.Pos()), what)
			}
			for _, arg := range a.Args {
				if l, ok := stringsLit(arg); ok {
					keys = append(keys, l...)
				} else if id, ok := arg.(*ast.Ident); ok && lists[id.Name] != nil {
					keys = append(keys, lists[id.Name]...)
				} else if lit, ok := arg.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					v, _ := strconv.Unquote(lit.Value)
					keys = append(keys, v)
				} else {
					t.Fatalf("%s: cannot read the keys of %s", fset.Position(call.Pos()), what)
				}
			}
		default:
			l, ok := stringsLit(a)
			if !ok {
				t.Fatalf("%s: cannot read the keys of %s", fset.Position(call.Pos()), what)
			}
			keys = l
		}
		prefix := ""
		switch {
		case what == "config" || what == "policy":
		case strings.HasSuffix(what, " item"):
			prefix = strings.TrimSuffix(what, " item") + "[]."
		default:
			prefix = strings.ReplaceAll(what, " ", "_") + "."
		}
		for _, k := range keys {
			out[what] = append(out[what], prefix+k)
		}
	}
	if len(out) < 5 {
		t.Fatalf("found the keys of only %d sections in %s", len(out), dir)
	}
	return out
}

// stringsLit is the value of a []string{"a", "b"} literal.
func stringsLit(e ast.Expr) ([]string, bool) {
	cl, ok := e.(*ast.CompositeLit)
	if !ok {
		return nil, false
	}
	if at, ok := cl.Type.(*ast.ArrayType); !ok || at.Len != nil {
		return nil, false
	} else if id, ok := at.Elt.(*ast.Ident); !ok || id.Name != "string" {
		return nil, false
	}
	var out []string
	for _, el := range cl.Elts {
		lit, ok := el.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return nil, false
		}
		s, _ := strconv.Unquote(lit.Value)
		out = append(out, s)
	}
	return out, true
}

// TestReferenceConfigKeys: every key of maildns.yaml and of a policy file
// that the loader accepts is in docs/config.md or docs/policy.md, written
// `section.key` (`dkim[].key_file` for a list's items).
func TestReferenceConfigKeys(t *testing.T) {
	docs := readDocs(t, "config.md") + readDocs(t, "policy.md")
	n := 0
	for what, keys := range loaderKeys(t, filepath.Join("..", "..", "policy")) {
		for _, k := range keys {
			n++
			if !strings.Contains(docs, "`"+k+"`") {
				t.Errorf("%s key %s is not in docs/config.md or docs/policy.md (as `%s`)", what, k, k)
			}
		}
	}
	t.Logf("%d keys checked", n)
}

// TestReferenceKeysFound: the derivation above sees a key of every kind (so
// that the check cannot pass on an empty list).
func TestReferenceKeysFound(t *testing.T) {
	all := map[string]bool{}
	for _, keys := range loaderKeys(t, filepath.Join("..", "..", "policy")) {
		for _, k := range keys {
			all[k] = true
		}
	}
	for _, k := range []string{"schedule", "log.level", "safety.max_changes", "dkim[].key_file", "dmarc.percent", "ptr.mode", "mail_hosts[].ttl", "tls_rpt"} {
		if !all[k] {
			t.Errorf("the loader's keys lack %s: %v", k, all)
		}
	}
}

// providerSettings builds every provider of every example config under
// configs/ (secrets replaced by a dummy) and returns, per backend type, the
// settings its factory and the common wrapper read.
func providerSettings(t *testing.T) map[string][]string {
	t.Helper()
	// Each example folder is copied so that ${file:...} secrets can be made.
	var paths []string
	dirs, _ := filepath.Glob(filepath.Join("..", "..", "configs", "*"))
	for _, dir := range dirs {
		dst := filepath.Join(t.TempDir(), filepath.Base(dir))
		if err := os.CopyFS(dst, os.DirFS(dir)); err != nil {
			t.Fatal(err)
		}
		found, _ := filepath.Glob(filepath.Join(dst, "*.yaml"))
		paths = append(paths, found...)
	}
	creds := t.TempDir()
	t.Setenv("CREDENTIALS_DIRECTORY", creds)
	ref := regexp.MustCompile(`\$\{(credential:|file:)?([^}]+)\}`)
	out := map[string][]string{}
	for _, path := range paths {
		data, _ := os.ReadFile(path)
		if !strings.Contains(string(data), "providers:") {
			continue // a policy file
		}
		for _, m := range ref.FindAllStringSubmatch(string(data), -1) {
			switch m[1] {
			case "credential:":
				os.WriteFile(filepath.Join(creds, m[2]), []byte("c2VjcmV0LXNlY3JldA=="), 0o600)
			case "file:":
				p := m[2]
				if !filepath.IsAbs(p) {
					p = filepath.Join(filepath.Dir(path), p)
				}
				os.MkdirAll(filepath.Dir(p), 0o755)
				os.WriteFile(p, []byte("c2VjcmV0LXNlY3JldA==\n"), 0o600)
			case "":
				t.Setenv(m[2], "c2VjcmV0LXNlY3JldA==")
			}
		}
		cfg, err := policy.LoadConfig(path)
		if err != nil {
			t.Logf("%s: %v (skipped)", path, err)
			continue
		}
		for _, pc := range cfg.Providers {
			s := &providers.Settings{Name: pc.Name, BaseDir: cfg.Dir, Values: pc.Settings, Lists: pc.Lists, Secret: pc.Secret}
			if _, err := providers.NewWrapped(pc.Type, s, providers.WrapOptions{}); err != nil {
				t.Errorf("%s: provider %s: %v", path, pc.Name, err)
				continue
			}
			for _, k := range s.Read() {
				if !slices.Contains(out[pc.Type], k) {
					out[pc.Type] = append(out[pc.Type], k)
				}
			}
		}
	}
	return out
}

// TestReferenceProviderSettings: every setting a backend reads is in
// docs/config.md, in that backend's section or among the settings every
// provider takes; every registered backend has a section.
func TestReferenceProviderSettings(t *testing.T) {
	docs := readDocs(t, "config.md")
	sections := map[string]string{}
	for _, part := range strings.Split(docs, "\n### ")[1:] {
		title, body, _ := strings.Cut(part, "\n")
		sections[title] = body
	}
	common := sections["Settings every provider takes"]
	if common == "" {
		t.Fatal(`docs/config.md has no "### Settings every provider takes"`)
	}
	read := providerSettings(t)
	// Backends this package's tests register are not shipped.
	testOnly := map[string]bool{}
	tests, _ := filepath.Glob("*_test.go")
	for _, f := range tests {
		b, _ := os.ReadFile(f)
		for _, m := range regexp.MustCompile(`providers\.Register\("([^"]+)"`).FindAllStringSubmatch(string(b), -1) {
			testOnly[m[1]] = true
		}
	}
	for _, typ := range providers.Types() {
		if testOnly[typ] {
			continue
		}
		body, ok := sections["`type: "+typ+"`"]
		if !ok {
			t.Errorf("docs/config.md has no section \"### `type: %s`\"", typ)
			continue
		}
		if len(read[typ]) == 0 {
			t.Errorf("no example config under configs/ uses type %s: its settings cannot be checked", typ)
		}
		for _, k := range read[typ] {
			if k == "type" {
				continue
			}
			if !strings.Contains(body, "`"+k+"`") && !strings.Contains(common, "`"+k+"`") {
				t.Errorf("provider type %s: setting %s is not in its docs/config.md section", typ, k)
			}
		}
	}
}

// TestReferenceCommands: every command and flag of the command tree is in
// docs/cli.md, and so is every exit status.
func TestReferenceCommands(t *testing.T) {
	docs := readDocs(t, "cli.md")
	root := newRootCmd(&cli{f: &flags{}, stdout: io.Discard, stderr: io.Discard})
	root.InitDefaultCompletionCmd()
	var walk func(*cobra.Command)
	n := 0
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" {
			return
		}
		n++
		if !strings.Contains(docs, "`"+c.CommandPath()) {
			t.Errorf("command %q is not in docs/cli.md", c.CommandPath())
		}
		for _, fs := range []*pflag.FlagSet{c.LocalNonPersistentFlags(), c.PersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) {
				if f.Hidden || f.Name == "help" {
					return
				}
				n++
				if !documentsFlag(docs, c, f.Name) {
					t.Errorf("%s: flag --%s is not in docs/cli.md", c.CommandPath(), f.Name)
				}
			})
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	if n < 15 {
		t.Errorf("only %d commands and flags found", n)
	}
	for _, code := range []int{exitOK, exitFailed, exitDrift} {
		if !regexp.MustCompile(`\|\s*` + strconv.Itoa(code) + `\s*\|`).MatchString(docs) {
			t.Errorf("exit status %d is not in docs/cli.md's table", code)
		}
	}
	for _, env := range []string{"MAILDNS_CONFIG", "NO_COLOR", "TERM", "JOURNAL_STREAM", "STATE_DIRECTORY", "CREDENTIALS_DIRECTORY"} {
		if !strings.Contains(docs, "`"+env) {
			t.Errorf("environment variable %s is not in docs/cli.md", env)
		}
	}
}

// documentsFlag reports whether docs documents the flag --name of cmd: the
// root command's flags anywhere as `--name (not as a prefix of a longer
// flag: --out is not --output); a subcommand's in a table row or paragraph
// that also names the command (`dkim keygen`), or says "every command".
func documentsFlag(docs string, cmd *cobra.Command, name string) bool {
	flag := regexp.MustCompile("`--" + regexp.QuoteMeta(name) + "[^a-z0-9-]")
	if !cmd.HasParent() {
		return flag.MatchString(docs)
	}
	sub := strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
	for _, para := range strings.Split(docs, "\n\n") {
		units := []string{para}
		if strings.HasPrefix(para, "|") {
			units = strings.Split(para, "\n")
		}
		for _, u := range units {
			if flag.MatchString(u) && (strings.Contains(u, sub) || strings.Contains(u, "every command")) {
				return true
			}
		}
	}
	return false
}

// TestReferenceLogs: every message maildns logs at INFO or above is in
// docs/logs.md.
func TestReferenceLogs(t *testing.T) {
	docs := readDocs(t, "logs.md")
	fset := token.NewFileSet()
	n := 0
	for _, dir := range []string{".", filepath.Join("..", "..", "sync"), filepath.Join("..", "..", "metrics")} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(nd ast.Node) bool {
				call, ok := nd.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				arg := -1
				switch sel.Sel.Name {
				case "Info", "Warn", "Error":
					arg = 0
				case "InfoContext", "WarnContext", "ErrorContext":
					arg = 1
				case "Log":
					arg = 2
				}
				if arg < 0 || len(call.Args) <= arg {
					return true
				}
				// slog's methods take the message and then key, value pairs.
				if !call.Ellipsis.IsValid() && (len(call.Args)-arg)%2 != 1 {
					return true
				}
				lit, ok := call.Args[arg].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				msg, _ := strconv.Unquote(lit.Value)
				n++
				if !strings.Contains(docs, "`"+msg+"`") {
					t.Errorf("%s: log message %q is not in docs/logs.md", fset.Position(call.Pos()), msg)
				}
				return true
			})
		}
	}
	if n < 10 {
		t.Errorf("only %d log messages found", n)
	}
}

// TestReferenceMetrics: every metric the metrics package defines is in
// docs/metrics.md.
func TestReferenceMetrics(t *testing.T) {
	docs := readDocs(t, "metrics.md")
	src, err := os.ReadFile(filepath.Join("..", "..", "metrics", "metrics.go"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range regexp.MustCompile(`Name:\s*"([a-z_]+)"|Namespace\s*\+\s*"_([a-z_]+)"`).FindAllStringSubmatch(string(src), -1) {
		names = append(names, "maildns_"+m[1]+m[2])
	}
	if len(names) < 9 {
		t.Fatalf("found only %d metrics: %v", len(names), names)
	}
	for _, name := range names {
		if !strings.Contains(docs, "`"+name) {
			t.Errorf("metric %s is not in docs/metrics.md", name)
		}
	}
}

// TestReferencePlanKeys: every JSON key of the plan (the fields of
// sync.Plan and the types it holds) is in docs/plan.md.
func TestReferencePlanKeys(t *testing.T) {
	docs := readDocs(t, "plan.md")
	seen := map[reflect.Type]bool{}
	var keys []string
	var walk func(reflect.Type)
	walk = func(ty reflect.Type) {
		for ty.Kind() == reflect.Pointer || ty.Kind() == reflect.Slice || ty.Kind() == reflect.Map {
			ty = ty.Elem()
		}
		if ty.Kind() != reflect.Struct || seen[ty] {
			return
		}
		seen[ty] = true
		for i := 0; i < ty.NumField(); i++ {
			f := ty.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if name != "" {
				keys = append(keys, name)
			}
			walk(f.Type)
		}
	}
	walk(reflect.TypeOf(sync.Plan{}))
	if len(keys) < 20 {
		t.Fatalf("only %d plan keys: %v", len(keys), keys)
	}
	for _, k := range keys {
		if !strings.Contains(docs, "`"+k+"`") {
			t.Errorf("plan key %s is not in docs/plan.md", k)
		}
	}
}

// TestOpsKitMetrics: the Grafana dashboard and the alert rules query only
// metrics maildns has (and the process and scrape ones Prometheus adds).
func TestOpsKitMetrics(t *testing.T) {
	docs := readDocs(t, "metrics.md")
	dash, err := os.ReadFile(filepath.Join("..", "..", "deploy", "grafana", "maildns.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(dash, &d); err != nil || len(d.Panels) < 5 {
		t.Fatalf("dashboard: %v, %d panels", err, len(d.Panels))
	}
	rules, err := os.ReadFile(filepath.Join("..", "..", "deploy", "prometheus", "maildns.rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{string(rules)}
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			texts = append(texts, tg.Expr)
		}
	}
	name := regexp.MustCompile(`maildns_[a-z_]+`)
	n := 0
	for _, text := range texts {
		for _, m := range name.FindAllString(text, -1) {
			base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_sum"), "_count")
			n++
			if !strings.Contains(docs, "`"+base+"`") {
				t.Errorf("%s is queried but is no maildns metric of docs/metrics.md", m)
			}
		}
	}
	if n < 10 {
		t.Errorf("only %d metric references", n)
	}
}
