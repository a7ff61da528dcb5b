//go:build linux

package generator

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

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

// TestWriteRefusesPipesAndDevices: a named pipe or a device where a file
// is rendered is refused, naming it, without opening it for good (a pipe
// waits for a writer) or reading it without end (/dev/zero); so is one
// where flux bootstrap's gotk-sync.yaml is read.
func TestWriteRefusesPipesAndDevices(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(p string) error
		want string
	}{
		{"named pipe", func(p string) error { return syscall.Mkfifo(p, 0o644) }, "it is a named pipe"},
		{"device", func(p string) error { return syscall.Mknod(p, syscall.S_IFCHR|0o644, 1<<8|5) }, "it is a device"}, // /dev/zero
	} {
		t.Run(tc.name, func(t *testing.T) {
			root, elsewhere := t.TempDir(), t.TempDir()
			for _, p := range []string{"tenants/a", "clusters/c/flux-system"} {
				if err := os.MkdirAll(filepath.Join(root, p), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for _, p := range []string{"tenants/a/sync.yaml", "clusters/c/flux-system/gotk-sync.yaml"} {
				if err := tc.make(filepath.Join(root, p)); err != nil {
					t.Skipf("cannot make a %s here: %v", tc.name, err)
				}
			}
			before := snapshotDir(t, root, elsewhere)
			done := make(chan error, 1)
			go func() {
				_, err := Write(root, []File{
					{Path: "clusters/c/runtime-info.yaml", Data: gen("new: 0\n")},
					{Path: "tenants/a/sync.yaml", Data: gen("new: 1\n")},
				})
				BootstrapWarnings(root, &Model{Clusters: []*ClusterModel{{Cluster: Cluster{Name: "c", Branch: "main"}}}})
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Count(err.Error(), filepath.Join(root, "tenants/a/sync.yaml")) != 1 {
					t.Fatalf("want an error naming tenants/a/sync.yaml once and containing %q, got %v", tc.want, err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("Write or BootstrapWarnings still reading after 20 s")
			}
			if after := snapshotDir(t, root, elsewhere); after != before {
				t.Errorf("a refused write changed the disk:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

// TestWriteChecksDirectoriesBeforeTheFirstChange: when one directory the
// render must change cannot be written (here chattr +i, which stops root
// too; mode 0555 for other users), nothing changes, not even the files of
// the directories that can be written, and the error names the directory.
func TestWriteChecksDirectoriesBeforeTheFirstChange(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "components/a/x.yaml", gen("a: 1\n"))
	writeFile(t, root, "components/b/y.yaml", gen("b: 1\n"))
	writeFile(t, root, "components/c/stale.yaml", gen("c: 1\n"))
	locked := filepath.Join(root, "components", "b")
	if err := os.Chmod(locked, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(locked, 0o755) })
	if dirWritable(locked) == nil { // root: the mode does not stop it
		if out, err := exec.Command("chattr", "+i", locked).CombinedOutput(); err != nil {
			t.Skipf("cannot make a directory unwritable here: chattr: %v %s", err, out)
		}
		t.Cleanup(func() { exec.Command("chattr", "-i", locked).Run() })
	}
	files := []File{
		{Path: "components/a/x.yaml", Data: gen("a: 2\n")},
		{Path: "components/b/y.yaml", Data: gen("b: 2\n")},
		{Path: "components/new/z.yaml", Data: gen("z: 1\n")},
	}
	_, err := Write(root, files)
	if err == nil || !strings.Contains(err.Error(), "nothing was written") || !strings.Contains(err.Error(), locked+": cannot be written") {
		t.Fatalf("Write: got %v, want nothing written, naming %s", err, locked)
	}
	for rel, want := range map[string]string{"components/a/x.yaml": "a: 1\n", "components/b/y.yaml": "b: 1\n", "components/c/stale.yaml": "c: 1\n"} {
		if got, _ := os.ReadFile(filepath.Join(root, rel)); string(got) != string(gen(want)) {
			t.Errorf("%s changed to %q", rel, got)
		}
	}
	if exists(root, "components/new") {
		t.Error("components/new was made")
	}
	entries, _ := os.ReadDir(filepath.Join(root, "components"))
	for _, e := range entries {
		if IsTemporary(e.Name()) {
			t.Errorf("a temporary was left: %s", e.Name())
		}
	}
}
