package generator

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// ManagedDirs are the top-level directories fleiogen renders into. Stale
// generated files are looked for only under them.
var ManagedDirs = []string{"clusters", "tenants", "components"}

const tempPrefix = ".fleiogen-"

// WriteStats says what a write did.
type WriteStats struct {
	Files, Written, Unchanged, Deleted int
	Bytes                              int64

	// status is, for the render cache, the status of each file written,
	// and of each found right, as it was read to compare.
	status map[string]fileStat
}

// Write makes the tree under root equal to files:
//   - a file whose content is already right is not touched;
//   - others are written to a temporary file in the same directory and
//     renamed over the target, so a crash never leaves a truncated file;
//   - a generated file (one starting with Header or MarkdownHeader, see
//     IsGenerated) that files no longer holds is deleted, with the
//     directories that become empty;
//   - a directory below a managed top-level directory that the walk found
//     empty (or holding only temporaries) is deleted too, with the
//     parents it leaves empty: a killed render leaves such directories
//     behind (see onDisk.empty);
//   - a file without the header is never overwritten nor deleted, and
//     clusters/<cluster>/flux-system/ (flux bootstrap's) is never entered.
//
// Every check runs before the first change: if one fails, nothing changes.
func Write(root string, files []File) (WriteStats, error) {
	return WriteKeeping(root, files, nil)
}

// WriteKeeping is Write for a tree that also holds the files in keep,
// already checked to be right on disk (see RenderCache): they are neither
// read, written nor deleted.
func WriteKeeping(root string, files []File, keep []string) (WriteStats, error) {
	sc := StartScan(root)
	defer sc.Close()
	return WriteScanned(root, files, keep, sc)
}

// ErrOutputBusy is the error of a render whose output directory another
// render holds (see StartScan).
var ErrOutputBusy = errors.New("output directory in use")

// Scan is a walk of the managed directories under an output root, started
// in the background (see StartScan), and the lock on that root.
type Scan struct {
	done chan struct{}
	disk *onDisk
	err  error
	// lock holds the output root's lock from the scan to Close; nil
	// until WriteScanned when the root did not exist (WriteScanned makes
	// it, then locks it and walks it again).
	lock *os.File
	// made is the highest directory made for the root (see unmake).
	made string
}

// StartScan locks the output root, when it exists, against other renders
// (an error, ErrOutputBusy, if one holds it), and walks its managed
// directories in the background, so that a render can overlap the walk with
// loading and rendering. Nothing may write under root until the scan is
// used by WriteScanned. Close releases the lock: call it once the render
// is done (its cache stored), written or not.
func StartScan(root string) *Scan {
	sc := &Scan{done: make(chan struct{})}
	if fi, err := os.Stat(root); err == nil && fi.IsDir() {
		if sc.lock, sc.err = lockDir(root); sc.err != nil {
			close(sc.done)
			return sc
		}
	}
	go func() {
		defer close(sc.done)
		sc.disk, sc.err = walkTree(root)
	}()
	return sc
}

// Close waits for the scan and releases the output root's lock.
func (sc *Scan) Close() {
	<-sc.done
	if sc.lock != nil {
		sc.lock.Close()
		sc.lock = nil
	}
}

// lockFresh makes the output root, which did not exist when the scan
// started, locks it, and walks it again: another render may have made it
// and written into it since.
func (sc *Scan) lockFresh(root string) error {
	made := topMissing(root)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	lock, err := lockDir(root)
	if err != nil {
		return err
	}
	sc.lock, sc.made = lock, made
	sc.disk, sc.err = walkTree(root)
	return sc.err
}

// topMissing returns the highest directory on the path to dir that does
// not exist, or "" if dir exists.
func topMissing(dir string) string {
	missing := ""
	for p := filepath.Clean(dir); ; p = filepath.Dir(p) {
		if _, err := os.Lstat(p); err == nil {
			return missing
		}
		missing = p
		if filepath.Dir(p) == p {
			return missing
		}
	}
}

// unmake removes, while they are empty, the directories lockFresh made
// for the output root, so that a render that failed leaves no trace. It
// does so only under the lock: another render may be writing there.
func (sc *Scan) unmake(root string) {
	if sc.made == "" || sc.lock == nil {
		return
	}
	for p := filepath.Clean(root); os.Remove(p) == nil && p != sc.made; p = filepath.Dir(p) {
	}
}

// WriteScanned is WriteKeeping with the walk of root already started.
func WriteScanned(root string, files []File, keep []string, sc *Scan) (WriteStats, error) {
	return writeScanned(root, files, keep, sc, nil, nil)
}

// writeScanned is WriteScanned for files of which s (nil if none) already
// wrote some into staged directories (see RenderWrite): those are not
// written again, and on an error s's staged directories are removed, so
// that nothing changes. early is an error s met writing early, returned
// once the checks have passed (a check's problems come first).
func writeScanned(root string, files []File, keep []string, sc *Scan, s *stager, early error) (st WriteStats, err error) {
	defer func() {
		if err != nil {
			if s != nil {
				s.abort()
			}
			sc.unmake(root)
		}
	}()
	st = WriteStats{Files: len(files) + len(keep), Unchanged: len(keep)}
	want := make(map[string]bool, len(files)+len(keep))
	for _, p := range keep {
		if err := checkRelPath(p); err != nil {
			return st, err
		}
		want[p] = true
	}
	for _, f := range files {
		if err := checkRelPath(f.Path); err != nil {
			return st, err
		}
		if isBootstrapPath(f.Path) {
			return st, fmt.Errorf("internal error: refusing to write %s: flux bootstrap owns it", f.Path)
		}
		want[f.Path] = true
	}
	<-sc.done
	if sc.err != nil {
		return st, sc.err
	}
	if sc.lock == nil {
		if err := sc.lockFresh(root); err != nil {
			return st, err
		}
	}
	disk := sc.disk
	if err := disk.findStale(want); err != nil {
		return st, err
	}
	// A symbolic link inside the managed directories could lead anywhere
	// (flux-system/, outside the output directory): never write through one.
	if links := disk.linksOn(files, keep); len(links) > 0 {
		var problems []string
		for _, l := range links {
			target, _ := os.Readlink(filepath.Join(root, filepath.FromSlash(l)))
			problems = append(problems, fmt.Sprintf("%s: is a symbolic link (to %s); fleiogen does not write through links: remove it, or render into another directory", filepath.Join(root, filepath.FromSlash(l)), target))
		}
		return st, fmt.Errorf("nothing was written:\n%s", strings.Join(problems, "\n"))
	}
	// Compare with what is on disk, in parallel: a re-render reads the
	// whole tree. A file the scan did not see is not read.
	const (
		write = iota
		same
		refuse
	)
	verdict := make([]int, len(files))
	reasons := make([]string, len(files))
	seen, seenOK := make([]fileStat, len(files)), make([]bool, len(files)) // status of a file found right, taken as it was read
	parallel(len(files), func(i int) {
		if !disk.mayExist(files[i].Path) {
			return
		}
		target := filepath.Join(root, filepath.FromSlash(files[i].Path))
		old, stat, statOK, err := readWithStatus(target)
		switch {
		case err == nil:
			if bytes.Equal(old, files[i].Data) {
				verdict[i] = same
				seen[i], seenOK[i] = stat, statOK
			} else if !IsGenerated(old) {
				verdict[i] = refuse
				reasons[i] = fmt.Sprintf("%s: exists and was not generated by fleiogen (no %q header); move it away or delete it", target, strings.TrimSpace(headerOf(files[i].Path)))
			}
		case errors.Is(err, fs.ErrNotExist):
		default:
			// A directory where a file should be, a file where a
			// directory should be, or unreadable.
			verdict[i] = refuse
			var pe *fs.PathError
			if errors.As(err, &pe) && pe.Path == target {
				err = pe.Err // named once
			}
			reasons[i] = fmt.Sprintf("%s: %v", target, err)
		}
	})
	var problems []string
	todo := make([]File, 0, len(files))
	for i, f := range files {
		switch {
		case verdict[i] == same:
			st.Unchanged++
		case verdict[i] == refuse:
			problems = append(problems, reasons[i])
		case !s.wrote(f.Path):
			todo = append(todo, f)
		}
	}
	stale, temps := disk.stale, disk.temps
	// A directory the render must change but cannot write (a read-only
	// mount, chattr +i) is found before the first change, so that nothing
	// changes; a disk that fills up is still found only when it does.
	problems = append(problems, unwritableDirs(root, disk, todo, stale)...)
	if len(problems) > 0 {
		sort.Strings(problems)
		return st, fmt.Errorf("nothing was written:\n%s", strings.Join(problems, "\n"))
	}

	if early != nil {
		return st, early
	}
	for _, t := range temps {
		if err := os.Remove(t); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return st, err
		}
	}
	for _, t := range disk.tempDirs {
		if err := removeTempDir(t); err != nil {
			return st, err
		}
	}
	if s == nil {
		s = newStager(root, disk.dirs, disk.temporaries(), tempNamer())
	}
	if err := s.writeAll(todo); err != nil {
		return st, err
	}
	if err := s.commit(); err != nil {
		return st, err
	}
	status := s.status
	st.status = status
	for i, f := range files {
		if verdict[i] == same && seenOK[i] {
			status[f.Path] = seen[i]
		}
	}
	st.Written, st.Bytes = s.written, s.bytes
	dirs := make(map[string]bool, len(disk.empty))
	for _, p := range disk.empty {
		dirs[p] = true
	}
	for _, p := range stale {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return st, err
		}
		st.Deleted++
		dirs[filepath.Dir(p)] = true
	}
	removeEmptyDirs(root, dirs)
	return st, nil
}

func checkRelPath(p string) error {
	if p == "" || filepath.IsAbs(p) || strings.HasPrefix(p, "/") {
		return fmt.Errorf("internal error: bad output path %q", p)
	}
	for part := range strings.SplitSeq(p, "/") {
		if part == "" || part == "." || part == ".." {
			return fmt.Errorf("internal error: bad output path %q", p)
		}
	}
	return nil
}

// isBootstrapPath reports whether a slash path is inside clusters/*/flux-system.
func isBootstrapPath(p string) bool {
	rest, ok := strings.CutPrefix(p, "clusters/")
	if !ok {
		return false
	}
	_, rest, ok = strings.Cut(rest, "/")
	third, _, _ := strings.Cut(rest, "/")
	return ok && third == "flux-system"
}

// unwritableDirs names, before any change, the directories a write
// creates files in (for a new directory, the nearest one that exists) or
// deletes stale files from that cannot be written.
func unwritableDirs(root string, disk *onDisk, todo []File, stale []string) []string {
	dirs := map[string]bool{}
	for _, f := range todo {
		d := path.Dir(f.Path)
		for d != "." && !disk.dirs[d] {
			d = path.Dir(d)
		}
		dirs[filepath.Join(root, filepath.FromSlash(d))] = true
	}
	for _, p := range stale {
		dirs[filepath.Dir(p)] = true
	}
	var problems []string
	for d := range dirs {
		if err := dirWritable(d); err != nil {
			problems = append(problems, fmt.Sprintf("%s: cannot be written (%v)", d, err))
		}
	}
	return problems
}

// onDisk is what walkTree found under the managed directories, as slash
// paths relative to the output root.
type onDisk struct {
	root  string
	files map[string]bool // regular files
	dirs  map[string]bool // directories walked
	// odd are entries that are neither: symlinks, devices, directories
	// not walked (hidden ones, flux-system), and managed roots that are not
	// plain directories. Paths through them are checked one by one.
	odd          map[string]bool
	links        map[string]bool // symbolic links, a subset of odd
	stale, temps []string        // absolute paths
	tempDirs     []string        // absolute paths of staging directories left by a killed render
	// empty are the absolute paths of the walked directories below the
	// managed top-level ones that hold nothing, or nothing but temporaries
	// (temps, tempDirs). A render killed while deleting stale files leaves
	// such directories, and as they hold no stale file the next render
	// would not otherwise see them; Write removes them, and their parents
	// while empty. This is safe because of where the walk goes: only
	// below clusters/, tenants/ and components/ (never the output root nor
	// the top-level directories themselves), never into
	// clusters/<cluster>/flux-system/ nor a hidden directory (neither is
	// listed, and a parent holding one is not empty), and only an empty
	// directory is removed (os.Remove fails on any other). An empty
	// directory there could have been made by hand, but it holds nothing
	// and git cannot track it, so removing it loses nothing from the
	// repository.
	empty []string
}

// linksOn returns, sorted, the symbolic links on the paths of files and
// of the kept paths.
func (d *onDisk) linksOn(files []File, keep []string) []string {
	if len(d.links) == 0 {
		return nil
	}
	seen := map[string]bool{}
	check := func(p string) {
		for ; p != "."; p = path.Dir(p) {
			if d.links[p] {
				seen[p] = true
			}
		}
	}
	for _, f := range files {
		check(f.Path)
	}
	for _, p := range keep {
		check(p)
	}
	return slices.Sorted(maps.Keys(seen))
}

// temporaries returns the temporary files and directories the walk found,
// as slash paths relative to the root: names a new one must not take.
func (d *onDisk) temporaries() map[string]bool {
	t := make(map[string]bool, len(d.temps)+len(d.tempDirs))
	for _, p := range slices.Concat(d.temps, d.tempDirs) {
		if rel, err := filepath.Rel(d.root, p); err == nil {
			t[filepath.ToSlash(rel)] = true
		}
	}
	return t
}

// streamer writes, while a tree renders, the files that go into new
// directories (see RenderWrite), once the scan of the output root is done.
type streamer struct {
	root string
	sc   *Scan
	sums bool

	once sync.Once
	s    *stager // nil until the scan is done and the root locked, and if either failed

	mu  sync.Mutex
	err error // the first error writing; nothing is streamed after it
}

// ready reports whether the scan is done and the root locked, without
// waiting for the scan: the files rendered before it ends are written
// after the render, as a re-render's.
func (w *streamer) ready() bool {
	select {
	case <-w.sc.done:
	default:
		return false
	}
	w.once.Do(func() {
		if w.sc.err != nil {
			return // writeScanned reports it
		}
		if w.sc.lock == nil {
			if err := w.sc.lockFresh(w.root); err != nil {
				return // writeScanned tries again, and reports it
			}
		}
		w.s = newStager(w.root, w.sc.disk.dirs, w.sc.disk.temporaries(), tempNamer())
	})
	return w.s != nil
}

// write writes the file path holding data at once, and returns it without
// its data, if it goes into a directory the scan did not find (a staged
// one: nothing is in place before every check has passed). Otherwise, or
// before the scan is done, it returns false, and the file waits for
// writeScanned: a file that may exist must be compared first, and checked
// with all the others.
func (w *streamer) write(p string, data []byte) (File, bool) {
	if !w.ready() {
		return File{}, false
	}
	disk := w.sc.disk
	dir := path.Dir(p)
	if dir == "." || disk.dirs[dir] || disk.mayExist(p) ||
		checkRelPath(p) != nil || isBootstrapPath(p) {
		return File{}, false
	}
	w.mu.Lock()
	failed := w.err != nil
	w.mu.Unlock()
	if failed {
		return File{}, false
	}
	f := File{Path: p, Data: data}
	if err := w.s.write(f); err != nil {
		w.mu.Lock()
		if w.err == nil {
			w.err = err
		}
		w.mu.Unlock()
		return File{}, false
	}
	f.Data = nil
	if w.sums {
		sum := sha256.Sum256(data)
		f.sum = &sum
	}
	return f, true
}

// mayExist reports whether p (a slash path) may name something on disk;
// false means the scan proves that nothing is there.
func (d *onDisk) mayExist(p string) bool {
	if d.files[p] || d.dirs[p] || d.odd[p] {
		return true
	}
	top, _, _ := strings.Cut(p, "/")
	if !slices.Contains(ManagedDirs, top) {
		return true // not scanned
	}
	for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
		if d.files[dir] || d.odd[dir] {
			return true
		}
	}
	return false
}

// walkTree walks the managed directories once: what exists, and temporary
// files and directories left by an interrupted write. A re-render walks a
// tree of thousands of directories, so rather than WalkManaged (sorted
// entries, filepath.Rel per entry) it reads each directory once, unsorted,
// builds paths by concatenation, and reads directories on a few goroutines
// at once.
func walkTree(root string) (*onDisk, error) {
	d := &onDisk{root: root, files: map[string]bool{}, dirs: map[string]bool{}, odd: map[string]bool{}, links: map[string]bool{}}
	// A render stages a missing top-level directory in the root itself:
	// a killed one may have left it there.
	if entries, err := readDirUnsorted(root); err == nil {
		for _, e := range entries {
			if isTempName(e.name) && e.typ.IsDir() {
				d.tempDirs = append(d.tempDirs, filepath.Join(root, e.name))
			}
		}
	}
	w := &walker{d: d, slots: make(chan struct{}, runtime.GOMAXPROCS(0))}
	for _, top := range ManagedDirs {
		base := filepath.Join(root, top)
		fi, err := os.Lstat(base)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			w.wg.Wait()
			return d, fmt.Errorf("scanning %s: %w", base, err)
		case fi.IsDir():
			w.mu.Lock()
			d.dirs[top] = true
			w.mu.Unlock()
			w.walkDir(base, top)
		default: // a file, or a link, where a managed directory should be
			w.mu.Lock()
			d.odd[top] = true
			if fi.Mode()&fs.ModeSymlink != 0 {
				d.links[top] = true
			} else if fi.Mode().IsRegular() {
				d.files[top] = true
			}
			w.mu.Unlock()
		}
	}
	w.wg.Wait()
	if w.err != nil {
		return d, fmt.Errorf("scanning %s: %w", root, w.err)
	}
	slices.Sort(d.temps)
	slices.Sort(d.tempDirs)
	return d, nil
}

// walker reads directories for walkTree, on this goroutine or, when a slot
// is free, on another.
type walker struct {
	d     *onDisk
	slots chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex // guards d and err
	err   error
}

// walkDir records what the directory dir (rel from the root) holds, and
// walks its subdirectories.
func (w *walker) walkDir(dir, rel string) {
	entries, err := readDirUnsorted(dir)
	w.mu.Lock()
	if err != nil {
		if w.err == nil {
			w.err = err
		}
		w.mu.Unlock()
		return
	}
	d := w.d
	var subdirs []string
	kept := 0 // entries that are not temporaries
	for _, e := range entries {
		name := e.name
		p, r := dir+string(filepath.Separator)+name, rel+"/"+name
		switch {
		case e.typ.IsDir():
			switch {
			case isTempName(name):
				d.tempDirs = append(d.tempDirs, p)
			case isBootstrapPath(r) || strings.HasPrefix(name, "."):
				d.odd[r] = true
				kept++
			default:
				d.dirs[r] = true
				subdirs = append(subdirs, name)
				kept++
			}
		case !e.typ.IsRegular():
			d.odd[r] = true
			if e.typ&fs.ModeSymlink != 0 {
				d.links[r] = true
			}
			kept++
		case isTempName(name):
			d.temps = append(d.temps, p)
		default:
			d.files[r] = true
			kept++
		}
	}
	if kept == 0 && strings.Contains(rel, "/") { // not a managed top-level directory
		d.empty = append(d.empty, dir)
	}
	w.mu.Unlock()
	for _, name := range subdirs {
		p, r := dir+string(filepath.Separator)+name, rel+"/"+name
		select {
		case w.slots <- struct{}{}:
			w.wg.Add(1)
			go func() {
				defer func() { <-w.slots; w.wg.Done() }()
				w.walkDir(p, r)
			}()
		default:
			w.walkDir(p, r)
		}
	}
}

// dirEntry is a name in a directory and its type bits (fs.ModeDir,
// fs.ModeSymlink, ...; none for a regular file).
type dirEntry struct {
	name string
	typ  fs.FileMode
}

// findStale sets d.stale to the generated files (they start with the
// header) that want does not hold.
func (d *onDisk) findStale(want map[string]bool) error {
	var unwanted []string
	for rel := range d.files {
		if !want[rel] {
			unwanted = append(unwanted, rel)
		}
	}
	slices.Sort(unwanted)
	for _, rel := range unwanted {
		p := filepath.Join(d.root, filepath.FromSlash(rel))
		if generated, err := fileIsGenerated(p); err != nil {
			return err
		} else if generated {
			d.stale = append(d.stale, p)
		}
	}
	return nil
}

// WalkManaged walks the managed directories under root (those that exist),
// calling fn with each entry's path, its slash path relative to root, and
// the entry; fn may return fs.SkipDir as for filepath.WalkDir.
func WalkManaged(root string, fn func(path, rel string, d fs.DirEntry) error) error {
	for _, top := range ManagedDirs {
		base := filepath.Join(root, top)
		err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) && p == base {
					return fs.SkipDir
				}
				return err
			}
			rel, _ := filepath.Rel(root, p)
			return fn(p, filepath.ToSlash(rel), d)
		})
		if err != nil {
			return fmt.Errorf("scanning %s: %w", base, err)
		}
	}
	return nil
}

// groupByDir groups items by the directory of their slash path, each group
// in the items' order, the groups in the order of their first item.
func groupByDir[T any](items []T, pathOf func(T) string) [][]T {
	index := map[string]int{}
	var groups [][]T
	for _, it := range items {
		dir := path.Dir(pathOf(it))
		g, ok := index[dir]
		if !ok {
			g = len(groups)
			index[dir] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], it)
	}
	return groups
}

// IsTemporary reports whether a file or directory name is one of the
// temporaries a render writes beside its targets, which the next render
// deletes if a killed one left them.
func IsTemporary(name string) bool { return isTempName(name) }

// isTempName reports whether name is one of the writer's temporary files
// or directories, .fleiogen-<pid>-<n>.tmp; other names starting with
// .fleiogen- are not fleiogen's to delete.
func isTempName(name string) bool {
	rest, ok := strings.CutPrefix(name, tempPrefix)
	if !ok {
		return false
	}
	rest, ok = strings.CutSuffix(rest, ".tmp")
	pid, n, found := strings.Cut(rest, "-")
	return ok && found && allDigits(pid) && allDigits(n)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func fileIsGenerated(p string) (bool, error) {
	head, err := readHead(p)
	return err == nil && IsGenerated(head), err
}

// ErrNotRegular is the error for a path that holds something other than a
// regular file or a directory: a named pipe, a device or a socket, which
// fleiogen neither writes nor reads.
var ErrNotRegular = errors.New("not a regular file")

// openRegular opens the regular file at p for reading. It refuses what is
// not one without reading it: opening a named pipe waits for a writer, a
// device such as /dev/zero never ends, and opening some devices acts. What
// p names is checked before it is opened (so a device is not opened), and
// the open file again (it may have been replaced in between), opened
// without blocking. A directory opens, as with os.Open, and fails when
// read.
func openRegular(p string) (*os.File, fs.FileInfo, error) {
	if fi, err := os.Stat(p); err == nil {
		if err := notRegular(p, fi.Mode()); err != nil {
			return nil, nil, err
		}
	}
	f, err := os.OpenFile(p, os.O_RDONLY|oNonblock, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		err = notRegular(p, fi.Mode())
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// notRegular is the error for p of mode m when it is neither a regular
// file nor a directory.
func notRegular(p string, m fs.FileMode) error {
	if m.IsRegular() || m.IsDir() {
		return nil
	}
	what := "of an unknown type"
	switch {
	case m&fs.ModeNamedPipe != 0:
		what = "a named pipe"
	case m&fs.ModeDevice != 0:
		what = "a device"
	case m&fs.ModeSocket != 0:
		what = "a socket"
	}
	return &fs.PathError{Op: "open", Path: p, Err: fmt.Errorf("%w: it is %s; move it away or delete it", ErrNotRegular, what)}
}

// ReadRegularFile reads the file at p as os.ReadFile does, refusing what
// is not a regular file (see openRegular).
func ReadRegularFile(p string) ([]byte, error) {
	f, _, err := openRegular(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// readHead returns the first maxHeaderLen bytes of the file at p, or the
// whole file when it is shorter.
func readHead(p string) ([]byte, error) {
	f, _, err := openRegular(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, maxHeaderLen)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, err
	}
	return buf[:n], nil
}

// parallel calls fn(0) ... fn(n-1) on a few goroutines; file system calls
// block, so there are more goroutines than CPUs.
func parallel(n int, fn func(i int)) {
	workers := min(2*runtime.GOMAXPROCS(0), n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// removeEmptyDirs removes dirs and their parents while they are empty,
// stopping at the managed top-level directories. Every removal tries the
// parent next, so a tree of directories holding only empty directories
// goes whole when its deepest ones are in dirs.
func removeEmptyDirs(root string, dirs map[string]bool) {
	list := make([]string, 0, len(dirs))
	for d := range dirs {
		list = append(list, d)
	}
	// Deepest first, so that children go before parents.
	sort.Slice(list, func(i, j int) bool { return len(list[i]) > len(list[j]) })
	for _, d := range list {
		for {
			rel, err := filepath.Rel(root, d)
			if err != nil || !strings.Contains(filepath.ToSlash(rel), "/") {
				break
			}
			if os.Remove(d) != nil { // fails when not empty
				break
			}
			d = filepath.Dir(d)
		}
	}
}
