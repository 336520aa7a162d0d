package repo

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/index"
	"github.com/cairnbackup/cairn/repo/backend"
	"golang.org/x/sync/errgroup"
)

// loadConcurrency is how many index files or snapshots are fetched and
// decoded at once.
const loadConcurrency = 4

// loadIndex reads every index file and adds the live ones (those no other
// file supersedes) to the in-memory index.
func (r *Repository) loadIndex(ctx context.Context) error {
	ids, err := listIDs(ctx, r.be, backend.IndexFile)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	files := make(map[crypto.ID]*index.File, len(ids))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(loadConcurrency)
	for _, id := range ids {
		g.Go(func() error {
			f, err := r.loadIndexFile(gctx, id)
			if err != nil {
				return err
			}
			mu.Lock()
			files[id] = f
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	live := make([]*index.File, 0, len(files))
	for _, id := range index.Live(files) {
		live = append(live, files[id])
	}
	if err := r.idx.AddFiles(live...); err != nil {
		return fmt.Errorf("load index: %w", err)
	}
	r.idx.Compact()
	return nil
}

func (r *Repository) loadIndexFile(ctx context.Context, id crypto.ID) (*index.File, error) {
	data, err := loadFile(ctx, r.be, backend.IndexFile, id)
	if err != nil {
		return nil, err
	}
	f, err := index.Decode(r.key, data)
	if err != nil {
		return nil, &FileError{File: backend.Handle{Type: backend.IndexFile, Name: id.String()}, Op: "decode", Err: err}
	}
	return f, nil
}

// saveIndexFile stores an index file naming packs, which must all be stored
// already, and only then adds them to the in-memory index: nothing is
// looked up for deduplication before a file that names it exists.
func (r *Repository) saveIndexFile(ctx context.Context, packs []index.Pack) (crypto.ID, error) {
	f := &index.File{Created: time.Now().UTC(), Packs: packs}
	data, err := f.Encode(r.key)
	if err != nil {
		return crypto.ID{}, err
	}
	id, err := saveFile(ctx, r.be, backend.IndexFile, data)
	if err != nil {
		return id, err
	}
	if err := r.idx.AddFile(f); err != nil {
		return id, fmt.Errorf("index %s: %w", id.Short(), err)
	}
	return id, nil
}
