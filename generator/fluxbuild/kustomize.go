package fluxbuild

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/api/krusty"
	kusttypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/openapi"
)

// kustomizeMu guards kustomize's global state and every Tree's in-memory
// file system. kustomize-controller serialises its builds
// (kubernetes-sigs/kustomize#3659): the races are in the lazy set-up of
// kyaml's global OpenAPI schema, which Builder does once, up front
// (schemaOnce), and in kustomizations with an "openapi" (or "crds") field,
// which replace that schema. So builds share the lock (concurrently) except
// in trees that have such a field, and writes to a tree's file system (the
// kustomization files generated for directories without one) take it
// alone. The race detector finds no race in building the example and
// synthetic fleets this way (go test -race ./generator/...).
var (
	kustomizeMu sync.RWMutex
	schemaOnce  sync.Once
)

// kustomizeCache remembers krusty's output per directory together with
// every file-system question the build asked and the answer it got. A later
// build of the same directory, in the same tree or another one (the other
// side of a diff, another cluster), reuses the output when every question
// gets the same answer again: same files, same contents. Concurrent builds
// of the same directory wait for each other and reuse the output when they
// can.
type kustomizeCache struct {
	mu       sync.Mutex
	entries  map[string][]cacheEntry
	inflight map[string]*inflight
	hits     int
	runs     int
}

// inflight is a running kustomize build of a directory; done is closed
// when it ends.
type inflight struct {
	done chan struct{}
	out  []*doc
	err  error
}

type cacheEntry struct {
	probes []probe
	out    []*doc
}

// doc is one resource kustomize built, before substitution. Its object is
// shared by every build that reuses it and is never modified.
type doc struct {
	obj *Object
	// json is the resource as kustomize serialised it, kept when it has a
	// "$": substitution works on its YAML form, as kustomize-controller's
	// does.
	json []byte
	// dollar reports whether the resource holds a "$" at all; without one,
	// substitution cannot change it.
	dollar bool
}

// probe is one read-only file-system call and its answer.
type probe struct{ op, path, answer string }

// kustomize builds dir of t and returns its resources in kustomize's
// output order (the order of the resources, as Flux builds them).
func (b *Builder) kustomize(t *Tree, dir string) ([]*doc, error) {
	schemaOnce.Do(func() { openapi.Schema() })
	if !t.hasKustomization(dir) {
		kustomizeMu.Lock()
		err := t.ensureKustomization(dir)
		kustomizeMu.Unlock()
		if err != nil {
			return nil, err
		}
	}
	if t.exclusive {
		kustomizeMu.Lock()
		defer kustomizeMu.Unlock()
	} else {
		kustomizeMu.RLock()
		defer kustomizeMu.RUnlock()
	}
	c := b.cache
	var f *inflight
	for f == nil {
		c.mu.Lock()
		entries := c.entries[dir]
		other := c.inflight[dir]
		if other == nil {
			f = &inflight{done: make(chan struct{})}
			c.inflight[dir] = f
		}
		c.mu.Unlock()
		for _, e := range entries {
			if t.replay(e.probes) {
				c.mu.Lock()
				c.hits++
				if f != nil {
					delete(c.inflight, dir)
					close(f.done)
				}
				c.mu.Unlock()
				return e.out, nil
			}
		}
		if other != nil {
			// Another build of dir (in this tree or another) is running:
			// wait for it, then look again.
			<-other.done
		}
	}
	defer func() {
		c.mu.Lock()
		delete(c.inflight, dir)
		c.mu.Unlock()
		close(f.done)
	}()
	rec := &recordingFS{tree: t, inner: t.fs}
	f.out, f.err = runKrusty(rec, "/"+dir)
	c.mu.Lock()
	c.runs++
	if f.err == nil && !rec.wrote {
		c.entries[dir] = append(c.entries[dir], cacheEntry{probes: rec.probes, out: f.out})
	}
	c.mu.Unlock()
	return f.out, f.err
}

func runKrusty(fs filesys.FileSystem, dir string) (out []*doc, err error) {
	// kustomize panics on some malformed input; report it as an error.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("kustomize build %s: panic: %v", dir, r)
		}
	}()
	k := krusty.MakeKustomizer(&krusty.Options{
		Reorder:          krusty.ReorderOptionNone,
		LoadRestrictions: kusttypes.LoadRestrictionsNone,
		PluginConfig:     kusttypes.DisabledPluginConfig(),
	})
	rm, err := k.Run(fs, dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", strings.TrimPrefix(dir, "/"), err)
	}
	for _, r := range rm.Resources() {
		j, err := r.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("kustomize build %s: %s: %w", strings.TrimPrefix(dir, "/"), r.CurId(), err)
		}
		o, err := objectFromJSON(j)
		if err != nil {
			return nil, fmt.Errorf("kustomize build %s: %s: %w", strings.TrimPrefix(dir, "/"), r.CurId(), err)
		}
		d := &doc{obj: o, dollar: bytes.IndexByte(j, '$') >= 0}
		if d.dollar {
			d.json = j
		}
		out = append(out, d)
	}
	return out, nil
}

func (t *Tree) replay(probes []probe) bool {
	for _, p := range probes {
		if t.answer(p.op, p.path) != p.answer {
			return false
		}
	}
	return true
}

// answer asks the tree's file system one read-only question and
// summarises the answer; a file's content is summarised by its hash.
func (t *Tree) answer(op, p string) string {
	fs := t.fs
	switch op {
	case "exists":
		return fmt.Sprint(fs.Exists(p))
	case "isdir":
		return fmt.Sprint(fs.IsDir(p))
	case "read":
		if sum, ok := t.sums[p]; ok {
			return sum
		}
		data, err := fs.ReadFile(p)
		if err != nil {
			return "error: " + err.Error()
		}
		return contentSum(data)
	case "readdir":
		names, err := fs.ReadDir(p)
		if err != nil {
			return "error: " + err.Error()
		}
		return strings.Join(names, "\x00")
	case "glob":
		names, err := fs.Glob(p)
		if err != nil {
			return "error: " + err.Error()
		}
		return strings.Join(names, "\x00")
	case "abs":
		d, f, err := fs.CleanedAbs(p)
		if err != nil {
			return "error: " + err.Error()
		}
		return string(d) + "\x00" + f
	case "walk":
		var visited []string
		err := fs.Walk(p, func(path string, _ os.FileInfo, err error) error {
			visited = append(visited, path)
			return nil
		})
		if err != nil {
			return "error: " + err.Error()
		}
		return strings.Join(visited, "\x00")
	}
	return "unknown op " + op
}

// recordingFS passes calls to inner and records the read-only ones with
// their answers. A write makes the build uncacheable.
type recordingFS struct {
	tree   *Tree
	inner  filesys.FileSystem
	probes []probe
	wrote  bool
}

var _ filesys.FileSystem = (*recordingFS)(nil)

func (r *recordingFS) record(op, p string) {
	r.probes = append(r.probes, probe{op: op, path: p, answer: r.tree.answer(op, p)})
}

func contentSum(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func (r *recordingFS) Create(p string) (filesys.File, error) {
	r.wrote = true
	return r.inner.Create(p)
}

func (r *recordingFS) Mkdir(p string) error {
	r.wrote = true
	return r.inner.Mkdir(p)
}

func (r *recordingFS) MkdirAll(p string) error {
	r.wrote = true
	return r.inner.MkdirAll(p)
}

func (r *recordingFS) RemoveAll(p string) error {
	r.wrote = true
	return r.inner.RemoveAll(p)
}

func (r *recordingFS) WriteFile(p string, data []byte) error {
	r.wrote = true
	return r.inner.WriteFile(p, data)
}

func (r *recordingFS) Open(p string) (filesys.File, error) {
	r.record("read", p)
	return r.inner.Open(p)
}

func (r *recordingFS) IsDir(p string) bool {
	r.record("isdir", p)
	return r.inner.IsDir(p)
}

func (r *recordingFS) ReadDir(p string) ([]string, error) {
	r.record("readdir", p)
	return r.inner.ReadDir(p)
}

func (r *recordingFS) CleanedAbs(p string) (filesys.ConfirmedDir, string, error) {
	r.record("abs", p)
	return r.inner.CleanedAbs(p)
}

func (r *recordingFS) Exists(p string) bool {
	r.record("exists", p)
	return r.inner.Exists(p)
}

func (r *recordingFS) Glob(pattern string) ([]string, error) {
	r.record("glob", pattern)
	return r.inner.Glob(pattern)
}

func (r *recordingFS) ReadFile(p string) ([]byte, error) {
	r.record("read", p)
	return r.inner.ReadFile(p)
}

func (r *recordingFS) Walk(p string, fn filepath.WalkFunc) error {
	r.record("walk", p)
	return r.inner.Walk(p, fn)
}
