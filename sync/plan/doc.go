// Package plan holds the plan of a run as plain data (zones, changes,
// files, findings, the compliance scorecard and the summary, whose JSON form
// is the contract of SPEC §4) and its renderings for people (text), for
// programs (JSON) and for review in a pull request (Markdown). It knows
// nothing of providers, the network or the engine that fills it; of maildns
// it imports only policy (to name an MTA-STS policy file's mode).
package plan
