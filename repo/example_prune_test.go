package repo_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/repo/backend/mem"
	cairnfs "github.com/cairnbackup/cairn/source/fs"
)

// Forget all but the newest snapshot, then prune: the tree pack the two
// snapshots shared in part is repacked. With no backup running, one prune
// condemns and deletes; a backup that held a lock when packs were
// condemned would make them wait for the next prune.
func ExampleRepository_Prune() {
	ctx := context.Background()
	r, _ := repo.Init(ctx, mem.New(), "secret", repo.InitOptions{Key: keyOpts})
	dir := exampleDir()
	defer os.RemoveAll(dir)
	for range 2 {
		if _, err := r.Backup(ctx, cairnfs.Dir(dir, cairnfs.Options{}), repo.BackupOptions{NoParent: true}); err != nil {
			fmt.Println(err)
			return
		}
		os.WriteFile(dir+"/new.txt", []byte("changed"), 0o644)
	}
	res, err := r.Forget(ctx, repo.Policy{Last: 1}, repo.ForgetOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("forgotten:", len(res.Removed))
	rep, err := r.Prune(ctx, repo.PruneOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("repacked:", len(rep.Repacked), "deleted:", len(rep.Deleted), "waiting:", len(rep.Waiting))
	// Output:
	// forgotten: 1
	// repacked: 1 deleted: 1 waiting: 0
}

// Maintenance excludes itself: a second prune while one holds the lock is
// refused, and the error names the holder.
func ExampleRepository_Lock() {
	ctx := context.Background()
	r, _ := repo.Init(ctx, mem.New(), "secret", repo.InitOptions{Key: keyOpts})
	l, err := r.Lock(ctx, "prune", true)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Unlock(ctx)
	_, err = r.Prune(ctx, repo.PruneOptions{})
	var locked *repo.LockedError
	fmt.Println(errors.Is(err, repo.ErrLocked), errors.As(err, &locked) && locked.Holder.Operation == "prune")
	// Output:
	// true true
}
