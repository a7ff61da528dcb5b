package generator

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
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
//
// The entries of one output directory are one file, named by a hash of
// the directory's absolute path and rewritten whole by each render that
// changes anything, so it holds the entries of the last render only.
type RenderCache struct {
	dir  string
	salt []byte

	mu   sync.Mutex
	kept map[string][]entryFile // entries Lookup found true, by key
	// same: Lookup found every entry true, each file trusted by its
	// status, and none left over; with nothing rendered, the file on disk
	// is already what StoreAll would write.
	same bool
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
// with the running executable's identity: a different fleiogen build never
// trusts another's entries.
func OpenRenderCache(dir string) (*RenderCache, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	salt, err := executableID(exe)
	if err != nil {
		return nil, err
	}
	dir = filepath.Join(dir, "render")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &RenderCache{dir: dir, salt: salt}, nil
}

// executableID identifies the executable's content: the Go build ID the
// linker wrote into an ELF executable (its second half hashes the
// executable's content), else a hash of the whole file.
func executableID(exe string) ([]byte, error) {
	if id := goBuildID(exe); id != "" {
		sum := sha256.Sum256([]byte("go build ID " + id))
		return sum[:], nil
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
	return h.Sum(nil), nil
}

// goBuildID reads the build ID note ("Go", type 4) of an ELF executable
// built by Go, or returns "".
func goBuildID(exe string) string {
	f, err := elf.Open(exe)
	if err != nil {
		return ""
	}
	defer f.Close()
	s := f.Section(".note.go.buildid")
	if s == nil {
		return ""
	}
	data, err := s.Data()
	if err != nil || len(data) < 16 {
		return ""
	}
	nameSize, descSize, kind := f.ByteOrder.Uint32(data), f.ByteOrder.Uint32(data[4:]), f.ByteOrder.Uint32(data[8:])
	if nameSize != 4 || kind != 4 || string(data[12:16]) != "Go\x00\x00" || uint64(descSize) > uint64(len(data)-16) {
		return ""
	}
	id := string(data[16 : 16+descSize])
	// actionID/contentID; an empty or partial ID (-buildid=) says nothing.
	if action, content, ok := strings.Cut(id, "/"); !ok || action == "" || content == "" {
		return ""
	}
	return id
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

// path is the file holding the entries for the output directory root.
func (c *RenderCache) path(root string) string {
	if abs, err := filepath.Abs(root); err == nil {
		root = abs
	}
	sum := sha256.Sum256([]byte(root))
	return filepath.Join(c.dir, hex.EncodeToString(sum[:16]))
}

// The file is a header line, "fleiogen-render-cache v4 <unix nanoseconds
// when written>", then per deployment a line "key <key>" followed by a
// line per file: "<sha256> <size> <mtime ns> <ctime ns> <inode> <path>",
// and last an end line, "end <keys> <files> <sha256 of every line before
// it>". A file without its end line, or whose counts or checksum do not
// match, was cut short or damaged, and is ignored whole: a list of files
// missing some would have the writer delete those as stale.
//
// The file's status lets a re-render trust a file without reading it, as
// git's index does: any write changes its ctime, a replacement its inode.
// The status stored is one taken no later than the file's content was
// last written or compared (the status of the open file that was written
// or read), so any later change shows. A file whose status differs, or
// that was modified too close to the entry's writing for a later write to
// show in its times (racy, in git's words), is read and hashed.
const cacheHeader = "fleiogen-render-cache v4"

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

// readEntries reads the entries for root, by key, and when they were
// written. A damaged file (cut short, a line missing or changed, see
// cacheHeader) reads as no entries.
func (c *RenderCache) readEntries(root string) (entries map[string][]entryFile, written int64) {
	data, err := os.ReadFile(c.path(root))
	if err != nil {
		return nil, 0
	}
	body, nKeys, nFiles, ok := checkSum(data)
	if !ok {
		return nil, 0
	}
	head, rest, _ := bytes.Cut(body, []byte("\n"))
	when, ok := strings.CutPrefix(string(head), cacheHeader+" ")
	written, err = strconv.ParseInt(when, 10, 64)
	if !ok || err != nil {
		return nil, 0
	}
	entries = map[string][]entryFile{}
	key, files := "", 0
	for line := range strings.Lines(string(rest)) {
		line = strings.TrimSuffix(line, "\n")
		if k, ok := strings.CutPrefix(line, "key "); ok {
			if _, dup := entries[k]; dup {
				return nil, 0
			}
			key = k
			entries[key] = []entryFile{}
			continue
		}
		f := strings.SplitN(line, " ", 6)
		if key == "" || len(f) != 6 || len(f[0]) != 64 || checkRelPath(f[5]) != nil {
			return nil, 0
		}
		var st fileStat
		var errs [4]error
		st.size, errs[0] = strconv.ParseInt(f[1], 10, 64)
		st.mtime, errs[1] = strconv.ParseInt(f[2], 10, 64)
		st.ctime, errs[2] = strconv.ParseInt(f[3], 10, 64)
		st.ino, errs[3] = strconv.ParseUint(f[4], 10, 64)
		for _, err := range errs {
			if err != nil {
				return nil, 0
			}
		}
		entries[key] = append(entries[key], entryFile{f[0], st, f[5]})
		files++
	}
	if len(entries) != nKeys || files != nFiles {
		return nil, 0
	}
	return entries, written
}

// checkSum checks the end line of a cache file, data, and returns what
// precedes it and the counts it gives; ok is false unless data ends with
// an end line whose checksum is that of everything before it.
func checkSum(data []byte) (body []byte, keys, files int, ok bool) {
	if len(data) == 0 || data[len(data)-1] != '\n' {
		return nil, 0, 0, false
	}
	i := bytes.LastIndexByte(data[:len(data)-1], '\n') + 1
	body, end := data[:i], string(data[i:len(data)-1])
	f := strings.Split(end, " ")
	if len(f) != 4 || f[0] != "end" {
		return nil, 0, 0, false
	}
	keys, err1 := strconv.Atoi(f[1])
	files, err2 := strconv.Atoi(f[2])
	sum := sha256.Sum256(body)
	if err1 != nil || err2 != nil || f[3] != hex.EncodeToString(sum[:]) {
		return nil, 0, 0, false
	}
	return body, keys, files, true
}

// readWithStatus reads the file p as os.ReadFile does, and returns with
// it the status of the open file, taken before reading it: a change after
// that, even a replacement at once, gives the file another status. What is
// neither a regular file nor a directory is refused unread (openRegular).
// ok is false when there is no status to trust.
func readWithStatus(p string) (data []byte, st fileStat, ok bool, err error) {
	f, fi, err := openRegular(p)
	if err != nil {
		return nil, fileStat{}, false, err
	}
	defer f.Close()
	size := 512
	st, ok = statOfInfo(fi)
	if n := fi.Size(); n > 0 && n < 1<<30 {
		size += int(n)
	}
	data = make([]byte, 0, size)
	for {
		n, err := f.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if err == io.EOF {
			return data, st, ok, nil
		} else if err != nil {
			return data, fileStat{}, false, err
		}
		if len(data) >= cap(data) {
			d := append(data[:cap(data)], 0)
			data = d[:len(data)]
		}
	}
}

// checkEntries checks entries, written at written, against the tree under
// root file by file. It returns the entries with the status of files that
// were hashed refreshed, whether every file is as recorded, and whether
// any had to be hashed.
func checkEntries(root string, entries []entryFile, written int64) (_ []entryFile, ok, hashed bool) {
	if len(entries) == 0 {
		return nil, false, false
	}
	entries = slices.Clone(entries)
	for i, e := range entries {
		p := filepath.Join(root, filepath.FromSlash(e.path))
		st, err := statFile(p)
		if err != nil {
			return nil, false, false // missing, or not a regular file
		}
		if st != e.stat || racy(st.mtime, written) {
			got, err := ReadRegularFile(p)
			if err != nil {
				return nil, false, true
			}
			if sum := sha256.Sum256(got); hex.EncodeToString(sum[:]) != e.sum {
				return nil, false, true
			}
			entries[i].stat = st // same content: trust it next time
			hashed = true
		}
	}
	return entries, true, hashed
}

// Lookup checks every deployment of m, and the shared files (under
// Shared), against the entries for root, in parallel, and returns the
// paths of those whose files are unchanged on disk, and every key.
func (c *RenderCache) Lookup(root string, fleet *Fleet, m *Model) (unchanged map[*Deployment][]string, keys map[*Deployment]string) {
	unchanged, keys = map[*Deployment][]string{}, map[*Deployment]string{}
	fh := sha256.New()
	hashJSON(fh, fleet)
	fleetSum := fh.Sum(nil)
	entries, written := c.readEntries(root)
	// The deployments, then Shared, whose key hashes every other key: the
	// shared files depend on the Fleet and on every deployment.
	ds := append(slices.Clip(m.Deployments), Shared)
	ks := make([]string, len(ds))
	found := make([][]entryFile, len(ds))
	parallel(len(m.Deployments), func(i int) { ks[i] = c.key(fleetSum, ds[i]) })
	h := sha256.New()
	h.Write(c.salt)
	h.Write(fleetSum)
	for _, k := range ks[:len(m.Deployments)] {
		h.Write([]byte(k))
	}
	ks[len(ds)-1] = "shared-" + hex.EncodeToString(h.Sum(nil))
	hashed := make([]bool, len(ds))
	parallel(len(ds), func(i int) {
		if e, ok := entries[ks[i]]; ok {
			found[i], _, hashed[i] = checkEntries(root, e, written)
		}
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	c.kept = map[string][]entryFile{}
	c.same = len(entries) == len(ds) && !slices.Contains(hashed, true)
	for i, d := range ds {
		keys[d] = ks[i]
		if found[i] == nil {
			c.same = false
			continue
		}
		c.kept[ks[i]] = found[i]
		paths := make([]string, len(found[i]))
		for j, e := range found[i] {
			paths[j] = e.path
		}
		unchanged[d] = paths
	}
	return unchanged, keys
}

// StoreAll records the files of rendered, written or found right under
// root with the status st gives, with the entries Lookup kept, as the
// entries for root. The cache is an optimisation: its error, when it
// cannot be written (a directory that is not writable), only means the
// next render renders everything.
func (c *RenderCache) StoreAll(root string, st WriteStats, keys map[*Deployment]string, rendered map[*Deployment][]File) error {
	c.mu.Lock()
	same := c.same && len(rendered) == 0
	c.mu.Unlock()
	if same {
		return nil // a render that changed nothing leaves the file as it is
	}
	ds := slices.Collect(maps.Keys(rendered))
	made := make([][]entryFile, len(ds))
	parallel(len(ds), func(i int) {
		entries := make([]entryFile, 0, len(rendered[ds[i]]))
		for _, f := range rendered[ds[i]] {
			// The status of the file as written, or, when its content was
			// already right, as it was when read to compare; not one taken
			// now, which could be another file's, put there since.
			fs, ok := st.status[f.Path]
			if !ok { // no status to trust: no entry, rendered next time
				return
			}
			sum := f.sum
			if sum == nil && f.Data == nil { // written early, unsummed
				return
			}
			if sum == nil {
				s := sha256.Sum256(f.Data)
				sum = &s
			}
			entries = append(entries, entryFile{hex.EncodeToString(sum[:]), fs, f.Path})
		}
		made[i] = entries
	})
	c.mu.Lock()
	all := maps.Clone(c.kept)
	c.mu.Unlock()
	if all == nil {
		all = map[string][]entryFile{}
	}
	for i, d := range ds {
		if made[i] != nil {
			all[keys[d]] = made[i]
		}
	}
	return c.write(root, all)
}

func (c *RenderCache) write(root string, all map[string][]entryFile) error {
	b := encodeEntries(all, time.Now().UnixNano())
	// As the tree's files are written: a temporary file, then a rename.
	p := c.path(root)
	tmp := fmt.Sprintf("%s.%d.tmp", p, os.Getpid())
	os.Remove(tmp) // a leftover of a killed render with the same pid
	if _, err := writeNew(tmp, b, p); err != nil {
		return err
	}
	removeOldEntries(c.dir)
	return nil
}

// encodeEntries is the cache file holding all, written at written.
func encodeEntries(all map[string][]entryFile, written int64) []byte {
	size := 64
	for _, es := range all {
		size += 80 + 150*len(es)
	}
	size += 100 // the end line
	b := make([]byte, 0, size)
	b = fmt.Appendf(b, "%s %d\n", cacheHeader, written)
	files := 0
	for _, key := range slices.Sorted(maps.Keys(all)) {
		b = append(append(append(b, "key "...), key...), '\n')
		for _, e := range all[key] {
			b = append(b, e.sum...)
			for _, n := range [...]int64{e.stat.size, e.stat.mtime, e.stat.ctime} {
				b = strconv.AppendInt(append(b, ' '), n, 10)
			}
			b = strconv.AppendUint(append(b, ' '), e.stat.ino, 10)
			b = append(append(append(b, ' '), e.path...), '\n')
			files++
		}
	}
	sum := sha256.Sum256(b)
	return fmt.Appendf(b, "end %d %d %s\n", len(all), files, hex.EncodeToString(sum[:]))
}

// removeOldEntries deletes what fleiogen before the v3 cache kept in dir:
// a file per deployment, render/<first two hex digits of key>/<key>, whose
// first line starts "v2 ". Only such files are deleted, then their
// directory if that left it empty; anything else stays.
func removeOldEntries(dir string) {
	subs, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, s := range subs {
		if !s.IsDir() || len(s.Name()) != 2 || !isLowerHex(s.Name()) {
			continue
		}
		sub := filepath.Join(dir, s.Name())
		files, err := os.ReadDir(sub)
		if err != nil {
			continue
		}
		for _, f := range files {
			key, _, _ := strings.Cut(f.Name(), ".") // also <key>.<pid>.tmp
			if !f.Type().IsRegular() || len(key) != 64 || !isLowerHex(key) || !strings.HasPrefix(key, s.Name()) {
				continue
			}
			p := filepath.Join(sub, f.Name())
			if oldEntry(p) {
				os.Remove(p)
			}
		}
		os.Remove(sub) // fails, as it should, unless empty
	}
}

// oldEntry reports whether the file at p starts as a v2 entry does.
func oldEntry(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 3)
	n, _ := io.ReadFull(f, head)
	return string(head[:n]) == "v2 "
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return s != ""
}
