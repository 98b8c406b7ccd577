package plan

// Plan is the result of one run: what differs, what was done, what was found.
// Its JSON form is the contract of SPEC §4.
type Plan struct {
	Version int    `json:"version"`
	Mode    string `json:"mode"` // dry-run | once | daemon | restore
	// RunID is the run's id, as in its journal entries and log lines.
	RunID string `json:"run_id,omitempty"`
	// Journal is the state directory the run wrote journal entries to
	// ("" when it wrote none).
	Journal  string     `json:"journal,omitempty"`
	Zones    []ZonePlan `json:"zones"`
	Findings []Finding  `json:"findings"`
	Summary  Summary    `json:"summary"`
	// Compliance is the scorecard of every domain checked this run: its
	// requirements in order, domains in the order of the plan.
	Compliance []Requirement `json:"compliance"`
	// Cards, when not nil, are the scorecard in place of Compliance (then
	// nil), written as it would be: what the engine makes of a run's
	// checks (Scorecards). Read both through Scorecard, or the writers.
	Cards *Scorecards `json:"-"`
	// Watched lists the run's domains with enforce: false (planned,
	// checked and reported, never written).
	Watched []string `json:"watched,omitempty"`
}

// Plan modes (Plan.Mode).
const (
	ModeDryRun  = "dry-run"
	ModeOnce    = "once"
	ModeDaemon  = "daemon"
	ModeRestore = "restore" // the plan of a restore
)

// Zone statuses.
const (
	StatusInSync  = "in_sync"
	StatusDrift   = "drift"
	StatusApplied = "applied"
	StatusRefused = "refused"
	StatusPartial = "partial" // some changes written, some held back (a finding says which and why)
	StatusError   = "error"
	// StatusWatched: a domain with enforce: false whose records differ
	// from its policy; nothing was written (the changes say what would be).
	StatusWatched = "watched"
)

// ZonePlan is what one domain's policy wants changed in one provider zone.
// A domain whose PTR records live in a reverse zone has a second ZonePlan.
type ZonePlan struct {
	Domain   string   `json:"domain"`
	Zone     string   `json:"zone"`
	Provider string   `json:"provider"`
	Status   string   `json:"status"`
	Changes  []Change `json:"changes"`
	Error    string   `json:"error"`
	// Files are the files maildns writes for the domain beside its
	// records (the MTA-STS policy), before the records that announce them.
	Files []FileChange `json:"files,omitempty"`
}

// FileChange is one file maildns writes for a domain beside its records.
type FileChange struct {
	Action string `json:"action"` // create | update
	Path   string `json:"path"`
	What   string `json:"what"` // e.g. "MTA-STS policy"
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"` // empty: a delete (restore of a file a run created)
}

// Change actions.
const (
	ActionCreate = "create"
	ActionUpdate = "update"
	ActionDelete = "delete"
)

// Change is one RRset (name, type) to change. Before and After list only the
// values maildns owns.
type Change struct {
	Action string   `json:"action"`
	Name   string   `json:"name"` // relative to the zone, "@" for the apex
	Type   string   `json:"type"`
	TTL    int      `json:"ttl"` // seconds, the TTL after the change (before, for a delete)
	Before []string `json:"before,omitempty"`
	After  []string `json:"after,omitempty"`
	// BeforeTTL is the live TTL when it differs from TTL.
	BeforeTTL int `json:"before_ttl,omitempty"`
}

// Finding severities.
const (
	SevError   = "error"
	SevAction  = "action"
	SevWarning = "warning"
	SevInfo    = "info"
)

// Finding is something a check found that a person should know.
type Finding struct {
	Severity   string `json:"severity"`
	Kind       string `json:"kind"`
	Domain     string `json:"domain"`
	Subject    string `json:"subject"`
	Message    string `json:"message"`
	ISPRequest string `json:"isp_request,omitempty"`
}

// Summary counts a plan.
type Summary struct {
	Create   int `json:"create"`
	Update   int `json:"update"`
	Delete   int `json:"delete"`
	Findings int `json:"findings"`
	Errors   int `json:"errors"`
	Watched  int `json:"watched"` // domains with enforce: false
}

// Scorecard returns the plan's scorecard lines: Compliance, or Cards as
// lines (made here).
func (p *Plan) Scorecard() []Requirement {
	if p.Cards == nil {
		return p.Compliance
	}
	out := make([]Requirement, p.Cards.Len())
	for i := range out {
		out[i] = p.Cards.Line(i)
	}
	return out
}

// scorecardLen is len(p.Scorecard()), without making the lines.
func (p *Plan) scorecardLen() int {
	if p.Cards != nil {
		return p.Cards.Len()
	}
	return len(p.Compliance)
}

// scorecardLine is p.Scorecard()[i], without making the others.
func (p *Plan) scorecardLine(i int) Requirement {
	if p.Cards != nil {
		return p.Cards.Line(i)
	}
	return p.Compliance[i]
}
