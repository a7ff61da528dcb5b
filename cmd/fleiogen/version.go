package main

import (
	"fmt"
	"io"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/fleiogen/fleiogen/generator"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

// NewVersionCmd builds "fleiogen version".
func NewVersionCmd(out io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print fleiogen's version and the default Fleio release",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := version
			if v == "" {
				v = "devel"
				if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
					v = bi.Main.Version
				}
			}
			fmt.Fprintf(out, "fleiogen %s (default Fleio release %s)\n", v, generator.DefaultVersion)
			return nil
		},
	}
}
