// Command fleiogen renders Fleio operator specs into a Flux fleet
// repository. See README.md for the commands and their exit codes.
package main

import (
	"os"
)

func main() {
	os.Exit(Execute(os.Args[1:], os.Stdout, os.Stderr))
}
