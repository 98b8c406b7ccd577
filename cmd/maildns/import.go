package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/maildns/maildns/internal/importer"
	"github.com/maildns/maildns/policy"
	"github.com/maildns/maildns/sync"
)

const importUsage = `Usage:
  maildns import [--config FILE] --provider NAME --zone ZONE [--domain D ...] --out DIR [--force]
                 [--mta-sts-dir DIR] [--mta-sts-https]

Reads ZONE once from provider NAME (writes nothing there) and writes DIR/DOMAIN.yaml
for each mail domain found (or each --domain), with DKIM public keys under DIR/keys/.
What a policy cannot say is kept in the file as a comment. Existing files are
replaced only with --force. A domain with an _mta-sts record gets an mta_sts
section from its policy text, read from DIR/DOMAIN/.well-known/mta-sts.txt
(--mta-sts-dir, the layout policy_dir has) or from
https://mta-sts.DOMAIN/.well-known/mta-sts.txt (--mta-sts-https); without
either, the section is a comment to fill in.
`

// importHTTPClient fetches MTA-STS policies for --mta-sts-https (nil: the
// importer's default, validating against the system roots); tests point it
// at a loopback server.
var importHTTPClient *http.Client

// runImport is "maildns import".
func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("maildns import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), importUsage+"\nFlags:\n"); fs.PrintDefaults() }
	config := fs.String("config", "", "config file (default $MAILDNS_CONFIG, then "+DefaultConfig+")")
	provider := fs.String("provider", "", "the provider, by its name in the config")
	zone := fs.String("zone", "", "the zone to read")
	out := fs.String("out", "", "directory for the policies")
	force := fs.Bool("force", false, "replace existing files")
	stsDir := fs.String("mta-sts-dir", "", "read MTA-STS policies from `DIR`/DOMAIN/.well-known/mta-sts.txt")
	stsHTTPS := fs.Bool("mta-sts-https", false, "fetch MTA-STS policies from https://mta-sts.DOMAIN/ (certificates validated)")
	var domains stringList
	fs.Var(&domains, "domain", "only this domain (repeatable)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitFailed
	}
	var problems []string
	if fs.NArg() > 0 {
		problems = append(problems, fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
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
