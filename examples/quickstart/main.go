// Command quickstart shows cairn's repository core end to end, with no setup:
// it creates a repository in a new temporary directory, stores a generated
// data set, changes a few files and stores it again, then opens the
// repository afresh, reads every file back and verifies it byte for byte.
//
//	go run ./examples/quickstart [-keep]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/cairnbackup/cairn/chunk"
	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/repo/backend/local"
)

const password = "quickstart password"

// manifest maps file names to their chunks. It stands in for the directory
// trees of a real backup and is stored as the snapshot's tree blob.
type manifest map[string][]repo.ID

func main() {
	keep := flag.Bool("keep", false, "keep the repository directory")
	flag.Parse()
	if err := run(context.Background(), *keep); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, keep bool) error {
	dir, err := os.MkdirTemp("", "cairn-quickstart-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(dir)
	}
	fmt.Println("repository:", dir)
	r, err := repo.Init(ctx, local.New(dir), password, repo.InitOptions{})
	if err != nil {
		return err
	}

	files := sampleFiles()
	first, err := store(ctx, r, files, "first")
	if err != nil {
		return err
	}
	for _, name := range []string{"logs/app.log", "data/table-03.bin"} {
		files[name] = append(bytes.Clone(files[name][:len(files[name])/2]), []byte("changed!")...)
	}
	files["notes/new.txt"] = []byte("a file added before the second backup\n")
	second, err := store(ctx, r, files, "second")
	if err != nil {
		return err
	}

	// Open again, as a restore on another day would, and verify everything.
	r, err = repo.Open(ctx, local.New(dir), password, repo.OpenOptions{})
	if err != nil {
		return err
	}
	for _, id := range []repo.ID{first, second} {
		if err := verify(ctx, r, id, files, id == second); err != nil {
			return err
		}
	}
	fmt.Println("every file of the second snapshot read back and verified")
	return nil
}

// store backs up files as one snapshot and reports what it added.
func store(ctx context.Context, r *repo.Repository, files map[string][]byte, label string) (repo.ID, error) {
	start := time.Now()
	c, err := chunk.New(r.Polynomial(), r.Config().Chunking)
	if err != nil {
		return repo.ID{}, err
	}
	w := r.NewWriter()
	m := manifest{}
	var total, added int
	var buf []byte
	for name, data := range files {
		c.Reset(bytes.NewReader(data))
		for {
			if buf, err = c.Next(buf); err != nil {
				break
			}
			id, known, err := w.SaveBlob(ctx, repo.DataBlob, buf)
			if err != nil {
				return repo.ID{}, err
			}
			m[name] = append(m[name], id)
			if !known {
				added += len(buf)
			}
		}
		total += len(data)
	}
	tree, _ := json.Marshal(m)
	treeID, _, err := w.SaveBlob(ctx, repo.TreeBlob, tree)
	if err != nil {
		return repo.ID{}, err
	}
	id, err := w.SaveSnapshot(ctx, &repo.Snapshot{Time: time.Now(), Host: "quickstart", Tree: treeID,
		Source: repo.SourceInfo{Kind: "example", Description: label}})
	if err != nil {
		return repo.ID{}, err
	}
	fmt.Printf("%s backup: %d files, %.1f MB, %.1f MB new (dedup ratio %.1fx), snapshot %s, %v\n",
		label, len(files), mb(total), mb(added), float64(total)/float64(max(added, 1)), id.Short(),
		time.Since(start).Round(time.Millisecond))
	return id, nil
}

// verify reads every file of a snapshot back; the latest must equal files.
func verify(ctx context.Context, r *repo.Repository, id repo.ID, files map[string][]byte, latest bool) error {
	sn, err := r.LoadSnapshot(ctx, id)
	if err != nil {
		return err
	}
	tree, err := r.LoadBlob(ctx, repo.TreeBlob, sn.Tree, nil)
	if err != nil {
		return err
	}
	var m manifest
	if err := json.Unmarshal(tree, &m); err != nil {
		return err
	}
	for name, chunks := range m {
		var content, buf []byte
		for _, c := range chunks {
			if buf, err = r.LoadBlob(ctx, repo.DataBlob, c, buf); err != nil {
				return err
			}
			content = append(content, buf...)
		}
		if latest && !bytes.Equal(content, files[name]) {
			return fmt.Errorf("snapshot %s: %s differs after restore", id.Short(), name)
		}
	}
	return nil
}

// sampleFiles makes about 40 MB of files: text that compresses and random
// data that does not.
func sampleFiles() map[string][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	files := map[string][]byte{}
	var log bytes.Buffer
	for i := range 200000 {
		fmt.Fprintf(&log, "2026-11-21T10:%02d:%02d level=info request=%d status=200\n", i/60%60, i%60, i)
	}
	files["logs/app.log"] = log.Bytes()
	for i := range 5 {
		data := make([]byte, 6<<20)
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		files[fmt.Sprintf("data/table-%02d.bin", i)] = data
	}
	return files
}

func mb(n int) float64 { return float64(n) / 1e6 }
