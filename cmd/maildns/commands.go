package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// ownFlags is for the commands that declare every flag they take (import,
// status, dkim and its keygen): each of the root's persistent flags (the
// run flags --offline, --log-level, ...) they do not declare becomes a
// hidden flag of theirs, so that their help, man page and completions list
// only their own, and ownArgs makes a use of one a usage error, as it was
// before these commands joined the tree.
func ownFlags(cmd *cobra.Command, root *pflag.FlagSet) {
	root.VisitAll(func(f *pflag.Flag) {
		if cmd.Flags().Lookup(f.Name) != nil {
			return
		}
		shadow := *f
		shadow.Hidden, shadow.Changed = true, false
		cmd.Flags().AddFlag(&shadow)
	})
	for _, sub := range cmd.Commands() {
		ownFlags(sub, root)
	}
}

// ownArgs is the Args check of the commands of ownFlags: a flag they do not
// take is a usage error. Arguments are the command's own to check.
func ownArgs(cmd *cobra.Command, _ []string) error {
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if err == nil && f.Changed && (f.Hidden || cmd.InheritedFlags().Lookup(f.Name) != nil) {
			err = &usageError{fmt.Errorf("%s does not take --%s", strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" "), f.Name), cmd.CommandPath()}
		}
	})
	return err
}
