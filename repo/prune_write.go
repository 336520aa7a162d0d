package repo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cairnbackup/cairn/index"
	"github.com/cairnbackup/cairn/repo/backend"
)

// indexFileBlobs is about how many blobs prune puts in one index file.
const indexFileBlobs = 1 << 20

// write carries out the plan: copies first, then the index files that
// condemn and the ones that replace the old index, and only then the
// deletions.
func (p *pruner) write(ctx context.Context) error {
	w, err := p.repack(ctx)
	if err != nil {
		return err
	}
	if err := p.writeCondemned(ctx); err != nil {
		return err
	}
	// The copies' index file comes after the condemnation, so that lookups
	// here find the copies rather than the condemned originals. A crash in
	// between leaves the originals condemned but needed, which the next
	// prune keeps, and the copies unindexed, which it condemns.
	if w != nil {
		if err := w.Flush(ctx); err != nil {
			return fmt.Errorf("repack: %w", err)
		}
		p.rep.IndexFiles++
	}
	superseded, err := p.writeMerged(ctx)
	if err != nil {
		return err
	}
	if err := validLock(p.lock); err != nil {
		return err // nothing deleted: the next prune starts over
	}
	for _, pp := range p.sortedPacks() {
		if pp.action != pruneDelete || !p.isStored(pp.ID) {
			continue
		}
		h := backend.Handle{Type: backend.PackFile, Name: pp.ID.String()}
		if err := p.r.be.Remove(ctx, h); err != nil && !errors.Is(err, backend.ErrNotFound) {
			return &FileError{File: h, Op: "remove", Err: err}
		}
	}
	for _, id := range append(superseded, p.dead...) {
		h := backend.Handle{Type: backend.IndexFile, Name: id.String()}
		if err := p.r.be.Remove(ctx, h); err != nil && !errors.Is(err, backend.ErrNotFound) {
			return &FileError{File: h, Op: "remove", Err: err}
		}
		p.rep.IndexFilesRemoved++
	}
	return p.r.refreshIndex(ctx)
}

// repack copies the needed blobs of repacked packs into new packs; the
// caller flushes the returned Writer (nil if nothing is copied).
func (p *pruner) repack(ctx context.Context) (*Writer, error) {
	if len(p.toCopy) == 0 {
		return nil, nil
	}
	w := p.r.NewWriter()
	w.avoid = make(map[ID]bool)
	for _, pp := range p.packs {
		if pp.action == pruneRepack {
			w.avoid[pp.ID] = true
		}
	}
	var buf []byte
	for _, h := range p.toCopy {
		data, err := p.r.LoadBlob(ctx, h.Type, h.ID, buf)
		if err != nil {
			return nil, fmt.Errorf("repack: %w", err)
		}
		if _, err := w.saveBlob(ctx, h, data); err != nil {
			return nil, fmt.Errorf("repack: %w", err)
		}
		p.rep.BytesRepacked += uint64(len(data))
		buf = data
	}
	return w, nil
}

// writeCondemned stores one index file naming the packs condemned now.
func (p *pruner) writeCondemned(ctx context.Context) error {
	packs := slices.Clone(p.unindexed)
	for _, pp := range p.sortedPacks() {
		if pp.action == pruneCondemn || pp.action == pruneRepack {
			packs = append(packs, index.Pack{ID: pp.ID, Type: pp.Type, Condemned: true, Blobs: pp.Blobs})
		}
	}
	if len(packs) == 0 {
		return nil
	}
	if _, err := p.r.storeIndexFile(ctx, &index.File{Created: time.Now().UTC(), Packs: packs}); err != nil {
		return err
	}
	p.rep.IndexFiles++
	return nil
}

// writeMerged stores the packs that stay, in files of about
// indexFileBlobs blobs; the last one written supersedes the live files
// that it and the others replace, so that until it exists the old files
// stay live. It returns the superseded files.
func (p *pruner) writeMerged(ctx context.Context) ([]ID, error) {
	var old []ID
	for id := range p.files {
		if p.superseded(id) {
			old = append(old, id)
		}
	}
	slices.SortFunc(old, compareIDs)
	var groups [][]index.Pack
	n := indexFileBlobs
	for _, pp := range p.sortedPacks() {
		if pp.action != pruneKeep && pp.action != pruneUncondemn {
			continue
		}
		if n+len(pp.Blobs) > indexFileBlobs && n > 0 {
			groups = append(groups, nil)
			n = 0
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], index.Pack{ID: pp.ID, Type: pp.Type, Blobs: pp.Blobs})
		n += len(pp.Blobs)
	}
	if !p.changes() && len(old) <= 1 {
		return nil, nil // the index is as it should be
	}
	if len(groups) == 0 {
		groups = append(groups, nil) // a file that only supersedes
	}
	for i, packs := range groups {
		f := &index.File{Created: time.Now().UTC(), Packs: packs}
		if i == len(groups)-1 {
			f.Supersedes = old
		}
		if _, err := p.r.storeIndexFile(ctx, f); err != nil {
			return nil, err
		}
		p.rep.IndexFiles++
	}
	return old, nil
}

// changes reports whether the plan changes any pack's state.
func (p *pruner) changes() bool {
	if len(p.unindexed) > 0 {
		return true
	}
	for _, pp := range p.packs {
		if pp.action != pruneKeep && pp.action != pruneWait {
			return true
		}
	}
	return false
}
