package fluxbuild

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/fleiogen/fleiogen/generator"
)

// Tree is a fleet repository in memory: the files Flux reads, by slash path
// relative to the repository root.
type Tree struct {
	files map[string][]byte
	// fs holds the files under "/" for kustomize, plus the kustomization.yaml
	// files generated for directories without one. It is read and written
	// only while kustomizeMu is held.
	fs        filesys.FileSystem
	generated map[string]bool
	dirs      map[string]bool
	// sums are the content hashes of the files in fs, by absolute path.
	sums map[string]string
	// exclusive is set when a kustomization file has an openapi or crds
	// field: kustomize then changes its global schema, so the tree's
	// builds run alone (see kustomizeMu).
	exclusive bool
}

// NewTree holds files (as generator.Render returns them, or as read from a
// checkout) for building. Paths must be relative and clean.
func NewTree(files []generator.File) (*Tree, error) {
	t := &Tree{files: make(map[string][]byte, len(files)), fs: filesys.MakeFsInMemory(), generated: map[string]bool{}, dirs: map[string]bool{}, sums: map[string]string{}}
	for _, f := range files {
		if f.Path == "" || path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path || strings.HasPrefix(f.Path, "../") {
			return nil, fmt.Errorf("bad path %q in the tree", f.Path)
		}
		t.files[f.Path] = f.Data
		t.sums["/"+f.Path] = contentSum(f.Data)
		if slices.Contains(kustomizationFileNames, path.Base(f.Path)) && changesSchema(f.Data) {
			t.exclusive = true
		}
		for d := path.Dir(f.Path); d != "."; d = path.Dir(d) {
			t.dirs[d] = true
		}
		if err := t.fs.WriteFile("/"+f.Path, f.Data); err != nil {
			return nil, fmt.Errorf("%s: %w", f.Path, err)
		}
	}
	return t, nil
}

// Clusters returns the names of the directories under clusters/, sorted.
func (t *Tree) Clusters() []string {
	set := map[string]bool{}
	for p := range t.files {
		parts := strings.Split(p, "/")
		if len(parts) >= 3 && parts[0] == "clusters" {
			set[parts[1]] = true
		}
	}
	out := make([]string, 0, len(set))
	for c := range set {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// isDir reports whether some file of the tree is under dir.
func (t *Tree) isDir(dir string) bool { return t.dirs[dir] }

// changesSchema reports whether a kustomization file has a top-level
// openapi or crds field.
func changesSchema(data []byte) bool {
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "openapi:") || strings.HasPrefix(l, "crds:") {
			return true
		}
	}
	return false
}

// kustomizationFileNames are the names kustomize recognises, in its order.
var kustomizationFileNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

func (t *Tree) hasKustomization(dir string) bool {
	for _, n := range kustomizationFileNames {
		if _, ok := t.files[path.Join(dir, n)]; ok {
			return true
		}
	}
	return false
}

// ensureKustomization writes a kustomization.yaml into dir when it has none,
// as kustomize-controller does: it lists the YAML files of dir and, for
// subdirectories, the directory when it holds a kustomization file and its
// YAML files otherwise. clusters/<cluster>/flux-system/ is skipped: flux
// bootstrap owns it. Callers hold kustomizeMu.
func (t *Tree) ensureKustomization(dir string) error {
	if t.hasKustomization(dir) || t.generated[dir] {
		return nil
	}
	var resources []string
	seenDir := map[string]bool{}
	var paths []string
	for p := range t.files {
		if strings.HasPrefix(p, dir+"/") {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	for _, p := range paths {
		rel := strings.TrimPrefix(p, dir+"/")
		if isBootstrapDir(dir, rel) {
			continue
		}
		// The shallowest directory on the way that has a kustomization
		// file stands for everything below it.
		parts := strings.Split(rel, "/")
		covered := false
		for i := 1; i < len(parts); i++ {
			sub := strings.Join(parts[:i], "/")
			if t.hasKustomization(path.Join(dir, sub)) {
				if !seenDir[sub] {
					seenDir[sub] = true
					resources = append(resources, sub)
				}
				covered = true
				break
			}
		}
		if covered {
			continue
		}
		if ext := path.Ext(p); ext == ".yaml" || ext == ".yml" {
			resources = append(resources, rel)
		}
	}
	var b strings.Builder
	b.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n")
	for _, r := range resources {
		fmt.Fprintf(&b, "- %s\n", r)
	}
	if len(resources) == 0 {
		b.Reset()
		b.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n")
	}
	name := "/" + path.Join(dir, "kustomization.yaml")
	if err := t.fs.WriteFile(name, []byte(b.String())); err != nil {
		return err
	}
	t.sums[name] = contentSum([]byte(b.String()))
	t.generated[dir] = true
	return nil
}

// isBootstrapDir reports whether rel, relative to dir, is inside
// clusters/<cluster>/flux-system/.
func isBootstrapDir(dir, rel string) bool {
	full := strings.Split(path.Join(dir, rel), "/")
	return len(full) >= 3 && full[0] == "clusters" && full[2] == "flux-system"
}
