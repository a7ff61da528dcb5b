package generator

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// RenderCache lets a re-render skip the FleioDeployments whose inputs did
// not change, as Go's build cache skips unchanged packages. For each
// deployment it keeps, under a key that hashes the fleiogen binary, the
// Fleet and the deployment's own specs (FleioDeployment and its
// connections), the path, SHA-256 and status of every file the deployment
// rendered. A deployment is skipped only when its key is known and every
// one of those files is on disk with that content, so a hand-edited,
// deleted or stale file is always rendered again. The cache holds hashes
// and file status only, never file contents; deleting it costs one full
// render.
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

// hashJSON hashes the JSON of each of vs into h.
func hashJSON(h io.Writer, vs ...any) {
	enc := json.NewEncoder(h)
	for _, v := range vs {
		if err := enc.Encode(v); err != nil {
			// Cannot happen for these types; a unique key disables the
			// entry rather than risk a false hit.
			fmt.Fprintf(h, "unencodable %p", v)
		}
	}
}

// key hashes what d's files depend on: the binary, the Fleet (hashed once,
// as fleetSum) and d's specs.
func (c *RenderCache) key(fleetSum []byte, d *Deployment) string {
	h := sha256.New()
	h.Write(c.salt)
	h.Write(fleetSum)
	hashJSON(h, d.Namespace, d.Name, d.Spec, d.DB, d.Redis)
	return hex.EncodeToString(h.Sum(nil))
}

func (c *RenderCache) path(key string) string {
	return filepath.Join(c.dir, key[:2], key)
}

// An entry is a header line, "v2 <unix nanoseconds when written>", then a
// line per file: "<sha256> <size> <mtime ns> <ctime ns> <inode> <path>".
// The file's status after it was written lets a re-render trust a file
// without reading it, as git's index does: any write changes its ctime, a
// replacement its inode. A file whose status differs, or that was modified
// too close to the entry's writing for a later write to show in its times
// (racy, in git's words), is read and hashed.
const entryVersion = "v2"

// racy reports whether a file modified at mtime (nanoseconds) could have
// been written again, unseen, after an entry written at written: file
// times tick in milliseconds on ext4, XFS and btrfs, but in whole seconds
// (two on FAT) on some file systems, which show as times without
// nanoseconds.
func racy(mtime, written int64) bool {
	window := int64(20 * time.Millisecond)
	if mtime%int64(time.Second) == 0 {
		window = int64(2 * time.Second)
	}
	return written-mtime < window
}

type entryFile struct {
	sum  string
	stat fileStat
	path string
}

// Unchanged returns the paths of d's files when its entry for key matches
// the tree under root file by file; ok is false otherwise.
func (c *RenderCache) Unchanged(root, key string) (paths []string, ok bool) {
	data, err := os.ReadFile(c.path(key))
	if err != nil {
		return nil, false
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	version, written, _ := strings.Cut(lines[0], " ")
	writtenNs, err := strconv.ParseInt(written, 10, 64)
	if version != entryVersion || err != nil || len(lines) < 2 {
		return nil, false
	}
	var entries []entryFile
	for _, line := range lines[1:] {
		f := strings.SplitN(line, " ", 6)
		if len(f) != 6 || len(f[0]) != 64 || checkRelPath(f[5]) != nil {
			return nil, false
		}
		var st fileStat
		var errs [4]error
		st.size, errs[0] = strconv.ParseInt(f[1], 10, 64)
		st.mtime, errs[1] = strconv.ParseInt(f[2], 10, 64)
		st.ctime, errs[2] = strconv.ParseInt(f[3], 10, 64)
		st.ino, errs[3] = strconv.ParseUint(f[4], 10, 64)
		if errors.Join(errs[:]...) != nil {
			return nil, false
		}
		entries = append(entries, entryFile{f[0], st, f[5]})
	}
	refresh := false
	for i, e := range entries {
		p := filepath.Join(root, filepath.FromSlash(e.path))
		st, err := statFile(p)
		if err != nil {
			return nil, false // missing, or not a regular file
		}
		if st != e.stat || racy(st.mtime, writtenNs) {
			got, err := os.ReadFile(p)
			if err != nil {
				return nil, false
			}
			if sum := sha256.Sum256(got); hex.EncodeToString(sum[:]) != e.sum {
				return nil, false
			}
			if st != e.stat {
				entries[i].stat, refresh = st, true
			}
		}
		paths = append(paths, e.path)
	}
	if refresh {
		c.write(key, entries) // same content, new status: trust it next time
	}
	return paths, true
}

// Store records files, just written under root, as the output of the
// deployment with key. Errors are ignored: the cache is an optimisation.
func (c *RenderCache) Store(root, key string, files []File) {
	entries := make([]entryFile, 0, len(files))
	for _, f := range files {
		st, err := statFile(filepath.Join(root, filepath.FromSlash(f.Path)))
		if err != nil {
			return
		}
		sum := sha256.Sum256(f.Data)
		entries = append(entries, entryFile{hex.EncodeToString(sum[:]), st, f.Path})
	}
	c.write(key, entries)
}

func (c *RenderCache) write(key string, entries []entryFile) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %d\n", entryVersion, time.Now().UnixNano())
	for _, e := range entries {
		fmt.Fprintf(&b, "%s %d %d %d %d %s\n", e.sum, e.stat.size, e.stat.mtime, e.stat.ctime, e.stat.ino, e.path)
	}
	p := c.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return
	}
	// As the tree's files are written: a temporary file, then a rename.
	tmp := fmt.Sprintf("%s.%d.tmp", p, os.Getpid())
	if createExcl(tmp, b.Bytes()) == nil && rename(tmp, p) != nil {
		os.Remove(tmp)
	}
}

// StoreAll is Store for every deployment of rendered, in parallel.
func (c *RenderCache) StoreAll(root string, keys map[*Deployment]string, rendered map[*Deployment][]File) {
	ds := make([]*Deployment, 0, len(rendered))
	for d := range rendered {
		ds = append(ds, d)
	}
	parallel(len(ds), func(i int) { c.Store(root, keys[ds[i]], rendered[ds[i]]) })
}

// Lookup checks every deployment of m against the cache in parallel and
// returns the paths of those whose files are unchanged on disk.
func (c *RenderCache) Lookup(root string, fleet *Fleet, m *Model) (unchanged map[*Deployment][]string, keys map[*Deployment]string) {
	unchanged, keys = map[*Deployment][]string{}, map[*Deployment]string{}
	fh := sha256.New()
	hashJSON(fh, fleet)
	fleetSum := fh.Sum(nil)
	found := make([][]string, len(m.Deployments))
	ks := make([]string, len(m.Deployments))
	parallel(len(m.Deployments), func(i int) {
		ks[i] = c.key(fleetSum, m.Deployments[i])
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
