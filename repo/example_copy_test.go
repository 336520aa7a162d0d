package repo_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/repo/backend/mem"
	cairnfs "github.com/cairnbackup/cairn/source/fs"
)

// Replicate a repository offsite: the replica has its own password and
// encryption key but the same chunking and blob IDs, so each copy sends
// only what the replica lacks.
func ExampleRepository_Copy() {
	ctx := context.Background()
	local, _ := repo.Init(ctx, mem.New(), "secret", repo.InitOptions{Key: keyOpts})
	offsite, _ := repo.Init(ctx, mem.New(), "offsite secret", repo.InitOptions{Key: keyOpts, ChunkerFrom: local})
	dir := exampleDir()
	defer os.RemoveAll(dir)
	src := cairnfs.Dir(dir, cairnfs.Options{})

	local.Backup(ctx, src, repo.BackupOptions{})
	rep, err := local.Copy(ctx, offsite, nil, repo.CopyOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("first:", rep.Copied, "copied,", rep.BlobsCopied, "blobs")

	os.WriteFile(filepath.Join(dir, "new.txt"), []byte("news"), 0o644)
	local.Backup(ctx, src, repo.BackupOptions{})
	rep, _ = local.Copy(ctx, offsite, nil, repo.CopyOptions{})
	fmt.Println("then:", rep.Copied, "copied,", rep.Skipped, "skipped,", rep.BlobsCopied, "blobs,", rep.BlobsPresent, "there already")
	// Output:
	// first: 1 copied, 5 blobs
	// then: 1 copied, 1 skipped, 2 blobs, 4 there already
}
