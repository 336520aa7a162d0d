package drill

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// makeScratch returns the directory to restore into: dir, which must be
// empty or not exist, or a new temporary one.
func makeScratch(dir string) (string, error) {
	if dir == "" {
		dir, err := os.MkdirTemp("", "cairn-drill-")
		if err != nil {
			return "", fmt.Errorf("drill: scratch directory: %w", err)
		}
		return dir, nil
	}
	names, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		err = os.MkdirAll(dir, 0o700)
	case err == nil && len(names) > 0:
		err = errors.New("not empty")
	}
	if err != nil {
		return "", fmt.Errorf("drill: scratch directory %s: %w", dir, err)
	}
	return dir, nil
}

// removeScratch removes dir, first giving its owner access to every
// directory in it, which a restored mode may deny.
func removeScratch(dir string) error {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o700) // before WalkDir lists it
		}
		return nil
	})
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("drill: remove scratch directory: %w", err)
	}
	return nil
}

// mtimeGranularity finds how precisely the file system at dir keeps
// modification times, so times are compared as precisely as it can
// restore them. If it cannot tell, it returns a nanosecond.
func mtimeGranularity(dir string) time.Duration {
	f, err := os.CreateTemp(dir, ".cairn-drill-probe-")
	if err != nil {
		return time.Nanosecond
	}
	f.Close()
	defer os.Remove(f.Name())
	want := time.Unix(1_700_000_000, 123_456_789)
	if err := os.Chtimes(f.Name(), want, want); err != nil {
		return time.Nanosecond
	}
	fi, err := os.Lstat(f.Name())
	if err != nil {
		return time.Nanosecond
	}
	for _, g := range []time.Duration{time.Nanosecond, time.Microsecond, time.Millisecond,
		10 * time.Millisecond, 100 * time.Millisecond, time.Second, 2 * time.Second} {
		if want.Truncate(g).Equal(fi.ModTime()) {
			return g
		}
	}
	return time.Nanosecond
}
