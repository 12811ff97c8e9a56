// Package atomicfile creates small files that must never be seen half
// written: a seal key, a password. A kill or a power cut leaves either no
// file or the whole file, never an empty one that stops the next start.
package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Create writes data to a new file at path with mode perm: into a temporary
// file beside it, synced, then linked into place, which fails with an error
// matching os.ErrExist when path already exists (an existing file is never
// replaced), and the folder synced so that the name survives a power cut.
func Create(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	if err := tmp.Chmod(perm); err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s: %w", path, os.ErrExist)
		}
		// A file system without hard links (some network shares): rename,
		// having looked first; only another writer racing for the same
		// name could slip in between.
		if _, serr := os.Lstat(path); serr == nil {
			return fmt.Errorf("%s: %w", path, os.ErrExist)
		}
		if err := os.Rename(tmp.Name(), path); err != nil {
			return err
		}
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
