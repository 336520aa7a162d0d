package fs_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cairnbackup/cairn/source"
	"github.com/cairnbackup/cairn/source/fs"
)

func ExampleDir() {
	root, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(root)
	os.MkdirAll(filepath.Join(root, "docs", "cache"), 0o755)
	os.WriteFile(filepath.Join(root, "docs", "b.txt"), []byte("bee"), 0o644)
	os.WriteFile(filepath.Join(root, "docs", "a.txt"), []byte("a"), 0o644)
	os.WriteFile(filepath.Join(root, "docs", "x.tmp"), nil, 0o644)

	src := fs.Dir(root, fs.Options{Exclude: []string{"*.tmp", "cache"}})
	err := src.Walk(context.Background(), func(e *source.Entry) error {
		fmt.Println(e.Type, e.Path, e.Size)
		return nil
	})
	if err != nil {
		fmt.Println(err)
	}
	// Output:
	// dir . 0
	// dir docs 0
	// file docs/a.txt 1
	// file docs/b.txt 3
}
