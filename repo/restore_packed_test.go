package repo

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cairnbackup/cairn/chunk"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/fault"
	"github.com/cairnbackup/cairn/repo/backend/mem"
	"github.com/cairnbackup/cairn/source"
)

// writerAtTarget is a memTarget that takes file content in pieces, as a
// source.WriterAtTarget. It records how many files were open at once and
// every Finish.
type writerAtTarget struct {
	parallelTarget
	skip     func(path string) bool // files Create leaves alone
	live     atomic.Int64
	maxLive  atomic.Int64
	finished sync.Map // path → error given to Finish (nil when completed)
	finishes atomic.Int64
}

func newWriterAtTarget() *writerAtTarget {
	return &writerAtTarget{parallelTarget: parallelTarget{newMemTarget()}}
}

func (w *writerAtTarget) Create(_ context.Context, e *source.Entry) (source.FileWriter, error) {
	if w.skip != nil && w.skip(e.Path) {
		return nil, nil
	}
	n := w.live.Add(1)
	for m := w.maxLive.Load(); n > m && !w.maxLive.CompareAndSwap(m, n); m = w.maxLive.Load() {
	}
	return &memFileWriter{t: w, e: *e, data: make([]byte, e.Size)}, nil
}

type memFileWriter struct {
	t       *writerAtTarget
	e       source.Entry
	mu      sync.Mutex
	data    []byte
	written int64
}

func (f *memFileWriter) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > int64(len(f.data)) {
		return 0, fmt.Errorf("%s: write at %d beyond size %d", f.e.Path, off, len(f.data))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.written += int64(len(p))
	return copy(f.data[off:], p), nil
}

func (f *memFileWriter) Finish(err error) error {
	f.t.live.Add(-1)
	f.t.finishes.Add(1)
	if _, dup := f.t.finished.LoadOrStore(f.e.Path, err); dup {
		return fmt.Errorf("%s: finished twice", f.e.Path)
	}
	if err != nil {
		return err
	}
	if f.written != f.e.Size {
		return fmt.Errorf("%s: %d of %d bytes written", f.e.Path, f.written, f.e.Size)
	}
	m := f.t.memTarget
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries[f.e.Path], m.data[f.e.Path] = f.e, f.data
	m.order = append(m.order, f.e.Path)
	return nil
}

// manyFilesSource has n small random files, every tenth one a copy of the
// one before, and a large file of many chunks.
func manyFilesSource(n int) *testSource {
	src := &testSource{}
	src.add(source.Entry{Path: ".", Type: source.TypeDir, Perm: 0o755}, nil)
	src.add(source.Entry{Path: "big", Type: source.TypeFile, Inode: 1}, randomBytes(99, 3<<20))
	var prev []byte
	for i := range n {
		data := randomBytes(uint64(i), 1000+i%5000)
		if i%10 == 9 {
			data = prev
		}
		src.add(source.Entry{Path: fmt.Sprintf("f%04d", i), Type: source.TypeFile, Inode: uint64(i + 2)}, data)
		prev = data
	}
	return src
}

func smallPackRepo(t *testing.T, be backend.Backend) *Repository {
	t.Helper()
	r, err := Init(t.Context(), be, testPassword, InitOptions{Key: cheapKey,
		Chunking: chunk.Params{Min: 4 << 10, Avg: 16 << 10, Max: 64 << 10}})
	require.NoError(t, err)
	r.opts.PackSize = MinPackSize
	return r
}

// smallBatches makes batches and the bound on open files small for the
// test, so that a few thousand files exceed them.
func smallBatches(t *testing.T) {
	first, files, open := packedFirstBatch, packedBatchFiles, packedOpenFiles
	packedFirstBatch, packedBatchFiles, packedOpenFiles = 512, 512, 1024
	t.Cleanup(func() { packedFirstBatch, packedBatchFiles, packedOpenFiles = first, files, open })
}

// nearby marks a backend as backend.Nearby.
type nearby struct{ backend.Backend }

func (nearby) Nearby() bool { return true }

// TestRestoreByPackReadsEachRangeOnce: a restore into a WriterAtTarget
// reads no byte of a pack twice from a nearby backend, though files share
// blobs, the large file spans several packs and the files outnumber a
// batch; from a remote one, it reads each pack in a few ranges.
func TestRestoreByPackReadsEachRangeOnce(t *testing.T) {
	smallBatches(t)
	fb := fault.New(mem.New())
	r := smallPackRepo(t, fb)
	src := manyFilesSource(3 * packedBatchFiles)
	sn, err := r.Backup(t.Context(), src, BackupOptions{})
	require.NoError(t, err)
	var packBytes int64
	require.NoError(t, fb.List(t.Context(), backend.PackFile, func(fi backend.FileInfo) error {
		packBytes += fi.Size
		return nil
	}))
	packs := len(listFiles(t, fb, backend.PackFile))
	require.Greater(t, packs, 3)

	for _, be := range []backend.Backend{nearby{fb}, fb} {
		r := reopen(t, be) // no cached trees from the backup
		before := fb.Counts()
		tgt := newWriterAtTarget()
		require.NoError(t, r.Restore(t.Context(), sn.ID, tgt, RestoreOptions{Verify: true}))
		requireRestored(t, src, tgt.memTarget)
		require.Zero(t, tgt.live.Load())
		loads, bytes := fb.Counts().Load-before.Load, fb.Counts().BytesLoaded-before.BytesLoaded
		t.Logf("nearby %v: %d files in %d packs (%d bytes): %d loads, %d bytes", backend.IsNearby(be),
			len(src.entries)-1, packs, packBytes, loads, bytes)
		if backend.IsNearby(be) {
			require.LessOrEqual(t, bytes, packBytes, "a pack byte read twice")
		} else {
			batches := len(src.entries)/packedBatchFiles + 1
			require.LessOrEqual(t, loads, 2+packs*batches, "a few ranges per pack")
		}
	}
}

// TestRestoreByPackBoundsOpenFiles: files started and not finished never
// exceed packedOpenFiles, with more files than that.
func TestRestoreByPackBoundsOpenFiles(t *testing.T) {
	smallBatches(t)
	r, _ := newMemRepo(t)
	src := manyFilesSource(3 * packedOpenFiles)
	sn, err := r.Backup(t.Context(), src, BackupOptions{})
	require.NoError(t, err)
	tgt := newWriterAtTarget()
	require.NoError(t, r.Restore(t.Context(), sn.ID, tgt, RestoreOptions{}))
	requireRestored(t, src, tgt.memTarget)
	require.LessOrEqual(t, tgt.maxLive.Load(), int64(packedOpenFiles))
	require.Greater(t, tgt.maxLive.Load(), int64(1))
}

// TestRestoreByPackSkipsLeftFiles: content of the files the target leaves
// alone is not fetched.
func TestRestoreByPackSkipsLeftFiles(t *testing.T) {
	fb := fault.New(mem.New())
	r := initRepo(t, fb, Options{})
	src := manyFilesSource(50)
	sn, err := r.Backup(t.Context(), src, BackupOptions{})
	require.NoError(t, err)
	r = reopen(t, fb)
	before := fb.Counts()
	tgt := newWriterAtTarget()
	tgt.skip = func(string) bool { return true }
	var prog RestoreProgress
	opts := RestoreOptions{Progress: func(p RestoreProgress) { prog = p }}
	require.NoError(t, r.Restore(t.Context(), sn.ID, tgt, opts))
	require.Equal(t, 2, fb.Counts().Load-before.Load, "the snapshot and its tree, no pack of data")
	require.Equal(t, uint64(51), prog.Files)
	require.Zero(t, prog.Bytes)
}

// TestRestoreByPackDamage: a damaged blob fails the restore with an error
// naming the blob and its pack, and every file started is finished with
// the error (removed), none completed twice.
func TestRestoreByPackDamage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, be backend.Backend, h backend.Handle)
		is     error
	}{
		{"flipped bit", func(t *testing.T, be backend.Backend, h backend.Handle) { rewrite(t, be, h, flipBit(100)) }, ErrCorrupt},
		{"missing pack", func(t *testing.T, be backend.Backend, h backend.Handle) {
			require.NoError(t, be.Remove(t.Context(), h))
		}, ErrNotFound},
		{"truncated pack", func(t *testing.T, be backend.Backend, h backend.Handle) {
			rewrite(t, be, h, func(b []byte) []byte { return b[:len(b)/2] })
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be := mem.New()
			r := smallPackRepo(t, be)
			src := manyFilesSource(300)
			sn, err := r.Backup(t.Context(), src, BackupOptions{})
			require.NoError(t, err)
			ph := backend.Handle{Type: backend.PackFile, Name: listFiles(t, be, backend.PackFile)[0]}
			tc.damage(t, be, ph)

			tgt := newWriterAtTarget()
			err = reopen(t, be).Restore(t.Context(), sn.ID, tgt, RestoreOptions{})
			require.Error(t, err)
			var blobErr *BlobError
			require.ErrorAs(t, err, &blobErr)
			require.ErrorContains(t, err, ph.Name)
			if tc.is != nil {
				require.ErrorIs(t, err, tc.is)
			}
			require.Zero(t, tgt.live.Load(), "every file started is finished")
			tgt.finished.Range(func(k, v any) bool {
				if v != nil {
					_, done := tgt.data[k.(string)]
					require.False(t, done, "%s: completed and removed", k)
				}
				return true
			})
		})
	}
}

// TestRestoreByPackTargetError: a write that fails stops the restore with
// that error.
func TestRestoreByPackTargetError(t *testing.T) {
	r, _ := newMemRepo(t)
	src := manyFilesSource(20)
	sn, err := r.Backup(t.Context(), src, BackupOptions{})
	require.NoError(t, err)
	boom := errors.New("disk full")
	tgt := &failingWriterAtTarget{writerAtTarget: newWriterAtTarget(), err: boom}
	err = r.Restore(t.Context(), sn.ID, tgt, RestoreOptions{})
	require.ErrorIs(t, err, boom)
	require.Zero(t, tgt.live.Load())
}

type failingWriterAtTarget struct {
	*writerAtTarget
	err error
}

func (f *failingWriterAtTarget) Create(ctx context.Context, e *source.Entry) (source.FileWriter, error) {
	w, err := f.writerAtTarget.Create(ctx, e)
	if w == nil || err != nil || e.Path != "f0007" {
		return w, err
	}
	return failingWriter{w.(*memFileWriter), f.err}, nil
}

type failingWriter struct {
	*memFileWriter
	err error
}

func (f failingWriter) WriteAt([]byte, int64) (int, error) { return 0, f.err }

// TestRestoreLoadsTreesAhead: restoring from a backend with round trips
// loads the trees of many directories several at once, and restores them
// all; a filter keeps what it leaves out from being loaded.
func TestRestoreLoadsTreesAhead(t *testing.T) {
	fb := fault.New(mem.New())
	r := initRepo(t, fb, Options{})
	src := &testSource{}
	src.add(source.Entry{Path: ".", Type: source.TypeDir, Perm: 0o755}, nil)
	for i := range 60 {
		d := fmt.Sprintf("d%02d", i)
		src.add(source.Entry{Path: d, Type: source.TypeDir, Perm: 0o755}, nil)
		src.add(source.Entry{Path: d + "/f", Type: source.TypeFile, Inode: uint64(i + 1)}, randomBytes(uint64(i), 100+i))
	}
	sn, err := r.Backup(t.Context(), src, BackupOptions{})
	require.NoError(t, err)

	var cur, most atomic.Int64
	fb.FailOn(func(op fault.Op, h backend.Handle) error {
		if op == fault.OpLoad && h.Type == backend.PackFile {
			n := cur.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(2 * time.Millisecond) // a round trip
			cur.Add(-1)
		}
		return nil
	})
	tgt := newMemTarget() // files go one at a time: only trees load at once
	require.NoError(t, reopen(t, fb).Restore(t.Context(), sn.ID, tgt, RestoreOptions{}))
	requireRestored(t, src, tgt)
	require.Greater(t, most.Load(), int64(2), "trees loaded several at once")

	r = reopen(t, fb)
	before := fb.Counts().Load
	one := newMemTarget()
	require.NoError(t, r.Restore(t.Context(), sn.ID, one, RestoreOptions{Include: []string{"/d07"}}))
	require.Equal(t, src.data["d07/f"], one.data["d07/f"])
	require.Equal(t, 4, fb.Counts().Load-before, "snapshot, root tree, d07's tree, its blob")
}
