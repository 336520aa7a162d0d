package repo

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/semaphore"

	"github.com/cairnbackup/cairn/index"
	"github.com/cairnbackup/cairn/pack"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/source"
)

// Restoring into a source.WriterAtTarget goes by pack, not by file. The
// walk starts files and adds their blobs to a batch; a full batch becomes
// one job per pack it needs, with the pack's needed blobs in pack order
// and every place each blob goes. Workers read each job in as few ranged
// reads as the gaps between its blobs allow, open each blob once, and
// write it wherever it belongs; the worker that writes a file's last blob
// finishes the file. Every stretch of a pack a batch needs is thus read
// once, in order, however many files share it, and one large file is
// written by all workers at once. Batches overlap (workers never wait for
// a batch to end), and the files started but not finished are bounded,
// which bounds open descriptors and the plan's memory.
//
// Batches are large, so that a restore reads few stretches of each pack:
// from an object store, each is a request. A file started holds nothing
// until its first blob arrives, and is closed when its last is written,
// so the open descriptors are those of files whose blobs span the packs
// being read, at most packedOpenFiles. They are variables for tests.
var (
	packedFirstBatch       = 128   // files in the first batch, doubling after each
	packedBatchFiles       = 8192  // files per batch, at most
	packedOpenFiles        = 16384 // files started and not finished
	packedBatchBytes int64 = 256 << 20
)

// packedRangeGap is the largest gap between two needed blobs that one read
// goes through rather than stopping and starting anew, where reads cost a
// round trip. A gap's bytes may be needed by another batch and read again
// then.
const packedRangeGap = 256 << 10

// packedRestore is the state of a restore by pack.
type packedRestore struct {
	rs   *restorer
	t    source.WriterAtTarget
	jobs chan *packJob
	open *semaphore.Weighted // files started and not finished
	gap  uint32              // see packedRangeGap; 0 where reads are cheap

	batch      packBatch   // filled by the walk
	batchFiles int         // files that end it: few at first, so that the workers start at once
	locs       []blobPlace // scratch for add

	mu   sync.Mutex
	live map[*packedFile]struct{} // started, not finished
}

// packedFile is a file being written.
type packedFile struct {
	f    fileRestore
	w    source.FileWriter
	left atomic.Int64 // blobs not yet written
}

// blobPlace is where one blob of a file is stored.
type blobPlace struct {
	id  ID
	loc index.Location
}

// blobUse is one blob a batch needs from a pack and where it goes.
type blobUse struct {
	blobPlace
	dsts []blobDst
}

type blobDst struct {
	file *packedFile
	off  int64
}

// packJob is what a batch needs from one pack.
type packJob struct {
	pack  ID
	blobs []blobUse // by offset in the pack, once dispatched
}

// packBatch collects files until it is full.
type packBatch struct {
	jobs   []*packJob // in order of first use
	byPack map[ID]*packJob
	byBlob map[ID]int // index in its pack job's blobs
	files  int
	bytes  int64
}

func newPackedRestore(rs *restorer, t source.WriterAtTarget) *packedRestore {
	p := &packedRestore{rs: rs, t: t, jobs: make(chan *packJob, rs.opts.Workers),
		open: semaphore.NewWeighted(int64(packedOpenFiles)), gap: packedRangeGap, live: make(map[*packedFile]struct{})}
	p.batchFiles = min(packedFirstBatch, packedBatchFiles)
	if backend.IsNearby(rs.r.be) {
		p.gap = 0
	}
	return p
}

// add starts file f and plans its blobs. It runs on the walk's goroutine.
func (p *packedRestore) add(ctx context.Context, f fileRestore) error {
	size, err := p.place(ctx, f)
	if err != nil {
		return err
	}
	if !p.open.TryAcquire(1) {
		// The files waited for may be in this batch.
		if err := p.flush(ctx); err != nil {
			return err
		}
		if err := p.open.Acquire(ctx, 1); err != nil {
			return err
		}
	}
	w, err := p.t.Create(ctx, &f.entry)
	if w == nil || err != nil {
		p.open.Release(1)
		if err != nil {
			return fmt.Errorf("%s: %w", f.entry.Path, err)
		}
		p.rs.filesDone.Add(1) // left as it is
		return nil
	}
	pf := &packedFile{f: f, w: w}
	pf.left.Store(int64(len(p.locs)))
	p.mu.Lock()
	p.live[pf] = struct{}{}
	p.mu.Unlock()
	if len(p.locs) == 0 {
		return p.finish(ctx, pf)
	}
	p.plan(pf)
	p.batch.files++
	p.batch.bytes += size
	if p.batch.files >= p.batchFiles || p.batch.bytes >= packedBatchBytes {
		p.batchFiles = min(2*p.batchFiles, packedBatchFiles)
		return p.flush(ctx)
	}
	return nil
}

// place looks up where f's blobs are, into p.locs, and checks that they
// add up to its size.
func (p *packedRestore) place(ctx context.Context, f fileRestore) (int64, error) {
	p.locs = p.locs[:0]
	var size int64
	for _, id := range f.content {
		loc, ok := p.rs.r.idx.Lookup(pack.Handle{Type: pack.DataBlob, ID: id})
		if !ok {
			_, err := p.rs.r.LoadBlob(ctx, pack.DataBlob, id, nil) // names the missing blob, reading nothing
			return 0, fmt.Errorf("%s: %w", f.entry.Path, err)
		}
		p.locs = append(p.locs, blobPlace{id: id, loc: loc})
		size += int64(loc.RawLength)
	}
	if size != f.entry.Size {
		return 0, fmt.Errorf("%s: content is %d bytes, the snapshot says %d: %w", f.entry.Path, size, f.entry.Size, ErrCorrupt)
	}
	return size, nil
}

// plan adds the blobs of pf, placed in p.locs, to the batch.
func (p *packedRestore) plan(pf *packedFile) {
	b := &p.batch
	if b.byPack == nil {
		b.byPack, b.byBlob = make(map[ID]*packJob), make(map[ID]int)
	}
	var off int64
	for _, bp := range p.locs {
		job := b.byPack[bp.loc.Pack]
		if job == nil {
			job = &packJob{pack: bp.loc.Pack}
			b.byPack[bp.loc.Pack] = job
			b.jobs = append(b.jobs, job)
		}
		i, ok := b.byBlob[bp.id]
		if !ok {
			i = len(job.blobs)
			b.byBlob[bp.id] = i
			job.blobs = append(job.blobs, blobUse{blobPlace: bp})
		}
		job.blobs[i].dsts = append(job.blobs[i].dsts, blobDst{file: pf, off: off})
		off += int64(bp.loc.RawLength)
	}
}

// flush hands the batch's jobs to the workers and starts a new batch.
func (p *packedRestore) flush(ctx context.Context) error {
	jobs := p.batch.jobs
	p.batch = packBatch{}
	for _, job := range jobs {
		slices.SortFunc(job.blobs, func(a, b blobUse) int { return cmp.Compare(a.loc.Offset, b.loc.Offset) })
		select {
		case p.jobs <- job:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// finish completes pf, whose every blob is written.
func (p *packedRestore) finish(ctx context.Context, pf *packedFile) error {
	err := pf.w.Finish(nil)
	p.mu.Lock()
	delete(p.live, pf)
	p.mu.Unlock()
	p.open.Release(1)
	if err != nil {
		return fmt.Errorf("%s: %w", pf.f.entry.Path, err)
	}
	p.rs.filesDone.Add(1)
	p.rs.current.Store(&pf.f.entry.Path)
	if p.rs.opts.Verify {
		return p.rs.verify(ctx, pf.f)
	}
	return nil
}

// abort removes the files started and not finished, after a failure.
func (p *packedRestore) abort(cause error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for pf := range p.live {
		_ = pf.w.Finish(cause)
	}
	clear(p.live)
}
