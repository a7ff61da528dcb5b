package generator

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRenderCacheSeesEditsThatKeepSizeAndTime: an entry older than the
// racy window trusts a file by its status; an edit that keeps the size and
// puts the modification time back still changes the status (ctime), and a
// file replaced by another (a new inode) too.
func TestRenderCacheSeesEditsThatKeepSizeAndTime(t *testing.T) {
	root, dir := t.TempDir(), t.TempDir()
	c := &RenderCache{dir: dir}
	files := []File{{Path: "components/a/x.yaml", Data: gen("a: 1\n")}, {Path: "components/a/y.yaml", Data: gen("b: 2\n")}}
	st, err := Write(root, files)
	if err != nil {
		t.Fatal(err)
	}
	d := &Deployment{Name: "a"}
	if err := c.StoreAll(root, st, map[*Deployment]string{d: "k0123456789"}, map[*Deployment][]File{d: files}); err != nil {
		t.Fatal(err)
	}
	age := func() { ageCache(t, c, root) } // the entries written long after the files: none is racy
	trusted := func() bool {
		entries, written := c.readEntries(root)
		_, ok, _ := checkEntries(root, entries["k0123456789"], written)
		return ok
	}
	age()
	if !trusted() {
		t.Fatal("unchanged files are not trusted")
	}
	x := filepath.Join(root, "components/a/x.yaml")
	fi, _ := os.Stat(x)
	time.Sleep(10 * time.Millisecond)
	if err := os.WriteFile(x, gen("a: 9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(x, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if trusted() {
		t.Error("an edit with the same size and modification time was trusted")
	}
	// Put the content back: the status differs, the hash matches, and the
	// entry is refreshed.
	if err := os.WriteFile(x, gen("a: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if !trusted() {
		t.Error("a file with its recorded content is not trusted")
	}
	// A file swapped for a link to the same content is not a regular file.
	y := filepath.Join(root, "components/a/y.yaml")
	other := filepath.Join(t.TempDir(), "y.yaml")
	data, _ := os.ReadFile(y)
	os.WriteFile(other, data, 0o644)
	os.Remove(y)
	if err := os.Symlink(other, y); err != nil {
		t.Fatal(err)
	}
	age()
	if trusted() {
		t.Error("a symbolic link was trusted as a generated file")
	}
}

// TestRenderCacheRemovesOldEntries: writing the cache file deletes the v2
// entries an older fleiogen left (render/<xx>/<key>, starting "v2 ") and
// the directories that held only those, and nothing else.
func TestRenderCacheRemovesOldEntries(t *testing.T) {
	root, dir := t.TempDir(), t.TempDir()
	key := func(prefix string) string { return prefix + strings.Repeat("0", 62) }
	put := func(p, data string) string {
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	gone := []string{
		put("ab/"+key("ab"), "v2 1700000000000000000\nfile lines\n"),
		put("ab/"+key("ab")+".4242.tmp", "v2 1700000000000000000\n"),
		put("cd/"+key("cd"), "v2 1\n"),
	}
	kept := []string{
		put("ab/notes.txt", "v2 a user's file, not named as an entry\n"),
		put("ab/"+key("ef"), "v2 an entry name in the wrong directory\n"),
		put("ef/"+key("ef"), "not an entry\n"),
		put("gh/"+key("gh"), "v2 a directory name that is not hex\n"),
		put("abc/"+key("ab"), "v2 a directory name of three letters\n"),
	}
	c := &RenderCache{dir: dir}
	c.write(root, map[string][]entryFile{})
	for _, p := range gone {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s: not removed (%v)", p, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(dir, "cd")); !os.IsNotExist(err) {
		t.Errorf("cd/, emptied, is still there (%v)", err)
	}
	for _, p := range kept {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	if _, err := os.Stat(c.path(root)); err != nil {
		t.Errorf("the cache file was not written: %v", err)
	}
}

// TestRenderCacheStoresStatusOfTheComparedFile: the status stored for a
// file the render found already right is the status of the file it read,
// not of whatever is at its path when the cache is written. A file
// replaced between the compare and the store must be hashed again, and
// not trusted as the rendered content.
func TestRenderCacheStoresStatusOfTheComparedFile(t *testing.T) {
	root, dir := t.TempDir(), t.TempDir()
	c := &RenderCache{dir: dir}
	files := []File{{Path: "components/a/x.yaml", Data: gen("a: 1\n")}, {Path: "components/a/y.yaml", Data: gen("b: 2\n")}}
	if _, err := Write(root, files); err != nil {
		t.Fatal(err)
	}
	// A render whose files are all already right: nothing written.
	st, err := Write(root, files)
	if err != nil {
		t.Fatal(err)
	}
	if st.Written != 0 || st.Unchanged != 2 {
		t.Fatalf("second write: %+v", st)
	}
	// Another process replaces x between the compare and the store.
	x := filepath.Join(root, "components/a/x.yaml")
	other := x + ".other"
	if err := os.WriteFile(other, gen("a: 2, from someone else\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(other, x); err != nil {
		t.Fatal(err)
	}
	d := &Deployment{Name: "a"}
	c.StoreAll(root, st, map[*Deployment]string{d: "k0123456789"}, map[*Deployment][]File{d: files})
	ageCache(t, c, root)
	entries, written := c.readEntries(root)
	if entries == nil {
		t.Fatal("no entries stored")
	}
	if _, ok, _ := checkEntries(root, entries["k0123456789"], written); ok {
		t.Error("a file replaced after the compare is trusted as the rendered content")
	}
}

// ageCache rewrites the cache file for root as if written long after its
// files, so that none is racy and each is trusted by its status.
func ageCache(t *testing.T, c *RenderCache, root string) {
	t.Helper()
	entries, _ := c.readEntries(root)
	if entries == nil {
		t.Fatal("no cache entries to age")
	}
	if err := os.WriteFile(c.path(root), encodeEntries(entries, 9000000000000000000), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRenderCacheIgnoresADamagedFile: a cache file cut short, at a line
// boundary or not, missing a line, or with a line changed, reads as no
// entries; an intact one reads whole.
func TestRenderCacheIgnoresADamagedFile(t *testing.T) {
	root, dir := t.TempDir(), t.TempDir()
	c := &RenderCache{dir: dir}
	files := []File{{Path: "components/a/x.yaml", Data: gen("a: 1\n")}, {Path: "components/a/y.yaml", Data: gen("b: 2\n")}}
	st, err := Write(root, files)
	if err != nil {
		t.Fatal(err)
	}
	d, e := &Deployment{Name: "a"}, &Deployment{Name: "e"}
	c.StoreAll(root, st, map[*Deployment]string{d: "k0123456789", e: "k9876543210"},
		map[*Deployment][]File{d: files, e: files[:1]})
	data, err := os.ReadFile(c.path(root))
	if err != nil {
		t.Fatal(err)
	}
	if entries, _ := c.readEntries(root); len(entries) != 2 || len(entries["k0123456789"]) != 2 || len(entries["k9876543210"]) != 1 {
		t.Fatalf("intact file: %v", entries)
	}
	lines := strings.SplitAfter(string(data), "\n")
	lines = lines[:len(lines)-1] // after the last "\n"
	damaged := map[string]string{
		"no end line":       strings.Join(lines[:len(lines)-1], ""),
		"cut mid-line":      string(data[:len(data)-3]),
		"no final newline":  string(data[:len(data)-1]),
		"a file line short": strings.Join(slices.Delete(slices.Clone(lines), 2, 3), ""),
		"a changed sum":     strings.Replace(string(data), files[0].Path, "components/a/z.yaml", 1),
		"a line added":      string(data) + lines[2],
		"empty":             "",
	}
	for i := 1; i < len(lines); i++ {
		damaged[fmt.Sprintf("cut after %d lines", i)] = strings.Join(lines[:i], "")
	}
	for name, text := range damaged {
		if err := os.WriteFile(c.path(root), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if entries, _ := c.readEntries(root); entries != nil {
			t.Errorf("%s: read as %d entries", name, len(entries))
		}
	}
}

// TestRenderCacheStoreFailureIsReported: a cache file that cannot be
// written (here a directory stands where it goes; a directory that is not
// writable does the same for other users than root) is an error for the
// caller to warn about, and leaves no temporary file.
func TestRenderCacheStoreFailureIsReported(t *testing.T) {
	root, dir := t.TempDir(), t.TempDir()
	c := &RenderCache{dir: dir}
	files := []File{{Path: "components/a/x.yaml", Data: gen("a: 1\n")}}
	st, err := Write(root, files)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(c.path(root), "in-the-way"), 0o755); err != nil {
		t.Fatal(err)
	}
	d := &Deployment{Name: "a"}
	if err := c.StoreAll(root, st, map[*Deployment]string{d: "k0123456789"}, map[*Deployment][]File{d: files}); err == nil {
		t.Error("a cache file that could not be written gave no error")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary %s left in the cache directory", e.Name())
		}
	}
}
