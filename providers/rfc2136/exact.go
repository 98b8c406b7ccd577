package rfc2136

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/libdns/libdns"
	"github.com/maildns/maildns/providers"
	"github.com/miekg/dns"
)

// setKey names an RRset: its owner in lower case, fully qualified, and its
// type.
type setKey struct {
	name string
	typ  uint16
}

// held is a zone as the server gave it in a transfer: each RRset's records
// in the server's own wire form, the form a delete or a prerequisite must
// use. Servers compare TXT string by string ("v=spf1 a " "~all" is not
// "v=spf1 a ~all"), and PowerDNS compares the names in a deleted record's
// data case-sensitively against its stored text, which no transfer shows
// exactly (name compression takes the case of the suffix from elsewhere in
// the message).
type held struct {
	sets  map[setKey][]dns.RR
	recs  map[dns.RR]libdns.RR // each record as GetRecords returned it
	canon map[dns.RR]string    // its data as records are matched (sameForm)
	at    time.Time            // when it was read
}

func newHeld() *held {
	return &held{sets: map[setKey][]dns.RR{}, recs: map[dns.RR]libdns.RR{}, canon: map[dns.RR]string{}, at: time.Now()}
}

// sameForm is the data records are matched by: a record's canonical
// data as providers.CheckExpect compares it (providers.Normalize once
// more), so that a value the caller took from GetRecords and normalised
// again still names the record it came from.
func sameForm(rec libdns.RR, zone string) string {
	if n, err := providers.Normalize(rec, zone); err == nil {
		return n.Data
	}
	return rec.Data
}

// heldFor is how long a read is kept for a write. The engine writes
// seconds after it reads; a daemon over many zones must not keep every
// zone it ever read. A write after that reads the zone again.
const heldFor = 5 * time.Minute

func (h *held) add(rr dns.RR, rec libdns.RR, zone string) {
	hdr := rr.Header()
	k := setKey{strings.ToLower(hdr.Name), hdr.Rrtype}
	h.sets[k] = append(h.sets[k], rr)
	h.recs[rr] = rec
	h.canon[rr] = sameForm(rec, zone)
}

// remember keeps what a transfer of zone read, for the next write.
func (p *Provider) remember(zone string, h *held) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held == nil {
		p.held = map[string]*held{}
	}
	p.held[zone] = h
	if now := time.Now(); now.Sub(p.pruned) > heldFor {
		p.pruned = now
		for z, old := range p.held {
			if now.Sub(old.at) > heldFor {
				delete(p.held, z)
			}
		}
	}
}

// recall returns what the last transfer of zone read, nil when none is kept.
func (p *Provider) recall(zone string) *held {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := p.held[zone]
	if h == nil || time.Since(h.at) > heldFor {
		return nil
	}
	return h
}

// forget drops what was read of zone: a write changed it.
func (p *Provider) forget(zone string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.held, zone)
}

// setChange is the change of one RRset, sent whole in one UPDATE: the
// RRset as the server holds it (the prerequisite that it still does), the
// records to delete in the server's own form, or the whole RRset, and the
// records to add.
type setChange struct {
	key    setKey
	live   []dns.RR // empty: the RRset must not exist
	delAll bool
	dels   []dns.RR
	adds   []dns.RR
}

// size bounds the change's bytes in an UPDATE (no name compression).
func (c *setChange) size() int {
	n := 0
	for _, l := range [][]dns.RR{c.live, c.dels, c.adds} {
		for _, rr := range l {
			n += dns.Len(rr)
		}
	}
	if c.delAll || len(c.live) == 0 {
		n += len(c.key.name) + 2 + 10
	}
	return n
}

// hasNames reports whether records of type t hold domain names in their
// data, which PowerDNS compares case-sensitively when deleting by value.
func hasNames(t uint16) bool {
	switch t {
	case dns.TypeTXT, dns.TypeSPF, dns.TypeA, dns.TypeAAAA, dns.TypeCAA, dns.TypeTLSA,
		dns.TypeSSHFP, dns.TypeDS, dns.TypeDNSKEY, dns.TypeHINFO, dns.TypeOPENPGPKEY:
		return false
	}
	return true
}

// input is a record handed to a write, as the server will see it.
type input struct {
	key   setKey
	rr    dns.RR
	canon string
}

func inputs(recs []libdns.Record, zone string) ([]input, error) {
	wire, err := wireRecords(recs, zone)
	if err != nil {
		return nil, err
	}
	out := make([]input, len(wire))
	for i, rr := range wire {
		c, err := fromRR(rr, zone)
		if err != nil {
			r := recs[i].RR()
			return nil, fmt.Errorf("record %s %s: %w", providers.RelativeName(r.Name, zone), r.Type, err)
		}
		hdr := rr.Header()
		out[i] = input{key: setKey{strings.ToLower(hdr.Name), hdr.Rrtype}, rr: rr, canon: sameForm(c, zone)}
	}
	return out, nil
}

// planChanges turns a replacement into whole RRset changes against what the
// server holds (h), in the order the RRsets are first named:
//   - a record to remove is matched by its canonical data and deleted in
//     the form the server holds it; one not held is ignored;
//   - when no held value is left, the whole RRset is deleted (the
//     prerequisite makes sure it holds nothing else);
//   - when values with names in their data stay (another party's PTR
//     beside ours), the RRset is deleted whole and the values that stay are
//     added back as held: PowerDNS would not find them by value;
//   - a record to add that the RRset already holds and keeps is not sent
//     again (a second copy split into other strings would be a second SPF).
//
// expect adds RRsets that must hold what they hold without being written.
func planChanges(zone string, h *held, remove, add []libdns.Record, expect []providers.RRsetState) ([]*setChange, error) {
	rem, err := inputs(remove, zone)
	if err != nil {
		return nil, err
	}
	ins, err := inputs(add, zone)
	if err != nil {
		return nil, err
	}
	byKey := map[setKey]*setChange{}
	var order []*setChange
	get := func(k setKey) *setChange {
		c, ok := byKey[k]
		if !ok {
			c = &setChange{key: k, live: h.sets[k]}
			byKey[k] = c
			order = append(order, c)
		}
		return c
	}
	removed := map[setKey]map[string]bool{}
	for _, in := range rem {
		get(in.key)
		if removed[in.key] == nil {
			removed[in.key] = map[string]bool{}
		}
		removed[in.key][in.canon] = true
	}
	for _, in := range ins {
		get(in.key)
	}
	for _, e := range expect {
		t, ok := dns.StringToType[strings.ToUpper(e.Type)]
		if !ok {
			return nil, fmt.Errorf("expected RRset %s %s: unknown record type", e.Name, e.Type)
		}
		get(setKey{providers.AbsoluteName(e.Name, zone), t})
	}
	for _, c := range order {
		var kept []dns.RR
		keptCanon := map[string]bool{}
		for _, rr := range c.live {
			if removed[c.key][h.canon[rr]] {
				c.dels = append(c.dels, rr)
			} else {
				kept = append(kept, rr)
				keptCanon[h.canon[rr]] = true
			}
		}
		switch {
		case len(c.dels) == 0:
		case len(kept) == 0:
			c.delAll, c.dels = true, nil
		case hasNames(c.key.typ):
			c.delAll, c.dels = true, nil
			for _, rr := range kept {
				c.adds = append(c.adds, dns.Copy(rr))
			}
		}
		for _, in := range ins {
			if in.key == c.key && !keptCanon[in.canon] {
				c.adds = append(c.adds, in.rr)
				keptCanon[in.canon] = true // the same value twice is sent once
			}
		}
	}
	// Across UPDATEs, an address comes before the MX or SRV that names it
	// and goes after it (BIND refuses an MX to an in-zone name without an
	// address): RRsets of addresses that stay come first, those that are
	// emptied last.
	rank := func(c *setChange) int {
		if c.key.typ != dns.TypeA && c.key.typ != dns.TypeAAAA {
			return 1
		}
		if c.delAll && len(c.adds) == 0 {
			return 2
		}
		return 0
	}
	slices.SortStableFunc(order, func(a, b *setChange) int { return rank(a) - rank(b) })
	return order, nil
}

// pack groups changes into UPDATE messages of at most budget bytes each,
// a change never split; a change bigger than budget goes alone.
func pack(changes []*setChange, budget int) [][]*setChange {
	var out [][]*setChange
	var cur []*setChange
	size := 0
	for _, c := range changes {
		n := c.size()
		if len(cur) > 0 && size+n > budget {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, c)
		size += n
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// build writes changes into m: the prerequisites (RFC 2136 section 2.4:
// the RRset exists with exactly the held values, or does not exist), then
// the deletes and the adds.
func build(m *dns.Msg, changes []*setChange) {
	for _, c := range changes {
		if len(c.live) == 0 {
			m.RRsetNotUsed([]dns.RR{&dns.ANY{Hdr: dns.RR_Header{Name: c.key.name, Rrtype: c.key.typ}}})
			continue
		}
		pre := make([]dns.RR, len(c.live))
		for i, rr := range c.live {
			pre[i] = dns.Copy(rr)
		}
		m.Used(pre) // TTL 0, class IN: value-dependent
	}
	for _, c := range changes {
		if c.delAll {
			m.RemoveRRset([]dns.RR{&dns.ANY{Hdr: dns.RR_Header{Name: c.key.name, Rrtype: c.key.typ}}})
		}
		if len(c.dels) > 0 {
			dels := make([]dns.RR, len(c.dels))
			for i, rr := range c.dels {
				dels[i] = dns.Copy(rr)
			}
			m.Remove(dels)
		}
	}
	for _, c := range changes {
		if len(c.adds) > 0 {
			m.Insert(c.adds)
		}
	}
}

// written reports whether a change writes anything.
func (c *setChange) written() bool { return c.delAll || len(c.dels) > 0 || len(c.adds) > 0 }

// describeChanges names the RRsets of changes for an error: "@ TXT, mail A".
func describeChanges(zone string, changes []*setChange) string {
	var recs []libdns.Record
	for _, c := range changes {
		if c.written() {
			recs = append(recs, libdns.RR{Name: providers.RelativeName(c.key.name, zone), Type: dns.TypeToString[c.key.typ]})
		}
	}
	return describe(recs)
}

// canonicalSet returns the sorted canonical values h holds at k.
func (h *held) canonicalSet(k setKey) []string {
	var out []string
	for _, rr := range h.sets[k] {
		out = append(out, h.recs[rr].Data)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// records returns what h holds at the RRsets of expect, as GetRecords
// returned them.
func (h *held) records(zone string, expect []providers.RRsetState) []libdns.Record {
	var out []libdns.Record
	for _, e := range expect {
		t, ok := dns.StringToType[strings.ToUpper(e.Type)]
		if !ok {
			continue
		}
		for _, rr := range h.sets[setKey{providers.AbsoluteName(e.Name, zone), t}] {
			out = append(out, h.recs[rr])
		}
	}
	return out
}
