// Package journal owns maildns's journal in state_dir: the entries (what a
// run was about to change in one zone, every RRset it touched as it was,
// and what the writes did), their files (the entries written once,
// atomically and durably, the outcomes appended; read strictly), runs (ids, listing, finding, retention by run), and the
// zone locks with their generations that keep two maildns from writing one
// zone. Entries hold plain plan values (sync/plan); the engine fills them
// and restores from them. It knows nothing of the engine, of providers, of
// policies or of the checks: of maildns it imports only sync/plan (and,
// through it, policy).
package journal
