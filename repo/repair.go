package repo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cairnbackup/cairn/index"
	"github.com/cairnbackup/cairn/pack"
	"github.com/cairnbackup/cairn/repo/backend"
)

const (
	// rebuildHeaderBatch is how many pack headers RebuildIndex holds at
	// once before writing them out.
	rebuildHeaderBatch = 4096
	// rebuildFileBlobs bounds the blobs of one rebuilt index file, some
	// 40 MiB of payload: well below index.MaxPayloadSize.
	rebuildFileBlobs = 1 << 20
)

// RebuildReport is what RebuildIndex did.
type RebuildReport struct {
	Packs, Blobs int // in the new index files
	// Unreadable lists the packs left out because their header could not
	// be read, index files that could not be read (superseded all the
	// same), and stray files.
	Unreadable []Problem
	Removed    []ID // superseded index files, deleted
}

// RebuildIndex reads the header of every pack in the backend and writes new
// index files for all of them, superseding every existing index file except
// condemned-only ones (files in which every pack is condemned: they record
// prune's pending deletions and are kept as they are), then deletes the
// superseded files. A pack that any live index file condemns stays
// condemned. Packs whose header cannot be read are reported and left out.
// The in-memory index is replaced by the result.
//
// Index files are listed before packs: a file lists only packs stored
// before it, so every pack a superseded file names is in the new ones.
//
// RebuildIndex holds the exclusive lock, against prune; backups may run,
// since the index files they write meanwhile stay live. Within this
// process it must not run while anything else uses the Repository: the
// in-memory index is swapped for a new one without synchronization with
// readers of it. OpenOptions.NoIndex opens a repository whose index
// cannot be read, for this.
func (r *Repository) RebuildIndex(ctx context.Context) (rep *RebuildReport, err error) {
	err = r.withLock(ctx, "rebuild-index", true, func(ctx context.Context, _ *Lock) error {
		rep, err = r.rebuildIndex(ctx)
		return err
	})
	return rep, err
}

func (r *Repository) rebuildIndex(ctx context.Context) (*RebuildReport, error) {
	rep := &RebuildReport{}
	old, err := r.readOldIndex(ctx, rep)
	if err != nil {
		return nil, err
	}
	objs, stray, err := listObjects(ctx, r.be, backend.PackFile)
	if err != nil {
		return nil, err
	}
	rep.Unreadable = append(rep.Unreadable, stray...)
	slices.SortFunc(objs, func(a, b object) int { return compareIDs(a.id, b.id) })

	w := &rebuildWriter{r: r, fresh: index.New(), files: make(map[ID]*index.File)}
	for start := 0; start < len(objs); start += rebuildHeaderBatch {
		packs, err := r.readHeaders(ctx, objs[start:min(start+rebuildHeaderBatch, len(objs))], old.condemned, rep)
		if err != nil {
			return nil, err
		}
		for _, p := range packs {
			if err := w.add(ctx, p); err != nil {
				return nil, err
			}
			rep.Packs++
			rep.Blobs += len(p.Blobs)
		}
	}
	// The last file supersedes the old ones: until it is stored, they stay
	// live beside the new files, which is harmless.
	if len(w.pending) > 0 || len(old.superseded) > 0 {
		if err := w.flush(ctx, old.superseded); err != nil {
			return nil, err
		}
	}
	for id, f := range old.kept {
		if err := w.fresh.AddFile(f); err != nil {
			return nil, fmt.Errorf("index %s: %w", id.Short(), err)
		}
		w.files[id] = f
	}
	w.fresh.Compact()
	r.swapIndex(w.fresh, w.files)

	slices.SortFunc(rep.Unreadable, func(a, b Problem) int { return strings.Compare(a.Object, b.Object) })
	for _, id := range old.superseded {
		h := backend.Handle{Type: backend.IndexFile, Name: id.String()}
		if err := r.be.Remove(ctx, h); err != nil {
			if errors.Is(err, ErrNotFound) {
				continue
			}
			return rep, &FileError{File: h, Op: "remove superseded", Err: err}
		}
		rep.Removed = append(rep.Removed, id)
	}
	return rep, nil
}

// oldIndex is what RebuildIndex found in the existing index files.
type oldIndex struct {
	superseded []ID               // files to replace, sorted
	kept       map[ID]*index.File // live condemned-only files
	condemned  map[ID]bool        // packs live files condemn
}

// readOldIndex reads every index file. Files that cannot be read are
// reported and superseded.
func (r *Repository) readOldIndex(ctx context.Context, rep *RebuildReport) (*oldIndex, error) {
	objs, stray, err := listObjects(ctx, r.be, backend.IndexFile)
	if err != nil {
		return nil, err
	}
	rep.Unreadable = append(rep.Unreadable, stray...)
	var mu sync.Mutex
	files := make(map[ID]*index.File, len(objs)) // readable ones, without blobs
	full := make(map[ID]*index.File)             // condemned-only ones, whole
	err = forEach(ctx, objs, loadConcurrency, func(ctx context.Context, _ int, o object) error {
		f, err := r.loadIndexFile(ctx, o.id)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			files[o.id] = slimFile(f)
			if condemnedOnly(f) {
				full[o.id] = f
			}
		case isDamage(err):
			rep.Unreadable = append(rep.Unreadable, Problem{Kind: UnreadableIndex, Object: "index file " + o.id.String(), Err: err})
		default:
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	old := &oldIndex{kept: make(map[ID]*index.File), condemned: make(map[ID]bool)}
	live := make(map[ID]bool)
	for _, id := range index.Live(files) {
		live[id] = true
		for _, p := range files[id].Packs {
			if p.Condemned {
				old.condemned[p.ID] = true
			}
		}
	}
	for _, o := range objs {
		if f, ok := full[o.id]; ok && live[o.id] {
			old.kept[o.id] = f
		} else {
			old.superseded = append(old.superseded, o.id)
		}
	}
	slices.SortFunc(old.superseded, compareIDs)
	return old, nil
}

// condemnedOnly reports whether every pack f names is condemned.
func condemnedOnly(f *index.File) bool {
	for _, p := range f.Packs {
		if !p.Condemned {
			return false
		}
	}
	return len(f.Packs) > 0
}

// slimFile is f without its blob lists: what is needed to tell which files
// are live and which packs they name.
func slimFile(f *index.File) *index.File {
	s := &index.File{Created: f.Created, Supersedes: f.Supersedes, Packs: make([]index.Pack, len(f.Packs))}
	for i, p := range f.Packs {
		s.Packs[i] = index.Pack{ID: p.ID, Type: p.Type, Condemned: p.Condemned}
	}
	return s
}

// readHeaders reads the headers of packs, concurrently, and returns their
// index entries in the order given. Unreadable packs are reported and left
// out.
func (r *Repository) readHeaders(ctx context.Context, objs []object, condemned map[ID]bool, rep *RebuildReport) ([]index.Pack, error) {
	packs := make([]index.Pack, len(objs))
	var mu sync.Mutex
	err := forEach(ctx, objs, packCheckers, func(ctx context.Context, i int, o object) error {
		h := backend.Handle{Type: backend.PackFile, Name: o.id.String()}
		hdr, err := pack.ReadHeader(&readerAt{ctx: ctx, be: r.be, h: h}, o.id, o.size, r.key)
		if err != nil {
			if !isDamage(err) {
				return err
			}
			mu.Lock()
			rep.Unreadable = append(rep.Unreadable, Problem{Kind: UnreadablePack, Object: "pack " + o.id.String(), Err: err})
			mu.Unlock()
			return nil
		}
		packs[i] = index.Pack{ID: o.id, Type: hdr.Type, Condemned: condemned[o.id], Blobs: hdr.Blobs}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(packs, func(p index.Pack) bool { return len(p.Blobs) == 0 }), nil
}

// rebuildWriter gathers packs into index files of bounded size, stores
// them and builds the new in-memory index from what it stored.
type rebuildWriter struct {
	r       *Repository
	fresh   *index.Index
	files   map[ID]*index.File // stored files, without blobs
	pending []index.Pack
	blobs   int
}

// add queues p, first storing what is queued if p would make the file too
// large.
func (w *rebuildWriter) add(ctx context.Context, p index.Pack) error {
	if len(w.pending) > 0 && (len(w.pending) >= rebuildHeaderBatch || w.blobs+len(p.Blobs) > rebuildFileBlobs) {
		if err := w.flush(ctx, nil); err != nil {
			return err
		}
	}
	w.pending = append(w.pending, p)
	w.blobs += len(p.Blobs)
	return nil
}

// flush stores the queued packs as one index file superseding supersedes,
// and only then adds them to the new in-memory index.
func (w *rebuildWriter) flush(ctx context.Context, supersedes []ID) error {
	f := &index.File{Created: time.Now().UTC(), Supersedes: supersedes, Packs: w.pending}
	data, err := f.Encode(w.r.key)
	if err != nil {
		return err
	}
	id, err := saveFile(ctx, w.r.be, backend.IndexFile, data)
	if err != nil {
		return err
	}
	if err := w.fresh.AddFile(f); err != nil {
		return fmt.Errorf("index %s: %w", id.Short(), err)
	}
	w.files[id] = slimFile(f)
	w.pending, w.blobs = nil, 0
	return nil
}

// swapIndex makes idx, built from files, the in-memory index.
func (r *Repository) swapIndex(idx *index.Index, files map[ID]*index.File) {
	r.idxMu.Lock()
	defer r.idxMu.Unlock()
	r.idx = idx
	r.indexFiles = nil
	for id, f := range files {
		r.noteIndexFile(id, f)
	}
}

// ForgetDamaged deletes the snapshots the report says are harmed
// (CheckReport.Damaged) and returns those it deleted. Snapshots already
// gone are skipped.
//
// Like Forget and DeleteSnapshot, it takes no lock: removing snapshot
// records never endangers other operations (a prune reading them
// meanwhile fails and is run again).
func (r *Repository) ForgetDamaged(ctx context.Context, rep *CheckReport) ([]ID, error) {
	var removed []ID
	for _, id := range rep.Damaged() {
		if err := r.DeleteSnapshot(ctx, id); err != nil {
			if errors.Is(err, ErrNotFound) {
				continue
			}
			return removed, err
		}
		removed = append(removed, id)
	}
	return removed, nil
}
