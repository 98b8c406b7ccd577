package policy

import (
	"fmt"
	"net/netip"
	"strings"
)

// checkMailAuth validates the mail-authentication content of a loaded domain
// (SPF, DKIM, DMARC, MX) to the RFCs. Validation calls it once per domain
// after the structural checks; each problem names the place it is written.
//
// Only hard errors are reported here: what is legal but unwise (ptr, a
// record over 450 bytes, an RSA key under 2048 bits) is a finding of the
// live checks, not a reason to refuse the policy.
func checkMailAuth(d *Domain) []*Error {
	var errs []*Error
	if s := d.SPF; s != nil && s.State != "absent" {
		errs = append(errs, checkSPFMechanisms(d, s)...)
	}
	for _, k := range d.DKIM {
		if k.State != "" || k.Key == "" {
			continue // retired and absent keys publish no key
		}
		kt, bits := k.KeyType, k.KeyBits
		if kt == "" {
			kt = "rsa"
		}
		if bits == 0 && kt == "rsa" {
			b, err := DKIMKeyBits(kt, k.Key)
			if err != nil {
				errs = append(errs, Errorf(d.At(k.Line), "dkim %s: %v", k.Selector, err))
				continue
			}
			bits = b
		}
		if sev, msg := DKIMKeyStrength(kt, bits); sev == "error" {
			errs = append(errs, Errorf(d.At(k.Line), "dkim %s: %s", k.Selector, msg))
		}
	}
	if m := d.DMARC; m != nil && m.State != "absent" {
		for _, l := range []struct {
			tag  string
			uris []string
		}{{"rua", m.RUA}, {"ruf", m.RUF}} {
			for _, u := range l.uris {
				pu, warn, err := parseDMARCURI(u)
				switch {
				case err != nil:
					errs = append(errs, Errorf(d.At(m.Line), "dmarc %s: %v", l.tag, err))
				case warn != "" || pu.Address == "":
					errs = append(errs, Errorf(d.At(m.Line), "dmarc %s: %q is not a mailto: URI", l.tag, u))
				}
			}
		}
	}
	nullMX := false
	for _, mx := range d.MX {
		h := strings.TrimSuffix(mx.Host, ".")
		if mx.Host == "." {
			nullMX = true
			if mx.Priority != 0 {
				errs = append(errs, Errorf(d.At(mx.Line), "mx: a null MX (host \".\") has priority 0 (RFC 7505 §3)"))
			}
			continue
		}
		if _, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
			errs = append(errs, Errorf(d.At(mx.Line), "mx host %q is an IP address: an MX names a host (RFC 5321 §5.1); add it as a mail host and name that", mx.Host))
		}
	}
	if nullMX && len(d.MX) > 1 {
		errs = append(errs, Errorf(d.At(d.MX[0].Line), "mx: a null MX (host \".\") must stand alone (RFC 7505 §3)"))
	}
	return errs
}

// checkSPFMechanisms checks each item of spf.mechanisms as an SPF term.
func checkSPFMechanisms(d *Domain, s *SPF) []*Error {
	var errs []*Error
	seen := map[string]bool{}
	lookups := 0
	for i, m := range s.Mechanisms {
		t, err := ParseSPFTerm(m)
		if err != nil {
			errs = append(errs, Errorf(d.At(s.Line), "spf mechanisms[%d] %q: %v", i, m, stripTerm(err)))
			continue
		}
		if t.QueriesDNS() {
			lookups++
		}
		switch {
		case t.Mechanism == "all":
			errs = append(errs, Errorf(d.At(s.Line), "spf mechanisms[%d] %q: write the all mechanism with the all: key", i, m))
		case t.Modifier == "redirect":
			errs = append(errs, Errorf(d.At(s.Line), "spf mechanisms[%d] %q: redirect= is ignored beside the all mechanism that all: always adds (RFC 7208 §6.1); use include:", i, m))
		case t.Modifier != "":
			if seen[t.Modifier] {
				errs = append(errs, Errorf(d.At(s.Line), "spf mechanisms[%d] %q: %s= appears twice (RFC 7208 §6)", i, m, t.Modifier))
			}
			seen[t.Modifier] = true
		}
	}
	if lookups > SPFMaxLookups {
		// Each such term costs at least one lookup before any include is
		// followed: the record can never be valid (RFC 7208 §4.6.4).
		errs = append(errs, Errorf(d.At(s.Line), "spf: %d mechanisms that need DNS lookups, the limit is %d (RFC 7208 §4.6.4)", lookups, SPFMaxLookups))
	}
	return errs
}

// stripTerm drops the term from a syntax error (the caller quotes it).
func stripTerm(err error) string {
	if se, ok := err.(*SPFSyntaxError); ok {
		return fmt.Sprintf("column %d: %s", se.Pos+1, se.Msg)
	}
	return err.Error()
}
