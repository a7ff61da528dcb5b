//go:build !linux

package generator

import (
	"errors"
	"os"
)

// fileStat is what the render cache compares to trust a file unread.
// Without a change time, only size and modification time are kept.
type fileStat struct {
	size, mtime, ctime int64
	ino                uint64
}

// statFile returns the status of the regular file p, not following a
// symbolic link.
func statFile(p string) (fileStat, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return fileStat{}, err
	}
	if !fi.Mode().IsRegular() {
		return fileStat{}, errors.New("not a regular file")
	}
	return fileStat{size: fi.Size(), mtime: fi.ModTime().UnixNano()}, nil
}

// statOfInfo is the status of a regular file from its FileInfo.
func statOfInfo(fi os.FileInfo) (fileStat, bool) {
	if !fi.Mode().IsRegular() {
		return fileStat{}, false
	}
	return fileStat{size: fi.Size(), mtime: fi.ModTime().UnixNano()}, true
}
