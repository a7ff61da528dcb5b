package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/fleiogen/fleiogen/generator"
	"github.com/fleiogen/fleiogen/generator/review"
)

type checkOptions struct {
	output string
	diff   bool
}

// NewCheckCmd builds "fleiogen check".
func NewCheckCmd(out, errOut io.Writer) *cobra.Command {
	o := &checkOptions{}
	cmd := &cobra.Command{
		Use:   "check [DIR]",
		Short: "Check that the committed tree is what the specs render",
		Long: `Check renders the specs under DIR (default ".") in memory and compares the
result with clusters/, tenants/ and components/ under the output directory,
by the rules render writes by. It lists each file that is missing, different
(stale or edited by hand), in the way (no fleiogen header), a symbolic link
(render refuses to write through one), or generated but no longer rendered,
and exits 1 when there is any, so that CI can refuse a pull request whose
tree is out of date. It writes nothing.`,
		Example: `  fleiogen check examples/fleet -o .
  fleiogen check examples/fleet -o . --diff`,
		Args: argsAtMostOne,
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			if err := checkOutputDir(o.output); err != nil {
				return err
			}
			m, err := loadModel(dir, errOut, errOut)
			if err != nil {
				return err
			}
			files, err := generator.Render(m)
			if err != nil {
				return withCode(ExitFailure, err)
			}
			warnBootstrap(errOut, o.output, m)
			stale, err := review.Check(files, o.output)
			if err != nil {
				return withCode(ExitFailure, err)
			}
			for _, s := range stale {
				fmt.Fprintf(out, "%-16s %s\n", string(s.Why)+":", s.Path)
			}
			if o.diff {
				for _, s := range stale {
					fmt.Fprint(out, "\n"+s.Diff())
				}
			}
			if len(stale) > 0 {
				return withCode(ExitDifferences, fmt.Errorf("%d files under %s do not match the specs under %s; run: fleiogen render %s -o %s", len(stale), o.output, dir, dir, o.output))
			}
			fmt.Fprintf(errOut, "%s is up to date with %s (%d files)\n", o.output, dir, len(files))
			return nil
		},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", ".", "directory holding the committed clusters/, tenants/ and components/")
	cmd.Flags().BoolVar(&o.diff, "diff", false, "also print a unified diff of each file")
	return cmd
}
