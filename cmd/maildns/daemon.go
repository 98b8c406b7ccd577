package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	sddaemon "github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/sys/unix"

	"github.com/maildns/maildns/metrics"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/sync"
)

// runDaemon runs maildns as a service until ctx is done; it returns the exit status.
func runDaemon(ctx context.Context, configPath string, stderr io.Writer) int {
	cfg, err := policy.LoadConfig(configPath)
	if err != nil {
		fmt.Fprintf(stderr, "maildns: invalid config, not starting:\n%v\n", err)
		return 1
	}
	logger := daemonLogger(cfg, stderr)
	sched, err := sync.ParseSchedule(cfg.Schedule)
	if err != nil {
		fmt.Fprintf(stderr, "maildns: %s: %v\n", configPath, err)
		return 1
	}

	// SIGHUP reloads; SIGTERM/SIGINT arrive as ctx (main's signal.NotifyContext).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	m := metrics.New(daemonVersion(), nil)
	m.SetPeriod(sync.Period(sched, time.Now()))
	srvDone := make(chan error, 1)
	srvCtx, stopSrv := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSrv()
	if addr := cfg.Metrics.Listen; addr != "" {
		srv, err := m.Listen(addr)
		if err != nil {
			fmt.Fprintf(stderr, "maildns: %s: %v\n", configPath, err)
			return 1
		}
		logger.Info("metrics listening", "addr", srv.Addr().String())
		go func() { srvDone <- srv.Serve(srvCtx, logger) }()
	} else {
		srvDone <- nil
	}

	watchdog, _ := sddaemon.SdWatchdogEnabled(false)
	d := &sync.Daemon{
		Path:      configPath,
		Load:      policy.LoadConfig,
		Logger:    logger,
		NewLogger: func(cfg *policy.Config) *slog.Logger { return daemonLogger(cfg, stderr) },
		Reload:    hup,
		Notify: func(state string) {
			if _, err := sddaemon.SdNotify(false, state); err != nil {
				logger.Debug("sd_notify failed", "error", err.Error())
			}
		},
		Watchdog:  watchdog,
		Observe:   m.Observe,
		Monotonic: monotonicUsec,
	}
	err = d.Run(ctx, cfg)
	stopSrv()
	if serr := <-srvDone; serr != nil {
		logger.Warn("metrics server", "error", serr.Error())
	}
	if err != nil {
		fmt.Fprintf(stderr, "maildns: %v\n", err)
		return 1
	}
	return 0
}

// daemonLogger builds the slog logger of cfg.Log: level debug|info|warn|error,
// format text|json|auto (json unless stderr is a terminal).
// TODO(cli): use the CLI's logger setup from log.go once it exists.
func daemonLogger(cfg *policy.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.Log.Level)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	text := cfg.Log.Format == "text"
	if cfg.Log.Format == "" || cfg.Log.Format == "auto" {
		if f, ok := w.(*os.File); ok {
			_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
			text = err == nil
		}
	}
	if text {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// daemonVersion is the module version the binary was built from.
func daemonVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
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
