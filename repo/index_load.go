package repo

import (
	"context"
	"errors"
	"fmt"
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
// file supersedes) to the in-memory index. It keeps each file compactly as
// it is decoded and drops the decoded form, so that opening holds little
// more than the index itself (see index.Loader); at most loadConcurrency
// files are decoded at once.
func (r *Repository) loadIndex(ctx context.Context) error {
	ids, err := listIDs(ctx, r.be, backend.IndexFile)
	if err != nil {
		return err
	}
	r.cache.retain(backend.IndexFile, ids)
	var l index.Loader
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(loadConcurrency)
	for _, id := range ids {
		g.Go(func() error {
			f, err := r.loadIndexFile(gctx, id)
			if err != nil {
				return err
			}
			if err := l.Add(id, f); err != nil {
				return fmt.Errorf("index %s: %w", id.Short(), err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	files := l.Files()
	live := index.Live(files)
	r.idxMu.Lock()
	defer r.idxMu.Unlock()
	for _, id := range live {
		r.noteIndexFile(id, files[id])
	}
	if err := l.AddTo(r.idx, live); err != nil {
		return fmt.Errorf("load index: %w", err)
	}
	r.idx.Compact()
	return nil
}

// indexMeta is what the repository remembers of a loaded index file.
type indexMeta struct {
	supersedes []crypto.ID
	packs      []packKey
}

type packKey struct {
	id  crypto.ID
	typ BlobType
}

// noteIndexFile records a file added to the in-memory index. r.idxMu held.
func (r *Repository) noteIndexFile(id crypto.ID, f *index.File) {
	m := indexMeta{supersedes: f.Supersedes, packs: make([]packKey, len(f.Packs))}
	for i, p := range f.Packs {
		m.packs[i] = packKey{p.ID, p.Type}
	}
	if r.indexFiles == nil {
		r.indexFiles = make(map[crypto.ID]indexMeta)
	}
	r.indexFiles[id] = m
}

// refreshIndex brings the in-memory index up to date with the index files
// stored now: it adds the new live files, and condemns, in memory, the
// packs that only files gone since (deleted or superseded by a prune) named,
// since prune may delete those packs. Operations that write (backup, prune)
// call it once they hold their lock, so that a long-lived Repository never
// deduplicates against a pack a prune condemned after it was opened.
func (r *Repository) refreshIndex(ctx context.Context) error {
	ids, err := listIDs(ctx, r.be, backend.IndexFile)
	if err != nil {
		return err
	}
	r.cache.retain(backend.IndexFile, ids)
	r.idxMu.Lock()
	defer r.idxMu.Unlock()
	files := make(map[crypto.ID]*index.File, len(ids))
	var fresh []crypto.ID
	for _, id := range ids {
		if m, ok := r.indexFiles[id]; ok {
			files[id] = &index.File{Supersedes: m.supersedes}
		} else {
			fresh = append(fresh, id)
		}
	}
	for _, id := range fresh {
		f, err := r.loadIndexFile(ctx, id)
		if errors.Is(err, backend.ErrNotFound) {
			continue // superseded and deleted since the listing
		}
		if err != nil {
			return err
		}
		files[id] = f
	}
	live := index.Live(files)
	listed := make(map[packKey]bool)
	isLive := make(map[crypto.ID]bool, len(live))
	for _, id := range live {
		isLive[id] = true
		if _, loaded := r.indexFiles[id]; !loaded {
			if err := r.idx.AddFile(files[id]); err != nil {
				return fmt.Errorf("index %s: %w", id.Short(), err)
			}
			r.noteIndexFile(id, files[id])
		}
		for _, p := range r.indexFiles[id].packs {
			listed[p] = true
		}
	}
	for id, m := range r.indexFiles {
		if isLive[id] {
			continue
		}
		delete(r.indexFiles, id)
		for _, p := range m.packs {
			if !listed[p] {
				if err := r.idx.AddPack(index.Pack{ID: p.id, Type: p.typ, Condemned: true}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (r *Repository) loadIndexFile(ctx context.Context, id crypto.ID) (*index.File, error) {
	data, err := r.loadCachedFile(ctx, backend.IndexFile, id)
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
	return r.storeIndexFile(ctx, &index.File{Created: time.Now().UTC(), Packs: packs})
}

// storeIndexFile stores f and then adds it to the in-memory index.
func (r *Repository) storeIndexFile(ctx context.Context, f *index.File) (crypto.ID, error) {
	data, err := f.Encode(r.key)
	if err != nil {
		return crypto.ID{}, err
	}
	id, err := saveFile(ctx, r.be, backend.IndexFile, data)
	if err != nil {
		return id, err
	}
	r.cache.store(backend.IndexFile, id, data)
	r.idxMu.Lock()
	defer r.idxMu.Unlock()
	if err := r.idx.AddFile(f); err != nil {
		return id, fmt.Errorf("index %s: %w", id.Short(), err)
	}
	r.noteIndexFile(id, f)
	return id, nil
}
