package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestMaxSize: --max-size below 1000 (or not a number) is a usage error
// that names the flag, for diff and promote alike; at the smallest size
// the Markdown report still fits and says what it left out.
func TestMaxSize(t *testing.T) {
	repo := specsRepo(t)
	specs := filepath.Join(repo, "specs")
	gitIn(t, repo, "branch", "prod")
	for _, v := range []string{"0", "-5", "999", "ten"} {
		for _, args := range [][]string{
			{"diff", "--base", "main", "-o", "markdown", "--max-size", v, specs},
			{"diff", "--base", "main", "--max-size=" + v, specs},
			{"promote", "--from", "main", "--to", "prod", "--max-size", v, specs},
		} {
			code, stdout, stderr := run(args...)
			if code != ExitInput || !strings.Contains(stderr, `"--max-size"`) || stdout != "" {
				t.Errorf("%v: exit %d, stderr %q, stdout %d bytes; want exit 2 naming --max-size", args, code, stderr, len(stdout))
			}
		}
	}
	replaceIn(t, filepath.Join(specs, "billing/fleio.yaml"), "enableBackups: yes", "enableBackups: no")
	code, stdout, stderr := run("diff", "--base", "main", "-o", "markdown", "--max-size", "1000", specs)
	if code != ExitDifferences {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if len(stdout) > 1000 || !strings.Contains(stdout, "This report is shortened") || !strings.Contains(stdout, "| `prune` | prod-eu |") {
		t.Errorf("%d bytes, want at most 1000 with the risks and a note:\n%s", len(stdout), stdout)
	}
	// The limit is the Markdown report's: text is never shortened.
	_, text, _ := run("diff", "--base", "main", "--max-size", "1000", specs)
	if len(text) <= 1000 {
		t.Errorf("text report is %d bytes: shortened, or the test proves nothing", len(text))
	}
}
