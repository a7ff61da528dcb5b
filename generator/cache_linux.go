//go:build linux

package generator

import (
	"errors"
	"os"
	"syscall"
)

// fileStat is what the render cache compares to trust a file unread.
type fileStat struct {
	size, mtime, ctime int64
	ino                uint64
}

// statFile returns the status of the regular file p, not following a
// symbolic link (a link is an error).
func statFile(p string) (fileStat, error) {
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		return fileStat{}, err
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return fileStat{}, errors.New("not a regular file")
	}
	return statOf(&st), nil
}

func statOf(st *syscall.Stat_t) fileStat {
	return fileStat{size: st.Size, mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano(), ino: uint64(st.Ino)}
}

// statOfInfo is the status of a regular file from its FileInfo, as
// (*os.File).Stat gives it.
func statOfInfo(fi os.FileInfo) (fileStat, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || !fi.Mode().IsRegular() {
		return fileStat{}, false
	}
	return statOf(st), true
}
