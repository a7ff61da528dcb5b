//go:build unix || windows

package generator

import "syscall"

// oNonblock opens a named pipe without waiting for a writer.
const oNonblock = syscall.O_NONBLOCK
