package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/maildns/maildns/internal/dkimgen"
)

const dkimUsage = `Usage:
  maildns dkim keygen --selector S [--algorithm rsa-2048|rsa-3072|ed25519] --out DIR

Writes DIR/S.pem, a new private key (PEM PKCS #8, mode 0600, never over an
existing file), and prints the policy lines that publish its public half.
`

// runDKIM is "maildns dkim ...": only keygen for now.
func runDKIM(_ context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "keygen" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(stdout, dkimUsage)
			return exitOK
		}
		fmt.Fprint(stderr, dkimUsage)
		return exitFailed
	}
	fs := flag.NewFlagSet("maildns dkim keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), dkimUsage+"\nFlags:\n"); fs.PrintDefaults() }
	selector := fs.String("selector", "", "the DKIM selector (the key is published at SELECTOR._domainkey)")
	alg := fs.String("algorithm", dkimgen.Algorithms[0], "rsa-2048, rsa-3072 or ed25519")
	out := fs.String("out", "", "directory for the private key file")
	fs.String("config", "", "accepted for symmetry with the other commands; not read")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitFailed
	}
	var problems []string
	if fs.NArg() > 0 {
		problems = append(problems, fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	if msg := dkimgen.CheckSelector(*selector); msg != "" {
		problems = append(problems, "--selector: "+msg)
	}
	if !slices.Contains(dkimgen.Algorithms, *alg) {
		problems = append(problems, fmt.Sprintf("--algorithm %q: want %s", *alg, strings.Join(dkimgen.Algorithms, ", ")))
	}
	if *out == "" {
		problems = append(problems, "--out DIR is required")
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintf(stderr, "maildns dkim keygen: %s\n", p)
		}
		return exitFailed
	}
	key, err := dkimgen.Generate(*alg, nil)
	if err != nil {
		fmt.Fprintf(stderr, "maildns dkim keygen: %v\n", err)
		return exitFailed
	}
	dir, err := filepath.Abs(*out)
	if err != nil {
		fmt.Fprintf(stderr, "maildns dkim keygen: %v\n", err)
		return exitFailed
	}
	path, err := dkimgen.Write(dir, *selector, key)
	if err != nil {
		fmt.Fprintf(stderr, "maildns dkim keygen: %v; nothing was written\n", err)
		return exitFailed
	}
	fmt.Fprintf(stderr, "maildns: wrote %s (%s private key, mode 0600)\n", path, *alg)
	// stdout is YAML to paste under the policy's dkim: list.
	fmt.Fprintf(stdout, "# DKIM key %s (%s): add under dkim: in the domain's policy.\n", *selector, *alg)
	fmt.Fprintf(stdout, "# It publishes %s._domainkey TXT %q\n", *selector, key.Record())
	fmt.Fprintf(stdout, "  - selector: %s\n    key_file: %s\n", *selector, yamlScalar(path))
	return exitOK
}

// yamlScalar quotes s for YAML when it is not a plain scalar.
func yamlScalar(s string) string {
	if s != "" && !strings.ContainsAny(s, ":#'\"{}[],&*!|>%@`\\ \t") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
