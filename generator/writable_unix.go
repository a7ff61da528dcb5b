//go:build unix

package generator

import "syscall"

// dirWritable reports why the process cannot create files in dir (a
// read-only mount, chattr +i, permissions), or nil. access(2) answers
// for root too, where the permission bits do not apply.
func dirWritable(dir string) error {
	const wOK = 2 // W_OK, the same on every Unix
	return syscall.Access(dir, wOK)
}
