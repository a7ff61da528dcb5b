//go:build !linux

package generator

import "os"

// writeNew creates name, which must not exist, holding data; when to is
// not empty, it then renames name over to. It returns the file's status in
// its final place, for the render cache.
func writeNew(name string, data []byte, to string) (fileStat, error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fileStat{}, err
	}
	_, werr := f.Write(data)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil && to != "" {
		werr = os.Rename(name, to)
	}
	if werr != nil {
		os.Remove(name) // ours: O_EXCL created it
		return fileStat{}, werr
	}
	if to == "" {
		to = name
	}
	st, _ := statFile(to) // on error, a zero status: the cache will not trust it
	return st, nil
}

// rename renames a file over a file, or a directory over a missing or
// empty one.
func rename(from, to string) error { return os.Rename(from, to) }

// readDirUnsorted lists dir's entries in the order the file system gives.
func readDirUnsorted(dir string) ([]dirEntry, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	list, err := f.ReadDir(-1)
	entries := make([]dirEntry, len(list))
	for i, e := range list {
		entries[i] = dirEntry{e.Name(), e.Type()}
	}
	return entries, err
}
