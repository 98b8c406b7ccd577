package policy

func init() {
	// Appended here rather than in the key lists so that other sections
	// can add their keys there without touching the same lines.
	configKeys = append(configKeys, "enforce")
	policyKeys = append(policyKeys, "enforce")
}

// Enforced says whether maildns writes d's records: its policy's enforce
// when set, else the config's. A domain not enforced is watched: planned,
// checked, logged and reported, never written.
func (c *Config) Enforced(d *Domain) bool {
	if d != nil && d.Enforce != nil {
		return *d.Enforce
	}
	return c == nil || !c.Watch
}
