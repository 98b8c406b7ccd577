package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strings"
)

// profileFlags are the hidden profiling flags, taken out of the arguments
// before the real flags are parsed (they are not in --help).
var profileFlags = []string{"cpuprofile", "memprofile", "trace"}

// startProfiles removes --cpuprofile FILE, --memprofile FILE and --trace
// FILE (an execution trace, for go tool trace: where a run's wall time
// goes) from args, starts the CPU profile and the trace, and returns the
// remaining arguments and a function that stops them and writes the heap
// profile.
func startProfiles(args []string) ([]string, func()) {
	files := map[string]string{}
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || !isProfileFlag(name) {
			rest = append(rest, a)
			continue
		}
		if !hasVal && i+1 < len(args) {
			i++
			val = args[i]
		}
		files[name] = val
	}
	if len(files) == 0 {
		return args, func() {}
	}
	cpu := startTo(files, "cpuprofile", func(f *os.File) error { return pprof.StartCPUProfile(f) })
	tr := startTo(files, "trace", func(f *os.File) error { return trace.Start(f) })
	return rest, func() {
		if tr != nil {
			trace.Stop()
			tr.Close()
		}
		if cpu != nil {
			pprof.StopCPUProfile()
			cpu.Close()
		}
		if path := files["memprofile"]; path != "" {
			f, err := os.Create(path)
			if err == nil {
				runtime.GC()
				err = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "maildns: --memprofile: %v\n", err)
			}
		}
	}
}

// startTo creates the file the flag names (if given) and starts writing to
// it; nil when not given or on failure (said on stderr).
func startTo(files map[string]string, flag string, start func(*os.File) error) *os.File {
	path := files[flag]
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err == nil {
		if err = start(f); err != nil {
			f.Close()
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "maildns: --%s: %v\n", flag, err)
		return nil
	}
	return f
}

func isProfileFlag(name string) bool {
	for _, f := range profileFlags {
		if name == f {
			return true
		}
	}
	return false
}
