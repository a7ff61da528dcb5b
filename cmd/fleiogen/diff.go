package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/fleiogen/fleiogen/generator"
	"github.com/fleiogen/fleiogen/generator/fluxbuild"
	"github.com/fleiogen/fleiogen/generator/review"
)

// compareOptions are the flags diff and promote share.
type compareOptions struct {
	base, head, main string
	cluster, branch  string
	tree             string
	format           string
	failOn           string
	maxSize          int
}

func (o *compareOptions) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.cluster, "cluster", "", "compare only this cluster")
	cmd.Flags().StringVar(&o.tree, "tree", "", "compare the committed rendered tree under this directory (clusters/, tenants/, components/) instead of rendering the specs")
	cmd.Flags().StringVarP(&o.format, "output", "o", "text", "report format: "+strings.Join(review.Formats, ", "))
	cmd.Flags().StringVar(&o.failOn, "fail-on", "", "exit 1 only when one of these risks is found (comma-separated names, \"immutable\" or \"all\"), and 0 otherwise")
	cmd.Flags().Var(review.NewLimitFlag(&o.maxSize), "max-size", "largest Markdown report in bytes (at least 1000): what does not fit is left out, with a note; text and json are never shortened")
}

func riskHelp() string {
	var b strings.Builder
	for _, r := range review.Risks {
		fmt.Fprintf(&b, "  %-19s %s\n", r.Name, r.Description)
	}
	return b.String()
}

const exitHelp = `Exit codes: 0 no differences (with --fail-on: none of those risks), 1
differences (with --fail-on: one of those risks), 2 bad usage, an unknown
revision or invalid specs, 3 git or file-system failure.`

// NewDiffCmd builds "fleiogen diff".
func NewDiffCmd(out, errOut io.Writer) *cobra.Command {
	o := &compareOptions{}
	cmd := &cobra.Command{
		Use:   "diff --base REF [--head REF] [DIR]",
		Short: "Show what a change does to each cluster, and what is risky",
		Long: `Diff renders the specs under DIR (default ".") at git revision --base and in
the working tree (or at --head), builds every cluster of both as "fleiogen
build" does, and reports per cluster and per Kustomization each object that
is added, modified, moved, deleted (pruned) or orphaned, with unified diffs
of the YAML. Settings checksums and generated-file headers are left out of
the diffs, and secret values are masked. At a revision, DIR is the same path
relative to the repository root; git is read with go-git.

Risks are flagged with the object and a one-line explanation:
` + riskHelp() + `
"unpromoted" needs --main: the main branch's revision to check against.

` + exitHelp,
		Example: `  # What the working tree changes against origin/main, as a PR comment
  fleiogen diff --base origin/main -o markdown examples/fleet

  # A pull request into prod: fail on hotfixes that skipped main, and on deletions
  fleiogen diff --base origin/prod --head HEAD --branch prod --main origin/main --fail-on unpromoted,prune examples/fleet`,
		Args: argsAtMostOne,
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
				if o.tree != "" {
					return withCode(ExitInput, errors.New("give either DIR (the specs) or --tree (a rendered tree), not both"))
				}
			}
			if o.base == "" {
				return withCode(ExitInput, errors.New("--base is required"))
			}
			return runCompare(o, dir, out, errOut)
		},
	}
	cmd.Flags().StringVar(&o.base, "base", "", "git revision to compare with (required)")
	cmd.Flags().StringVar(&o.head, "head", "", "git revision to compare (default: the working tree)")
	cmd.Flags().StringVar(&o.main, "main", "", "git revision of the main branch: flag changes that differ from it (risk unpromoted)")
	cmd.Flags().StringVar(&o.branch, "branch", "", "compare only the clusters that read this branch")
	o.addFlags(cmd)
	return cmd
}

// runCompare reads, renders and builds the sides in parallel, compares
// them and writes the report; the returned error carries the exit code.
func runCompare(o *compareOptions, dir string, out, errOut io.Writer) error {
	if !slices.Contains(review.Formats, o.format) {
		return withCode(ExitInput, fmt.Errorf("-o %q: unknown format (%s)", o.format, strings.Join(review.Formats, ", ")))
	}
	var failOn map[string]bool
	if o.failOn != "" {
		var err error
		if failOn, err = review.ParseRisks(o.failOn); err != nil {
			return withCode(ExitInput, fmt.Errorf("--fail-on: %w", err))
		}
		named := slices.ContainsFunc(strings.Split(o.failOn, ","), func(n string) bool { return strings.TrimSpace(n) == "unpromoted" })
		if named && o.main == "" { // "all" without --main is fine: the other risks
			return withCode(ExitInput, errors.New("--fail-on unpromoted needs --main, the main branch's revision to check against"))
		}
	}
	where := dir
	if o.tree != "" {
		where = o.tree
	}
	repo, err := review.OpenRepo(where)
	if err != nil {
		return sideError(err)
	}
	refs := []string{o.base, o.head, o.main}
	sides := make([]*review.Side, len(refs))
	errs := make([]error, len(refs))
	var wg sync.WaitGroup
	for i, ref := range refs {
		if ref == "" && i != 1 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sides[i], errs[i] = readSide(repo, ref, dir, o.tree)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return sideError(err)
	}
	if err := checkMissing(repo, sides, refs, dir, o.tree); err != nil {
		return err
	}
	b := fluxbuild.NewBuilder()
	if err := review.Build(b, sides...); err != nil {
		return sideError(err)
	}
	base, head, main := sides[0], sides[1], sides[2]
	if o.cluster != "" && base.Cluster(o.cluster) == nil && head.Cluster(o.cluster) == nil {
		return withCode(ExitInput, fmt.Errorf("--cluster %q: no such cluster (clusters: %s)", o.cluster, strings.Join(clusterNames(base, head), ", ")))
	}
	if o.branch != "" {
		branches := clusterBranches(base, head)
		if !slices.Contains(branches, o.branch) {
			return withCode(ExitInput, fmt.Errorf("--branch %q: no cluster reads this branch (GIT_BRANCH of the clusters: %s)", o.branch, strings.Join(branches, ", ")))
		}
	}
	if o.cluster != "" && o.branch != "" {
		// Each filter alone names something that exists; together they
		// may select nothing, which would pass any --fail-on.
		var reads []string
		for _, s := range []*review.Side{base, head} {
			if c := s.Cluster(o.cluster); c != nil && !slices.Contains(reads, c.Values["GIT_BRANCH"]) {
				reads = append(reads, c.Values["GIT_BRANCH"])
			}
		}
		if !slices.Contains(reads, o.branch) {
			return withCode(ExitInput, fmt.Errorf("--cluster %q reads %s, not --branch %q: the two select no cluster", o.cluster, strings.Join(reads, " and "), o.branch))
		}
	}
	if base.Missing {
		what := dir
		if o.tree != "" {
			what = "rendered tree under " + o.tree
		}
		fmt.Fprintf(errOut, "note: %s has no %s; everything is new\n", base.Label, what)
	}
	rep := review.Compare(base, head, review.Options{Main: main, Branch: o.branch, Cluster: o.cluster})
	if err := review.WriteReport(out, rep, o.format, o.maxSize); err != nil {
		return withCode(ExitFailure, err)
	}
	changed := 0
	for _, c := range rep.Clusters {
		if c.Changed() {
			changed++
		}
	}
	fmt.Fprintf(errOut, "%d of %s change; %s\n", changed, count(len(rep.Clusters), "cluster"), count(len(rep.Risks), "risk"))
	if failOn != nil {
		if failing := rep.Failing(failOn); len(failing) > 0 {
			var names []string
			for _, r := range failing {
				if !slices.Contains(names, r.Name) {
					names = append(names, r.Name)
				}
			}
			return withCode(ExitDifferences, fmt.Errorf("%s that --fail-on refuses: %s", count(len(failing), "risk"), strings.Join(names, ", ")))
		}
		return nil
	}
	if rep.Changed() {
		return withCode(ExitDifferences, errors.New(""))
	}
	return nil
}

// checkMissing refuses a comparison that would pass for the wrong reason:
// the specs (or the rendered tree) missing from the side under review or
// from --main reads as an empty fleet, which changes nothing and fails no
// --fail-on. Missing from the base is a new fleet, unless the base has a
// rendered tree at the root: then the specs moved, and comparing them to
// nothing would hide what the change deletes.
func checkMissing(repo *review.Repo, sides []*review.Side, refs []string, dir, tree string) error {
	what := func(s *review.Side) string {
		if tree != "" {
			return fmt.Sprintf("%s has no rendered tree (clusters/, tenants/, components/) under %s", s.Label, tree)
		}
		return fmt.Sprintf("%s has no %s", s.Label, dir)
	}
	if head := sides[1]; head.Missing {
		return withCode(ExitInput, errors.New(what(head)))
	}
	if main := sides[2]; main != nil && main.Missing {
		return withCode(ExitInput, fmt.Errorf("--main: %s", what(main)))
	}
	base := sides[0]
	if !base.Missing || tree != "" {
		return nil
	}
	rev, err := repo.Resolve(refs[0])
	if err != nil {
		return withCode(ExitInput, err)
	}
	for _, d := range generator.ManagedDirs {
		has, err := repo.HasDir(rev, d)
		if err != nil {
			return withCode(ExitFailure, err)
		}
		if has {
			return withCode(ExitInput, fmt.Errorf("%s has no %s, but a rendered tree (%s/): if the specs moved, compare the rendered trees with --tree, or give --base a revision that has %s", base.Label, dir, d, dir))
		}
	}
	return nil
}

// readSide reads one side: the working tree when ref is empty.
func readSide(repo *review.Repo, ref, dir, tree string) (*review.Side, error) {
	var rev *review.Revision
	if ref != "" {
		var err error
		if rev, err = repo.Resolve(ref); err != nil {
			return nil, withCode(ExitInput, err)
		}
	}
	if tree != "" {
		return review.TreeSide(repo, rev, tree)
	}
	return review.SpecsSide(repo, rev, dir)
}

// sideError gives an error from reading or building sides its exit code.
func sideError(err error) error {
	var ee *exitError
	if errors.As(err, &ee) {
		return withCode(ee.code, err)
	}
	if review.IsInput(err) {
		return withCode(ExitInput, err)
	}
	return withCode(ExitFailure, err)
}

// clusterBranches are the branches the clusters of sides read (GIT_BRANCH
// of their runtime-info), sorted.
func clusterBranches(sides ...*review.Side) []string {
	var branches []string
	for _, s := range sides {
		for _, c := range s.Clusters {
			if b := c.Values["GIT_BRANCH"]; b != "" && !slices.Contains(branches, b) {
				branches = append(branches, b)
			}
		}
	}
	sort.Strings(branches)
	return branches
}

func clusterNames(sides ...*review.Side) []string {
	var names []string
	for _, s := range sides {
		for _, c := range s.Clusters {
			if !slices.Contains(names, c.Name) {
				names = append(names, c.Name)
			}
		}
	}
	sort.Strings(names)
	return names
}
