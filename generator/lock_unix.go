//go:build unix

package generator

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockDir takes an exclusive advisory lock (flock) on the directory dir,
// which must exist, for as long as the returned file stays open: two
// renders into one output directory would otherwise mix their trees and
// delete each other's temporaries. The kernel drops the lock when the
// process ends, killed or not. A lock another process holds is an error
// at once, not a wait.
func lockDir(dir string) (*os.File, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	for err = syscall.EINTR; errors.Is(err, syscall.EINTR); {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	}
	switch {
	case err == nil:
		return f, nil
	case errors.Is(err, syscall.EWOULDBLOCK):
		f.Close()
		return nil, fmt.Errorf("%w: another fleiogen render is writing into %s; wait for it to finish, then render again", ErrOutputBusy, dir)
	case errors.Is(err, syscall.ENOTSUP), errors.Is(err, syscall.ENOLCK), errors.Is(err, syscall.EINVAL):
		// A file system without flock (some network mounts): render
		// unlocked, as before.
		return f, nil
	default:
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
}
