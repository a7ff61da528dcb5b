//go:build linux

package generator

import (
	"encoding/binary"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// writeNew creates name, which must not exist, holding data; when to is
// not empty, it then renames name over to. It returns the file's status in
// its final place, for the render cache. It calls the system directly: an
// os.File costs more than the write for the small files fleiogen writes by
// the thousand, and the status comes from the open file, not from another
// walk of its path.
func writeNew(name string, data []byte, to string) (fileStat, error) {
	var fd int
	err := retryEINTR(func() (err error) {
		fd, err = syscall.Open(name, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_CLOEXEC, 0o644)
		return err
	})
	if err != nil {
		return fileStat{}, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	fail := func(op, p string, err error) (fileStat, error) {
		syscall.Close(fd)
		syscall.Unlink(name) // ours: O_EXCL created it
		return fileStat{}, &fs.PathError{Op: op, Path: p, Err: err}
	}
	for len(data) > 0 {
		var n int
		if err := retryEINTR(func() (err error) { n, err = syscall.Write(fd, data); return err }); err != nil {
			return fail("write", name, err)
		}
		data = data[n:]
	}
	if to != "" {
		if err := retryEINTR(func() error { return syscall.Rename(name, to) }); err != nil {
			return fail("rename", to, err)
		}
	}
	// After the rename, which changes the file's change time.
	var st syscall.Stat_t
	serr := retryEINTR(func() error { return syscall.Fstat(fd, &st) })
	if err := syscall.Close(fd); err != nil {
		if to == "" {
			syscall.Unlink(name)
		}
		return fileStat{}, &fs.PathError{Op: "close", Path: name, Err: err}
	}
	if serr != nil {
		return fileStat{}, nil // written; the cache will not trust it
	}
	return statOf(&st), nil
}

// rename renames a file over a file, or a directory over a missing or
// empty one. (os.Rename would first stat the target to refuse a directory;
// rename(2) refuses that itself.)
func rename(from, to string) error {
	if err := retryEINTR(func() error { return syscall.Rename(from, to) }); err != nil {
		return &fs.PathError{Op: "rename", Path: to, Err: err}
	}
	return nil
}

func retryEINTR(call func() error) error {
	for {
		if err := call(); err != syscall.EINTR {
			return err
		}
	}
}

// direntBuffers are getdents(2) buffers, reused.
var direntBuffers = sync.Pool{New: func() any { b := make([]byte, 8<<10); return &b }}

// readDirUnsorted lists dir's entries in the order the file system gives,
// with open, getdents and close only: os.Open would also set the file's
// flags and try to register it with the poller, five more calls for each
// of the thousands of directories a re-render reads.
func readDirUnsorted(dir string) ([]dirEntry, error) {
	var fd int
	err := retryEINTR(func() (err error) {
		fd, err = syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	defer syscall.Close(fd)
	bp := direntBuffers.Get().(*[]byte)
	defer direntBuffers.Put(bp)
	buf := *bp
	var entries []dirEntry
	for {
		var n int
		if err := retryEINTR(func() (err error) { n, err = syscall.Getdents(fd, buf); return err }); err != nil {
			return nil, &fs.PathError{Op: "getdents", Path: dir, Err: err}
		}
		if n <= 0 {
			return entries, nil
		}
		// struct linux_dirent64: inode (8 bytes), offset (8), record
		// length (2), type (1), name (NUL-terminated).
		for rec := buf[:n]; len(rec) >= 19; {
			size := int(binary.NativeEndian.Uint16(rec[16:]))
			if size < 19 || size > len(rec) {
				return nil, &fs.PathError{Op: "getdents", Path: dir, Err: syscall.EIO}
			}
			name := rec[19:size]
			for i, c := range name {
				if c == 0 {
					name = name[:i]
					break
				}
			}
			typ, known := direntType(rec[18])
			rec = rec[size:]
			if string(name) == "." || string(name) == ".." {
				continue
			}
			e := dirEntry{name: string(name), typ: typ}
			if !known { // the file system does not say: ask
				fi, err := os.Lstat(filepath.Join(dir, e.name))
				if err != nil {
					return nil, err
				}
				e.typ = fi.Mode().Type()
			}
			entries = append(entries, e)
		}
	}
}

// direntType is the type bits of a getdents type, and whether it is known.
func direntType(t byte) (fs.FileMode, bool) {
	switch t {
	case syscall.DT_REG:
		return 0, true
	case syscall.DT_DIR:
		return fs.ModeDir, true
	case syscall.DT_LNK:
		return fs.ModeSymlink, true
	case syscall.DT_FIFO:
		return fs.ModeNamedPipe, true
	case syscall.DT_SOCK:
		return fs.ModeSocket, true
	case syscall.DT_CHR:
		return fs.ModeDevice | fs.ModeCharDevice, true
	case syscall.DT_BLK:
		return fs.ModeDevice, true
	}
	return 0, false
}
