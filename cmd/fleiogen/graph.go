package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/fleiogen/fleiogen/generator"
)

type graphOptions struct {
	cluster string
	format  string
}

// NewGraphCmd builds "fleiogen graph".
func NewGraphCmd(out, errOut io.Writer) *cobra.Command {
	o := &graphOptions{}
	cmd := &cobra.Command{
		Use:   "graph --cluster NAME [DIR]",
		Short: "Print the dependency graph of a cluster's Kustomizations",
		Long: `Graph prints the Flux Kustomizations of a cluster and the order Flux applies
them in, from the specs under DIR (default "."): an arrow points from a
Kustomization to one that waits for it (dependsOn) or that it applies.
Mermaid by default (the graph clusters/<cluster>/README.md draws when it is
within Mermaid's limits), Graphviz DOT with -o dot.`,
		Example: `  fleiogen graph --cluster prod-eu examples/fleet
  fleiogen graph --cluster prod-eu -o dot examples/fleet | dot -Tsvg > prod-eu.svg`,
		Args: argsAtMostOne,
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			if o.cluster == "" {
				return withCode(ExitInput, fmt.Errorf("--cluster is required"))
			}
			if o.format != "mermaid" && o.format != "dot" {
				return withCode(ExitInput, fmt.Errorf("-o %q: unknown format (mermaid, dot)", o.format))
			}
			m, err := loadModel(dir, errOut, io.Discard)
			if err != nil {
				return err
			}
			if err := checkCluster(m, o.cluster); err != nil {
				return err
			}
			for _, c := range m.Clusters {
				if c.Name != o.cluster {
					continue
				}
				g := generator.ClusterGraph(c)
				s := g.Mermaid()
				if o.format == "dot" {
					s = g.DOT()
				}
				_, err := io.WriteString(out, s)
				return withCode(ExitFailure, err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&o.cluster, "cluster", "", "cluster to graph (required)")
	cmd.Flags().StringVarP(&o.format, "output", "o", "mermaid", "format: mermaid or dot")
	return cmd
}
