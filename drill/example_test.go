package drill_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/drill"
	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/repo/backend/mem"
	cairnfs "github.com/cairnbackup/cairn/source/fs"
)

func ExampleRun() {
	ctx := context.Background()
	r, _ := repo.Init(ctx, mem.New(), "secret",
		repo.InitOptions{Key: repo.KeyOptions{KDF: crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}}})
	dir, _ := os.MkdirTemp("", "cairn-example-")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "app.conf"), []byte("listen = :8080\n"), 0o644)
	os.Mkdir(filepath.Join(dir, "data"), 0o750)
	for _, name := range []string{"a.db", "b.db", "c.db"} {
		os.WriteFile(filepath.Join(dir, "data", name), []byte("rows"), 0o600)
	}
	os.Symlink("data/a.db", filepath.Join(dir, "current.db"))
	sn, _ := r.Backup(ctx, cairnfs.Dir(dir, cairnfs.Options{}), repo.BackupOptions{})

	// The whole snapshot, into a temporary directory removed afterwards.
	rep, err := drill.Run(ctx, r, sn.ID, drill.Options{})
	if err != nil {
		fmt.Println("restore failed:", err)
		return
	}
	fmt.Printf("ok: %v, %d files, %d dirs, %d other, %d bytes, %d verified\n",
		rep.OK(), rep.Files, rep.Dirs, rep.Other, rep.Bytes, rep.Verified)

	// Two files chosen at random; the seed makes the choice repeatable.
	rep, _ = drill.Run(ctx, r, sn.ID, drill.Options{Files: 2, Seed: 1})
	fmt.Printf("sample ok: %v, %d files, %d dirs\n", rep.OK(), rep.Files, rep.Dirs)
	for _, m := range rep.Mismatches {
		fmt.Println(m) // e.g. "app.conf: mode: 0600, the snapshot has 0644"
	}
	// Output:
	// ok: true, 4 files, 2 dirs, 1 other, 27 bytes, 4 verified
	// sample ok: true, 2 files, 2 dirs
}
