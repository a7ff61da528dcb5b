//go:build !unix

package generator

import "os"

// createExcl creates name, which must not exist, holding data.
func createExcl(name string, data []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(name) // ours: O_EXCL created it
	}
	return werr
}

// rename renames a file over a file.
func rename(from, to string) error { return os.Rename(from, to) }
