//go:build linux

// Command benchref does a fixed piece of work shaped like a maildns run —
// small strings parsed and kept in maps, a sort, fresh memory touched page
// by page, files opened, stat'ed and read — and prints the CPU seconds it
// took (user and system). make bench runs it next to its measurements: on
// a machine whose speed moves (a shared VM), the same binary's figures
// are comparable only with the reference of the same moment.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
)

func main() {
	cpu, err := run()
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchref:", err)
		os.Exit(1)
	}
	fmt.Printf("%.2f\n", cpu)
}

// run does the work and returns the CPU seconds it took.
func run() (float64, error) {
	dir, err := os.MkdirTemp("", "benchref")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	const files = 64
	for i := range files {
		if err := os.WriteFile(filepath.Join(dir, strconv.Itoa(i)), make([]byte, 1000), 0o644); err != nil {
			return 0, err
		}
	}
	start := cpuTime()
	// Parsing and maps: 100,000 names and addresses kept.
	m := make(map[string][]string)
	for i := range 100_000 {
		name := "d" + strconv.Itoa(i*7919%1_000_003) + ".example"
		m[name] = append(m[name], strconv.Itoa(i&255)+"."+strconv.Itoa(i>>8&255)+".0.1")
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	// Fresh memory: 128 MiB touched a page at a time.
	mem := make([]byte, 128<<20)
	for i := 0; i < len(mem); i += 4096 {
		mem[i] = byte(i)
	}
	// Files: 50,000 opens, fstats, reads and closes.
	buf := make([]byte, 4096)
	var st syscall.Stat_t
	for i := range 50_000 {
		fd, err := syscall.Open(filepath.Join(dir, strconv.Itoa(i%files)), syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			return 0, err
		}
		_ = syscall.Fstat(fd, &st)
		_, _ = syscall.Read(fd, buf)
		syscall.Close(fd)
	}
	return cpuTime() - start, nil
}

// cpuTime is the process's user and system CPU time in seconds.
func cpuTime() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
