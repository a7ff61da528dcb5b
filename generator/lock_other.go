//go:build !unix

package generator

import "os"

// lockDir opens dir; other systems than Unix get no lock (see lock_unix.go).
func lockDir(dir string) (*os.File, error) { return os.Open(dir) }
