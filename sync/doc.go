// Package sync is the engine: it compares the records policies want with
// the live records at the providers, plans the changes (a plan.Plan, a plain
// value), and applies them under the safety rules with a journal, reading
// back and verifying what it wrote. Its sub-packages own the rest: plan (the
// plan as data and its renderings), and the package comments of the others
// say what they own; the engine imports them, never the other way round.
package sync
