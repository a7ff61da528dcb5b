package review

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"

	"github.com/fleiogen/fleiogen/generator"
)

// Staleness says why a file of the committed tree does not match the specs.
type Staleness string

// Kinds of stale files.
const (
	// Missing: the specs render the file, the tree does not have it.
	Missing Staleness = "missing"
	// Different: the file's content is not what the specs render (stale,
	// or edited by hand).
	Different Staleness = "different"
	// NotGenerated: a file without fleiogen's header is where the specs
	// render one; render refuses to overwrite it.
	NotGenerated Staleness = "not generated"
	// Extra: a generated file the specs no longer render.
	Extra Staleness = "should not exist"
	// Link: the file, or a directory on its path, is a symbolic link,
	// which render refuses to write through.
	Link Staleness = "a symbolic link"
)

// StaleFile is one file of the committed tree that does not match.
type StaleFile struct {
	// Path is relative to the tree's root, with slashes.
	Path string
	Why  Staleness
	// Want and Got are the rendered and the committed contents (nil when
	// absent).
	Want, Got []byte
}

// Check compares rendered files with the tree under root, by the rules of
// generator.Write: files without fleiogen's header that the specs do not
// render, hidden directories, temporary files and clusters/*/flux-system/
// are not looked at. It returns the files that differ, sorted by path.
func Check(files []generator.File, root string) ([]StaleFile, error) {
	var out []StaleFile
	want := make(map[string]bool, len(files))
	links := map[string]bool{} // paths under root found to be links, or not
	isLink := func(p string) (bool, error) {
		for dir := p; dir != "." && dir != "/"; dir = path.Dir(dir) {
			link, seen := links[dir]
			if !seen {
				fi, err := os.Lstat(filepath.Join(root, filepath.FromSlash(dir)))
				if err != nil && !errors.Is(err, fs.ErrNotExist) {
					return false, err
				}
				link = err == nil && fi.Mode()&fs.ModeSymlink != 0
				links[dir] = link
			}
			if link {
				return true, nil
			}
		}
		return false, nil
	}
	for _, f := range files {
		want[f.Path] = true
		if link, err := isLink(f.Path); err != nil {
			return nil, err
		} else if link {
			got, _ := generator.ReadRegularFile(filepath.Join(root, filepath.FromSlash(f.Path)))
			out = append(out, StaleFile{Path: f.Path, Why: Link, Want: f.Data, Got: got})
			continue
		}
		got, err := generator.ReadRegularFile(filepath.Join(root, filepath.FromSlash(f.Path)))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			out = append(out, StaleFile{Path: f.Path, Why: Missing, Want: f.Data})
		case err != nil:
			return nil, err
		case bytes.Equal(got, f.Data):
		case !generator.IsGenerated(got):
			out = append(out, StaleFile{Path: f.Path, Why: NotGenerated, Want: f.Data, Got: got})
		default:
			out = append(out, StaleFile{Path: f.Path, Why: Different, Want: f.Data, Got: got})
		}
	}
	onDisk, err := readTreeDir(root)
	if err != nil {
		return nil, err
	}
	for _, f := range onDisk {
		if !want[f.Path] && generator.IsGenerated(f.Data) {
			out = append(out, StaleFile{Path: f.Path, Why: Extra, Got: f.Data})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// Diff returns a unified diff from the committed file to the rendered one.
func (s StaleFile) Diff() string {
	return fmt.Sprintf("--- committed/%s\n+++ rendered/%s\n%s", s.Path, s.Path, unifiedDiff(string(s.Got), string(s.Want)))
}
