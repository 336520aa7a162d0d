package repo_test

import (
	"context"
	"fmt"
	"os"

	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/mem"
	cairnfs "github.com/cairnbackup/cairn/source/fs"
)

func ExampleRepository_Check() {
	ctx := context.Background()
	be := mem.New()
	// One open data pack, so that the example's data is in one pack.
	opts := repo.Options{PackWriters: 1}
	r, _ := repo.Init(ctx, be, "secret", repo.InitOptions{Options: opts, Key: keyOpts})
	dir := exampleDir()
	defer os.RemoveAll(dir)
	sn, err := r.Backup(ctx, cairnfs.Dir(dir, cairnfs.Options{}), repo.BackupOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}

	rep, err := r.Check(ctx, repo.CheckOptions{ReadData: true})
	if err != nil {
		fmt.Println(err) // the backend failed: nothing is known
		return
	}
	fmt.Println("ok:", rep.OK(), "snapshots:", rep.Snapshots, "packs read:", rep.PacksRead)

	// Lose the pack that holds the files' data.
	be.List(ctx, backend.PackFile, func(fi backend.FileInfo) error {
		id, _ := repo.ParseID(fi.Name)
		if hdr, _ := r.ReadPackHeader(ctx, id); hdr.Type == repo.DataBlob {
			return be.Remove(ctx, backend.Handle{Type: backend.PackFile, Name: fi.Name})
		}
		return nil
	})

	rep, _ = r.Check(ctx, repo.CheckOptions{})
	fmt.Println("ok:", rep.OK())
	for _, p := range rep.Problems {
		fmt.Println(p.Kind, "harms", len(p.Snapshots), "snapshot")
	}
	fmt.Println("damaged is the backup:", rep.Damaged()[0] == sn.ID)
	forgotten, _ := r.ForgetDamaged(ctx, rep)
	fmt.Println("forgotten:", len(forgotten))
	// Output:
	// ok: true snapshots: 1 packs read: 2
	// ok: false
	// missing pack harms 1 snapshot
	// damaged is the backup: true
	// forgotten: 1
}
