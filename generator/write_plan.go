package generator

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// How files reach the disk. A file whose directory exists is written to a
// temporary file beside it and renamed over its target. A directory that
// does not exist yet (a new FleioDeployment's, or a whole new tree) is
// built under a temporary name, .fleiogen-<pid>-<n>.tmp, beside where it
// belongs, with its files written in place, and renamed into place once it
// is complete. Either way a reader, or a render killed half way, never sees
// a truncated file: what a kill leaves behind is temporary files and
// directories, which the next render deletes. Building a new directory
// aside saves a rename per file, a third of the cost of creating a file.

// writePlan says where each file and new directory is made.
type writePlan struct {
	dirs   []string          // directories to make, where they are made
	staged map[string]string // new directory -> its temporary name
	files  []plannedFile
}

type plannedFile struct {
	File
	at     string // where it is written (differs from Path when staged)
	atomic bool   // written beside its target, then renamed over it
}

// planWrite plans writing files, whose existing directories are in have.
// Directories are slash paths relative to the output root. The managed
// top-level directories are made in place; every other missing directory
// whose parent exists, or is a managed top made in place, is staged.
func planWrite(files []File, have map[string]bool, tempName func() string) writePlan {
	p := writePlan{staged: map[string]string{}}
	need := map[string]bool{}
	for _, f := range files {
		for dir := path.Dir(f.Path); dir != "." && !have[dir] && !need[dir]; dir = path.Dir(dir) {
			need[dir] = true
		}
	}
	at := map[string]string{} // a new directory -> where it is made
	var place func(dir string) string
	place = func(dir string) string {
		if a, ok := at[dir]; ok {
			return a
		}
		parent := path.Dir(dir)
		var a string
		switch {
		case parent == ".":
			a = dir
		case !need[parent] || path.Dir(parent) == ".":
			a = parent + "/" + tempName()
			p.staged[dir] = a
		default:
			a = place(parent) + "/" + path.Base(dir)
		}
		at[dir] = a
		p.dirs = append(p.dirs, a)
		return a
	}
	for _, dir := range slices.Sorted(maps.Keys(need)) {
		place(dir)
	}
	p.files = make([]plannedFile, len(files))
	for i, f := range files {
		dir := path.Dir(f.Path)
		pf := plannedFile{File: f, at: f.Path, atomic: true}
		if need[dir] && strings.Contains(dir, "/") {
			pf.at, pf.atomic = place(dir)+"/"+path.Base(f.Path), false
		}
		p.files[i] = pf
	}
	return p
}

// apply carries out the plan under root and returns each written file's
// status, by slash path. On an error, the staged directories not yet in
// place are removed: what is in place is complete.
func (p writePlan) apply(root string, tempName func() string) (map[string]fileStat, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	abs := func(rel string) string { return filepath.Join(root, filepath.FromSlash(rel)) }
	// A directory is made by the first group of files that needs it, just
	// before they are written: the kernel makes a directory's files for
	// less right after the directory than after every other directory.
	// The staged directories must not exist (a leftover could hold others'
	// files); those this run made hold only its files, and are removed on
	// an error.
	dirs := make(map[string]*madeDir, len(p.dirs))
	for _, dir := range p.dirs {
		dirs[dir] = &madeDir{}
	}
	for _, tmp := range p.staged {
		dirs[tmp].fresh = true
	}
	cleanup := func() { // once every group is done
		for _, tmp := range p.staged {
			if dirs[tmp].made {
				os.RemoveAll(abs(tmp))
			}
		}
	}
	var ensure func(dir string) error
	ensure = func(dir string) error {
		d, ok := dirs[dir]
		if !ok {
			return nil // it exists
		}
		d.once.Do(func() {
			if parent := path.Dir(dir); parent != "." {
				if d.err = ensure(parent); d.err != nil {
					return
				}
			}
			err := os.Mkdir(abs(dir), 0o755)
			if err != nil && (d.fresh || !errors.Is(err, fs.ErrExist)) {
				d.err = err
				return
			}
			d.made = err == nil
		})
		return d.err
	}
	var mu sync.Mutex
	status := make(map[string]fileStat, len(p.files))
	groups := groupByDir(p.files, func(f plannedFile) string { return f.at })
	errs := make([][]error, len(groups))
	parallel(len(groups), func(g int) {
		if err := ensure(path.Dir(groups[g][0].at)); err != nil {
			errs[g] = []error{err}
			return
		}
		stats := make([]fileStat, len(groups[g]))
		for i, f := range groups[g] {
			var err error
			if f.atomic {
				target := abs(f.Path)
				stats[i], err = writeNew(filepath.Join(filepath.Dir(target), tempName()), f.Data, target)
			} else {
				stats[i], err = writeNew(abs(f.at), f.Data, "")
			}
			if err != nil {
				errs[g] = append(errs[g], fmt.Errorf("writing %s: %w", abs(f.Path), err))
			}
		}
		mu.Lock()
		for i, f := range groups[g] {
			status[f.Path] = stats[i]
		}
		mu.Unlock()
	})
	if err := firstErrors(slices.Concat(errs...)); err != nil {
		cleanup()
		return nil, err
	}
	var failed []error
	for _, dir := range slices.Sorted(maps.Keys(p.staged)) {
		if err := rename(abs(p.staged[dir]), abs(dir)); err != nil {
			failed = append(failed, fmt.Errorf("moving %s into place: %w", abs(dir), err))
		}
	}
	if len(failed) > 0 {
		cleanup()
		return nil, firstErrors(failed)
	}
	return status, nil
}

// firstErrors joins the first ten errors.
func firstErrors(errs []error) error {
	if len(errs) > 10 {
		errs = append(errs[:10:10], errors.New("(more errors left out)"))
	}
	return errors.Join(errs...)
}

// madeDir is the making of one directory, once. fresh: it must not exist
// yet; made: this run made it.
type madeDir struct {
	once        sync.Once
	err         error
	fresh, made bool
}

// tempNamer returns a function giving names unique within this process,
// .fleiogen-<pid>-<n>.tmp (see isTempName).
func tempNamer() func() string {
	var seq atomic.Int64
	prefix := tempPrefix + strconv.Itoa(os.Getpid()) + "-"
	return func() string { return prefix + strconv.FormatInt(seq.Add(1), 10) + ".tmp" }
}

// removeTempDir deletes what a killed render left in one of its staging
// directories: generated files, temporary files and files cut short
// before the end of their header (a render killed between creating a file
// and writing it leaves it empty), then the directories that are left
// empty. Anything else, and the directories holding it, stays.
func removeTempDir(dir string) error {
	var dirs []string
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case e.IsDir():
			dirs = append(dirs, p)
		case e.Type().IsRegular():
			ours := isTempName(e.Name())
			if !ours {
				head, err := readHead(p)
				if err != nil {
					return err
				}
				ours = IsGenerated(head) || isCutHeader(head)
			}
			if ours {
				return os.Remove(p)
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		os.Remove(dirs[i]) // fails, and stays, when not empty
	}
	return nil
}

// isCutHeader reports whether head, a whole file shorter than maxHeaderLen,
// holds nothing but the start of one of fleiogen's headers: a file a
// killed render created and had not written yet, or not to its end.
func isCutHeader(head []byte) bool {
	return len(head) < maxHeaderLen &&
		(strings.HasPrefix(Header, string(head)) || strings.HasPrefix(MarkdownHeader, string(head)))
}
