package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// Exit codes, documented in README.md.
const (
	ExitOK          = 0
	ExitDifferences = 1 // a comparing command found differences or risks
	ExitInput       = 2 // bad usage or invalid specs; nothing was written
	ExitFailure     = 3 // the environment failed: I/O, git
)

// exitError carries an exit code with the error a command returns.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// NewRootCmd builds the fleiogen command tree writing data to out and
// diagnostics to errOut.
func NewRootCmd(out, errOut io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "fleiogen",
		Short: "Render Fleio operator specs into a Flux fleet repository",
		Long: `fleiogen reads FleioDeployment, FleioDbConnection, FleioRedisConnection and
Fleet specs and renders a d1-fleet-style Flux repository (clusters/, tenants/,
components/) that Flux reconciles with no Fleio operator in the cluster.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(out)
	root.SetErr(errOut)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return withCode(ExitInput, err) })
	root.AddCommand(
		NewRenderCmd(out, errOut),
		NewValidateCmd(out, errOut),
		NewVersionCmd(out),
		NewBuildCmd(out, errOut),
		NewDiffCmd(out, errOut),
		NewCheckCmd(out, errOut),
		NewGraphCmd(out, errOut),
		NewPromoteCmd(out, errOut),
	)
	return root
}

// Execute runs fleiogen with args and returns the exit code.
func Execute(args []string, out, errOut io.Writer) int {
	w := &failWriter{w: out}
	root := NewRootCmd(w, errOut)
	root.SetArgs(args)
	err := root.Execute()
	if w.err != nil {
		// What was printed is incomplete (a full disk, a closed pipe):
		// never report success, whatever the command found.
		fmt.Fprintln(errOut, "error: writing the output:", w.err)
		return ExitFailure
	}
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintln(errOut, "error:", ee.err)
		}
		return ee.code
	}
	// Errors from cobra itself (unknown command, bad arguments) are usage errors.
	fmt.Fprintln(errOut, "error:", err)
	return ExitInput
}

// failWriter remembers the first error writing to w, so that a command
// whose output could not be written fails however it prints.
type failWriter struct {
	w   io.Writer
	err error
}

func (f *failWriter) Write(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	n, err := f.w.Write(p)
	if err != nil {
		f.err = err
	}
	return n, err
}

// argsAtMostOne accepts zero or one positional argument, as a usage error.
func argsAtMostOne(cmd *cobra.Command, args []string) error {
	if len(args) > 1 {
		return withCode(ExitInput, fmt.Errorf("%s takes at most one directory, got %d arguments", cmd.Name(), len(args)))
	}
	return nil
}

// count writes n with noun, in the plural unless n is 1: "1 cluster",
// "2 clusters".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// checkOutputDir refuses an -o that is a file, or a symbolic link to
// nothing (bad input, exit 2); one that does not exist is made by render.
func checkOutputDir(dir string) error {
	if dir == "" {
		return withCode(ExitInput, errors.New(`-o "": give a directory ("." for this one)`))
	}
	fi, err := os.Stat(dir)
	switch {
	case err == nil && !fi.IsDir():
		return withCode(ExitInput, fmt.Errorf("-o %s: not a directory", dir))
	case err != nil:
		if target, lerr := os.Readlink(dir); lerr == nil {
			return withCode(ExitInput, fmt.Errorf("-o %s: a symbolic link to %s, which does not exist", dir, target))
		}
	}
	return nil
}
