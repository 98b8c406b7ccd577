package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// subcommands are the commands that parse their own flags; run hands them
// the arguments after their name.
var subcommands = map[string]func(ctx context.Context, args []string, stdout, stderr io.Writer) int{
	"dkim":   runDKIM,
	"import": runImport,
	"status": runStatus,
}

// subcommand runs args when they name one of subcommands; ok is false when
// they do not.
func subcommand(args []string, stdout, stderr io.Writer) (code int, ok bool) {
	if len(args) == 0 {
		return 0, false
	}
	fn, ok := subcommands[args[0]]
	if !ok {
		return 0, false
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return fn(ctx, args[1:], stdout, stderr), true
}
