package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// fsTopdirFL is FS_TOPDIR_FL of linux/fs.h, which x/sys/unix lacks.
const fsTopdirFL = 0x00020000

// spreadSubdirs marks dir as the top of a directory hierarchy for ext4's
// Orlov allocator (chattr +T), so that each work directory made in it is
// placed in a block group of its own choosing rather than next to dir.
//
// ext4 without a journal, as on the bench machine, skips every inode freed
// in the last minutes when it looks for a free one (recently_deleted), one
// buffer lookup each. A work directory made next to the previous run's,
// which the bench deleted when it ended, then creates files several times
// slower: 4.0 s against 1.5 s for the same full render at 1000, a minute
// after a bench. That measures the file system's memory of our own
// cleanup, not fleiogen. It reports whether the flag is set.
func spreadSubdirs(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	fd := int(f.Fd())
	flags, err := unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS)
	if err != nil {
		return false
	}
	if flags&fsTopdirFL != 0 {
		return true
	}
	return unix.IoctlSetPointerInt(fd, unix.FS_IOC_SETFLAGS, int(flags|fsTopdirFL)) == nil
}
