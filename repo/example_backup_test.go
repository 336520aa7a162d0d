package repo_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/repo/backend/mem"
	cairnfs "github.com/cairnbackup/cairn/source/fs"
)

// exampleDir makes a small directory to back up.
func exampleDir() string {
	dir, _ := os.MkdirTemp("", "cairn-example-")
	os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
	os.WriteFile(filepath.Join(dir, "etc/app.conf"), []byte("listen = :8080\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "data.db"), []byte("rows"), 0o600)
	os.WriteFile(filepath.Join(dir, "cache.tmp"), []byte("scratch"), 0o600)
	return dir
}

func ExampleRepository_Backup() {
	ctx := context.Background()
	r, _ := repo.Init(ctx, mem.New(), "secret", repo.InitOptions{Key: keyOpts})
	dir := exampleDir()
	defer os.RemoveAll(dir)

	src := cairnfs.Dir(dir, cairnfs.Options{Exclude: []string{"*.tmp"}})
	first, err := r.Backup(ctx, src, repo.BackupOptions{Tags: []string{"nightly"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("first:", first.Summary.FilesNew, "new files")

	// Incremental forever: unchanged files are not even read.
	second, _ := r.Backup(ctx, src, repo.BackupOptions{})
	fmt.Println("second:", second.Summary.FilesUnchanged, "unchanged,", second.Summary.BytesRead, "bytes read")
	// Output:
	// first: 2 new files
	// second: 2 unchanged, 0 bytes read
}

func ExampleRepository_Restore() {
	ctx := context.Background()
	r, _ := repo.Init(ctx, mem.New(), "secret", repo.InitOptions{Key: keyOpts})
	dir := exampleDir()
	defer os.RemoveAll(dir)
	sn, _ := r.Backup(ctx, cairnfs.Dir(dir, cairnfs.Options{}), repo.BackupOptions{})

	target, _ := os.MkdirTemp("", "cairn-restore-")
	defer os.RemoveAll(target)
	err := r.Restore(ctx, sn.ID, cairnfs.Into(target, cairnfs.TargetOptions{}),
		repo.RestoreOptions{Include: []string{"/etc"}, Verify: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	conf, _ := os.ReadFile(filepath.Join(target, "etc/app.conf"))
	_, err = os.Stat(filepath.Join(target, "data.db"))
	fmt.Printf("%sdata.db restored: %v\n", conf, err == nil)
	// Output:
	// listen = :8080
	// data.db restored: false
}

func ExampleRepository_FS() {
	ctx := context.Background()
	r, _ := repo.Init(ctx, mem.New(), "secret", repo.InitOptions{Key: keyOpts})
	dir := exampleDir()
	defer os.RemoveAll(dir)
	sn, _ := r.Backup(ctx, cairnfs.Dir(dir, cairnfs.Options{}), repo.BackupOptions{})

	fsys, err := r.FS(ctx, sn.ID)
	if err != nil {
		fmt.Println(err)
		return
	}
	fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		fmt.Println(p, d.Type())
		return err
	})
	conf, _ := fs.ReadFile(fsys, "etc/app.conf") // streamed from the repository
	fmt.Print(string(conf))
	// Output:
	// . d---------
	// cache.tmp ----------
	// data.db ----------
	// etc d---------
	// etc/app.conf ----------
	// listen = :8080
}
