package generator

import (
	"os"
	"path/filepath"
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
	c.StoreAll(root, st, map[*Deployment]string{d: "k0123456789"}, map[*Deployment][]File{d: files})
	age := func() { // the entries written long after the files: none is racy
		p := c.path(root)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		_, rest, _ := strings.Cut(string(data), "\n")
		if err := os.WriteFile(p, []byte(cacheHeader+" 9000000000000000000\n"+rest), 0o644); err != nil {
			t.Fatal(err)
		}
	}
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
