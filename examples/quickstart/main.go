// Command quickstart runs cairn's main job end to end with no setup: it
// creates a repository in a new temporary directory, generates a sample
// directory tree, backs it up, changes a few files and backs up again,
// restores the latest snapshot into a fresh directory and verifies every
// file byte for byte against the sample.
//
//	go run ./examples/quickstart [-keep]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/repo/backend/local"
	"github.com/cairnbackup/cairn/source/fs"
)

const password = "quickstart password"

func main() {
	keep := flag.Bool("keep", false, "keep the temporary directory")
	flag.Parse()
	if err := run(context.Background(), *keep); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, keep bool) error {
	tmp, err := os.MkdirTemp("", "cairn-quickstart-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Println("working in", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	data, repoDir, restoreDir := filepath.Join(tmp, "data"), filepath.Join(tmp, "repo"), filepath.Join(tmp, "restore")
	if err := writeSample(data); err != nil {
		return err
	}
	r, err := repo.Init(ctx, local.New(repoDir), password, repo.InitOptions{})
	if err != nil {
		return err
	}
	defer r.Close()
	src := fs.Dir(data, fs.Options{Exclude: []string{"*.tmp"}})
	if _, err := backup(ctx, r, src, "first"); err != nil {
		return err
	}
	if err := changeSample(data); err != nil {
		return err
	}
	sn, err := backup(ctx, r, src, "second")
	if err != nil {
		return err
	}

	start := time.Now()
	err = r.Restore(ctx, sn.ID, fs.Into(restoreDir, fs.TargetOptions{}), repo.RestoreOptions{Verify: true})
	if err != nil {
		return err
	}
	files, err := compareTrees(data, restoreDir)
	if err != nil {
		return err
	}
	fmt.Printf("restored snapshot %s in %v: %d files identical to the originals, byte for byte\n",
		sn.ID.Short(), time.Since(start).Round(time.Millisecond), files)
	st, err := r.Stats(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("repository: %d snapshots, %.1f MB stored\n", st.Snapshots, mb(st.StoredBytes))
	return nil
}

// backup saves one snapshot of src and says what it cost.
func backup(ctx context.Context, r *repo.Repository, src *fs.Source, label string) (*repo.Snapshot, error) {
	sn, err := r.Backup(ctx, src, repo.BackupOptions{Tags: []string{"quickstart"}})
	if err != nil {
		return nil, err
	}
	s := sn.Summary
	total := s.BytesRead
	fmt.Printf("%s backup, snapshot %s: %d files (%d new, %d changed, %d unchanged), read %.1f MB, added %.1f MB, stored %.1f MB, %v\n",
		label, sn.ID.Short(), s.FilesNew+s.FilesChanged+s.FilesUnchanged, s.FilesNew, s.FilesChanged, s.FilesUnchanged,
		mb(total), mb(s.BytesAdded), mb(s.BytesStored), s.Duration.Round(time.Millisecond))
	if s.BytesRead > 0 {
		fmt.Printf("  dedup and compression: %.1f MB read became %.1f MB in the repository (%.1fx)\n",
			mb(s.BytesRead), mb(s.BytesStored), float64(s.BytesRead)/float64(max(s.BytesStored, 1)))
	}
	return sn, nil
}

func mb(n uint64) float64 { return float64(n) / 1e6 }
