package generator

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// RenderCache lets a re-render skip the FleioDeployments whose inputs did
// not change, as Go's build cache skips unchanged packages. For each
// deployment it keeps, under a key that hashes the fleiogen binary, the
// Fleet and the deployment's own specs (FleioDeployment and its
// connections), the path and SHA-256 of every file the deployment rendered.
// A deployment is skipped only when its key is known and every one of
// those files is on disk with that content, so a hand-edited, deleted or
// stale file is always rendered again. The cache holds hashes only, never
// file contents; deleting it costs one full render.
type RenderCache struct {
	dir  string
	salt []byte
}

// DefaultCacheDir is $FLEIOGEN_CACHE, else <user cache dir>/fleiogen.
func DefaultCacheDir() (string, error) {
	if d := os.Getenv("FLEIOGEN_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "fleiogen"), nil
}

// OpenRenderCache opens (creating it when needed) a cache in dir, salted
// with the running executable's content: a different fleiogen build never
// trusts another's entries.
func OpenRenderCache(dir string) (*RenderCache, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	f, err := os.Open(exe)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	dir = filepath.Join(dir, "render")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &RenderCache{dir: dir, salt: h.Sum(nil)}, nil
}

// Key hashes what d's files depend on: the binary, the Fleet and d's specs.
func (c *RenderCache) Key(fleet *Fleet, d *Deployment) string {
	h := sha256.New()
	h.Write(c.salt)
	enc := json.NewEncoder(h)
	for _, v := range []any{fleet, d.Namespace, d.Name, d.Spec, d.DB, d.Redis} {
		if err := enc.Encode(v); err != nil {
			// Cannot happen for these types; a unique key disables the
			// entry rather than risk a false hit.
			fmt.Fprintf(h, "unencodable %p", v)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (c *RenderCache) path(key string) string {
	return filepath.Join(c.dir, key[:2], key)
}

// Unchanged returns the paths of d's files when its entry for key matches
// the tree under root file by file; ok is false otherwise.
func (c *RenderCache) Unchanged(root, key string) (paths []string, ok bool) {
	data, err := os.ReadFile(c.path(key))
	if err != nil {
		return nil, false
	}
	type entry struct{ sum, path string }
	var entries []entry
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		sum, p, found := strings.Cut(sc.Text(), " ")
		if !found || len(sum) != 64 || checkRelPath(p) != nil {
			return nil, false
		}
		entries = append(entries, entry{sum, p})
	}
	if len(entries) == 0 {
		return nil, false
	}
	for _, e := range entries {
		got, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(e.path)))
		if err != nil {
			return nil, false
		}
		if sum := sha256.Sum256(got); hex.EncodeToString(sum[:]) != e.sum {
			return nil, false
		}
		paths = append(paths, e.path)
	}
	return paths, true
}

// Store records files as the output of the deployment with key. Errors
// are ignored: the cache is an optimisation.
func (c *RenderCache) Store(key string, files []File) {
	var b bytes.Buffer
	for _, f := range files {
		sum := sha256.Sum256(f.Data)
		fmt.Fprintf(&b, "%s %s\n", hex.EncodeToString(sum[:]), f.Path)
	}
	p := c.path(key)
	if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, b.Bytes()) {
		return // already recorded
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return
	}
	tmp := fmt.Sprintf("%s.%d.tmp", p, os.Getpid())
	if os.WriteFile(tmp, b.Bytes(), 0o644) == nil {
		if os.Rename(tmp, p) != nil {
			os.Remove(tmp)
		}
	}
}

// StoreAll is Store for every deployment of rendered, in parallel.
func (c *RenderCache) StoreAll(keys map[*Deployment]string, rendered map[*Deployment][]File) {
	ds := make([]*Deployment, 0, len(rendered))
	for d := range rendered {
		ds = append(ds, d)
	}
	parallel(len(ds), func(i int) { c.Store(keys[ds[i]], rendered[ds[i]]) })
}

// Lookup checks every deployment of m against the cache in parallel and
// returns the paths of those whose files are unchanged on disk.
func (c *RenderCache) Lookup(root string, fleet *Fleet, m *Model) (unchanged map[*Deployment][]string, keys map[*Deployment]string) {
	unchanged, keys = map[*Deployment][]string{}, map[*Deployment]string{}
	found := make([][]string, len(m.Deployments))
	ks := make([]string, len(m.Deployments))
	parallel(len(m.Deployments), func(i int) {
		ks[i] = c.Key(fleet, m.Deployments[i])
		if paths, ok := c.Unchanged(root, ks[i]); ok {
			found[i] = paths
		}
	})
	for i, d := range m.Deployments {
		keys[d] = ks[i]
		if found[i] != nil {
			unchanged[d] = found[i]
		}
	}
	return unchanged, keys
}
