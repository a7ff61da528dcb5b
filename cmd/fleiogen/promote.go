package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/fleiogen/fleiogen/generator/review"
)

// NewPromoteCmd builds "fleiogen promote".
func NewPromoteCmd(out, errOut io.Writer) *cobra.Command {
	o := &compareOptions{}
	var from, to string
	cmd := &cobra.Command{
		Use:   "promote --from REF --to REF [DIR]",
		Short: "Show what merging one branch into another would change on its clusters",
		Long: `Promote shows what merging --from (say main) into --to (say prod) would change
on the clusters that read the --to branch (GIT_BRANCH in their runtime-info):
the diff of --to against --from, made as "fleiogen diff --base TO --head FROM
--branch TO" makes it, with the same reports, risks and exit codes. It reads
git only: it never merges, commits or pushes.

With --tree DIR it compares the rendered trees committed under DIR on the two
branches, which are what Flux applies. With the specs (DIR), both sides are
rendered by this fleiogen: a change that comes from fleiogen itself (a newer
release's defaults or templates, rendered into --from) does not show.

The branch name is --to without its remote ("origin/prod" reads "prod"); set
--branch when --to is not a branch. With --main, changes that differ from
the main branch are flagged "unpromoted" (useful when --from is not main).

` + exitHelp,
		Example: `  fleiogen promote --from main --to prod --tree .
  fleiogen promote --from main --to prod examples/fleet
  fleiogen promote --from origin/main --to origin/prod -o markdown --fail-on prune,immutable examples/fleet`,
		Args: argsAtMostOne,
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
				if o.tree != "" {
					return withCode(ExitInput, errors.New("give either DIR (the specs) or --tree (a rendered tree), not both"))
				}
			}
			if from == "" || to == "" {
				return withCode(ExitInput, errors.New("--from and --to are required"))
			}
			if o.branch == "" {
				where := dir
				if o.tree != "" {
					where = o.tree
				}
				repo, err := review.OpenRepo(where)
				if err != nil {
					return sideError(err)
				}
				if o.branch, err = repo.BranchName(to); err != nil {
					if _, rerr := repo.Resolve(to); rerr != nil {
						return withCode(ExitInput, fmt.Errorf("--to: %w", rerr))
					}
					return withCode(ExitInput, fmt.Errorf("--to: %w; name the clusters' branch with --branch", err))
				}
			}
			o.base, o.head = to, from
			return runCompare(o, dir, out, errOut)
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "git revision to promote (required)")
	cmd.Flags().StringVar(&to, "to", "", "git revision promoted into (required); its clusters are compared")
	cmd.Flags().StringVar(&o.main, "main", "", "git revision of the main branch: flag changes that differ from it (risk unpromoted)")
	cmd.Flags().StringVar(&o.branch, "branch", "", "the clusters' branch (default: the branch --to names)")
	o.addFlags(cmd)
	return cmd
}
