// Package importer writes policies that reproduce what a live zone holds:
// one read of the zone (and of the reverse zones a configured provider
// holds), nothing written to any provider. What a policy cannot say is kept
// in the policy as a comment and left in the zone as a foreign record, so
// that nothing is lost and the first dry run shows no change.
package importer

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/internal/atomicfile"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/providers"
)

// Options are one import.
type Options struct {
	Config    *policy.Config
	Providers map[string]providers.Provider // by name in Config
	Provider  string                        // the provider holding Zone
	Zone      string                        // lower case, no trailing dot
	Domains   []string                      // only these domains; empty: every mail domain found
	Out       string                        // directory for the policies and keys/
	Force     bool                          // replace existing files

	// MTASTSDir holds MTA-STS policies as policy_dir lays them out
	// (DIR/<domain>/.well-known/mta-sts.txt); "": not read.
	MTASTSDir string
	// MTASTSHTTPS fetches the policies a directory does not hold from
	// https://mta-sts.<domain>/.well-known/mta-sts.txt, certificates
	// validated, with HTTPClient (nil: DefaultHTTPClient).
	MTASTSHTTPS bool
	HTTPClient  *http.Client
}

// Policy is one imported domain.
type Policy struct {
	Domain string
	File   string   // the policy's path
	Keys   []string // key files written beside it
	Notes  []string // what the policy does not say (also in the file as comments)
}

// Run reads the zone and writes one policy per mail domain found in it
// (a name with MX or a DMARC record). Every file is checked before any is
// written: an existing one without Force stops the import with nothing
// written.
func Run(ctx context.Context, o Options) ([]Policy, error) {
	zone := strings.TrimSuffix(strings.ToLower(o.Zone), ".")
	p := o.Providers[o.Provider]
	if p == nil {
		return nil, fmt.Errorf("provider %q is not configured", o.Provider)
	}
	live, err := readZone(ctx, p, zone)
	if err != nil {
		return nil, fmt.Errorf("reading zone %s at %s: %w", zone, o.Provider, err)
	}
	z := newIndex(zone, live)
	names := z.mailDomains()
	if len(o.Domains) > 0 {
		names = nil
		for _, d := range o.Domains {
			d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
			if d != zone && !strings.HasSuffix(d, "."+zone) {
				return nil, fmt.Errorf("domain %s is outside zone %s", d, zone)
			}
			names = append(names, d)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("zone %s at %s holds no mail domain (no MX or DMARC record)", zone, o.Provider)
	}
	rev := &reverse{ctx: ctx, cfg: o.Config, provs: o.Providers, read: map[string]*index{}}
	type file struct {
		path string
		data []byte
		mode os.FileMode
	}
	var files []file
	var out []Policy
	for _, name := range names {
		im := &domainImport{z: z, rev: rev, domain: name, provider: o.Provider, opts: &o, ctx: ctx}
		im.build()
		pol := Policy{Domain: name, File: filepath.Join(o.Out, name+".yaml"), Notes: im.notes}
		for _, k := range im.keys {
			path := filepath.Join(o.Out, k.rel)
			files = append(files, file{path, k.pem, 0o644})
			pol.Keys = append(pol.Keys, path)
		}
		files = append(files, file{pol.File, im.yaml(), 0o644})
		out = append(out, pol)
	}
	if !o.Force {
		var exist []string
		for _, f := range files {
			if _, err := os.Lstat(f.path); err == nil {
				exist = append(exist, f.path)
			}
		}
		if len(exist) > 0 {
			return nil, fmt.Errorf("%s already exist%s (use --force to replace); nothing was written",
				strings.Join(exist, ", "), map[bool]string{true: "s", false: ""}[len(exist) == 1])
		}
	}
	for _, f := range files {
		if err := writeFile(f.path, f.data, f.mode); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// writeFile writes data to path whole (see atomicfile).
func writeFile(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(path, data, mode, "")
}

// readZone reads a zone and normalises its records as the engine does.
func readZone(ctx context.Context, p providers.Provider, zone string) ([]libdns.RR, error) {
	fqdn := zone + "."
	recs, err := p.GetRecords(ctx, fqdn)
	if err != nil {
		return nil, err
	}
	out := make([]libdns.RR, 0, len(recs))
	for _, rec := range recs {
		rr, err := providers.Normalize(rec, fqdn)
		if err != nil {
			continue // what cannot be parsed is foreign to any policy
		}
		if raw := rec.RR().Data; (rr.Type == "TXT" || rr.Type == "SPF") && !strings.HasPrefix(raw, `"`) {
			rr.Data = raw
		}
		rr.Name = strings.ToLower(rr.Name)
		out = append(out, rr)
	}
	return out, nil
}

// index is a zone's records by name and type.
type index struct {
	zone string
	sets map[[2]string][]libdns.RR
}

func newIndex(zone string, rrs []libdns.RR) *index {
	z := &index{zone: zone, sets: map[[2]string][]libdns.RR{}}
	for _, rr := range rrs {
		k := [2]string{rr.Name, rr.Type}
		z.sets[k] = append(z.sets[k], rr)
	}
	return z
}

// rel is the zone-relative name of an FQDN (no trailing dot).
func (z *index) rel(fqdn string) string {
	if fqdn == z.zone {
		return "@"
	}
	return strings.TrimSuffix(fqdn, "."+z.zone)
}

func (z *index) get(fqdn, typ string) []libdns.RR { return z.sets[[2]string{z.rel(fqdn), typ}] }

// mailDomains are the names with an MX or a DMARC record, sorted.
func (z *index) mailDomains() []string {
	seen := map[string]bool{}
	for k, rrs := range z.sets {
		name, typ := k[0], k[1]
		var fq string
		switch {
		case typ == "MX" && !strings.HasPrefix(name, "_"):
			fq = name
		case typ == "TXT" && (name == "_dmarc" || strings.HasPrefix(name, "_dmarc.")) && slices.ContainsFunc(rrs, func(r libdns.RR) bool { return policy.IsDMARC(r.Data) }):
			fq = strings.TrimPrefix(strings.TrimPrefix(name, "_dmarc"), ".")
			if fq == "" {
				fq = "@"
			}
		default:
			continue
		}
		if fq == "@" {
			fq = z.zone
		} else {
			fq += "." + z.zone
		}
		seen[fq] = true
	}
	out := make([]string, 0, len(seen))
	for d := range seen {
		out = append(out, d)
	}
	slices.Sort(out)
	return out
}

// reverse finds the reverse zones a configured provider holds, reading
// each candidate zone at most once.
type reverse struct {
	ctx   context.Context
	cfg   *policy.Config
	provs map[string]providers.Provider
	read  map[string]*index // provider + " " + zone; nil: not there
}

// find returns the provider and zone holding the reverse name of ip, the
// longest zone first, and that zone's records.
func (r *reverse) find(ip netip.Addr) (prov, zone string, z *index) {
	revName := strings.TrimSuffix(policy.ReverseName(ip), ".")
	labels := strings.Split(revName, ".")
	var cands []string
	// The zones a delegation may cut: octets for IPv4, nibbles from /16
	// to /64 for IPv6; the longest first.
	if ip.Is4() {
		for i := 1; i <= 3; i++ {
			cands = append(cands, strings.Join(labels[i:], "."))
		}
	} else {
		for n := 64; n >= 16; n -= 4 {
			cands = append(cands, strings.Join(labels[32-n/4:], "."))
		}
	}
	names := make([]string, 0, len(r.provs))
	for n := range r.provs {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, c := range cands {
		for _, pn := range names {
			key := pn + " " + c
			zi, ok := r.read[key]
			if !ok {
				rrs, err := readZone(r.ctx, r.provs[pn], c)
				// A zone the provider does not hold is an error or empty
				// (some backends leave the SOA out of what they return).
				if err == nil && len(rrs) > 0 {
					zi = newIndex(c, rrs)
				}
				r.read[key] = zi
			}
			if zi != nil {
				return pn, c, zi
			}
		}
	}
	return "", "", nil
}

// keyFile is a DKIM public key to write.
type keyFile struct {
	rel string // relative to Out (and so to the policy file)
	pem []byte
}

// domainImport builds one domain's policy.
type domainImport struct {
	z        *index
	rev      *reverse
	domain   string
	provider string
	opts     *Options
	ctx      context.Context

	d     policy.Domain
	hosts []policy.MailHost
	mx    []policy.MX
	dkim  []policy.DKIM
	notes []string
	keys  []keyFile
	ptr   *policy.PTR

	mtastsComments []string // above the imported mta_sts section
	mtastsHint     []string // a commented section when none is imported
}

func (im *domainImport) note(format string, args ...any) {
	im.notes = append(im.notes, fmt.Sprintf(format, args...))
}

// at is the FQDN of label under the domain.
func (im *domainImport) at(label string) string {
	if label == "" {
		return im.domain
	}
	return label + "." + im.domain
}

func ttlOf(rrs []libdns.RR) time.Duration {
	if len(rrs) == 0 {
		return 0
	}
	return rrs[0].TTL
}

func sameTTL(rrs []libdns.RR) bool {
	return !slices.ContainsFunc(rrs, func(r libdns.RR) bool { return r.TTL != rrs[0].TTL })
}

func (im *domainImport) build() {
	d := &im.d
	d.Domain, d.Provider, d.Zone = im.domain, im.provider, im.z.zone
	mx := im.z.get(im.domain, "MX")
	var spf []libdns.RR
	for _, rr := range im.z.get(im.domain, "TXT") {
		if policy.IsSPF(rr.Data) {
			spf = append(spf, rr)
		}
	}
	dmarc := im.z.get(im.at("_dmarc"), "TXT")
	d.TTL = cmp.Or(ttlOf(mx), ttlOf(spf), ttlOf(dmarc), policy.DefaultTTL)

	if im.parked(mx, spf, dmarc) {
		d.Parked = true
		return
	}
	im.buildMX(mx)
	im.buildSPF(spf)
	im.buildDKIM()
	im.buildDMARC(dmarc)
	im.buildPTR()
	im.buildTLSRPT()
	im.buildBIMI()
	im.buildMTASTS()
	im.noteOthers()
}

// tags splits a "k=v; k=v" record into its tags, or nil when an item is
// not tag=value.
func tags(rec string) map[string]string {
	out := map[string]string{}
	for _, item := range strings.Split(rec, ";") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		if !ok {
			return nil
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out
}

// single returns the one TXT at name that starts with prefix, with its TTL
// the domain's, or notes why there is none the policy can say.
func (im *domainImport) single(name, prefix, what string) string {
	rrs := im.z.get(name, "TXT")
	if len(rrs) == 0 {
		return ""
	}
	keep := func(why string) {
		for _, rr := range rrs {
			im.note("%s at %s left as is (%s): %q", what, name, why, rr.Data)
		}
	}
	switch {
	case len(rrs) != 1:
		keep(fmt.Sprintf("%d TXT records there", len(rrs)))
	case !strings.HasPrefix(rrs[0].Data, prefix):
		keep("not a " + what + " record")
	case rrs[0].TTL != im.d.TTL:
		keep(fmt.Sprintf("TTL %d, not the domain's %d", int(rrs[0].TTL.Seconds()), int(im.d.TTL.Seconds())))
	default:
		return rrs[0].Data
	}
	return ""
}

func (im *domainImport) buildTLSRPT() {
	name := im.at("_smtp._tls")
	rec := im.single(name, "v=TLSRPTv1;", "TLS-RPT")
	if rec == "" {
		return
	}
	t := &policy.TLSRPT{}
	if tg := tags(rec); len(tg) == 2 && tg["rua"] != "" {
		t.RUA = strings.Split(tg["rua"], ",")
	}
	ok := len(t.RUA) > 0 && policy.TLSRPTRecord(t) == rec
	for _, u := range t.RUA {
		ok = ok && (strings.HasPrefix(u, "mailto:") || strings.HasPrefix(u, "https://"))
	}
	if !ok {
		im.note("TLS-RPT at %s left as is (the policy would write it otherwise): %q", name, rec)
		return
	}
	im.d.TLSRPT = t
}

func (im *domainImport) buildBIMI() {
	suffix := "._bimi." + im.domain
	var sels []string
	for k := range im.z.sets {
		fq := im.z.zone
		if k[0] != "@" {
			fq = k[0] + "." + im.z.zone
		}
		if k[1] == "TXT" && strings.HasSuffix(fq, suffix) {
			sels = append(sels, strings.TrimSuffix(fq, suffix))
		}
	}
	slices.Sort(sels)
	for _, sel := range sels {
		name := sel + suffix
		rec := im.single(name, "v=BIMI1;", "BIMI")
		if rec == "" {
			continue
		}
		b := &policy.BIMI{Selector: sel}
		if tg := tags(rec); len(tg) == 3 {
			b.Logo, b.Authority = tg["l"], tg["a"]
		}
		https := func(u string) bool { return strings.HasPrefix(u, "https://") }
		if im.d.BIMI != nil || !https(b.Logo) || (b.Authority != "" && !https(b.Authority)) || policy.BIMIRecord(b) != rec {
			im.note("BIMI at %s left as is (the policy would write it otherwise, or holds one selector): %q", name, rec)
			continue
		}
		im.d.BIMI = b
	}
}

// noteOthers quotes the mail records this import does not turn into policy
// (DANE, whose TLSA come from certificate files): they stay in the zone as
// foreign records.
func (im *domainImport) noteOthers() {
	var names []string
	for _, h := range im.hosts {
		names = append(names, "_25._tcp."+strings.TrimSuffix(h.FQDN(im.domain), "."))
	}
	slices.Sort(names)
	for _, n := range slices.Compact(names) {
		for _, typ := range []string{"TXT", "TLSA"} {
			for _, rr := range im.z.get(n, typ) {
				im.note("%s %s at %s left as is (not imported): %q", typ, strings.SplitN(n, ".", 2)[0], n, rr.Data)
			}
		}
	}
}

// parked: null MX, "v=spf1 -all" and "v=DMARC1; p=reject; sp=reject",
// exactly what parked: true publishes.
func (im *domainImport) parked(mx, spf, dmarc []libdns.RR) bool {
	all := append(append(append([]libdns.RR(nil), mx...), spf...), dmarc...)
	return len(mx) == 1 && mx[0].Data == "0 ." && len(spf) == 1 && spf[0].Data == "v=spf1 -all" &&
		len(dmarc) == 1 && dmarc[0].Data == "v=DMARC1; p=reject; sp=reject" && sameTTL(all) && all[0].TTL == im.d.TTL
}

// hostName is an MX target as a policy writes it: relative to the domain,
// "@" for the domain itself, or an FQDN with its dot outside it.
func (im *domainImport) hostName(target string) string {
	t := strings.TrimSuffix(strings.ToLower(target), ".")
	switch {
	case t == im.domain:
		return "@"
	case strings.HasSuffix(t, "."+im.domain):
		return strings.TrimSuffix(t, "."+im.domain)
	}
	return t + "."
}

func (im *domainImport) buildMX(mx []libdns.RR) {
	defer func() { im.d.MailHosts = im.hosts }()
	if len(mx) == 0 {
		return
	}
	if !sameTTL(mx) || ttlOf(mx) != im.d.TTL {
		im.note("MX at %s: TTLs differ from the domain's %d", im.domain, int(im.d.TTL.Seconds()))
	}
	sorted := slices.Clone(mx)
	slices.SortStableFunc(sorted, func(a, b libdns.RR) int { return strings.Compare(a.Data, b.Data) })
	seen := map[string]bool{}
	for _, rr := range sorted {
		prio, target, ok := strings.Cut(rr.Data, " ")
		p, err := strconv.Atoi(prio)
		if !ok || err != nil {
			im.note("MX %q at %s: not understood", rr.Data, im.domain)
			continue
		}
		host := im.hostName(target)
		if target == "." {
			host = "."
		}
		im.mx = append(im.mx, policy.MX{Host: host, Priority: p})
		if host == "." || strings.HasSuffix(host, ".") || seen[host] {
			continue
		}
		seen[host] = true
		h := policy.MailHost{Name: host}
		fq := im.at(strings.TrimPrefix(host, "@"))
		if host == "@" {
			fq = im.domain
		}
		a, aaaa := im.z.get(fq, "A"), im.z.get(fq, "AAAA")
		for _, rr := range a {
			h.IPv4 = append(h.IPv4, rr.Data)
		}
		for _, rr := range aaaa {
			h.IPv6 = append(h.IPv6, rr.Data)
		}
		if len(a)+len(aaaa) == 0 {
			im.note("mail host %s has no A or AAAA in zone %s: written as an outside host", fq, im.z.zone)
			im.mx[len(im.mx)-1].Host = fq + "."
			continue
		}
		both := append(append([]libdns.RR(nil), a...), aaaa...)
		if !sameTTL(both) {
			im.note("mail host %s: its A and AAAA have different TTLs; the policy sets %d for both", fq, int(ttlOf(both).Seconds()))
		}
		if t := ttlOf(both); t != im.d.TTL {
			h.TTL = t
		}
		slices.Sort(h.IPv4)
		slices.Sort(h.IPv6)
		im.hosts = append(im.hosts, h)
	}
}

// spfAll maps the qualifier of a final all to the policy's all.
var spfAll = map[string]string{"-all": "fail", "~all": "softfail", "?all": "neutral"}

func (im *domainImport) buildSPF(spf []libdns.RR) {
	if len(spf) == 0 {
		return
	}
	if len(spf) > 1 {
		for _, rr := range spf {
			im.note("SPF at %s (one of %d, left as is): %q", im.domain, len(spf), rr.Data)
		}
		return
	}
	rec := spf[0].Data
	keep := func(why string) { im.note("SPF at %s left as is (%s): %q", im.domain, why, rec) }
	if spf[0].TTL != im.d.TTL {
		keep(fmt.Sprintf("TTL %d, not the domain's %d", int(spf[0].TTL.Seconds()), int(im.d.TTL.Seconds())))
		return
	}
	if _, err := policy.ParseSPF(rec); err != nil {
		keep(err.Error())
		return
	}
	terms := strings.Fields(rec)[1:]
	if len(terms) == 0 {
		keep("no all term")
		return
	}
	all, ok := spfAll[strings.ToLower(terms[len(terms)-1])]
	if !ok {
		keep("it does not end in -all, ~all or ?all")
		return
	}
	terms = terms[:len(terms)-1]
	for _, t := range terms {
		lt := strings.ToLower(t)
		if strings.Contains(lt, "all") && strings.TrimLeft(lt, "+-~?") == "all" || strings.HasPrefix(lt, "redirect=") {
			keep("all or redirect= before the end")
			return
		}
	}
	s := &policy.SPF{All: all}
	var ips []string
	for _, h := range im.hosts {
		for _, a := range h.IPv4 {
			ips = append(ips, "ip4:"+a)
		}
		for _, a := range h.IPv6 {
			ips = append(ips, "ip6:"+a)
		}
	}
	ips = uniq(ips)
	if len(ips) > 0 && len(terms) >= len(ips) && slices.Equal(terms[:len(ips)], ips) {
		s.MailHosts = true
		terms = terms[len(ips):]
	}
	s.Mechanisms = terms
	im.d.SPF = s
	if got := policy.SPFRecord(&im.d); got != rec {
		im.d.SPF = nil
		keep("the policy would write " + strconv.Quote(got))
	}
}

func uniq(v []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range v {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func (im *domainImport) buildDKIM() {
	suffix := "._domainkey." + im.domain
	var sels []string
	for k := range im.z.sets {
		if k[1] != "TXT" {
			continue
		}
		fq := im.z.zone
		if k[0] != "@" {
			fq = k[0] + "." + im.z.zone
		}
		if strings.HasSuffix(fq, suffix) {
			sels = append(sels, strings.TrimSuffix(fq, suffix))
		}
	}
	slices.Sort(sels)
	for _, sel := range sels {
		rrs := im.z.get(sel+suffix, "TXT")
		keep := func(why string) {
			for _, rr := range rrs {
				im.note("DKIM %s left as is (%s): %q", sel, why, rr.Data)
			}
		}
		if len(rrs) != 1 {
			keep(fmt.Sprintf("%d records", len(rrs)))
			continue
		}
		rec := rrs[0].Data
		k, err := policy.ParseDKIMKey(rec)
		if err != nil {
			keep(err.Error())
			continue
		}
		if k.Revoked {
			keep("a revoked key")
			continue
		}
		want := "v=DKIM1; k=" + k.KeyType + "; p=" + k.Key
		if rec != want {
			keep("tags the policy does not write; it would publish " + strconv.Quote(shorten(want)))
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(k.Key)
		if err != nil {
			keep("p= is not base64")
			continue
		}
		der := raw
		if k.KeyType == "ed25519" {
			if der, err = x509.MarshalPKIXPublicKey(ed25519.PublicKey(raw)); err != nil {
				keep(err.Error())
				continue
			}
		}
		rel := filepath.Join("keys", im.domain, sel+".pem")
		im.keys = append(im.keys, keyFile{rel: rel, pem: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})})
		dk := policy.DKIM{Selector: sel, KeyFile: rel}
		if rrs[0].TTL != im.d.TTL {
			dk.TTL = rrs[0].TTL
		}
		im.dkim = append(im.dkim, dk)
	}
}

func shorten(s string) string {
	if len(s) <= 60 {
		return s
	}
	return s[:40] + "…" + s[len(s)-15:]
}

func (im *domainImport) buildDMARC(rrs []libdns.RR) {
	var recs []libdns.RR
	for _, rr := range rrs {
		if policy.IsDMARC(rr.Data) {
			recs = append(recs, rr)
		}
	}
	if len(recs) == 0 {
		return
	}
	keep := func(why string) {
		for _, rr := range rrs {
			im.note("DMARC at _dmarc.%s left as is (%s): %q", im.domain, why, rr.Data)
		}
	}
	if len(rrs) != 1 {
		keep(fmt.Sprintf("%d TXT records there", len(rrs)))
		return
	}
	rec := recs[0].Data
	if recs[0].TTL != im.d.TTL {
		keep(fmt.Sprintf("TTL %d, not the domain's %d", int(recs[0].TTL.Seconds()), int(im.d.TTL.Seconds())))
		return
	}
	p, err := policy.ParseDMARC(rec)
	if err != nil || p.PolicyFallback || len(p.Errors) > 0 {
		keep(fmt.Sprint("not a record the policy can write: ", err))
		return
	}
	m := &policy.DMARC{Policy: p.Policy, SubdomainPolicy: p.SubdomainPolicy, Percent: int32(p.Percent)}
	if p.ADKIM == "s" {
		m.ADKIM = "strict"
	}
	if p.ASPF == "s" {
		m.ASPF = "strict"
	}
	for _, u := range p.RUA {
		m.RUA = append(m.RUA, u.String())
	}
	for _, u := range p.RUF {
		m.RUF = append(m.RUF, u.String())
	}
	for _, t := range p.Tags {
		switch t.Name {
		case "fo":
			m.FO = t.Value
		case "ri":
			m.RI = uint32(p.RI)
		}
	}
	if got := policy.DMARCRecord(m); got != rec {
		keep("the policy would write " + strconv.Quote(got))
		return
	}
	im.d.DMARC = m
}

func (im *domainImport) buildPTR() {
	var zones []string
	prov := ""
	managed := true
	found := false
	for _, h := range im.hosts {
		fq := h.FQDN(im.domain)
		for _, a := range append(append([]string(nil), h.IPv4...), h.IPv6...) {
			ip, err := netip.ParseAddr(a)
			if err != nil {
				continue
			}
			found = true
			pn, zone, zi := im.rev.find(ip)
			if zi == nil {
				managed = false
				im.note("PTR of %s: no configured provider holds its reverse zone; checked through the resolvers", a)
				continue
			}
			revName := strings.TrimSuffix(policy.ReverseName(ip), ".")
			ptr := zi.get(revName, "PTR")
			want := cmp.Or(h.TTL, im.d.TTL)
			if len(ptr) != 1 || !strings.EqualFold(ptr[0].Data, fq) || ptr[0].TTL != want || (prov != "" && pn != prov) {
				managed = false
				var have []string
				for _, rr := range ptr {
					have = append(have, rr.Data)
				}
				im.note("PTR of %s in %s at %s is %q, not %s (TTL %d): checked, not managed",
					a, zone, pn, strings.Join(have, " "), fq, int(want.Seconds()))
				continue
			}
			prov = pn
			if !slices.Contains(zones, zone) {
				zones = append(zones, zone)
			}
		}
	}
	if found && managed && prov != "" {
		im.ptr = &policy.PTR{Provider: prov, Zones: zones}
	}
}
