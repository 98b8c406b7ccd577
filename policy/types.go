// Package policy loads maildns.yaml and the per-domain policy files with
// strict YAML (every error names file:line), validates them, and compiles
// each domain to the RRsets it wants, marked with what maildns owns of them.
// It knows nothing of providers or the network.
package policy

import (
	"fmt"
	"strings"
	"time"
)

// Pos is a place in a file.
type Pos struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
}

func (p Pos) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return p.File
}

// Error is a problem in a config or policy file, at a place.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string {
	if e.Pos.File == "" {
		return e.Msg
	}
	return e.Pos.String() + ": " + e.Msg
}

// Errorf builds an *Error at pos.
func Errorf(pos Pos, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// Config is maildns.yaml with every policy it names, loaded and validated.
type Config struct {
	File           string // path of maildns.yaml as given
	Dir            string // its directory: relative paths start here
	Schedule       string
	ScheduleJitter time.Duration
	FullReadEvery  time.Duration // the daemon's longest gap between full reads of an unchanged zone; 0: 24h
	Policies       []string      // globs as written
	StateDir       string        // absolute or relative to the working directory, resolved
	Resolvers      []string      // host:port; empty: /etc/resolv.conf
	LiveChecks     bool
	Watch          bool // enforce: false: every domain is watched (never written) unless its policy says otherwise
	Log            LogConfig
	Metrics        MetricsConfig
	Safety         Safety
	Journal        JournalConfig
	Providers      map[string]*ProviderConfig
	Domains        []*Domain // sorted by domain name
}

// Compile returns the RRsets d wants: those the load compiled when d is a
// valid policy as loaded, else policy.Compile(d). The sets returned are
// shared: callers only read them.
func (c *Config) Compile(d *Domain) ([]RRset, error) {
	if d.compiledFor == d {
		return d.loadedSets(), nil
	}
	return Compile(d)
}

type LogConfig struct {
	Level  string // debug|info|warn|error
	Format string // auto|text|json
}

type MetricsConfig struct {
	Listen string
}

type Safety struct {
	MaxChanges     int
	AllowWeakening bool
}

// JournalConfig is the retention of journal entries in state_dir.
type JournalConfig struct {
	Keep   int           // newest entries kept; 0: no count limit
	MaxAge time.Duration // entries older are pruned; 0: no age limit
}

// ProviderConfig is one entry of providers: in maildns.yaml. Settings hold
// the values with secret references resolved; Secret marks the keys whose
// value came from a reference (and must never be shown).
type ProviderConfig struct {
	Name     string
	Type     string
	Settings map[string]string
	Lists    map[string][]string // settings written as a list of strings
	Secret   map[string]bool
	Pos      Pos            // the provider's entry
	KeyPos   map[string]Pos // each setting's line
}

// Domain is one policy file.
type Domain struct {
	Pos            Pos    // the file (line of `domain:`)
	Domain         string // lower case, no trailing dot
	Provider       string
	Zone           string // lower case, no trailing dot
	TTL            time.Duration
	MailHosts      []MailHost
	MX             []MX // nil: default from mail hosts
	SPF            *SPF
	DKIM           []DKIM
	DMARC          *DMARC
	PTR            *PTR
	Parked         bool
	nCompiled      uint32 // len of compiled (in Parked's padding)
	AllowWeakening *bool  // nil: the config's
	TLSRPT         *TLSRPT
	BIMI           *BIMI
	Enforce        *bool // nil: the config's; false: watched, never written
	// MTASTS is the mta_sts element; nil: not managed.
	MTASTS *MTASTS

	// compiled (nCompiled of them) are the RRsets the load compiled for
	// the policy (a run compiles none again), valid while compiledFor is
	// the Domain itself: a copy (WithDKIMStates) compiles anew. Kept here,
	// not in a map of the Config, as a pointer and a length: a Domain is
	// 240 bytes.
	compiled    *RRset
	compiledFor *Domain
}

// The elements every policy has (mail hosts, MX, SPF, DKIM, DMARC) keep
// the line they are written at, not a Pos: their file is their Domain's
// (Domain.At), and the 16 bytes of a file name in each made a DMARC 192
// bytes, not 160, and an SPF that policies share (see elemIntern) its own.

type MailHost struct {
	Name string // as written: relative, "@", or an FQDN ending in "." (outside host)
	IPv4 []string
	IPv6 []string
	TTL  time.Duration // 0: the domain's
	// TLSA is the host's DANE element; nil: not managed.
	TLSA *TLSA
	Line int32 // where it is written in its policy's file
}

// FQDN is the host's fully qualified name with a trailing dot.
func (h MailHost) FQDN(domain string) string {
	switch {
	case strings.HasSuffix(h.Name, "."):
		return strings.ToLower(h.Name)
	case h.Name == "" || h.Name == "@":
		return domain + "."
	default:
		return strings.ToLower(h.Name) + "." + domain + "."
	}
}

// Outside reports whether the host lies outside the domain (no A/AAAA managed).
func (h MailHost) Outside(domain string) bool {
	if !strings.HasSuffix(h.Name, ".") {
		return false // relative or "@": in the domain (asked for every host of every run: no FQDN built)
	}
	f := strings.ToLower(strings.TrimSuffix(h.Name, "."))
	return f != domain && !(len(f) > len(domain) && f[len(f)-len(domain)-1] == '.' && strings.HasSuffix(f, domain))
}

type MX struct {
	Host     string // as written (relative to domain, or FQDN with ".")
	Priority int
	Line     int32
}

// SPF is the spf element. A loaded one may be shared by the policies
// that write the same (read only).
type SPF struct {
	Mechanisms []string
	All        string // fail|softfail|neutral
	State      string // "" (present) | absent
	Line       int32
	MailHosts  bool // ip4:/ip6: for every mail host address
}

type DKIM struct {
	Selector string
	KeyFile  string // absolute, resolved against the policy file
	Key      string // base64 SubjectPublicKeyInfo (from key or key_file)
	KeyType  string // rsa|ed25519
	KeyBits  int    // RSA modulus size
	State    string // "" (active) | next | retired | absent
	TTL      time.Duration
	// Dates are the staged rotation's dates; nil: none (most selectors),
	// so a DKIM is 112 bytes, not 192.
	Dates *DKIMDates
	Line  int32
}

// DKIMDates are the dates a selector becomes active, retired and absent
// (zero: none); see DKIMStateAt.
type DKIMDates struct {
	ActiveFrom, RetireAt, RemoveAt time.Time
}

// dates are k's rotation dates, all zero when it has none.
func (k *DKIM) dates() DKIMDates {
	if k.Dates == nil {
		return DKIMDates{}
	}
	return *k.Dates
}

type DMARC struct {
	Policy          string
	SubdomainPolicy string
	RUA             []string
	RUF             []string
	ADKIM           string // relaxed|strict ("" = relaxed, left out)
	ASPF            string
	FO              string
	State           string // "" | absent
	Percent         int32  // 100 default, left out of the record when 100
	RI              uint32 // beside Percent and Line: a DMARC is 160 bytes
	Line            int32
}

type PTR struct {
	Pos      Pos
	Provider string   // delegated reverse zone: managed
	Zone     string   // the first of Zones
	Zones    []string // every delegated reverse zone (zone: or zones:), lower case, no trailing dot
	Mode     string   // "" (managed when Provider set, else check) | off
}

// Ownership says which values of an RRset maildns owns.
type Ownership uint8

const (
	OwnAll    Ownership = iota // the whole RRset
	OwnPrefix                  // only values starting with SPFPrefix (the apex SPF)
)

// RRset is one record set a domain wants, in the canonical form of package
// providers: Name relative to Zone, lower case, "@" for the apex; TXT values
// unquoted and joined; targets fully qualified with a trailing dot.
type RRset struct {
	Provider string // where it lives (PTR may be elsewhere)
	Zone     string // lower case, no trailing dot
	Name     string
	Type     string
	TTL      time.Duration
	Values   []string // sorted; empty with Absent
	// Line is where the element is written in its policy's file (PosIn).
	// The small fields last, side by side: an RRset is 104 bytes (every
	// policy keeps half a dozen for the run). No Domain and no file: the
	// sets are the policy's, which knows both.
	Line    int32
	Own     Ownership
	Element Element // what policy element asked for it
	Absent  bool    // delete every owned value
}

// Element is the policy element an RRset is compiled from; its String is
// the element's name in a policy file. A byte, not a string: every
// compiled RRset keeps one.
type Element uint8

const (
	ElemNone      Element = iota // ""
	ElemMailHosts                // mail_hosts
	ElemMX                       // mx
	ElemSPF                      // spf
	ElemDKIM                     // dkim
	ElemDMARC                    // dmarc
	ElemPTR                      // ptr
	ElemTLSRPT                   // tls_rpt
	ElemBIMI                     // bimi
	ElemMTASTS                   // mta_sts
	ElemTLSA                     // tlsa
)

var elementNames = [...]string{"", "mail_hosts", "mx", "spf", "dkim", "dmarc", "ptr", "tls_rpt", "bimi", "mta_sts", "tlsa"}

func (e Element) String() string {
	if int(e) < len(elementNames) {
		return elementNames[e]
	}
	return fmt.Sprintf("Element(%d)", uint8(e))
}

// MarshalText writes the element's name (as the string it was).
func (e Element) MarshalText() ([]byte, error) { return []byte(e.String()), nil }

// At is the place of line in d's file (line 0: the file).
func (d *Domain) At(line int32) Pos { return Pos{File: d.Pos.File, Line: int(line)} }

// PosIn is where the element asking for r is written, r being one of d's
// RRsets: d's file at r.Line (no place when the element has none).
func (r *RRset) PosIn(d *Domain) Pos {
	if r.Line == 0 {
		return Pos{}
	}
	return Pos{File: d.Pos.File, Line: int(r.Line)}
}

// lineOf is the line of p as an RRset keeps it.
func lineOf(p Pos) int32 { return int32(p.Line) }

// line32 is a line as an element keeps it.
func line32(line int) int32 { return int32(line) }

// SPFPrefix is the prefix of the values an OwnPrefix RRset owns: only the
// apex SPF is owned by prefix, so the sets do not each keep it.
const SPFPrefix = "v=spf1"

// OwnedPrefix is the prefix of the values maildns owns in this RRset with
// OwnPrefix ("v=spf1"), else "".
func (r *RRset) OwnedPrefix() string {
	if r.Own == OwnPrefix {
		return SPFPrefix
	}
	return ""
}

// Owns reports whether maildns owns value in this RRset.
func (r *RRset) Owns(value string) bool {
	if r.Own == OwnPrefix {
		// "v=spf1" owns "v=spf1 -all" and a bare "v=spf1", not "v=spf10".
		const p = SPFPrefix
		if len(value) < len(p) || !strings.EqualFold(value[:len(p)], p) {
			return false
		}
		return len(value) == len(p) || value[len(p)] == ' '
	}
	return true
}

// ElementNamed is the Element whose name is name (ElemNone: none).
func ElementNamed(name string) Element {
	for i, n := range elementNames {
		if n == name {
			return Element(i)
		}
	}
	return ElemNone
}
