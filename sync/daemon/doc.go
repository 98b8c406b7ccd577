// Package daemon is maildns as a service: the scheduler (a run at start,
// then on a cron schedule with jitter, never two runs at once, a bounded
// grace for a run in flight at shutdown), the runner that runs the engine
// in daemon mode with its caches, the reload of config and policies on
// request (SIGHUP, delivered on a channel) that keeps the running config
// when the new one is invalid, and the service manager's notices
// (sd_notify). It sits on top of the engine (package sync), which knows
// nothing of it; cmd/maildns wires it to the signals, the metrics and
// status.json.
package daemon
