package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/fleiogen/fleiogen/generator"
)

type renderOptions struct {
	output  string
	noCache bool
}

// NewRenderCmd builds "fleiogen render".
func NewRenderCmd(out, errOut io.Writer) *cobra.Command {
	o := &renderOptions{}
	cmd := &cobra.Command{
		Use:   "render [DIR]",
		Short: "Render the specs under DIR into a Flux fleet tree",
		Long: `Render reads the specs under DIR (default ".") and writes clusters/, tenants/
and components/ under the output directory. Files already up to date are not
touched; generated files that the specs no longer produce are deleted, and so
are empty directories below clusters/, tenants/ and components/; files
without fleiogen's header and clusters/*/flux-system/ are never touched.
Invalid specs are all reported, and nothing is written. Files are written
beside their targets and renamed into place, and new directories are built
under a temporary name and renamed into place, so a killed render leaves no
truncated file; the next render deletes its temporaries. A render locks the
output directory (flock) while it works: another render into the same
directory fails at once (exit 3) rather than mixing two trees.

A re-render skips the FleioDeployments whose specs, Fleet and fleiogen
binary are unchanged and whose files on disk still have the content they
were rendered with. The render cache ($FLEIOGEN_CACHE, by default the user
cache directory's fleiogen/) keeps each file's SHA-256 and its status
(size, times, inode) as it was written or read to compare: a file whose
status is unchanged is trusted unread, as git's index does; any other is
hashed. A damaged or cut-short cache file is ignored, and everything is
rendered. --no-cache renders everything; "fleiogen check" never uses the
cache.`,
		Example: `  # Render the bundled examples into the repository root
  fleiogen render examples/fleet -o .

  # Render into a scratch directory
  fleiogen render specs/ -o /tmp/fleet`,
		Args: argsAtMostOne,
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			if err := checkOutputDir(o.output); err != nil {
				return err
			}
			if os.Getenv("GOGC") == "" {
				// A render writes its files as it goes, so its live heap
				// stays small and the collector, at its default of 100,
				// runs often for little: 200 measured 5 to 10% faster at
				// 1000 deployments (docs/bench.md), for 10 to 15 MiB more.
				debug.SetGCPercent(200)
			}
			// The walk of the output tree overlaps loading and rendering.
			scan := generator.StartScan(o.output)
			defer scan.Close()
			specs, m, err := loadSpecs(dir, errOut, errOut)
			if err != nil {
				return err
			}
			var cache *generator.RenderCache
			if !o.noCache {
				cdir, err := generator.DefaultCacheDir()
				if err == nil {
					cache, err = generator.OpenRenderCache(cdir)
				}
				if err != nil { // none: render everything
					fmt.Fprintf(errOut, "warning: no render cache, every FleioDeployment is rendered: %v (set FLEIOGEN_CACHE to a writable directory, or pass --no-cache)\n", err)
				}
			}
			var unchanged map[*generator.Deployment][]string
			var keys map[*generator.Deployment]string
			if cache != nil {
				unchanged, keys = cache.Lookup(o.output, specs.Fleet, m)
			}
			var keep []string
			for _, d := range m.Deployments {
				keep = append(keep, unchanged[d]...)
			}
			keep = append(keep, unchanged[generator.Shared]...)
			st, byDeployment, err := generator.RenderWrite(o.output, m, unchanged, keep, scan, cache != nil)
			if err != nil {
				return withCode(ExitFailure, err)
			}
			// The cache is stored under the lock too: another render
			// cannot change the files between their writing and their
			// status's recording.
			if cache != nil {
				if err := cache.StoreAll(o.output, st, keys, byDeployment); err != nil {
					fmt.Fprintf(errOut, "warning: the render cache was not stored, so the next render renders every FleioDeployment: %v (set FLEIOGEN_CACHE to a writable directory, or pass --no-cache)\n", err)
				}
			}
			fmt.Fprintf(errOut, "rendered %d files into %s: %d written, %d unchanged, %d deleted\n",
				st.Files, o.output, st.Written, st.Unchanged, st.Deleted)
			warnBootstrap(errOut, o.output, m)
			return nil
		},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", ".", "directory to render clusters/, tenants/ and components/ into")
	cmd.Flags().BoolVar(&o.noCache, "no-cache", false, "render every FleioDeployment, ignoring the render cache")
	return cmd
}

// loadModel loads and validates the specs under dir. A spec-like file that
// is not read (fleio.YAML) is warned about on warn; documents that are not
// fleiogen's (other API groups, plain YAML) are skipped and counted on notes.
func loadModel(dir string, warn, notes io.Writer) (*generator.Model, error) {
	_, m, err := loadSpecs(dir, warn, notes)
	return m, err
}

func loadSpecs(dir string, warn, notes io.Writer) (*generator.Specs, *generator.Model, error) {
	specs, err := generator.LoadDir(dir)
	if specs == nil { // Validate reports Load's problems with its own
		return nil, nil, withCode(ExitInput, err)
	}
	for _, f := range specs.NotRead {
		fmt.Fprintf(warn, "warning: %s: not read: spec file names end in .yaml, .yml or .json in lower case, as kubectl reads them; rename it if it holds specs\n", f)
	}
	if n := len(specs.Skipped); n > 0 {
		fmt.Fprintf(notes, "note: skipped %d YAML document(s) that are not fleiogen specs (first: %s)\n", n, specs.Skipped[0])
	}
	m, err := generator.Validate(specs)
	if err != nil {
		return nil, nil, withCode(ExitInput, err)
	}
	return specs, m, nil
}

// warnBootstrap prints a warning for each cluster that flux bootstrap set
// up, under out, on a branch other than the one the Fleet gives it.
func warnBootstrap(errOut io.Writer, out string, m *generator.Model) {
	for _, w := range generator.BootstrapWarnings(out, m) {
		fmt.Fprintf(errOut, "warning: %s\n", filepath.Join(out, w))
	}
}
