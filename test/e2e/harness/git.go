package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Repo is a local git repository standing for the fleet repository on a
// git server. Commits are made with a fixed identity.
type Repo struct {
	Dir string
	t   testing.TB
}

// NewRepo creates an empty repository with branch main in a temporary
// directory removed at the end of the test (kept on failure).
func NewRepo(t testing.TB) *Repo {
	t.Helper()
	dir, err := os.MkdirTemp("", "fleiogen-e2e-repo-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("E2E_KEEP") != "" {
			t.Logf("fleet repository kept in %s", dir)
			return
		}
		os.RemoveAll(dir)
	})
	r := &Repo{Dir: dir, t: t}
	r.Git("init", "-q", "-b", "main")
	r.Git("config", "user.name", "fleiogen e2e")
	r.Git("config", "user.email", "e2e@fleiogen.invalid")
	r.Git("config", "commit.gpgsign", "false")
	return r
}

// Git runs git in the repository and returns its trimmed stdout; it fails
// the test on error.
func (r *Repo) Git(args ...string) string {
	r.t.Helper()
	out, err := r.TryGit(args...)
	if err != nil {
		r.t.Fatal(err)
	}
	return out
}

// TryGit runs git and returns its error instead of failing.
func (r *Repo) TryGit(args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-C", r.Dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_DATE=", "GIT_COMMITTER_DATE=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// CommitAll stages everything in the work tree and commits it; it returns
// the new HEAD commit. An empty commit is an error (the test meant to change
// something).
func (r *Repo) CommitAll(msg string) string {
	r.t.Helper()
	r.Git("add", "-A")
	if st := r.Git("status", "--porcelain"); st == "" {
		r.t.Fatalf("commit %q: nothing changed in %s", msg, r.Dir)
	}
	r.Git("commit", "-q", "-m", msg)
	return r.Head()
}

// Head returns the commit HEAD points at.
func (r *Repo) Head() string { r.t.Helper(); return r.Git("rev-parse", "HEAD") }

// Branch returns the commit a branch points at.
func (r *Repo) Branch(name string) string {
	r.t.Helper()
	return r.Git("rev-parse", "refs/heads/"+name)
}

// WriteFile writes a file relative to the work tree.
func (r *Repo) WriteFile(rel, content string) {
	r.t.Helper()
	p := filepath.Join(r.Dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// ChangedFiles lists files changed between two commits.
func (r *Repo) ChangedFiles(from, to string) []string {
	r.t.Helper()
	out := r.Git("diff", "--name-only", from, to)
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}
