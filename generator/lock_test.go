//go:build unix

package generator

import (
	"errors"
	"path/filepath"
	"testing"
)

// TestRendersIntoOneOutputExcludeEachOther: while a render holds an output
// directory (from its scan to its Close), another render into it fails with
// ErrOutputBusy and writes nothing, whether the directory existed when
// both started or the first render made it; once the first is done, the
// next render goes ahead.
func TestRendersIntoOneOutputExcludeEachOther(t *testing.T) {
	a := []File{{Path: "tenants/a/x.yaml", Data: gen("a: 1\n")}}
	b := []File{{Path: "tenants/b/y.yaml", Data: gen("b: 1\n")}}
	for _, fresh := range []bool{false, true} {
		root := t.TempDir()
		if fresh {
			root = filepath.Join(root, "out")
		}
		first, second := StartScan(root), StartScan(root)
		if _, err := WriteScanned(root, a, nil, first); err != nil {
			t.Fatalf("fresh=%v: first render: %v", fresh, err)
		}
		if _, err := WriteScanned(root, b, nil, second); !errors.Is(err, ErrOutputBusy) {
			t.Errorf("fresh=%v: second render while the first holds the output: %v, want ErrOutputBusy", fresh, err)
		}
		second.Close()
		if exists(root, "tenants/b/y.yaml") || !exists(root, "tenants/a/x.yaml") {
			t.Errorf("fresh=%v: the refused render changed the tree", fresh)
		}
		first.Close()
		if _, err := Write(root, b); err != nil {
			t.Errorf("fresh=%v: render after the first closed: %v", fresh, err)
		}
		if !exists(root, "tenants/b/y.yaml") || exists(root, "tenants/a/x.yaml") {
			t.Errorf("fresh=%v: the render after the first did not write its tree", fresh)
		}
	}
}
