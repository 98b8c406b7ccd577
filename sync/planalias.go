package sync

import (
	"io"

	"github.com/maildns/maildns/sync/plan"
)

// The plan's types and constants live in package plan; these names keep the
// engine's code, and its callers, speaking of sync.Plan.
type (
	Plan        = plan.Plan
	ZonePlan    = plan.ZonePlan
	Change      = plan.Change
	FileChange  = plan.FileChange
	Finding     = plan.Finding
	Summary     = plan.Summary
	Requirement = plan.Requirement
	Scorecards  = plan.Scorecards
)

// Run modes (Plan.Mode).
const (
	ModeDryRun  = plan.ModeDryRun
	ModeOnce    = plan.ModeOnce
	ModeDaemon  = plan.ModeDaemon
	ModeRestore = plan.ModeRestore
)

// Zone statuses.
const (
	StatusInSync  = plan.StatusInSync
	StatusDrift   = plan.StatusDrift
	StatusApplied = plan.StatusApplied
	StatusRefused = plan.StatusRefused
	StatusPartial = plan.StatusPartial
	StatusError   = plan.StatusError
	StatusWatched = plan.StatusWatched
)

// Change actions.
const (
	ActionCreate = plan.ActionCreate
	ActionUpdate = plan.ActionUpdate
	ActionDelete = plan.ActionDelete
)

// Finding severities.
const (
	SevError   = plan.SevError
	SevAction  = plan.SevAction
	SevWarning = plan.SevWarning
	SevInfo    = plan.SevInfo
)

// Compliance statuses.
const (
	CompliancePass          = plan.CompliancePass
	ComplianceFail          = plan.ComplianceFail
	ComplianceNotConfigured = plan.ComplianceNotConfigured
)

// WriteJSON writes p as the plan JSON of SPEC §4 (plan.WriteJSON).
func WriteJSON(w io.Writer, p *Plan) error { return plan.WriteJSON(w, p) }

// WriteText writes p for people (plan.WriteText).
func WriteText(w io.Writer, p *Plan, color bool) error { return plan.WriteText(w, p, color) }

// WriteMarkdown writes p as Markdown tables (plan.WriteMarkdown).
func WriteMarkdown(w io.Writer, p *Plan) error { return plan.WriteMarkdown(w, p) }

// MarkdownCell escapes s for a cell of a Markdown table (plan.MarkdownCell).
func MarkdownCell(s string) string { return plan.MarkdownCell(s) }
