//go:build linux

package generator

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestReadDirUnsorted: the walk's directory listing holds what os.ReadDir
// does, types included, over more entries than one read returns.
func TestReadDirUnsorted(t *testing.T) {
	dir := t.TempDir()
	for i := range 400 {
		writeFile(t, dir, fmt.Sprintf("file-with-a-long-name-to-fill-the-buffer-%03d.yaml", i), []byte("x"))
	}
	for _, d := range []string{"sub", ".hidden", ".fleiogen-1-2.tmp"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("sub", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := map[string]fs.FileMode{}
	list, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range list {
		want[e.Name()] = e.Type()
	}
	entries, err := readDirUnsorted(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]fs.FileMode{}
	for _, e := range entries {
		if _, dup := got[e.name]; dup {
			t.Errorf("%s listed twice", e.name)
		}
		got[e.name] = e.typ
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-os.ReadDir +readDirUnsorted):\n%s", diff)
	}
	if _, err := readDirUnsorted(filepath.Join(dir, "fifo")); err == nil {
		t.Error("listed a file that is not a directory")
	}
}
