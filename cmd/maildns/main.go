// Command maildns keeps a domain's mail-authentication DNS records true to a
// written policy at whatever DNS provider hosts the zone.
package main

import (
	"os"

	// The provider backends, registered by their init functions.
	_ "github.com/maildns/maildns/providers/cloudflare"
	_ "github.com/maildns/maildns/providers/rfc2136"
	_ "github.com/maildns/maildns/providers/zonefile"
)

func main() {
	tuneProcess = true
	args, stopProfiles := startProfiles(os.Args[1:])
	code := run(args, os.Stdout, os.Stderr)
	stopProfiles()
	os.Exit(code)
}
