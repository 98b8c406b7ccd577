package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/maildns/maildns/internal/dkimgen"
)

const dkimKeygenLong = `Writes DIR/S.pem, a new private key (PEM PKCS #8, mode 0600, never over an
existing file), and prints the policy lines that publish its public half.
Exit 0 written, 1 failed.`

const dkimUsage = "usage: maildns dkim keygen --selector S [--algorithm rsa-2048|rsa-3072|ed25519] --out DIR"

// newDKIMCmd is "maildns dkim": only keygen for now.
func newDKIMCmd(c *cli) *cobra.Command {
	dkim := &cobra.Command{
		Use:   "dkim",
		Short: "DKIM keys: keygen",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 && args[0] == "help" {
				return nil // "maildns dkim help", as before it was a cobra command
			}
			return &usageError{errors.New(dkimUsage), cmd.CommandPath()}
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	keygen := &cobra.Command{
		Use:     "keygen --selector S [--algorithm rsa-2048|rsa-3072|ed25519] --out DIR",
		Short:   "Write a new DKIM private key and print the policy lines for it",
		Long:    dkimKeygenLong,
		Example: "  maildns dkim keygen --selector s2027 --algorithm ed25519 --out /etc/maildns/keys",
		Args:    ownArgs,
	}
	fs := keygen.Flags()
	selector := fs.String("selector", "", "the DKIM selector `S` (the key is published at S._domainkey)")
	alg := fs.String("algorithm", dkimgen.Algorithms[0], "`ALG`: "+strings.Join(dkimgen.Algorithms, ", "))
	out := fs.String("out", "", "the `DIR` for the private key file")
	fs.String("config", "", "a config `FILE`: accepted for symmetry with the other commands; not read")
	keygen.RunE = func(_ *cobra.Command, args []string) error {
		c.code = runDKIMKeygen(*selector, *alg, *out, args, c.stdout, c.stderr)
		return nil
	}
	_ = keygen.RegisterFlagCompletionFunc("algorithm", cobra.FixedCompletions(dkimgen.Algorithms, cobra.ShellCompDirectiveNoFileComp))
	_ = keygen.MarkFlagDirname("out")
	dkim.AddCommand(keygen)
	return dkim
}

// runDKIMKeygen is "maildns dkim keygen".
func runDKIMKeygen(selector, alg, out string, args []string, stdout, stderr io.Writer) int {
	var problems []string
	if len(args) > 0 {
		problems = append(problems, fmt.Sprintf("unexpected argument %q", args[0]))
	}
	if msg := dkimgen.CheckSelector(selector); msg != "" {
		problems = append(problems, "--selector: "+msg)
	}
	if !slices.Contains(dkimgen.Algorithms, alg) {
		problems = append(problems, fmt.Sprintf("--algorithm %q: want %s", alg, strings.Join(dkimgen.Algorithms, ", ")))
	}
	if out == "" {
		problems = append(problems, "--out DIR is required")
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintf(stderr, "maildns dkim keygen: %s\n", p)
		}
		return exitFailed
	}
	key, err := dkimgen.Generate(alg, nil)
	if err != nil {
		fmt.Fprintf(stderr, "maildns dkim keygen: %v\n", err)
		return exitFailed
	}
	dir, err := filepath.Abs(out)
	if err != nil {
		fmt.Fprintf(stderr, "maildns dkim keygen: %v\n", err)
		return exitFailed
	}
	path, err := dkimgen.Write(dir, selector, key)
	if err != nil {
		fmt.Fprintf(stderr, "maildns dkim keygen: %v; nothing was written\n", err)
		return exitFailed
	}
	fmt.Fprintf(stderr, "maildns: wrote %s (%s private key, mode 0600)\n", path, alg)
	// stdout is YAML to paste under the policy's dkim: list.
	fmt.Fprintf(stdout, "# DKIM key %s (%s): add under dkim: in the domain's policy.\n", selector, alg)
	fmt.Fprintf(stdout, "# It publishes %s._domainkey TXT %q\n", selector, key.Record())
	fmt.Fprintf(stdout, "  - selector: %s\n    key_file: %s\n", selector, yamlScalar(path))
	return exitOK
}

// yamlScalar quotes s for YAML when it is not a plain scalar.
func yamlScalar(s string) string {
	if s != "" && !strings.ContainsAny(s, ":#'\"{}[],&*!|>%@`\\ \t") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
