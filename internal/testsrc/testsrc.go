// Package testsrc supplies realistic test and benchmark input: source text
// from the Go distribution on this machine, which compresses like the
// source trees and configuration people back up, and files of seeded
// random bytes (Random), which do not.
package testsrc

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// GoSource concatenates .go files of the Go distribution until it has n
// bytes, cycling through them again if there are too few.
func GoSource(n int) ([]byte, error) {
	out := make([]byte, 0, n)
	root := filepath.Join(runtime.GOROOT(), "src")
	for len(out) < n {
		before := len(out)
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || len(out) >= n {
				return err
			}
			if strings.HasSuffix(path, ".go") {
				b, err := os.ReadFile(path)
				out = append(out, b...)
				return err
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(out) == before {
			return nil, fs.ErrNotExist
		}
	}
	return out[:n], nil
}
