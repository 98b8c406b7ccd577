package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set at build time: go build -ldflags "-X main.version=1.2.3 -X main.commit=abc123".
var (
	version = ""
	commit  = ""
)

// versionString is "maildns VERSION (commit COMMIT, GOVERSION)", filled from
// the build's module and VCS information where -ldflags set nothing.
func versionString() string {
	v, c := version, commit
	modified := false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if c == "" {
					c = s.Value
				}
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "devel"
	}
	if c == "" {
		c = "unknown"
	} else {
		if len(c) > 12 {
			c = c[:12]
		}
		if modified && commit == "" {
			c += "+dirty"
		}
	}
	return fmt.Sprintf("maildns %s (commit %s, %s)", v, c, runtime.Version())
}
