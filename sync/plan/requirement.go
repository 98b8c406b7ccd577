package plan

import "fmt"

// Compliance statuses (SPEC §4).
const (
	CompliancePass ComplianceStatus = iota + 1
	ComplianceFail
	ComplianceNotConfigured
)

// ComplianceStatus is a scorecard line's verdict, written (JSON, text) as
// its name: "pass", "fail" or "not_configured" ("" for the zero value).
// A byte, as RequirementName: a run keeps a line per requirement for each
// of its domains (40 bytes a line rather than 64).
type ComplianceStatus uint8

var complianceStatuses = [...]string{"", "pass", "fail", "not_configured"}

func (s ComplianceStatus) String() string {
	if int(s) < len(complianceStatuses) {
		return complianceStatuses[s]
	}
	return ""
}

func (s ComplianceStatus) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func (s *ComplianceStatus) UnmarshalText(b []byte) error {
	for i, n := range complianceStatuses {
		if n == string(b) {
			*s = ComplianceStatus(i)
			return nil
		}
	}
	return fmt.Errorf("unknown compliance status %q", b)
}

// RequirementName is a line of the scorecard (its place in Requirements,
// plus one), written (JSON, text) as its name, e.g. "spf" ("" for the
// zero value).
type RequirementName uint8

// RequirementNamed returns the requirement of that name; 0 for none.
func RequirementNamed(name string) RequirementName {
	for i, r := range Requirements {
		if r.name == name {
			return RequirementName(i + 1)
		}
	}
	return 0
}

func (n RequirementName) String() string {
	if n > 0 && int(n) <= len(Requirements) {
		return Requirements[n-1].name
	}
	return ""
}

func (n RequirementName) MarshalText() ([]byte, error) { return []byte(n.String()), nil }

func (n *RequirementName) UnmarshalText(b []byte) error {
	if *n = RequirementNamed(string(b)); *n == 0 && len(b) > 0 {
		return fmt.Errorf("unknown requirement %q", b)
	}
	return nil
}

// Requirement is one line of a domain's compliance scorecard: a rule of
// the bulk-sender requirements or a modern mail-security standard, whether
// the domain meets it as the zone now stands, and the finding behind the
// verdict ("" when there is nothing to say).
type Requirement struct {
	Domain      string           `json:"domain"`
	Requirement RequirementName  `json:"requirement"`
	Status      ComplianceStatus `json:"status"`
	Finding     string           `json:"finding"`
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

// Scorecards are the scorecards of a run's domains kept small: the domain
// once a card and a status and finding a line, each card a line per
// Requirements in their order. A plan keeps them in Cards in place of
// Compliance (Plan.Scorecard): at 100,000 domains the 900,000 lines of
// Compliance, 40 bytes each, were 36 MB.
type Scorecards struct {
	Domains []string
	Lines   []ScoreLine // len(Requirements) a domain
}

// ScoreLine is one line of a card of Scorecards.
type ScoreLine struct {
	Status  ComplianceStatus
	Finding string
}

// Len returns the number of lines; 0 for nil.
func (s *Scorecards) Len() int {
	if s == nil {
		return 0
	}
	return len(s.Lines)
}

// Line returns line i as a Requirement.
func (s *Scorecards) Line(i int) Requirement {
	per := len(Requirements)
	return Requirement{Domain: s.Domains[i/per], Requirement: RequirementName(i%per + 1), Status: s.Lines[i].Status, Finding: s.Lines[i].Finding}
}
