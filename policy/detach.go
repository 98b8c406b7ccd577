package policy

import (
	"encoding/binary"
	"strings"
	"unsafe"
)

// detacher makes a loaded Domain independent of its policy file's text.
// The fast YAML parser hands out scalars as substrings of the file (no
// allocation each); a Domain keeping one would keep the whole file for
// the run. Words from a fixed set (fail, reject, ...) become the package's
// own strings, every other string of the file is copied.
type detacher struct {
	lo, hi uintptr     // the file's bytes
	a      *strArena   // where the copies go (nil: each its own allocation)
	in     *elemIntern // the elements met so far (nil: none shared)
}

func newDetacher(src string, a *strArena, in *elemIntern) detacher {
	p := uintptr(unsafe.Pointer(unsafe.StringData(src)))
	return detacher{p, p + uintptr(len(src)), a, in}
}

// elemIntern holds the elements a loader has met that policies may share,
// by what they say: the SPF element most policies write (mail_hosts and
// an all at the same line: spfKey), the dkim list of those that name a
// key file (see dkim), mail hosts of a platform (see mailHosts). Shared
// elements are read only.
type elemIntern struct {
	spf   map[string]*SPF
	dkim  map[string][]DKIM
	hosts map[string][]MailHost
	// dmarc are the DMARC elements met that name no domain of their own
	// (see dmarc); dmarcRec is the record each one compiles to, made by
	// the first policy compiled with it ("": none yet).
	dmarc    map[string]*DMARC
	dmarcRec map[*DMARC]string
}

// appendKey appends fields to the key k, each ended by a 0 byte (no
// policy string holds one): two lists of fields make the same key only
// if they are the same.
func appendKey(k []byte, fields ...string) []byte {
	for _, f := range fields {
		k = append(k, f...)
		k = append(k, 0)
	}
	return k
}

// keep notes v under the key k in *m (made on first use), for the
// policies loaded after to share.
func keep[T any](m *map[string]T, k []byte, v T) {
	if *m == nil {
		*m = map[string]T{}
	}
	(*m)[string(k)] = v
}

// spfKey appends what s says, line included, to b.
func spfKey(b []byte, s *SPF) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(s.Line))
	if s.MailHosts {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = appendKey(b, s.All, s.State)
	return appendKey(b, s.Mechanisms...)
}

// dkim detaches d's DKIM elements, or shares those written the same way
// by a policy loaded before when every one names a key file (a key in
// the policy is its own, and a staged rotation is rare): the policies of
// a platform that signs with one key share their dkim list.
func (dt detacher) dkim(d *Domain) {
	var buf [256]byte
	var k []byte
	if dt.in != nil && len(d.DKIM) > 0 {
		k = buf[:0]
		for i := range d.DKIM {
			e := &d.DKIM[i]
			if e.KeyFile == "" || e.Dates != nil {
				k = nil
				break
			}
			// Within a load, one key file path is one key (keyCache).
			k = binary.LittleEndian.AppendUint32(k, uint32(e.Line))
			k = binary.LittleEndian.AppendUint64(k, uint64(e.TTL))
			k = binary.LittleEndian.AppendUint32(k, uint32(e.KeyBits))
			k = appendKey(k, e.Selector, e.KeyFile, e.KeyType, e.State)
		}
	}
	if k != nil {
		if shared, ok := dt.in.dkim[string(k)]; ok {
			d.DKIM = shared
			return
		}
	}
	for i := range d.DKIM {
		e := &d.DKIM[i]
		dt.str(&e.Selector)
		dt.str(&e.KeyFile)
		dt.str(&e.Key)
		dt.str(&e.KeyType)
		dt.str(&e.State)
	}
	if k != nil {
		d.DKIM = d.DKIM[:len(d.DKIM):len(d.DKIM)] // an append makes a copy
		keep(&dt.in.dkim, k, d.DKIM)
	}
}

// mailHosts shares d's mail hosts with a policy loaded before that
// writes the same when every one is a host outside the domain named in
// full, without addresses or TLSA (the mail servers of a platform).
func (dt detacher) mailHosts(d *Domain) {
	if dt.in == nil || len(d.MailHosts) == 0 {
		return
	}
	var buf [256]byte
	k := buf[:0]
	for i := range d.MailHosts {
		h := &d.MailHosts[i]
		if !strings.HasSuffix(h.Name, ".") || len(h.IPv4)+len(h.IPv6) > 0 || h.TLSA != nil {
			return
		}
		k = binary.LittleEndian.AppendUint32(k, uint32(h.Line))
		k = binary.LittleEndian.AppendUint64(k, uint64(h.TTL))
		k = appendKey(k, h.Name)
	}
	if shared, ok := dt.in.hosts[string(k)]; ok {
		d.MailHosts = shared
		return
	}
	// Detached by the caller (then shared: the same strings).
	d.MailHosts = d.MailHosts[:len(d.MailHosts):len(d.MailHosts)] // an append makes a copy
	keep(&dt.in.hosts, k, d.MailHosts)
}

// spf detaches d's SPF element, or shares the one written the same way
// by a policy loaded before.
func (dt detacher) spf(d *Domain) {
	s := d.SPF
	var buf [128]byte
	var k []byte
	if dt.in != nil {
		k = spfKey(buf[:0], s)
		if shared, ok := dt.in.spf[string(k)]; ok {
			d.SPF = shared
			return
		}
	}
	dt.strs(s.Mechanisms)
	dt.str(&s.All)
	dt.str(&s.State)
	if dt.in != nil {
		keep(&dt.in.spf, k, s)
	}
}

// words are the values of the policy keys that take one of a few words.
var words = func() map[string]string {
	m := map[string]string{}
	for _, w := range []string{"fail", "softfail", "neutral", "none", "quarantine", "reject",
		"relaxed", "strict", "absent", "present", "active", "next", "retired", "off", "check",
		"enforce", "testing", "rsa", "ed25519", "@", "mail", "default", "s1", "s2"} {
		m[w] = w
	}
	return m
}()

func (dt detacher) str(p *string) {
	s := *p
	if s == "" {
		return
	}
	if a := uintptr(unsafe.Pointer(unsafe.StringData(s))); a < dt.lo || a >= dt.hi {
		return
	}
	if w, ok := words[s]; ok {
		*p = w
		return
	}
	*p = dt.a.str(s)
}

func (dt detacher) strs(list []string) {
	for i := range list {
		dt.str(&list[i])
	}
}

// domain detaches every string of d but the DMARC report URIs (see
// reportURIs); providers are the config's names.
func (dt detacher) domain(d *Domain, cfg *Config) {
	zoneIsDomain := d.Zone == d.Domain
	if i := strings.LastIndex(d.Pos.File, d.Domain); i >= 0 && d.Domain != "" {
		// A policy file is most often named after its domain: the name
		// is kept once, in the file's.
		d.Domain = d.Pos.File[i : i+len(d.Domain)]
	}
	dt.str(&d.Domain)
	if pc := cfg.Providers[d.Provider]; pc != nil && pc.Name == d.Provider {
		d.Provider = pc.Name
	}
	dt.str(&d.Provider)
	if zoneIsDomain {
		d.Zone = d.Domain
	}
	dt.str(&d.Zone)
	dt.mailHosts(d)
	for i := range d.MailHosts {
		h := &d.MailHosts[i]
		dt.str(&h.Name)
		dt.strs(h.IPv4)
		dt.strs(h.IPv6)
		if t := h.TLSA; t != nil {
			dt.str(&t.CertFile)
			dt.str(&t.NextCertFile)
			dt.str(&t.Current)
			dt.str(&t.Next)
		}
	}
	for i := range d.MX {
		dt.str(&d.MX[i].Host)
	}
	if d.SPF != nil {
		dt.spf(d)
	}
	dt.dkim(d)
	if d.DMARC != nil {
		dt.dmarc(d)
	}
	if p := d.PTR; p != nil && p != &ptrOff {
		if pc := cfg.Providers[p.Provider]; pc != nil && pc.Name == p.Provider {
			p.Provider = pc.Name
		}
		dt.str(&p.Provider)
		dt.strs(p.Zones)
		if len(p.Zones) > 0 && p.Zone == p.Zones[0] {
			p.Zone = p.Zones[0]
		}
		dt.str(&p.Zone)
		dt.str(&p.Mode)
	}
	if t := d.TLSRPT; t != nil {
		dt.strs(t.RUA)
		dt.str(&t.State)
	}
	if b := d.BIMI; b != nil {
		dt.str(&b.Selector)
		dt.str(&b.Logo)
		dt.str(&b.Authority)
		dt.str(&b.State)
	}
	if m := d.MTASTS; m != nil {
		dt.str(&m.Mode)
		dt.strs(m.MX)
		dt.str(&m.PolicyDir)
	}
}

// dmarc detaches d's DMARC element but its report URIs (see reportURIs),
// or shares the one written the same way by a policy loaded before when
// no report URI names the domain: the policies of a platform that takes
// every domain's reports at one address share one (and its record).
func (dt detacher) dmarc(d *Domain) {
	m := d.DMARC
	var buf [256]byte
	var k []byte
	if dt.in != nil && !mentions(m.RUA, d.Domain) && !mentions(m.RUF, d.Domain) {
		k = binary.LittleEndian.AppendUint32(buf[:0], uint32(m.Line))
		k = binary.LittleEndian.AppendUint32(k, uint32(m.Percent))
		k = binary.LittleEndian.AppendUint32(k, m.RI)
		k = appendKey(k, m.Policy, m.SubdomainPolicy, m.ADKIM, m.ASPF, m.FO, m.State)
		k = appendKey(append(k, 1), m.RUA...)
		k = appendKey(append(k, 1), m.RUF...)
		if shared, ok := dt.in.dmarc[string(k)]; ok {
			d.DMARC = shared
			return
		}
	}
	dt.str(&m.Policy)
	dt.str(&m.SubdomainPolicy)
	dt.str(&m.ADKIM)
	dt.str(&m.ASPF)
	dt.str(&m.FO)
	dt.str(&m.State)
	if k != nil {
		// Shared: its URIs are its own, not substrings of one record.
		dt.strs(m.RUA)
		dt.strs(m.RUF)
		keep(&dt.in.dmarc, k, m)
		if dt.in.dmarcRec == nil {
			dt.in.dmarcRec = map[*DMARC]string{}
		}
		dt.in.dmarcRec[m] = ""
	}
}

// mentions reports whether a URI of list has name in it.
func mentions(list []string, name string) bool {
	for _, u := range list {
		if strings.Contains(u, name) {
			return true
		}
	}
	return false
}

// reportURIs detaches the DMARC report URIs of d: after the compile,
// which makes those of a DMARC record substrings of it.
func (dt detacher) reportURIs(d *Domain) {
	if m := d.DMARC; m != nil {
		dt.strs(m.RUA)
		dt.strs(m.RUF)
	}
}
