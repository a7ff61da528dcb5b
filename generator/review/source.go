package review

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"testing/fstest"

	"github.com/fleiogen/fleiogen/generator"
	"github.com/fleiogen/fleiogen/generator/fluxbuild"
)

// Error is a failure with its kind: Input errors come from the specs or the
// tree being compared (invalid specs, a tree Flux could not build); the
// others from the environment (git, the file system).
type Error struct {
	Input bool
	Err   error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func inputError(err error) error { return &Error{Input: true, Err: err} }
func envError(err error) error   { return &Error{Err: err} }

// IsInput reports whether err is an input error (see Error).
func IsInput(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Input
}

// Side is one side of a comparison: a fleet tree, where it came from, and
// once built, what each of its clusters applies.
type Side struct {
	// Label says where the tree came from: "origin/main (1a2b3c4)" or
	// "working tree".
	Label string
	// Missing is set when the directory does not exist there; the tree is
	// then empty (every object of the other side is new).
	Missing bool
	Files   []generator.File
	// Clusters are set by Build, sorted by name.
	Clusters []*fluxbuild.Cluster
}

// Cluster returns the built cluster called name, or nil.
func (s *Side) Cluster(name string) *fluxbuild.Cluster {
	for _, c := range s.Clusters {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// SpecsSide renders the specs under dir: on disk when rev is nil, else at
// rev, where dir is taken relative to the repository root as repo.Rel
// gives it.
func SpecsSide(repo *Repo, rev *Revision, dir string) (*Side, error) {
	if rev == nil {
		files, err := renderDir(dir)
		if err != nil {
			return nil, err
		}
		return &Side{Label: "working tree", Files: files}, nil
	}
	rel, err := repo.Rel(dir)
	if err != nil {
		return nil, inputError(err)
	}
	raw, found, err := repo.Files(rev, rel, generator.IsSpecFile)
	if err != nil {
		if IsInput(err) {
			return nil, err
		}
		return nil, envError(err)
	}
	side := &Side{Label: rev.String()}
	if !found {
		side.Missing = true
		return side, nil
	}
	mfs := fstest.MapFS{}
	for p, data := range raw {
		mfs[p] = &fstest.MapFile{Data: data, Mode: 0o644}
	}
	// Validate reports Load's problems with its own.
	specs, err := generator.Load(mfs, rev.Ref+":"+rel)
	if specs == nil {
		return nil, inputError(err)
	}
	m, err := generator.Validate(specs)
	if err != nil {
		return nil, inputError(err)
	}
	if side.Files, err = generator.Render(m); err != nil {
		return nil, envError(err)
	}
	return side, nil
}

func renderDir(dir string) ([]generator.File, error) {
	specs, err := generator.LoadDir(dir)
	if specs == nil { // Validate reports Load's problems with its own
		return nil, inputError(err)
	}
	m, err := generator.Validate(specs)
	if err != nil {
		return nil, inputError(err)
	}
	files, err := generator.Render(m)
	if err != nil {
		return nil, envError(err)
	}
	return files, nil
}

// TreeSide reads a rendered tree (clusters/, tenants/, components/ under
// dir) instead of rendering specs: on disk when rev is nil, else at rev.
// clusters/*/flux-system/, hidden directories and files outside the three
// directories are left out.
func TreeSide(repo *Repo, rev *Revision, dir string) (*Side, error) {
	if rev == nil {
		files, err := readTreeDir(dir)
		if err != nil {
			return nil, envError(err)
		}
		return &Side{Label: "working tree", Files: files, Missing: len(files) == 0}, nil
	}
	rel, err := repo.Rel(dir)
	if err != nil {
		return nil, inputError(err)
	}
	raw, _, err := repo.Files(rev, rel, inTree)
	if err != nil {
		if IsInput(err) {
			return nil, err
		}
		return nil, envError(err)
	}
	side := &Side{Label: rev.String(), Missing: len(raw) == 0}
	for p, data := range raw {
		side.Files = append(side.Files, generator.File{Path: p, Data: data})
	}
	slices.SortFunc(side.Files, func(a, b generator.File) int { return strings.Compare(a.Path, b.Path) })
	return side, nil
}

// inTree reports whether the file at slash path p belongs to the rendered
// tree, by the rules render deletes by: in a directory dirInTree accepts,
// and not a temporary file a killed render left (render deletes those
// whatever they hold). A hidden file is in the tree: render deletes one
// that carries the header and that the specs do not render.
func inTree(p string) bool {
	dir, name := path.Split(p)
	return dirInTree(strings.TrimSuffix(dir, "/")) && !generator.IsTemporary(name)
}

// dirInTree reports whether the directory at slash path p may hold files
// of the rendered tree: it is one of the managed top-level directories or
// below one, and neither clusters/<cluster>/flux-system/ (flux
// bootstrap's) nor hidden (a name starting with a dot, which render never
// walks into) nor below such a directory.
func dirInTree(p string) bool {
	parts := strings.Split(p, "/")
	if !slices.Contains(generator.ManagedDirs, parts[0]) {
		return false
	}
	if len(parts) >= 3 && parts[0] == "clusters" && parts[2] == "flux-system" {
		return false
	}
	for _, part := range parts[1:] {
		if strings.HasPrefix(part, ".") {
			return false
		}
	}
	return true
}

// readTreeDir reads the rendered tree under dir on disk.
func readTreeDir(dir string) ([]generator.File, error) {
	var files []generator.File
	err := generator.WalkManaged(dir, func(p, rel string, d fs.DirEntry) error {
		if d.IsDir() {
			if !dirInTree(rel) {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !inTree(rel) || !strings.Contains(rel, "/") {
			return nil
		}
		data, err := generator.ReadRegularFile(p)
		if err != nil {
			return err
		}
		files = append(files, generator.File{Path: rel, Data: data})
		return nil
	})
	return files, err
}

// Build builds every cluster of every side, sides and clusters in
// parallel; b shares kustomize's output between them (kustomize builds run
// concurrently too, but one at a time in a tree whose kustomizations set
// openapi or crds). A tree that does not build is an input error.
func Build(b *fluxbuild.Builder, sides ...*Side) error {
	type job struct {
		side *Side
		tree *fluxbuild.Tree
		i    int
	}
	var jobs []job
	for _, s := range sides {
		if s == nil {
			continue
		}
		t, err := fluxbuild.NewTree(s.Files)
		if err != nil {
			return inputError(fmt.Errorf("%s: %w", s.Label, err))
		}
		names := t.Clusters()
		s.Clusters = make([]*fluxbuild.Cluster, len(names))
		for i := range names {
			jobs = append(jobs, job{side: s, tree: t, i: i})
		}
	}
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for n, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := j.tree.Clusters()[j.i]
			c, err := b.Build(j.tree, name)
			if err != nil {
				errs[n] = inputError(fmt.Errorf("%s: %w", j.side.Label, err))
				return
			}
			j.side.Clusters[j.i] = c
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
