package repo

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/cairnbackup/cairn/index"
	"github.com/cairnbackup/cairn/internal/compress"
	"github.com/cairnbackup/cairn/pack"
)

// A Writer writes an index file on its own once it has stored indexEvery
// packs or indexBlobs blobs not yet in one, so an interrupted long backup
// keeps what it stored, and a backup of many tiny files does not hold the
// lists of hundreds of thousands of blobs (about 100 bytes each) until
// the end.
const (
	indexEvery = 64
	indexBlobs = 100_000
)

// ErrWriterBroken wraps the error that broke a Writer. Every later call
// returns it; start a new Writer.
var ErrWriterBroken = errors.New("writer broken by an earlier error")

// Writer saves blobs into the repository, deduplicated against the index
// and against everything saved through it before. It is safe for use from
// many goroutines at once.
//
// Blobs reach the repository only with Flush: packs are stored first, then
// an index file that names them, and only then are the blobs in the shared
// index where other writers find them. Until then a blob saved here is
// known to this Writer alone, so no other Writer's snapshot can depend on a
// pack that a failure might still leave unindexed.
//
// A failed store breaks the Writer: every later call returns the error. A
// Writer dropped without Flush leaves packs that prune will remove.
type Writer struct {
	r       *Repository
	packers [2]*packerSet // by blob type

	// flushMu is held shared by SaveBlob and exclusively by Flush, so Flush
	// sees every earlier save finished.
	flushMu sync.RWMutex

	mu        sync.Mutex
	pending   map[pack.Handle]struct{} // saved here, not yet in an index file
	unindexed []index.Pack             // stored packs awaiting an index file
	blobs     int                      // in unindexed
	err       error

	uploads    chan struct{} // semaphore bounding concurrent pack stores
	indexEvery int           // packs,
	indexBlobs int           // or blobs, that make an index file
	avoid      map[ID]bool   // packs not to deduplicate against (being repacked)

	added WriterStats // under mu
}

// WriterStats counts the blobs a Writer stored that the repository did not
// have.
type WriterStats struct {
	Blobs       uint64
	Bytes       uint64 // their content
	StoredBytes uint64 // compressed and sealed
}

// NewWriter starts a write session.
func (r *Repository) NewWriter() *Writer {
	w := &Writer{r: r, pending: make(map[pack.Handle]struct{}),
		uploads: make(chan struct{}, r.opts.Uploads), indexEvery: indexEvery, indexBlobs: indexBlobs}
	w.packers[pack.DataBlob] = newPackerSet(w, pack.DataBlob, r.opts.PackWriters)
	w.packers[pack.TreeBlob] = newPackerSet(w, pack.TreeBlob, 1)
	return w
}

// SaveBlob stores data as a blob of type t unless the repository or this
// Writer has it already, and returns its ID and whether it was known.
func (w *Writer) SaveBlob(ctx context.Context, t BlobType, data []byte) (ID, bool, error) {
	id := w.r.key.BlobID(data)
	known, err := w.saveBlob(ctx, pack.Handle{Type: t, ID: id}, data)
	return id, known, err
}

func (w *Writer) saveBlob(ctx context.Context, h pack.Handle, data []byte) (bool, error) {
	if !h.Type.Valid() {
		return false, fmt.Errorf("save blob: invalid type %d", h.Type)
	}
	if uint64(len(data)) > pack.MaxSize/2 {
		return false, fmt.Errorf("save %s: %d bytes is too large for a blob", h, len(data))
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	w.flushMu.RLock()
	defer w.flushMu.RUnlock()
	if err := w.broken(); err != nil {
		return false, err
	}
	if loc, ok := w.r.idx.Lookup(h); ok && !loc.Condemned && !w.avoid[loc.Pack] {
		return true, w.broken()
	}
	if !w.claim(h) {
		return true, w.broken()
	}
	buf := blobBuffers.Get().(*blobBuffer)
	defer blobBuffers.Put(buf)
	buf.plain = compress.Append(buf.plain[:0], data, w.r.level)
	buf.sealed = pack.SealBlob(buf.sealed[:0], w.r.key, h, buf.plain)
	if err := w.packers[h.Type].add(ctx, h.ID, uint32(len(data)), buf.sealed); err != nil {
		w.fail(err)
		return false, err
	}
	w.mu.Lock()
	w.added.Blobs++
	w.added.Bytes += uint64(len(data))
	w.added.StoredBytes += uint64(len(buf.sealed))
	w.mu.Unlock()
	return false, nil
}

// claim records h as saved by this Writer; false if it was already.
func (w *Writer) claim(h pack.Handle) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.pending[h]; ok {
		return false
	}
	w.pending[h] = struct{}{}
	return true
}

// Stats returns what the Writer has stored so far.
func (w *Writer) Stats() WriterStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.added
}

// broken returns the error that broke the Writer, if any.
func (w *Writer) broken() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *Writer) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = fmt.Errorf("%w: %w", ErrWriterBroken, err)
	}
}

// Flush stores every open pack, then an index file naming all packs stored
// since the last one. When it returns nil, every blob saved before the call
// is in the repository and in the shared index.
func (w *Writer) Flush(ctx context.Context) error {
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	if err := w.broken(); err != nil {
		return err
	}
	for _, ps := range w.packers {
		if err := ps.flush(ctx); err != nil {
			w.fail(err)
			return err
		}
	}
	if err := w.writeIndex(ctx, 0); err != nil {
		w.fail(err)
		return err
	}
	return nil
}

// discard drops the open packs unstored, so that their spool files go now
// rather than when the Writer is garbage collected. The Writer is broken
// afterwards; a Writer whose Flush succeeded has nothing to drop.
func (w *Writer) discard() {
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	w.fail(errors.New("writer discarded"))
	for _, ps := range w.packers {
		ps.discard()
	}
}

// stored is called once a pack is in the backend. It writes an index file
// when enough packs have piled up.
func (w *Writer) stored(ctx context.Context, p index.Pack) error {
	w.mu.Lock()
	w.unindexed = append(w.unindexed, p)
	w.blobs += len(p.Blobs)
	w.mu.Unlock()
	return w.writeIndex(ctx, w.indexEvery)
}

// writeIndex writes an index file for the stored packs if there are at least
// atLeast of them, or indexBlobs blobs in them (and at least one pack).
func (w *Writer) writeIndex(ctx context.Context, atLeast int) error {
	w.mu.Lock()
	if len(w.unindexed) == 0 || len(w.unindexed) < atLeast && w.blobs < w.indexBlobs {
		w.mu.Unlock()
		return nil
	}
	packs := w.unindexed
	w.unindexed, w.blobs = nil, 0
	w.mu.Unlock()

	if _, err := w.r.saveIndexFile(ctx, packs); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, p := range packs {
		for _, b := range p.Blobs {
			delete(w.pending, pack.Handle{Type: p.Type, ID: b.ID})
		}
	}
	return nil
}

// blobBuffer holds the encoding stages of one blob; reused across saves.
type blobBuffer struct{ plain, sealed []byte }

var blobBuffers = sync.Pool{New: func() any { return new(blobBuffer) }}
