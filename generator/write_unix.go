//go:build unix

package generator

import (
	"io/fs"
	"syscall"
)

// createExcl creates name, which must not exist, holding data. It calls
// the system directly: an os.File costs more than the write for the
// small files fleiogen writes by the thousand.
func createExcl(name string, data []byte) error {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(name, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_CLOEXEC, 0o644)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return &fs.PathError{Op: "open", Path: name, Err: err}
	}
	for len(data) > 0 {
		n, err := syscall.Write(fd, data)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			syscall.Close(fd)
			syscall.Unlink(name) // ours: O_EXCL created it
			return &fs.PathError{Op: "write", Path: name, Err: err}
		}
		data = data[n:]
	}
	if err := syscall.Close(fd); err != nil {
		syscall.Unlink(name)
		return &fs.PathError{Op: "close", Path: name, Err: err}
	}
	return nil
}

// rename renames a file over a file. (os.Rename would first stat the
// target to refuse a directory; rename(2) refuses that itself.)
func rename(from, to string) error {
	for {
		err := syscall.Rename(from, to)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return &fs.PathError{Op: "rename", Path: to, Err: err}
		}
		return nil
	}
}
