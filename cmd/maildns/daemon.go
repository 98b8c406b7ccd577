package main

import (
	"context"
	"fmt"
	"io"
)

// runDaemon runs maildns as a service until ctx is done; it returns the exit status.
func runDaemon(ctx context.Context, configPath string, stderr io.Writer) int {
	fmt.Fprintln(stderr, "maildns: daemon mode is not implemented yet")
	return 1
}
