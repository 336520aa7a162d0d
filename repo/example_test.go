package repo_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/repo/backend/mem"
)

// Cheap key derivation keeps the examples fast; leave KDF zero in real use.
var keyOpts = repo.KeyOptions{KDF: crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}}

func Example() {
	ctx := context.Background()
	be := mem.New() // or local.New("/srv/backups/repo")
	r, err := repo.Init(ctx, be, "secret", repo.InitOptions{Key: keyOpts})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()

	w := r.NewWriter()
	data, _, _ := w.SaveBlob(ctx, repo.DataBlob, []byte("file content"))
	_, known, _ := w.SaveBlob(ctx, repo.DataBlob, []byte("file content"))
	fmt.Println("second save deduplicated:", known)

	tree, _, _ := w.SaveBlob(ctx, repo.TreeBlob, []byte("a directory listing naming "+data.String()))
	if _, err := w.SaveSnapshot(ctx, &repo.Snapshot{Time: time.Now(), Host: "example", Tree: tree}); err != nil {
		fmt.Println(err)
		return
	}

	// Later, maybe in another process:
	r2, err := repo.Open(ctx, be, "secret", repo.OpenOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	sn, _ := r2.FindSnapshot(ctx, "latest")
	fmt.Println("snapshot from", sn.Host)
	content, _ := r2.LoadBlob(ctx, repo.DataBlob, data, nil)
	fmt.Println(string(content))
	// Output:
	// second save deduplicated: true
	// snapshot from example
	// file content
}

func ExampleOpen_wrongPassword() {
	ctx := context.Background()
	be := mem.New()
	if _, err := repo.Init(ctx, be, "secret", repo.InitOptions{Key: keyOpts}); err != nil {
		fmt.Println(err)
		return
	}
	_, err := repo.Open(ctx, be, "guess", repo.OpenOptions{})
	fmt.Println(errors.Is(err, repo.ErrWrongPassword))
	// Output: true
}

func ExampleRepository_ChangePassword() {
	ctx := context.Background()
	be := mem.New()
	r, err := repo.Init(ctx, be, "old", repo.InitOptions{Key: keyOpts})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := r.ChangePassword(ctx, "new", keyOpts); err != nil {
		fmt.Println(err)
		return
	}
	_, errOld := repo.Open(ctx, be, "old", repo.OpenOptions{})
	_, errNew := repo.Open(ctx, be, "new", repo.OpenOptions{})
	fmt.Println(errors.Is(errOld, repo.ErrWrongPassword), errNew)
	// Output: true <nil>
}

func ExampleRepository_LoadBlob_notFound() {
	ctx := context.Background()
	r, err := repo.Init(ctx, mem.New(), "secret", repo.InitOptions{Key: keyOpts})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = r.LoadBlob(ctx, repo.DataBlob, repo.ID{0xde, 0xad}, nil)
	var be *repo.BlobError
	fmt.Println(errors.Is(err, repo.ErrNotFound), errors.As(err, &be))
	// Output: true true
}
