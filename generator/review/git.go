package review

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Repo reads files of a Git repository at any revision, read-only, with
// go-git: no git binary is needed and nothing is ever written. Its methods
// are safe for concurrent use: go-git's object storage is not (packfile
// indexes load lazily), so every call into it holds mu.
type Repo struct {
	mu   sync.Mutex
	repo *git.Repository
	root string // the work tree's root, symlinks resolved
}

// OpenRepo opens the repository that holds dir (dir or a parent has .git;
// linked work trees are supported).
func OpenRepo(dir string) (*Repo, error) {
	r, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if err != nil {
		// DIR need not exist in the working tree (a revision may hold
		// it), but one that is in no repository and does not exist, or
		// is a file, is the user's input to fix (exit 2, as for every
		// command), not a repository problem.
		if st, serr := os.Stat(dir); serr != nil {
			return nil, inputError(fmt.Errorf("reading specs: %w", serr))
		} else if !st.IsDir() {
			return nil, inputError(fmt.Errorf("reading specs: %s is not a directory", dir))
		}
		return nil, fmt.Errorf("opening the git repository of %s: %w", dir, err)
	}
	wt, err := r.Worktree()
	if err != nil {
		return nil, fmt.Errorf("opening the git repository of %s: %w", dir, err)
	}
	root, err := filepath.EvalSymlinks(wt.Filesystem.Root())
	if err != nil {
		return nil, err
	}
	return &Repo{repo: r, root: root}, nil
}

// Rel returns dir relative to the work tree's root, as a slash path ("."
// for the root). dir must be inside the work tree.
func (r *Repo) Rel(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	abs = resolveExisting(abs)
	rel, err := filepath.Rel(r.root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%s is outside the git work tree %s", dir, r.root)
	}
	return filepath.ToSlash(rel), nil
}

// resolveExisting resolves the symbolic links in abs, an absolute path, as
// far as it exists: a DIR that only revisions hold (deleted from the work
// tree, read with --head) is still compared with the work tree's root,
// whose links are resolved, when the path to it goes through a link (a
// symlinked checkout, macOS's /tmp).
func resolveExisting(abs string) string {
	rest := ""
	for p := abs; ; p = filepath.Dir(p) {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(real, rest)
		}
		if filepath.Dir(p) == p {
			return abs
		}
		rest = filepath.Join(filepath.Base(p), rest)
	}
}

// Revision is a resolved commit.
type Revision struct {
	// Ref is what the user wrote ("origin/main").
	Ref    string
	Hash   plumbing.Hash
	commit *object.Commit
}

// Short returns the abbreviated commit hash.
func (v *Revision) Short() string { return v.Hash.String()[:7] }

// String returns "ref (abbreviated hash)".
func (v *Revision) String() string { return v.Ref + " (" + v.Short() + ")" }

// Resolve resolves a revision as git does for branches, remote branches,
// tags, commit hashes and suffixes like ~1 and ^.
func (r *Repo) Resolve(ref string) (*Revision, error) {
	// go-git parses the reflog (main@{1}, @{upstream}), path (HEAD:specs)
	// and message (:/fix) forms but ignores them when resolving:
	// main@{1} resolved to main itself, so a diff against it compared the
	// wrong commit and could find nothing. No ref name holds "@{" or ":".
	if strings.Contains(ref, "@{") || strings.Contains(ref, ":") {
		return nil, fmt.Errorf("git revision %q: not supported: give a branch, a remote branch, a tag or a commit hash, optionally with ~N, ^N or ^{/text} (not @{...} nor :path); git rev-parse gives the hash of others", ref)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// A ref name comes before an abbreviated hash, in gitrevisions(7)'s
	// order, as with git (go-git tries the hash first, so a branch named
	// like a hex prefix resolved to some other commit).
	name := ref
	base, suffix := ref, "" // "main~1": "main", "~1"
	if i := strings.IndexAny(ref, "~^:@"); i > 0 {
		base, suffix = ref[:i], ref[i:]
	}
	if !plumbing.IsHash(base) {
		for _, full := range []string{"refs/" + base, "refs/tags/" + base, "refs/heads/" + base, "refs/remotes/" + base} {
			if _, err := r.repo.Reference(plumbing.ReferenceName(full), false); err == nil {
				name = full + suffix
				break
			}
		}
	}
	h, err := r.repo.ResolveRevision(plumbing.Revision(name))
	if errors.Is(err, io.EOF) { // go-git's word for a parent that is not there
		err = errors.New("no such commit: the history does not go back that far (~N, ^N)")
	}
	if err != nil {
		return nil, fmt.Errorf("git revision %q: %w%s", ref, err, r.shallowHint())
	}
	c, err := r.repo.CommitObject(*h)
	if err != nil {
		return nil, fmt.Errorf("git revision %q: %w%s", ref, err, r.shallowHint())
	}
	return &Revision{Ref: ref, Hash: *h, commit: c}, nil
}

// shallowHint explains a revision missing from a shallow clone, as CI
// checkouts are by default.
func (r *Repo) shallowHint() string {
	if shallow, err := r.repo.Storer.Shallow(); err == nil && len(shallow) > 0 {
		return " (this clone is shallow: fetch the history, with fetch-depth: 0 in actions/checkout or git fetch --unshallow, and the branch, such as git fetch origin main)"
	}
	return ""
}

// BranchName returns the branch a ref names: "prod" for "prod" and for
// "origin/prod". Other refs are an error.
func (r *Repo) BranchName(ref string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := r.repo.Reference(plumbing.NewBranchReferenceName(ref), false); err == nil {
		return ref, nil
	}
	if _, err := r.repo.Reference(plumbing.ReferenceName("refs/remotes/"+ref), false); err == nil {
		if i := strings.IndexByte(ref, '/'); i > 0 {
			return ref[i+1:], nil
		}
	}
	return "", fmt.Errorf("%q is neither a local nor a remote branch", ref)
}

// HasDir reports whether dir (a slash path relative to the repository
// root) is a directory at rev.
func (r *Repo) HasDir(rev *Revision, dir string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	tree, err := rev.commit.Tree()
	if err != nil {
		return false, fmt.Errorf("%s: %w", rev, err)
	}
	if dir == "." || dir == "" {
		return true, nil
	}
	_, err = tree.Tree(dir)
	if errors.Is(err, object.ErrDirectoryNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Files returns the regular files under dir (a slash path relative to the
// repository root) at rev for which keep returns true, with paths relative
// to dir. found is false when dir does not exist at rev. A symbolic link
// that keep accepts is an input error (skipping it would drop its
// content); submodules are skipped.
func (r *Repo) Files(rev *Revision, dir string, keep func(rel string) bool) (files map[string][]byte, found bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	tree, err := rev.commit.Tree()
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", rev, err)
	}
	if dir != "." && dir != "" {
		sub, err := tree.Tree(dir)
		if errors.Is(err, object.ErrDirectoryNotFound) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("%s:%s: %w", rev.Ref, dir, err)
		}
		tree = sub
	}
	files = map[string][]byte{}
	err = tree.Files().ForEach(func(f *object.File) error {
		// A link without an extension may be a directory holding files
		// that keep accepts. (Asked of keep, not assumed: a link outside
		// the rendered tree, a LICENSE or a bin/tool, is no part of it.)
		linkedDir := path.Ext(f.Name) == "" && keep(f.Name+"/x.yaml")
		if f.Mode == filemode.Symlink && (keep(f.Name) || linkedDir) && !hiddenPath(f.Name) {
			// The working tree reads the link's target; a revision cannot
			// follow it, and skipping it would drop what it holds.
			return inputError(fmt.Errorf("%s:%s is a symbolic link, which fleiogen cannot follow in a git revision (it reads the target in the working tree); commit the file itself", rev.Ref, path.Join(dir, f.Name)))
		}
		if f.Mode != filemode.Regular && f.Mode != filemode.Executable && f.Mode != filemode.Deprecated {
			return nil
		}
		if !keep(f.Name) {
			return nil
		}
		rd, err := f.Reader()
		if err != nil {
			return fmt.Errorf("%s:%s: %w", rev.Ref, path.Join(dir, f.Name), err)
		}
		defer rd.Close()
		data, err := io.ReadAll(rd)
		if err != nil {
			return fmt.Errorf("%s:%s: %w", rev.Ref, path.Join(dir, f.Name), err)
		}
		files[f.Name] = data
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return files, true, nil
}

// hiddenPath reports whether a slash path has a component starting with
// a dot, which the specs' reader skips.
func hiddenPath(p string) bool {
	for _, part := range strings.Split(p, "/") {
		if strings.HasPrefix(part, ".") {
			return true
		}
	}
	return false
}
