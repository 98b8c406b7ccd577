package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// newDocsCmd is the hidden `maildns gendocs DIR`: the man pages and the
// bash, zsh and fish completions, generated from the command definitions
// (make man, make deb).
func newDocsCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "gendocs DIR",
		Short:  "Write the man pages and shell completions to DIR",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			root := cmd.Root()
			man := filepath.Join(dir, "man")
			comp := filepath.Join(dir, "completions")
			for _, d := range []string{man, comp} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					return err
				}
			}
			hdr := &doc.GenManHeader{Title: "MAILDNS", Section: "1", Source: "maildns", Manual: "maildns manual"}
			// Reproducible pages: the date of the source, when the build says it.
			if sec, err := strconv.ParseInt(os.Getenv("SOURCE_DATE_EPOCH"), 10, 64); err == nil {
				t := time.Unix(sec, 0).UTC()
				hdr.Date = &t
			}
			if err := doc.GenManTree(root, hdr, man); err != nil {
				return err
			}
			gens := []struct {
				file string
				gen  func(string) error
			}{
				{"maildns.bash", func(p string) error { return root.GenBashCompletionFileV2(p, true) }},
				{"_maildns", root.GenZshCompletionFile},
				{"maildns.fish", func(p string) error { return root.GenFishCompletionFile(p, true) }},
			}
			for _, g := range gens {
				if err := g.gen(filepath.Join(comp, g.file)); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s and %s\n", man, comp)
			return nil
		},
	}
}
