package plan

// Compliance statuses (SPEC §4).
const (
	CompliancePass          = "pass"
	ComplianceFail          = "fail"
	ComplianceNotConfigured = "not_configured"
)

// Requirement is one line of a domain's compliance scorecard: a rule of
// the bulk-sender requirements or a modern mail-security standard, whether
// the domain meets it as the zone now stands, and the finding behind the
// verdict ("" when there is nothing to say).
type Requirement struct {
	Domain      string `json:"domain"`
	Requirement string `json:"requirement"`
	Status      string `json:"status"`
	Finding     string `json:"finding"`
}

// A requirement of the scorecard, in the order it is shown.
type requirementDef struct {
	name, label string
	bulk        bool // one of Google's and Yahoo's bulk-sender rules
}

// Requirements are the scorecard's lines. The first five are what Google
// and Yahoo require of bulk senders since 2024 (SPF, DKIM, DMARC of at
// least p=none, mail that can align with From:, forward-confirmed reverse
// DNS); the rest are the standards mail-security tests score.
var Requirements = []requirementDef{
	{"spf", "SPF", true},
	{"dkim", "DKIM", true},
	{"dmarc", "DMARC (p=none or stricter)", true},
	{"dmarc_alignment", "DMARC alignment", true},
	{"ptr", "forward-confirmed reverse DNS", true},
	{"mta_sts", "MTA-STS", false},
	{"tls_rpt", "TLS-RPT", false},
	{"dane", "DANE (TLSA)", false},
	{"bimi", "BIMI", false},
}
