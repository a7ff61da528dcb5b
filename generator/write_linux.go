//go:build linux

package generator

import (
	"io/fs"
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
