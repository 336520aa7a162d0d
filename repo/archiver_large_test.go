package repo

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/source"
	"github.com/cairnbackup/cairn/source/fs"
	"github.com/stretchr/testify/require"
)

// splitForTest splits files of at least segments segments of segment
// bytes until the test ends; segments 0 splits none.
func splitForTest(t *testing.T, segment int, segments int64) {
	oldSegment, oldSegments := splitSegment, splitSegments
	splitSegment, splitSegments = segment, segments
	t.Cleanup(func() { splitSegment, splitSegments = oldSegment, oldSegments })
}

// readAtSource passes a source's entries on with each file's Open
// replaced by open, whose reader is also an io.ReaderAt.
type readAtSource struct {
	source.Source
	open func(e *source.Entry, open func() (io.ReadCloser, error)) func() (io.ReadCloser, error)
}

func (s readAtSource) Walk(ctx context.Context, fn func(*source.Entry) error) error {
	return s.Source.Walk(ctx, func(e *source.Entry) error {
		if e.Open != nil {
			e.Open = s.open(e, e.Open)
		}
		return fn(e)
	})
}

// readAtFile is a file whose ReadAt calls are counted.
type readAtFile struct {
	io.ReadCloser
	ra io.ReaderAt
	n  *atomic.Int64
}

func (f *readAtFile) ReadAt(p []byte, off int64) (int, error) {
	f.n.Add(1)
	return f.ra.ReadAt(p, off)
}

// memReadAt serves src's files as readers at any offset of ra(content).
func memReadAt(src *testSource, n *atomic.Int64, ra func([]byte) io.ReaderAt) readAtSource {
	return readAtSource{Source: src, open: func(e *source.Entry, _ func() (io.ReadCloser, error)) func() (io.ReadCloser, error) {
		data := src.data[e.Path]
		return func() (io.ReadCloser, error) {
			r := ra(data)
			return &readAtFile{ReadCloser: io.NopCloser(io.NewSectionReader(r, 0, int64(len(data)))), ra: r, n: n}, nil
		}
	}}
}

func asReaderAt(b []byte) io.ReaderAt { return bytes.NewReader(b) }

// TestBackupSplitsBigFiles: a file cut on several cores gives the same
// snapshot as one cut by a Chunker, restores, and deduplicates the same.
func TestBackupSplitsBigFiles(t *testing.T) {
	splitForTest(t, 1<<20, 2) // 1 MiB segments: the file spans 40
	ctx := context.Background()
	r := smallChunks(t)
	src := sampleSource()
	big := randomBytes(60, 40<<20+12345)
	src.add(source.Entry{Path: "z", Type: source.TypeFile, Inode: 20}, big)
	var readAts atomic.Int64
	s := memReadAt(src, &readAts, asReaderAt)

	// backup cuts with or without the Splitter and checks which one ran.
	backup := func(split bool, opts BackupOptions) *Snapshot {
		t.Helper()
		splitSegments = map[bool]int64{true: 2, false: 0}[split]
		readAts.Store(0)
		opts.Host = "h"
		sn, err := r.Backup(ctx, s, opts)
		require.NoError(t, err)
		require.Equal(t, split && sn.Summary.BytesRead > 0, readAts.Load() > 0)
		return sn
	}
	split := backup(true, BackupOptions{NoParent: true})
	require.EqualValues(t, len(big)+300<<10+6+8, split.Summary.BytesRead)
	plain := backup(false, BackupOptions{NoParent: true})
	require.Equal(t, split.Tree, plain.Tree, "same chunks")
	require.Zero(t, plain.Summary.BytesAdded)

	m := newMemTarget()
	require.NoError(t, r.Restore(ctx, split.ID, m, RestoreOptions{Verify: true}))
	requireRestored(t, src, m)

	unchanged := backup(true, BackupOptions{})
	require.Equal(t, split.Tree, unchanged.Tree)
	require.Zero(t, unchanged.Summary.BytesRead)

	big[20<<20] ^= 1
	src.entries[len(src.entries)-1].ModTime = t0.Add(1)
	changed := backup(true, BackupOptions{})
	require.EqualValues(t, len(big), changed.Summary.BytesRead)
	require.Less(t, changed.Summary.BytesAdded, uint64(150<<10), "one or two chunks and trees")
	require.Equal(t, changed.Tree, backup(false, BackupOptions{NoParent: true}).Tree)
	m = newMemTarget()
	require.NoError(t, r.Restore(ctx, changed.ID, m, RestoreOptions{}))
	require.Equal(t, big, m.data["z"])
}

// shrinkingFile is full for its first read and short from then on.
type shrinkingFile struct {
	full, short io.ReaderAt
	reads       atomic.Int64
}

func (f *shrinkingFile) ReadAt(p []byte, off int64) (int, error) {
	if f.reads.Add(1) == 1 {
		return f.full.ReadAt(p, off)
	}
	return f.short.ReadAt(p, off)
}

// warnings collects a backup's warnings.
type warnings struct {
	mu   sync.Mutex
	errs map[string]error
}

func (w *warnings) add(path string, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.errs == nil {
		w.errs = map[string]error{}
	}
	w.errs[path] = err
}

// storedContent returns the content the snapshot holds for the file name
// in the root directory.
func storedContent(t *testing.T, r *Repository, sn *Snapshot, name string) []byte {
	t.Helper()
	ctx := context.Background()
	tree, err := r.LoadTree(ctx, sn.Tree)
	require.NoError(t, err)
	n := tree.Find(name)
	require.NotNil(t, n, name)
	var out []byte
	for _, id := range n.Content {
		b, err := r.LoadBlob(ctx, DataBlob, id, nil)
		require.NoError(t, err)
		out = append(out, b...)
	}
	return out
}

// TestBackupSplitShrinkingFile: a file that shrinks while it is split is
// reported as changed and stored as read: a prefix of its content.
func TestBackupSplitShrinkingFile(t *testing.T) {
	splitForTest(t, 256<<10, 2)
	const size = 8 << 20
	for _, lim := range []int64{0, 1000, 2<<20 + 777, 5 << 20} {
		ctx := context.Background()
		r := smallChunks(t)
		src := &testSource{}
		src.add(source.Entry{Path: ".", Type: source.TypeDir, Perm: 0o755}, nil)
		big := randomBytes(61, size)
		src.add(source.Entry{Path: "big", Type: source.TypeFile, Inode: 2}, big)
		var readAts atomic.Int64
		s := memReadAt(src, &readAts, func(b []byte) io.ReaderAt {
			return &shrinkingFile{full: bytes.NewReader(b), short: bytes.NewReader(b[:lim])}
		})
		var w warnings
		sn, err := r.Backup(ctx, s, BackupOptions{Host: "h", Warn: w.add})
		if err != nil {
			require.ErrorIs(t, err, ErrPartialSnapshot)
		}
		require.Positive(t, readAts.Load())
		require.ErrorIs(t, w.errs["big"], source.ErrChanged, "lim %d", lim)
		got := storedContent(t, r, sn, "big")
		require.Less(t, len(got), size)
		require.True(t, bytes.Equal(big[:len(got)], got), "a prefix")
		require.EqualValues(t, len(got), sn.Summary.BytesRead)
	}
}

// truncatingSource truncates each file to half its size after the walk has
// seen it, before it is read.
type truncatingSource struct {
	source.Source
	dir string
}

func (s truncatingSource) Walk(ctx context.Context, fn func(*source.Entry) error) error {
	return s.Source.Walk(ctx, func(e *source.Entry) error {
		if e.Type == source.TypeFile {
			if err := os.Truncate(filepath.Join(s.dir, e.Path), e.Size/2); err != nil {
				return err
			}
		}
		return fn(e)
	})
}

// TestBackupSplitFromDisk splits a file that source/fs reads, as it is and
// truncated between the walk and the read.
func TestBackupSplitFromDisk(t *testing.T) {
	splitForTest(t, 256<<10, 2)
	ctx := context.Background()
	r := smallChunks(t)
	dir := t.TempDir()
	big := randomBytes(62, 3<<20+5)
	path := filepath.Join(dir, "big")
	require.NoError(t, os.WriteFile(path, big, 0o644))

	var readAts atomic.Int64
	count := func(_ *source.Entry, open func() (io.ReadCloser, error)) func() (io.ReadCloser, error) {
		return func() (io.ReadCloser, error) {
			rc, err := open()
			if err != nil {
				return nil, err
			}
			return &readAtFile{ReadCloser: rc, ra: rc.(io.ReaderAt), n: &readAts}, nil
		}
	}
	sn, err := r.Backup(ctx, readAtSource{Source: fs.Dir(dir, fs.Options{}), open: count}, BackupOptions{Host: "h"})
	require.NoError(t, err)
	require.Positive(t, readAts.Load())
	require.Equal(t, big, storedContent(t, r, sn, "big"))

	var w warnings
	src := truncatingSource{Source: readAtSource{Source: fs.Dir(dir, fs.Options{}), open: count}, dir: dir}
	sn, err = r.Backup(ctx, src, BackupOptions{Host: "h", NoParent: true, Warn: w.add})
	require.True(t, err == nil || errors.Is(err, ErrPartialSnapshot), "%v", err)
	require.ErrorIs(t, w.errs["big"], source.ErrChanged)
	require.Equal(t, big[:len(big)/2], storedContent(t, r, sn, "big"))
}

// TestBackupSplitReadLimit splits a 384 KiB file read at 128 KiB/s, a
// burst of 128 KiB included: at least 2 s, checked only from below.
func TestBackupSplitReadLimit(t *testing.T) {
	splitForTest(t, 128<<10, 2)
	ctx := context.Background()
	r := smallChunks(t)
	src := &testSource{}
	src.add(source.Entry{Path: ".", Type: source.TypeDir, Perm: 0o755}, nil)
	src.add(source.Entry{Path: "big", Type: source.TypeFile, Inode: 2}, randomBytes(63, 384<<10))
	var readAts atomic.Int64
	start := time.Now()
	sn, err := r.Backup(ctx, memReadAt(src, &readAts, asReaderAt), BackupOptions{Host: "h", ReadLimit: 128 << 10})
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(start), 1500*time.Millisecond)
	require.Positive(t, readAts.Load())
	require.EqualValues(t, 384<<10, sn.Summary.BytesRead)
}
