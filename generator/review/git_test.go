package review

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestRepoConcurrentReads: diff and promote read several revisions at
// once from one Repo. go-git's object storage loads packfile indexes
// lazily and is not safe for concurrent use, which made two-revision reads
// fail at random ("object not found", "no spec files found") on a packed
// repository. Run with -race for the data race itself; without it, the
// files read must still be the same every time.
func TestRepoConcurrentReads(t *testing.T) {
	r := newFleetRepo(t, true)
	r.edit("specs/billing/fleio.yaml", "backupRetentionCount: 48", "backupRetentionCount: 24")
	r.commit("retention")
	r.git("branch", "prod", "HEAD~1")
	r.git("gc", "-q", "--aggressive") // everything in packfiles, as in a clone
	for round := 0; round < 20; round++ {
		repo, err := OpenRepo(r.dir)
		if err != nil {
			t.Fatal(err)
		}
		refs := []string{"main", "prod", "HEAD~1", "main", "prod", "HEAD"}
		counts := make([]int, len(refs))
		errs := make([]error, len(refs))
		var wg sync.WaitGroup
		for i, ref := range refs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rev, err := repo.Resolve(ref)
				if err != nil {
					errs[i] = err
					return
				}
				files, found, err := repo.Files(rev, ".", func(string) bool { return true })
				if err != nil || !found {
					errs[i] = fmt.Errorf("%s: found %v, %v", ref, found, err)
				}
				counts[i] = len(files)
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d, %s: %v", round, refs[i], err)
			}
		}
		if counts[0] != counts[3] || counts[1] != counts[4] || counts[0] == 0 {
			t.Fatalf("round %d: file counts %v differ between reads of one revision", round, counts)
		}
	}
}

// TestResolvePrefersRefs: a branch whose name is also a prefix of some
// commit's hash resolves to the branch, as git resolves it.
func TestResolvePrefersRefs(t *testing.T) {
	r := newFleetRepo(t, false)
	first := strings.TrimSpace(r.git("rev-parse", "HEAD"))
	r.edit("specs/billing/fleio.yaml", "backupRetentionCount: 48", "backupRetentionCount: 24")
	r.commit("second")
	second := strings.TrimSpace(r.git("rev-parse", "HEAD"))
	prefix := first[:7]
	r.git("branch", prefix, second) // named like the first commit, at the second
	repo, err := OpenRepo(r.dir)
	if err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[string]string{prefix: second, "refs/heads/" + prefix: second, first: first, prefix + "~1": first, "main": second} {
		rev, err := repo.Resolve(ref)
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		out := strings.Fields(r.git("rev-parse", ref)) // after git's "ambiguous" warning
		if got := out[len(out)-1]; got != want {
			t.Fatalf("git rev-parse %s = %s, the test expects %s", ref, got, want)
		}
		if rev.Hash.String() != want {
			t.Errorf("Resolve(%s) = %s, git says %s", ref, rev.Hash, want)
		}
	}
}

// TestShallowCloneHint: a revision a shallow clone lacks is named with the
// way to fetch it.
func TestShallowCloneHint(t *testing.T) {
	r := newFleetRepo(t, false)
	r.edit("specs/billing/fleio.yaml", "backupRetentionCount: 48", "backupRetentionCount: 24")
	r.commit("second")
	clone := t.TempDir()
	r.git("clone", "-q", "--depth", "1", "file://"+r.dir, clone)
	repo, err := OpenRepo(clone)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Resolve("HEAD"); err != nil {
		t.Fatalf("HEAD: %v", err)
	}
	_, err = repo.Resolve("HEAD~1")
	if err == nil || !strings.Contains(err.Error(), "this clone is shallow: fetch the history") {
		t.Errorf("HEAD~1 in a shallow clone: %v", err)
	}
	full, err := OpenRepo(r.dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := full.Resolve("nosuch"); err == nil || strings.Contains(err.Error(), "shallow") {
		t.Errorf("an unknown ref in a full clone: %v", err)
	}
}

// TestRelThroughLinkMissingDir: a DIR that the work tree no longer holds
// (only the revisions compared do) is inside the repository when the path
// to the repository goes through a symbolic link: it was taken to be
// outside, as the work tree's root has its links resolved and DIR had not.
func TestRelThroughLinkMissingDir(t *testing.T) {
	r := newFleetRepo(t, false)
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(r.dir, link); err != nil {
		t.Fatal(err)
	}
	repo, err := OpenRepo(link)
	if err != nil {
		t.Fatal(err)
	}
	for dir, want := range map[string]string{
		filepath.Join(link, "specs"):         "specs",
		filepath.Join(link, "gone", "specs"): "gone/specs",
		link:                                 ".",
	} {
		got, err := repo.Rel(dir)
		if err != nil || got != want {
			t.Errorf("Rel(%s) = %q, %v; want %q", dir, got, err, want)
		}
	}
	if _, err := repo.Rel(filepath.Join(t.TempDir(), "gone")); err == nil {
		t.Errorf("Rel of a missing directory outside the repository: no error")
	}
}

// TestResolveRefusesIgnoredForms: go-git parses the reflog, upstream and
// path forms of a revision but ignores them when resolving, so main@{1}
// was main and HEAD~1:specs was HEAD: a diff against them compared the
// wrong commit, silently. They are refused.
func TestResolveRefusesIgnoredForms(t *testing.T) {
	r := newFleetRepo(t, false)
	r.edit("specs/billing/fleio.yaml", "backupRetentionCount: 48", "backupRetentionCount: 24")
	r.commit("second")
	repo, err := OpenRepo(r.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"main@{1}", "HEAD@{1}", "main@{upstream}", "HEAD~1:specs", "HEAD:specs", ":/initial"} {
		if rev, err := repo.Resolve(ref); err == nil {
			t.Errorf("Resolve(%s) = %s, want an error", ref, rev.Hash)
		} else if !strings.Contains(err.Error(), "not supported") {
			t.Errorf("Resolve(%s): %v, want it to say the form is not supported", ref, err)
		}
	}
	// Beyond the root commit, go-git says only "EOF".
	for _, ref := range []string{"HEAD~2", "HEAD^^^", "main~5", "HEAD^2"} {
		if _, err := repo.Resolve(ref); err == nil || !strings.Contains(err.Error(), "no such commit") {
			t.Errorf("Resolve(%s): %v, want: no such commit", ref, err)
		}
	}
	for _, ref := range []string{"HEAD~1", "main^", "HEAD^{/initial}"} {
		if _, err := repo.Resolve(ref); err != nil {
			t.Errorf("Resolve(%s): %v", ref, err)
		}
	}
}

// TestTreeSideLinksOutsideTree: diff --tree and promote --tree read the
// rendered tree at a revision; a symbolic link elsewhere in the repository
// (a LICENSE, a tool in hack/) is no part of it, and failed them (exit 2:
// "is a symbolic link, which fleiogen cannot follow"). A link inside the
// tree, or in place of one of its directories, still fails: render refuses
// to write through it, and its content cannot be read.
func TestTreeSideLinksOutsideTree(t *testing.T) {
	r := newFleetRepo(t, true)
	for link, target := range map[string]string{"LICENSE": "specs", "hack/tool": "../specs", "clusters/prod-eu/flux-system/gotk": "../README.md"} {
		p := filepath.Join(r.dir, filepath.FromSlash(link))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	r.commit("links outside the rendered tree")
	repo, err := OpenRepo(r.dir)
	if err != nil {
		t.Fatal(err)
	}
	rev, err := repo.Resolve("HEAD")
	if err != nil {
		t.Fatal(err)
	}
	side, err := TreeSide(repo, rev, r.dir)
	if err != nil {
		t.Fatalf("TreeSide with links outside the tree: %v", err)
	}
	if len(side.Files) == 0 {
		t.Fatal("TreeSide with links outside the tree: no files")
	}
	if err := os.Symlink("../tenants", filepath.Join(r.dir, "components", "elsewhere")); err != nil {
		t.Fatal(err)
	}
	r.commit("a link inside the rendered tree")
	if rev, err = repo.Resolve("HEAD"); err != nil {
		t.Fatal(err)
	}
	if _, err := TreeSide(repo, rev, r.dir); err == nil || !IsInput(err) || !strings.Contains(err.Error(), "components/elsewhere is a symbolic link") {
		t.Errorf("TreeSide with a link inside the tree: %v, want an input error naming it", err)
	}
}
