package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/spf13/cobra"

	"github.com/maildns/maildns/internal/importer"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/sync"
)

const importLong = `Reads ZONE once from provider NAME (writes nothing there) and writes DIR/DOMAIN.yaml
for each mail domain found (or each --domain), with DKIM public keys under DIR/keys/.
What a policy cannot say is kept in the file as a comment. Existing files are
replaced only with --force. A domain with an _mta-sts record gets an mta_sts
section from its policy text, read from DIR/DOMAIN/.well-known/mta-sts.txt
(--mta-sts-dir, the layout policy_dir has) or from
https://mta-sts.DOMAIN/.well-known/mta-sts.txt (--mta-sts-https); without
either, the section is a comment to fill in. Exit 0 written, 1 failed.`

// importHTTPClient fetches MTA-STS policies for --mta-sts-https (nil: the
// importer's default, validating against the system roots); tests point it
// at a loopback server.
var importHTTPClient *http.Client

// newImportCmd is "maildns import"; its flags are declared here, in one
// place, and read by runImport.
func newImportCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "import --provider NAME --zone ZONE --out DIR [--domain D ...] [--force] [--mta-sts-dir DIR] [--mta-sts-https]",
		Short:   "Write policies from the mail records a zone has now",
		Long:    importLong,
		Example: "  maildns import --provider local --zone example.com --out /etc/maildns/policies",
		Args:    ownArgs,
	}
	fs := cmd.Flags()
	config := fs.String("config", "", "the config `FILE` (default $MAILDNS_CONFIG, then "+DefaultConfig+")")
	provider := fs.String("provider", "", "the provider, by its `NAME` in the config")
	zone := fs.String("zone", "", "the `ZONE` to read")
	out := fs.String("out", "", "the `DIR` for the policies")
	force := fs.Bool("force", false, "replace existing files")
	stsDir := fs.String("mta-sts-dir", "", "read MTA-STS policies from `DIR`/DOMAIN/.well-known/mta-sts.txt")
	stsHTTPS := fs.Bool("mta-sts-https", false, "fetch MTA-STS policies from https://mta-sts.DOMAIN/ (certificates validated)")
	var domains stringList
	fs.Var(&domains, "domain", "only this domain (repeatable)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		o := importFlags{config: config, provider: provider, zone: zone, out: out, force: force,
			stsDir: stsDir, stsHTTPS: stsHTTPS, domains: domains}
		c.code = runImport(cmd.Context(), o, args, c.stdout, c.stderr)
		return nil
	}
	_ = cmd.MarkFlagFilename("config", "yaml", "yml")
	_ = cmd.MarkFlagDirname("out")
	return cmd
}

// importFlags are import's parsed flags.
type importFlags struct {
	config, provider, zone, out *string
	stsDir                      *string
	force, stsHTTPS             *bool
	domains                     stringList
}

// runImport is "maildns import".
func runImport(ctx context.Context, o importFlags, args []string, stdout, stderr io.Writer) int {
	config, provider, zone, out, force, domains := o.config, o.provider, o.zone, o.out, o.force, o.domains
	stsDir, stsHTTPS := o.stsDir, o.stsHTTPS
	var problems []string
	if len(args) > 0 {
		problems = append(problems, fmt.Sprintf("unexpected argument %q", args[0]))
	}
	for name, v := range map[string]string{"provider": *provider, "zone": *zone, "out": *out} {
		if v == "" {
			problems = append(problems, "--"+name+" is required")
		}
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintf(stderr, "maildns import: %s\n", p)
		}
		return exitFailed
	}
	if *config == "" {
		*config = os.Getenv("MAILDNS_CONFIG")
	}
	if *config == "" {
		*config = DefaultConfig
	}
	cfg, err := policy.LoadSettings(*config)
	if err != nil {
		printErrors(stderr, *config, err)
		return exitFailed
	}
	if _, ok := cfg.Providers[*provider]; !ok {
		fmt.Fprintf(stderr, "maildns import: provider %q is not in %s\n", *provider, *config)
		return exitFailed
	}
	provs, err := sync.BuildProviders(cfg)
	if err != nil {
		printErrors(stderr, *config, err)
		return exitFailed
	}
	pols, err := importer.Run(ctx, importer.Options{
		Config: cfg, Providers: provs, Provider: *provider, Zone: *zone,
		Domains: domains, Out: *out, Force: *force,
		MTASTSDir: *stsDir, MTASTSHTTPS: *stsHTTPS, HTTPClient: importHTTPClient,
	})
	if err != nil {
		fmt.Fprintf(stderr, "maildns import: %v\n", err)
		return exitFailed
	}
	for _, p := range pols {
		fmt.Fprintf(stdout, "%s: %s", p.Domain, p.File)
		if len(p.Keys) > 0 {
			fmt.Fprintf(stdout, " (%d DKIM %s)", len(p.Keys), map[bool]string{true: "key", false: "keys"}[len(p.Keys) == 1])
		}
		if len(p.Notes) > 0 {
			fmt.Fprintf(stdout, ", %d %s left as comments", len(p.Notes), map[bool]string{true: "record", false: "records"}[len(p.Notes) == 1])
		}
		fmt.Fprintln(stdout)
	}
	fmt.Fprintf(stdout, "%d %s written; add %s to the policies of the config, then run --validate and --dry-run\n",
		len(pols), map[bool]string{true: "policy", false: "policies"}[len(pols) == 1], *out)
	return exitOK
}
