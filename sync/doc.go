// Package sync is the engine: it reads each provider zone once, compares
// the records policies want with the live ones, plans the changes under the
// safety rules, and applies them, reading back and verifying what it wrote.
// Its sub-packages own the rest: plan (the plan as plain data and its
// renderings), check (the live checks and their resolvers, which know no
// provider) and journal (entries, runs, retention, zone locks); the engine
// imports them, never the other way round. It knows nothing of the daemon
// (sync/daemon, which schedules its runs) nor of the commands.
package sync
