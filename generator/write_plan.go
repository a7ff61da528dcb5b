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
// belongs, with its files written in place, and renamed into place once
// every file is written and every check has passed. Either way a reader,
// or a render killed half way, never sees a truncated file: what a kill
// leaves behind is temporary files and directories, which the next render
// deletes. Building a new directory aside saves a rename per file, a third
// of the cost of creating a file.
//
// As nothing outside its temporary name can see a directory being built,
// its files can be written while the rest of the tree still renders (see
// RenderWrite): a first render need not hold the whole tree in memory.

// stager places and writes files under root. A missing directory whose
// parent exists (or a missing managed top-level directory) is staged, and
// the missing directories below a staged one are made inside it: no
// directory appears in the tree before commit. It is safe for concurrent
// use.
type stager struct {
	root     string
	have     map[string]bool // directories that exist (slash, relative)
	avoid    map[string]bool // temporaries the scan found, which new names must not take
	tempName func() string

	mu      sync.Mutex
	at      map[string]string   // a missing directory -> where it is made
	staged  map[string]string   // a staged directory -> its temporary name
	dirs    map[string]*madeDir // the directories to make, by where they are made
	status  map[string]fileStat // each file written, by slash path
	written int
	bytes   int64
}

func newStager(root string, have, avoid map[string]bool, tempName func() string) *stager {
	return &stager{root: root, have: have, avoid: avoid, tempName: tempName,
		at: map[string]string{}, staged: map[string]string{}, dirs: map[string]*madeDir{}, status: map[string]fileStat{}}
}

func (s *stager) abs(rel string) string { return filepath.Join(s.root, filepath.FromSlash(rel)) }

// place returns where the missing directory dir is made. s.mu is held.
func (s *stager) place(dir string) string {
	if a, ok := s.at[dir]; ok {
		return a
	}
	parent := path.Dir(dir)
	var a string
	fresh := false
	if parent == "." || s.have[parent] {
		// Staged beside where it belongs: a missing managed top-level
		// directory in the output root, any other in its parent.
		prefix := ""
		if parent != "." {
			prefix = parent + "/"
		}
		for a = prefix + s.tempName(); s.avoid[a]; a = prefix + s.tempName() {
		}
		s.staged[dir] = a
		fresh = true
	} else {
		a = s.place(parent) + "/" + path.Base(dir)
	}
	s.at[dir] = a
	s.dirs[a] = &madeDir{fresh: fresh}
	return a
}

// where returns where f is written, and whether it is written beside its
// target and renamed over it (its directory exists).
func (s *stager) where(f File) (at string, atomic bool) {
	dir := path.Dir(f.Path)
	if s.have[dir] {
		return f.Path, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.place(dir) + "/" + path.Base(f.Path), false
}

// ensure makes the directory at (where it is made), and the missing
// directories above it, once. A directory is made by the first file that
// needs it, just before it is written: the kernel makes a directory's
// files for less right after the directory than after every other
// directory. A staged directory must not exist yet (a leftover could hold
// others' files).
func (s *stager) ensure(at string) error {
	s.mu.Lock()
	d, ok := s.dirs[at]
	s.mu.Unlock()
	if !ok {
		return nil // it exists
	}
	d.once.Do(func() {
		if parent := path.Dir(at); parent != "." {
			if d.err = s.ensure(parent); d.err != nil {
				return
			}
		}
		err := os.Mkdir(s.abs(at), 0o755)
		if err != nil && (d.fresh || !errors.Is(err, fs.ErrExist)) {
			d.err = err
			return
		}
		d.made = err == nil
	})
	return d.err
}

// write writes f where it goes, and records its status.
func (s *stager) write(f File) error {
	at, atomic := s.where(f)
	if err := s.ensure(path.Dir(at)); err != nil {
		// The error names where the directory was being made, which may
		// be a staged copy: name the directory it is.
		return fmt.Errorf("making %s: %w", s.abs(path.Dir(f.Path)), err)
	}
	var st fileStat
	var err error
	if atomic {
		dir := path.Dir(f.Path)
		name := s.tempName()
		for s.avoid[dir+"/"+name] {
			name = s.tempName()
		}
		st, err = writeNew(s.abs(dir+"/"+name), f.Data, s.abs(f.Path))
	} else {
		st, err = writeNew(s.abs(at), f.Data, "")
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", s.abs(f.Path), err)
	}
	s.mu.Lock()
	s.status[f.Path] = st
	s.written++
	s.bytes += int64(len(f.Data))
	s.mu.Unlock()
	return nil
}

// writeAll writes files, a directory's files on one goroutine.
func (s *stager) writeAll(files []File) error {
	groups := groupByDir(files, func(f File) string {
		at, _ := s.where(f)
		return at
	})
	errs := make([][]error, len(groups))
	parallel(len(groups), func(g int) {
		for _, f := range groups[g] {
			if err := s.write(f); err != nil {
				errs[g] = append(errs[g], err)
			}
		}
	})
	return firstErrors(slices.Concat(errs...))
}

// wrote reports whether s (which may be nil) wrote the file p.
func (s *stager) wrote(p string) bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.status[p]
	return ok
}

// commit moves the staged directories into place. On an error, those not
// yet in place are removed: what is in place is complete.
func (s *stager) commit() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var failed []error
	for _, dir := range slices.Sorted(maps.Keys(s.staged)) {
		if !s.dirs[s.staged[dir]].made {
			continue // nothing was written in it
		}
		if err := rename(s.abs(s.staged[dir]), s.abs(dir)); err != nil {
			failed = append(failed, fmt.Errorf("moving %s into place: %w", s.abs(dir), err))
			continue
		}
		s.dirs[s.staged[dir]].made = false // in place now
	}
	if len(failed) > 0 {
		s.abortLocked()
		return firstErrors(failed)
	}
	return nil
}

// abort removes the staged directories this run made and did not move into
// place, with what was written in them.
func (s *stager) abort() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.abortLocked()
}

func (s *stager) abortLocked() {
	for _, tmp := range s.staged {
		if s.dirs[tmp].made {
			os.RemoveAll(s.abs(tmp))
		}
	}
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
