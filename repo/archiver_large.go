package repo

import (
	"context"
	"errors"
	"io"
	"runtime"
	"slices"

	"github.com/cairnbackup/cairn/chunk"
	"github.com/cairnbackup/cairn/repo/backend/limit"
	"golang.org/x/time/rate"
)

// A big file is the one thing a single reader cannot keep all cores busy
// with: its Chunker is the bottleneck. If the source can read the file at
// any offset, a chunk.Splitter finds its chunks on all cores instead, the
// very same chunks, so deduplication is the same either way. The reader
// then reads each chunk, as the Splitter reports it, into a chunk buffer
// for the savers; those bytes are what is stored, and what ReadLimit and
// the progress count. The Splitter itself keeps only cut positions and
// small read buffers, and cuts at most a few segments ahead of the reader.

// Tests change these: splitSegment is chunk.SplitOptions.Segment (0 for
// the default), and files of at least splitSegments segments are split.
var (
	splitSegment        = 0
	splitSegments int64 = 2
)

func (a *archiver) newSplitter() (*chunk.Splitter, error) {
	return chunk.NewSplitter(a.r.Polynomial(), a.params, chunk.SplitOptions{Segment: splitSegment})
}

// errShrunk ends a split where the file ended early.
var errShrunk = errors.New("file ended early")

// splitFile sends the chunks of the open file rc to the savers, cut by sp,
// and returns the bytes read. It reports split false, having read nothing,
// if the file is not to be split.
func (a *archiver) splitFile(ctx context.Context, sp *chunk.Splitter, j *fileJob, rc io.Reader) (n int64, split bool, err error) {
	ra, ok := rc.(io.ReaderAt)
	if !ok || a.seq || runtime.GOMAXPROCS(0) < 2 || splitSegments <= 0 ||
		j.entry.Size < splitSegments*int64(sp.Segment()) {
		return 0, false, nil
	}
	content := ra
	if a.opts.readLimit != nil {
		content = &limitedReaderAt{ctx: ctx, ra: ra, l: a.opts.readLimit}
	}
	_, err = sp.Split(ctx, ra, j.entry.Size, func(off int64, size int) error {
		got, err := a.readChunk(ctx, content, j, off, size)
		n += int64(got)
		return err
	})
	if errors.Is(err, errShrunk) {
		err = nil
	}
	return n, true, err
}

// readChunk reads size bytes at off and sends them to the savers. If the
// file ends before, it sends what there was and returns errShrunk; readFile
// reports the change.
func (a *archiver) readChunk(ctx context.Context, ra io.ReaderAt, j *fileJob, off int64, size int) (int, error) {
	buf := chunkBuffers.Get().(*[]byte)
	*buf = slices.Grow((*buf)[:0], size)[:size]
	got, err := ra.ReadAt(*buf, off)
	switch {
	case got == size:
		err = nil
	case err == nil || errors.Is(err, io.EOF):
		err = errShrunk
	default:
		got = 0 // the file fails
	}
	*buf = (*buf)[:got]
	a.bytesRead.Add(uint64(got))
	if got == 0 {
		putChunkBuffer(buf)
		return 0, err
	}
	if serr := a.sendChunk(ctx, j, buf); serr != nil {
		return got, serr
	}
	return got, err
}

// limitedReaderAt reads no faster than l allows, as limit.NewReader does
// for a stream.
type limitedReaderAt struct {
	ctx context.Context
	ra  io.ReaderAt
	l   *rate.Limiter
}

func (r *limitedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := io.ReadFull(limit.NewReader(r.ctx, io.NewSectionReader(r.ra, off, int64(len(p))), r.l), p)
	if err == io.ErrUnexpectedEOF {
		err = io.EOF
	}
	return n, err
}
