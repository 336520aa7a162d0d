package compress

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// readGoSource concatenates about 1 MiB of the Go distribution's own .go
// files: real, compressible source text for benchmarks.
func readGoSource() ([]byte, error) {
	var out []byte
	root := filepath.Join(runtime.GOROOT(), "src", "net", "http")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || len(out) >= 1<<20 {
			return err
		}
		if strings.HasSuffix(path, ".go") {
			b, err := os.ReadFile(path)
			out = append(out, b...)
			return err
		}
		return nil
	})
	return out[:min(len(out), 1<<20)], err
}
