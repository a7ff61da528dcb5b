package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// NewValidateCmd builds "fleiogen validate".
func NewValidateCmd(out, errOut io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "validate [DIR]",
		Short: "Check the specs under DIR without writing anything",
		Long: `Validate loads and checks the specs under DIR (default ".") as render does,
reports every problem as file:line: field: message, and writes nothing.`,
		Example: `  fleiogen validate examples/fleet`,
		Args:    argsAtMostOne,
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			m, err := loadModel(dir, errOut, errOut)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "%s: valid: %s, %s, %s\n", dir, count(len(m.Clusters), "cluster"), count(len(m.Tenants), "tenant"), count(len(m.Deployments), "FleioDeployment"))
			return nil
		},
	}
}
