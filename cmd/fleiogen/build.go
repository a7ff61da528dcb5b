package main

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fleiogen/fleiogen/generator"
	"github.com/fleiogen/fleiogen/generator/fluxbuild"
)

type buildOptions struct {
	cluster    string
	stage      string
	deployment string
}

// NewBuildCmd builds "fleiogen build".
func NewBuildCmd(out, errOut io.Writer) *cobra.Command {
	o := &buildOptions{}
	cmd := &cobra.Command{
		Use:   "build --cluster NAME [DIR]",
		Short: "Print the manifests a cluster's Flux would apply",
		Long: `Build renders the specs under DIR (default ".") in memory and prints, as one
YAML stream, every object the cluster's Flux Kustomizations would apply: the
cluster's own files (flux-system), platform-cert-manager, platform-issuers,
tenant-<namespace> and each fleio-<name>-<stage>, in apply order (dependsOn
order). Each Kustomization is built with kustomize and substituted with the
cluster's runtime-info as kustomize-controller does, and each object carries
Flux's owner labels (kustomize.toolkit.fluxcd.io/name and /namespace) after
a "# Kustomization namespace/name" comment line. The output is byte-stable.

--stage and --deployment keep only FleioDeployments' stage Kustomizations.`,
		Example: `  # Everything prod-eu applies
  fleiogen build --cluster prod-eu examples/fleet

  # Only the app stage of billing/cloud
  fleiogen build --cluster prod-eu --deployment billing/cloud --stage app examples/fleet`,
		Args: argsAtMostOne,
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			if o.cluster == "" {
				return withCode(ExitInput, fmt.Errorf("--cluster is required"))
			}
			if o.stage != "" && !slices.Contains(generator.Stages, o.stage) {
				return withCode(ExitInput, fmt.Errorf("--stage %q: unknown stage (stages: %s)", o.stage, strings.Join(generator.Stages, ", ")))
			}
			m, err := loadModel(dir, errOut, io.Discard)
			if err != nil {
				return err
			}
			if err := checkCluster(m, o.cluster); err != nil {
				return err
			}
			files, err := generator.Render(m)
			if err != nil {
				return withCode(ExitFailure, err)
			}
			tree, err := fluxbuild.NewTree(files)
			if err != nil {
				return withCode(ExitFailure, err)
			}
			c, err := fluxbuild.NewBuilder().Build(tree, o.cluster)
			if err != nil {
				return withCode(ExitInput, err)
			}
			kss, err := c.Select(fluxbuild.Filter{Stage: o.stage, Deployment: o.deployment})
			if err != nil {
				return withCode(ExitInput, err)
			}
			w := bufio.NewWriter(out)
			if err := fluxbuild.WriteYAML(w, kss); err != nil {
				return withCode(ExitFailure, err)
			}
			return withCode(ExitFailure, w.Flush())
		},
	}
	cmd.Flags().StringVar(&o.cluster, "cluster", "", "cluster to build (required)")
	cmd.Flags().StringVar(&o.stage, "stage", "", "keep only this stage's Kustomizations ("+strings.Join(generator.Stages, ", ")+")")
	cmd.Flags().StringVar(&o.deployment, "deployment", "", "keep only this FleioDeployment's stage Kustomizations (NAME or NAMESPACE/NAME)")
	return cmd
}

// checkCluster reports an unknown cluster as a usage error naming the
// known ones.
func checkCluster(m *generator.Model, name string) error {
	var names []string
	for _, c := range m.Clusters {
		if c.Name == name {
			return nil
		}
		names = append(names, c.Name)
	}
	return withCode(ExitInput, fmt.Errorf("--cluster %q: no such cluster (clusters: %s)", name, strings.Join(names, ", ")))
}
