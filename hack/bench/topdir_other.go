//go:build !linux

package main

// spreadSubdirs is a Linux (ext4) matter; see topdir_linux.go.
func spreadSubdirs(dir string) bool { return false }
