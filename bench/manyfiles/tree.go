package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sync/errgroup"
)

// The shape of a generated tree.
const (
	filesPerDir = 1000 // files per leaf directory
	dirsPerDir  = 100  // leaf directories per parent
	maxSize     = 4096 // file sizes are uniform in [0, maxSize]
	sharedEvery = 4    // about one file in sharedEvery is a copy of a shared content
	sharedCount = 500  // distinct shared contents
	vocabSize   = 512  // words the text is made of
)

// markerName is the file in a finished tree that names its n and seed.
const markerName = ".manyfiles"

func markerText(n int, seed uint64) string {
	return fmt.Sprintf("manyfiles v1 n=%d seed=%d\n", n, seed)
}

// generate makes n files under dir from seed, unless dir already holds that
// tree. It refuses to touch a non-empty dir that is not a generated tree.
// Files are written by several goroutines, a leaf directory each; the
// content of a file depends only on seed and its number.
func generate(ctx context.Context, dir string, n int, seed uint64) (reused bool, err error) {
	marker := filepath.Join(dir, markerName)
	want := markerText(n, seed)
	switch b, err := os.ReadFile(marker); {
	case err == nil && string(b) == want:
		return true, nil
	case err == nil: // another n or seed: ours to remake
		if err := os.RemoveAll(dir); err != nil {
			return false, err
		}
	case errors.Is(err, fs.ErrNotExist):
		if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
			return false, fmt.Errorf("%s is not empty and has no %s: not a generated tree, will not overwrite it", dir, markerName)
		}
	default:
		return false, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	vocab := vocabulary(seed)
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(4 * runtime.GOMAXPROCS(0)) // file creation waits on the file system more than the CPU
	for first := 0; first < n; first += filesPerDir {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			return writeLeaf(dir, first, min(first+filesPerDir, n), seed, vocab)
		})
	}
	if err := g.Wait(); err != nil {
		return false, err
	}
	return false, os.WriteFile(marker, []byte(want), 0o644)
}

// filePath returns the path of file i below the tree's root.
func filePath(i int) string {
	leaf := i / filesPerDir
	return filepath.Join(fmt.Sprintf("d%03d", leaf/dirsPerDir), fmt.Sprintf("d%02d", leaf%dirsPerDir), fmt.Sprintf("f%03d.txt", i%filesPerDir))
}

// writeLeaf writes files [first, end), which share a leaf directory.
func writeLeaf(root string, first, end int, seed uint64, vocab []string) error {
	if err := os.MkdirAll(filepath.Dir(filepath.Join(root, filePath(first))), 0o755); err != nil {
		return err
	}
	var buf []byte
	for i := first; i < end; i++ {
		buf = content(buf[:0], seed, i, vocab)
		if err := os.WriteFile(filepath.Join(root, filePath(i)), buf, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// content appends the content of file i: about one file in sharedEvery is a
// copy of one of sharedCount shared contents (as licences, generated and
// vendored files repeat in real trees), the others are unique. The text is
// words from a small vocabulary, so it compresses about as well as source
// code does.
func content(buf []byte, seed uint64, i int, vocab []string) []byte {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	if r.IntN(sharedEvery) == 0 {
		r = rand.New(rand.NewPCG(^seed, uint64(r.IntN(sharedCount))))
	}
	size := r.IntN(maxSize + 1)
	line := 0
	for len(buf) < size {
		w := vocab[r.IntN(len(vocab))]
		buf = append(buf, w...)
		if line += len(w) + 1; line > 60 {
			buf, line = append(buf, '\n'), 0
		} else {
			buf = append(buf, ' ')
		}
	}
	return buf[:size]
}

// vocabulary returns vocabSize random lower-case words of 2 to 9 letters.
func vocabulary(seed uint64) []string {
	r := rand.New(rand.NewPCG(seed, 1<<63))
	words := make([]string, vocabSize)
	var b strings.Builder
	for i := range words {
		b.Reset()
		for range 2 + r.IntN(8) {
			b.WriteByte(byte('a' + r.IntN(26)))
		}
		words[i] = b.String()
	}
	return words
}

// readTree reads every file under dir but the marker, so that the next step
// finds them in the page cache, and counts them.
func readTree(ctx context.Context, dir string) (files int, bytes int64, err error) {
	leaves, err := filepath.Glob(filepath.Join(dir, "d*", "d*"))
	if err != nil {
		return 0, 0, err
	}
	counts := make([]struct {
		files int
		bytes int64
	}, len(leaves))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(4 * runtime.GOMAXPROCS(0))
	for k, leaf := range leaves {
		g.Go(func() error {
			entries, err := os.ReadDir(leaf)
			if err != nil {
				return err
			}
			for _, e := range entries {
				if err := ctx.Err(); err != nil {
					return err
				}
				n, err := readFile(filepath.Join(leaf, e.Name()))
				if err != nil {
					return err
				}
				counts[k].files++
				counts[k].bytes += n
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return 0, 0, err
	}
	for _, c := range counts {
		files += c.files
		bytes += c.bytes
	}
	return files, bytes, nil
}

func readFile(name string) (int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return io.Copy(io.Discard, f)
}
