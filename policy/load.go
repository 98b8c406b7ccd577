package policy

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/maildns/maildns/internal/readfile"
	"github.com/robfig/cron/v3"
)

// Defaults of maildns.yaml.
const (
	DefaultSchedule     = "@every 15m"
	DefaultStateDir     = "state" // beside the config file, when $STATE_DIRECTORY is unset
	DefaultMaxChanges   = 10
	DefaultJournalKeep  = 100
	DefaultJournalAge   = 2160 * time.Hour
	DefaultTTL          = 3600 * time.Second
	DefaultMXPriority   = 10
	DefaultDMARCPercent = 100
)

var configKeys = []string{"schedule", "schedule_jitter", "full_read_every", "policies", "state_dir", "resolvers",
	"live_checks", "log", "metrics", "safety", "journal", "providers"}

// secretKeys are provider settings that are secret whatever their value.
var secretKeys = map[string]bool{
	"api_token": true, "token": true, "key": true, "secret_access_key": true,
	"secret": true, "password": true,
}

// listKeys are provider settings written as a list of strings (a
// command's argv); every other setting is a single value.
var listKeys = map[string]bool{"post_write": true}

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// LoadConfig reads maildns.yaml at path and every policy file its policies
// globs match, validates all of it, and returns the config with Domains
// sorted by name. All problems are returned together: errors.Join of *Error,
// each naming file:line.
func LoadConfig(path string) (*Config, error) { return loadConfig(path, true) }

// LoadSettings loads maildns.yaml as LoadConfig does but reads no policy:
// for commands that need the providers before any policy exists (import).
func LoadSettings(path string) (*Config, error) { return loadConfig(path, false) }

func loadConfig(path string, withPolicies bool) (*Config, error) {
	c := &collector{}
	cfg := &Config{
		File:           path,
		Dir:            filepath.Dir(path),
		Schedule:       DefaultSchedule,
		LiveChecks:     true,
		Log:            LogConfig{Level: "info", Format: "auto"},
		Safety:         Safety{MaxChanges: DefaultMaxChanges},
		Journal:        JournalConfig{Keep: DefaultJournalKeep, MaxAge: DefaultJournalAge},
		Providers:      map[string]*ProviderConfig{},
		ScheduleJitter: 0,
	}
	// Beside the config file, not in the working directory: the daemon
	// and a --once from a shell then share one journal and one set of locks.
	cfg.StateDir = resolvePath(cfg.Dir, DefaultStateDir)
	if sd := os.Getenv("STATE_DIRECTORY"); sd != "" {
		// systemd lists several directories separated by ':'; the first is ours.
		cfg.StateDir, _, _ = strings.Cut(sd, ":")
	}
	data, err := readFile(path)
	if err != nil {
		c.errorf(Pos{File: path}, "cannot read config: %v", osErrText(err))
		return nil, c.err()
	}
	root, errs := parseYAML(path, data)
	if len(errs) > 0 {
		c.add(errs...)
		return nil, c.err()
	}
	var policyGlobs []entry
	if root != nil {
		entries, _ := c.mapping(node{path, root}, "config", configKeys)
		for _, e := range entries {
			switch e.key {
			case "schedule":
				if s, ok := c.str(e, path); ok {
					if _, err := cronParser.Parse(s); err != nil {
						c.errorf(Pos{path, e.node.Line}, "schedule: %q is not a valid cron spec (5 fields or @every/@hourly/...): %v", s, err)
					} else {
						cfg.Schedule = s
					}
				}
			case "schedule_jitter":
				if d, ok := c.duration(e, path); ok {
					cfg.ScheduleJitter = d
				}
			case "full_read_every":
				if d, ok := c.duration(e, path); ok {
					cfg.FullReadEvery = d
				}
			case "policies":
				globs, pos, _ := c.strList(e, path)
				cfg.Policies = globs
				for i, g := range globs {
					policyGlobs = append(policyGlobs, entry{key: g, pos: pos[i]})
				}
			case "state_dir":
				if s, ok := c.str(e, path); ok {
					if s == "" {
						c.errorf(Pos{path, e.node.Line}, "state_dir must not be empty")
					} else {
						cfg.StateDir = resolvePath(cfg.Dir, s)
					}
				}
			case "resolvers":
				list, pos, _ := c.strList(e, path)
				for i, r := range list {
					if msg := checkHostPort(r, false); msg != "" {
						c.errorf(pos[i], "resolvers: %q: %s", r, msg)
						continue
					}
					cfg.Resolvers = append(cfg.Resolvers, r)
				}
			case "live_checks":
				if b, ok := c.boolean(e, path); ok {
					cfg.LiveChecks = b
				}
			case "enforce":
				if b, ok := c.boolean(e, path); ok {
					cfg.Watch = !b
				}
			case "log":
				c.loadLog(path, e, &cfg.Log)
			case "metrics":
				c.loadMetrics(path, e, &cfg.Metrics)
			case "safety":
				c.loadSafety(path, e, &cfg.Safety)
			case "journal":
				c.loadJournal(path, e, &cfg.Journal)
			case "providers":
				c.loadProviders(cfg, e)
			}
		}
	}

	if !withPolicies {
		policyGlobs = nil
	}
	globs := c.expandGlobs(cfg.Dir, policyGlobs)
	loaded := loadDomains(cfg, globs.names)
	c.settle(globs, loaded)
	byName := make(map[string]*Domain, len(loaded))
	for _, r := range loaded {
		c.add(r.errs...)
		d := r.d
		if d == nil {
			continue
		}
		if r.ok {
			d.keepSets(r.rrs)
		}
		if prev, dup := byName[d.Domain]; dup {
			c.errorf(d.Pos, "domain %s is also defined in %s", d.Domain, prev.Pos)
			continue
		}
		byName[d.Domain] = d
		cfg.Domains = append(cfg.Domains, d)
	}
	slices.SortFunc(cfg.Domains, func(a, b *Domain) int { return strings.Compare(a.Domain, b.Domain) })
	c.checkClaims(cfg.Domains)
	if err := c.err(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// resolvePath returns p, or p joined to dir when p is relative.
func resolvePath(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// checkHostPort reports why s is not host:port, or "". With emptyHost the
// host may be empty (listen on every address).
func checkHostPort(s string, emptyHost bool) string {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		if strings.Contains(err.Error(), "missing port") {
			return "missing port (want host:port)"
		}
		return "not host:port"
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		return fmt.Sprintf("bad port %q", port)
	}
	if host == "" {
		if emptyHost {
			return ""
		}
		return "missing host"
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return ""
	}
	if msg := checkName(normName(host)); msg != "" {
		return "bad host: " + msg
	}
	return ""
}

func (c *collector) loadLog(file string, e entry, lc *LogConfig) {
	entries, _ := c.mapping(node{file, e.node}, "log", []string{"level", "format"})
	for _, f := range entries {
		s, ok := c.str(f, file)
		if !ok {
			continue
		}
		switch f.key {
		case "level":
			if c.oneOf(Pos{file, f.node.Line}, "log.level", s, []string{"debug", "info", "warn", "error"}) {
				lc.Level = s
			}
		case "format":
			if c.oneOf(Pos{file, f.node.Line}, "log.format", s, []string{"auto", "text", "json"}) {
				lc.Format = s
			}
		}
	}
}

func (c *collector) loadMetrics(file string, e entry, mc *MetricsConfig) {
	entries, _ := c.mapping(node{file, e.node}, "metrics", []string{"listen"})
	for _, f := range entries {
		s, ok := c.str(f, file)
		if !ok {
			continue
		}
		if s != "" {
			if msg := checkHostPort(s, true); msg != "" {
				c.errorf(Pos{file, f.node.Line}, "metrics.listen: %q: %s", s, msg)
				continue
			}
		}
		mc.Listen = s
	}
}

func (c *collector) loadSafety(file string, e entry, sc *Safety) {
	entries, _ := c.mapping(node{file, e.node}, "safety", []string{"max_changes", "allow_weakening"})
	for _, f := range entries {
		switch f.key {
		case "max_changes":
			if i, ok := c.integer(f, file); ok {
				if i < 1 || i > 1<<31-1 {
					c.errorf(Pos{file, f.node.Line}, "safety.max_changes must be at least 1, not %d", i)
				} else {
					sc.MaxChanges = int(i)
				}
			}
		case "allow_weakening":
			if b, ok := c.boolean(f, file); ok {
				sc.AllowWeakening = b
			}
		}
	}
}

func (c *collector) loadJournal(file string, e entry, jc *JournalConfig) {
	entries, _ := c.mapping(node{file, e.node}, "journal", []string{"keep", "max_age"})
	for _, f := range entries {
		switch f.key {
		case "keep":
			if i, ok := c.integer(f, file); ok {
				if i < 0 || i > 1<<31-1 {
					c.errorf(Pos{file, f.node.Line}, "journal.keep must be 0 (no limit) or more, not %d", i)
				} else {
					jc.Keep = int(i)
				}
			}
		case "max_age":
			if d, ok := c.duration(f, file); ok {
				jc.MaxAge = d
			}
		}
	}
}

func (c *collector) loadProviders(cfg *Config, e entry) {
	file := cfg.File
	entries, _ := c.mapping(node{file, e.node}, "providers", nil)
	for _, p := range entries {
		if p.key == "" {
			c.errorf(p.pos, "providers: empty provider name")
			continue
		}
		pc := &ProviderConfig{
			Name:     p.key,
			Settings: map[string]string{},
			Secret:   map[string]bool{},
			Pos:      p.pos,
			KeyPos:   map[string]Pos{},
		}
		settings, ok := c.mapping(node{file, p.node}, "provider "+p.key, nil)
		if !ok {
			continue
		}
		for _, s := range settings {
			sp := Pos{file, s.node.Line}
			if listKeys[s.key] && kindName(s.node) == "a list" {
				// A list of strings, such as a command's argv.
				c.loadSettingList(cfg, pc, s, sp)
				continue
			}
			if !isPlainScalar(s.node) {
				c.errorf(sp, "provider %s: setting %s must be a single value, not %s", p.key, s.key, kindName(s.node))
				continue
			}
			if s.key == "type" {
				if s.node.Value == "" {
					c.errorf(sp, "provider %s: type must not be empty", p.key)
					continue
				}
				pc.Type = s.node.Value
				pc.KeyPos["type"] = sp
				continue
			}
			val, secret, errs := resolveSecrets(s.node.Value, cfg.Dir, sp, p.key, s.key)
			if len(errs) > 0 {
				c.add(errs...)
				continue
			}
			pc.Settings[s.key] = val
			pc.KeyPos[s.key] = sp
			if secret || secretKeys[s.key] {
				pc.Secret[s.key] = true
			}
		}
		if pc.Type == "" {
			c.errorf(p.pos, "provider %s: type is required", p.key)
		}
		cfg.Providers[p.key] = pc
	}
}

// loadSettingList reads a provider setting that is a list of strings into
// pc.Lists. Such a setting (a command's argv) holds no secret: ${...}
// references are refused, so that no list item has to be redacted.
func (c *collector) loadSettingList(cfg *Config, pc *ProviderConfig, s entry, sp Pos) {
	items, _, ok := c.strList(s, cfg.File)
	if !ok {
		return
	}
	for _, it := range items {
		if strings.Contains(it, "${") {
			c.errorf(sp, "provider %s: setting %s: ${...} references are not allowed in a list", pc.Name, s.key)
			return
		}
	}
	if pc.Lists == nil {
		pc.Lists = map[string][]string{}
	}
	pc.Lists[s.key] = items
	pc.KeyPos[s.key] = sp
}

// resolveSecrets replaces the references ${NAME}, ${file:PATH} and
// ${credential:NAME} in v. Errors name the reference, never a value.
func resolveSecrets(v, dir string, pos Pos, provider, key string) (string, bool, []*Error) {
	if !strings.Contains(v, "${") {
		return v, false, nil
	}
	var b strings.Builder
	var errs []*Error
	rest := v
	for {
		i := strings.Index(rest, "${")
		if i < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i])
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			errs = append(errs, Errorf(pos, "provider %s: setting %s: unterminated ${ reference", provider, key))
			break
		}
		ref := rest[i+2 : i+j]
		rest = rest[i+j+1:]
		val, err := lookupSecret(ref, dir)
		if err != "" {
			errs = append(errs, Errorf(pos, "provider %s: setting %s: %s", provider, key, err))
			continue
		}
		b.WriteString(val)
	}
	return b.String(), true, errs
}

func lookupSecret(ref, dir string) (string, string) {
	switch {
	case strings.HasPrefix(ref, "file:"):
		p := strings.TrimPrefix(ref, "file:")
		if p == "" {
			return "", "${file:} names no file"
		}
		data, err := readFile(resolvePath(dir, p))
		if err != nil {
			return "", fmt.Sprintf("cannot read ${file:%s}: %v", p, osErrText(err))
		}
		return strings.TrimRight(string(data), "\r\n"), ""
	case strings.HasPrefix(ref, "credential:"):
		name := strings.TrimPrefix(ref, "credential:")
		if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
			return "", fmt.Sprintf("${credential:%s}: bad credential name", name)
		}
		cd := os.Getenv("CREDENTIALS_DIRECTORY")
		if cd == "" {
			return "", fmt.Sprintf("${credential:%s}: $CREDENTIALS_DIRECTORY is not set (systemd LoadCredential=)", name)
		}
		data, err := readFile(filepath.Join(cd, name))
		if err != nil {
			return "", fmt.Sprintf("cannot read ${credential:%s}: %v", name, osErrText(err))
		}
		return strings.TrimRight(string(data), "\r\n"), ""
	default:
		if !validEnvName(ref) {
			return "", fmt.Sprintf("${%s}: bad environment variable name", ref)
		}
		val, ok := os.LookupEnv(ref)
		if !ok {
			return "", fmt.Sprintf("environment variable %s (${%s}) is not set", ref, ref)
		}
		if val == "" {
			return "", fmt.Sprintf("environment variable %s (${%s}) is empty", ref, ref)
		}
		return val, ""
	}
}

// osErrText is the error of a file operation without anything read from it.
func osErrText(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Op + ": " + pe.Err.Error()
	}
	return err.Error()
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return true
}

// globbed is what the policies globs match: every name once, in glob
// order with each glob's matches sorted, and which names each glob
// matched. Which of them are files (not directories) and which name a
// file already named is known once the loaders have looked at them.
type globbed struct {
	names []string
	globs []globMatch
}

type globMatch struct {
	pos     Pos
	pattern string
	err     string // the glob's problem, when it has one
	names   []int  // its matches, as indexes into names
}

// expandGlobs expands the policies globs. It looks at no file: the
// loaders stat each one anyway (100,000 stats more, on one core, were
// half the cost of a glob).
func (c *collector) expandGlobs(dir string, globs []entry) globbed {
	var g globbed
	var seen map[string]int // with several globs, a name matched twice counts once
	if len(globs) > 1 {
		seen = map[string]int{}
	}
	for _, e := range globs {
		gm := globMatch{pos: e.pos, pattern: e.key}
		if e.key == "" {
			gm.err = "policies: empty glob"
			g.globs = append(g.globs, gm)
			continue
		}
		switch matches, err := filepath.Glob(resolvePath(dir, e.key)); {
		case err != nil:
			gm.err = fmt.Sprintf("policies: bad glob %q: %v", e.key, err)
		case len(matches) == 0:
			gm.err = fmt.Sprintf("policies: %q matches no file", e.key)
		default:
			sort.Strings(matches)
			gm.names = make([]int, len(matches))
			for i, m := range matches {
				if j, ok := seen[m]; ok {
					gm.names[i] = j
					continue
				}
				if seen != nil {
					seen[m] = len(g.names)
				}
				gm.names[i] = len(g.names)
				g.names = append(g.names, m)
			}
		}
		g.globs = append(g.globs, gm)
	}
	return g
}

// settle reports the problems of the globs, now that the loaders have
// looked at each name (policies/* may match directories: only files
// count), and drops the result of a name that reaches a file an earlier
// name reached (a symlink): what was loaded is then what the glob order
// asks for, each file once.
func (c *collector) settle(g globbed, out []loadedDomain) {
	for _, gm := range g.globs {
		if gm.err != "" {
			c.errorf(gm.pos, "%s", gm.err)
			continue
		}
		nfiles := 0
		for _, i := range gm.names {
			if !out[i].dir {
				nfiles++
			}
		}
		if nfiles == 0 {
			c.errorf(gm.pos, "policies: %q matches no file", gm.pattern)
		}
	}
	seenID := map[fileID]bool{}
	for i := range out {
		r := &out[i]
		if r.dir || !r.known {
			continue
		}
		if seenID[r.id] {
			*r = loadedDomain{}
			continue
		}
		seenID[r.id] = true
	}
}

// fileID identifies a file whatever the name it is reached by (os.SameFile
// as a map key: a scan of every file seen before would be quadratic).
type fileID struct{ dev, ino uint64 }

func idOf(fi os.FileInfo) (fileID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{uint64(st.Dev), uint64(st.Ino)}, true
}

// loadedDomain is one policy file's result.
type loadedDomain struct {
	d     *Domain
	ok    bool
	rrs   []RRset
	errs  []*Error
	dir   bool   // the name is a directory: no policy, no problem
	known bool   // the file was there: id says which it is
	id    fileID // the file whatever the name it is reached by
}

// loadDomains loads the policy files, several at once (each file is read,
// parsed and checked on its own), and returns their results in the order of
// files, so that the problems found are reported in the same order as by a
// sequential load. A key file named by several policies is read and parsed
// once.
func loadDomains(cfg *Config, files []string) []loadedDomain {
	out := make([]loadedDomain, len(files))
	keys := &keyCache{m: map[string]*cachedKey{}}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(files)) {
		wg.Go(func() {
			s := &loadScratch{}
			for {
				i := int(next.Add(1)) - 1
				if i >= len(files) {
					return
				}
				s.lists.strs, s.lists.pos = s.lists.strs[:0], s.lists.pos[:0]
				c := &collector{block: s.entries[:0], lists: &s.lists}
				s.info = readfile.Info{}
				d, ok, rrs := c.loadDomain(cfg, files[i], keys, s)
				s.entries = c.block
				s.text = s.text[:0]
				if len(c.errs) > 0 || cap(s.text) > policyTextKeep {
					s.text = nil // what the problems say may be in it
				}
				out[i] = loadedDomain{d: d, ok: ok, rrs: rrs, errs: c.errs}
				switch {
				case s.info.Mode.IsDir():
					out[i] = loadedDomain{dir: true}
				case s.info.Ino != 0:
					out[i].known, out[i].id = true, fileID{s.info.Dev, s.info.Ino}
				case s.info.Mode != 0 || s.info.Size != 0:
					// A system that gives no identity with a read.
					if fi, err := os.Stat(files[i]); err == nil {
						out[i].id, out[i].known = idOf(fi)
					}
				}
			}
		})
	}
	wg.Wait()
	return out
}

// loadScratch is what one loader reuses from policy to policy: the YAML
// parser with its blocks of nodes, the block of the mappings' entries.
type loadScratch struct {
	text    []byte        // the buffer the policy at hand was read into
	src     string        // the text of the policy at hand
	info    readfile.Info // what it is (zero: not there)
	yaml    fastYAML
	entries []entry   // the block of the mappings' entries
	lists   listBlock // the block of the string lists
	arena   loadArena // where the compiled RRsets and kept strings go
}

// policyTextKeep is the largest buffer a loader keeps for the next
// policy: one long policy's is not kept for the short ones after it.
const policyTextKeep = 64 << 10

// keyCache holds the DKIM key files read by one load, by absolute path.
type keyCache struct {
	mu     sync.Mutex
	m      map[string]*cachedKey
	byName map[[2]string]*cachedKey // by policy directory and key_file as written
	wd     workDir                  // the working directory, asked once per load
}

// cachedKey is one key file: read and parsed once, by whoever asks first.
// Its path and its TXT value are shared by the policies that name it.
type cachedKey struct {
	path    string // absolute
	once    sync.Once
	key     dkimKey
	readErr error // reading the file failed
	err     error // parsing it failed
	txtOnce sync.Once
	txt     string // the DKIM TXT value publishing key
}

// named is get of the key file a policy in dir names as file: the path
// is made absolute once per name, not once per policy.
func (kc *keyCache) named(dir, file string) *cachedKey {
	ref := [2]string{dir, file}
	kc.mu.Lock()
	k := kc.byName[ref]
	kc.mu.Unlock()
	if k != nil {
		return k
	}
	k = kc.get(kc.wd.abs(resolvePath(dir, file)))
	kc.mu.Lock()
	if kc.byName == nil {
		kc.byName = map[[2]string]*cachedKey{}
	}
	kc.byName[[2]string{strings.Clone(dir), strings.Clone(file)}] = k // file is a substring of its policy's text
	kc.mu.Unlock()
	return k
}

// dkimTXT is the TXT value publishing the key of key file path (as
// parsed: kt and p), made once per key file: the value of an RSA key is
// 400 bytes, kept by every policy that names the file.
func (kc *keyCache) dkimTXT(path, kt, p string) (string, bool) {
	kc.mu.Lock()
	k := kc.m[path]
	kc.mu.Unlock()
	if k == nil || k.readErr != nil || k.err != nil || k.key.P != p || k.key.Type != kt {
		return "", false
	}
	k.txtOnce.Do(func() { k.txt = dkimTXT(nil, kt, p) })
	return k.txt, true
}

// get reads and parses the key file at path (absolute), once per load.
func (kc *keyCache) get(path string) *cachedKey {
	kc.mu.Lock()
	k := kc.m[path]
	if k == nil {
		k = &cachedKey{path: path}
		kc.m[path] = k
	}
	kc.mu.Unlock()
	k.once.Do(func() {
		data, err := readFile(path)
		if err != nil {
			k.readErr = err
			return
		}
		k.key, k.err = parseDKIMPEM(data)
	})
	return k
}
