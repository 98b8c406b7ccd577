package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"sync/atomic"
	"syscall"
	"time"

	sddaemon "github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/sys/unix"

	"github.com/maildns/maildns/metrics"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/sync/daemon"
)

// runDaemon runs maildns as a service until ctx is done; it returns the exit
// status. logLevel (--log-level), when set, overrides the config's.
func runDaemon(ctx context.Context, configPath, logLevel string, stderr io.Writer) int {
	// SIGHUP reloads (caught from the start: its default action would kill
	// the daemon); SIGTERM/SIGINT arrive as ctx (main's signal.NotifyContext).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	cfg := loadConfig(configPath, stderr) // compiles every policy too
	if cfg == nil {
		return exitFailed
	}
	logger := newLogger(stderr, withLevel(cfg.Log, logLevel))
	sched, err := daemon.ParseSchedule(cfg.Schedule)
	if err != nil {
		fmt.Fprintf(errorStream(stderr), "maildns: %s: %v\n", configPath, err)
		return exitFailed
	}

	m := metrics.New(daemonVersion(), nil)
	m.Started(time.Now())
	m.SetPeriod(daemon.Period(sched, time.Now()))
	srvDone := make(chan error, 1)
	srvCtx, stopSrv := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSrv()
	if addr := cfg.Metrics.Listen; addr != "" {
		srv, err := m.Listen(addr)
		if err != nil {
			fmt.Fprintf(errorStream(stderr), "maildns: %s: %v\n", configPath, err)
			return exitFailed
		}
		logger.Info("metrics listening", "addr", srv.Addr().String())
		go func() { srvDone <- srv.Serve(srvCtx, logger) }()
	} else {
		srvDone <- nil
	}

	var running atomic.Pointer[policy.Config] // the config of the runs, for their state records
	running.Store(cfg)
	watchdog, _ := sddaemon.SdWatchdogEnabled(false)
	d := &daemon.Daemon{
		Path:      configPath,
		Version:   versionString(),
		Load:      policy.LoadConfig,
		Logger:    logger,
		NewLogger: func(cfg *policy.Config) *slog.Logger { return newLogger(stderr, withLevel(cfg.Log, logLevel)) },
		Reload:    hup,
		Notify: func(state string) {
			if _, err := sddaemon.SdNotify(false, state); err != nil {
				logger.Debug("sd_notify failed", "error", err.Error())
			}
		},
		Watchdog: watchdog,
		Observe: func(r daemon.Result) {
			m.Observe(r)
			recordDaemonRun(running.Load(), r, logger)
		},
		Skipped: m.Skipped,
		Reloaded: func(newCfg *policy.Config, period time.Duration) {
			running.Store(newCfg)
			m.SetPeriod(period)
			if newCfg.Metrics.Listen != cfg.Metrics.Listen {
				logger.Warn("restart needed", "setting", "metrics.listen",
					"running", cfg.Metrics.Listen, "configured", newCfg.Metrics.Listen)
			}
		},
		Monotonic: monotonicUsec,
	}
	err = d.Run(ctx, cfg)
	stopSrv()
	if serr := <-srvDone; serr != nil {
		logger.Warn("metrics server", "error", serr.Error())
	}
	if err != nil {
		printErrors(stderr, configPath, err)
		return exitFailed
	}
	return exitOK
}

// daemonVersion is the version for build_info: -ldflags main.version, else
// the module version the binary was built from.
func daemonVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// monotonicUsec is CLOCK_MONOTONIC in microseconds, for MONOTONIC_USEC.
func monotonicUsec() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return ts.Nano() / 1000
}
