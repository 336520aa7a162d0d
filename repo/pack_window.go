package repo

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/cairnbackup/cairn/pack"
	"github.com/cairnbackup/cairn/repo/backend"
)

// windowPacks is how many whole packs a restore holds in memory at once:
// backups spread each stretch of files over a few open packs
// (Options.PackWriters), so a restore in the same order needs a few at a
// time. With 16 MiB packs that is 128 MiB.
const windowPacks = 8

// packWindow serves the data blobs of a restore into a target that takes
// each file's content as one stream (a restore into a
// source.WriterAtTarget goes by pack instead: see packedRestore). The first blob a restore
// needs from a pack is read alone (a ranged read); from the second on, the
// whole pack is read once and kept while it is among the windowPacks used
// last. Restoring one file from a large repository thus reads no more than
// that file, and restoring many reads each pack about once, in a few large
// requests instead of one per blob: what makes restores from object
// storage fast. Every blob is still authenticated and checked against its
// ID. A pack pushed out of the window is not read whole again; its
// remaining blobs are read one by one. From a backend.Nearby backend (a
// local disk), where a read alone costs no more, every blob is read alone
// and no pack is held.
type packWindow struct {
	r      *Repository
	alone  bool            // read every blob alone
	ctx    context.Context // for whole-pack reads: ends with close
	cancel context.CancelFunc

	mu      sync.Mutex
	asked   map[ID]bool // packs a blob was read from alone
	evicted map[ID]bool
	held    map[ID]*heldPack
	lru     []ID // held packs, least recently used first
}

type heldPack struct {
	done chan struct{}
	data []byte
	err  error
}

func (r *Repository) newPackWindow(ctx context.Context) *packWindow {
	ctx, cancel := context.WithCancel(ctx)
	return &packWindow{r: r, ctx: ctx, cancel: cancel, alone: backend.IsNearby(r.be),
		asked: make(map[ID]bool), evicted: make(map[ID]bool), held: make(map[ID]*heldPack)}
}

// close stops whole-pack reads still running and lets the packs go.
func (w *packWindow) close() {
	w.cancel()
	w.mu.Lock()
	defer w.mu.Unlock()
	clear(w.held)
	w.lru = nil
}

// load returns the content of data blob id.
func (w *packWindow) load(ctx context.Context, id ID) ([]byte, error) {
	h := pack.Handle{Type: pack.DataBlob, ID: id}
	loc, ok := w.r.idx.Lookup(h)
	if !ok {
		return w.r.LoadBlob(ctx, pack.DataBlob, id, nil) // names the missing blob
	}
	hp := w.pack(loc.Pack)
	if hp == nil {
		return w.r.LoadBlob(ctx, pack.DataBlob, id, nil)
	}
	select {
	case <-hp.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	end := uint64(loc.Offset) + uint64(loc.Length)
	if hp.err != nil || end > uint64(len(hp.data)) {
		// The whole read failed, or the pack is shorter than the index
		// says: the blob's own read decides, and names the problem.
		return w.r.LoadBlob(ctx, pack.DataBlob, id, nil)
	}
	buf := blobBuffers.Get().(*blobBuffer)
	defer blobBuffers.Put(buf)
	buf.sealed = append(buf.sealed[:0], hp.data[loc.Offset:end]...)
	return w.r.openBlob(h, loc, buf, nil)
}

// pack returns the held pack p, starting to read it whole if this is the
// second blob asked of it, or nil when the blob is to be read alone.
func (w *packWindow) pack(p ID) *heldPack {
	if w.alone {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if hp, ok := w.held[p]; ok {
		w.touch(p)
		return hp
	}
	if w.evicted[p] || !w.asked[p] {
		w.asked[p] = true
		return nil
	}
	hp := &heldPack{done: make(chan struct{})}
	w.held[p] = hp
	w.lru = append(w.lru, p)
	if len(w.lru) > windowPacks {
		old := w.lru[0]
		w.lru = w.lru[1:]
		delete(w.held, old)
		w.evicted[old] = true
	}
	go w.read(w.ctx, p, hp)
	return hp
}

// read loads pack p whole. It stops with the window, not with the asking
// reader: other readers may wait for it.
func (w *packWindow) read(ctx context.Context, p ID, hp *heldPack) {
	defer close(hp.done)
	h := backend.Handle{Type: backend.PackFile, Name: p.String()}
	hp.err = w.r.be.Load(ctx, h, 0, 0, func(rd io.Reader) error {
		var err error
		hp.data, err = io.ReadAll(rd)
		return err
	})
	if hp.err != nil {
		hp.err = fmt.Errorf("pack %s: %w", p.Short(), hp.err)
	}
}

// touch marks p used last. w.mu held.
func (w *packWindow) touch(p ID) {
	for i, q := range w.lru {
		if q == p {
			w.lru = append(append(w.lru[:i:i], w.lru[i+1:]...), p)
			return
		}
	}
}
