package repo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/cairnbackup/cairn/chunk"
	"github.com/cairnbackup/cairn/pack"
	"github.com/cairnbackup/cairn/repo/backend/limit"
	"github.com/cairnbackup/cairn/source"
)

// fileJob is a file being read and stored. pending counts the reading plus
// each chunk not yet stored; done closes when it reaches zero.
type fileJob struct {
	entry   source.Entry
	content []ID  // filled by the reader (length) and savers (values), under mu
	size    int64 // bytes read, set by the reader
	mu      sync.Mutex
	pending atomic.Int64
	failed  atomic.Bool
	done    chan struct{}
	read    chan struct{} // closed when reading ended; sequential sources only
}

func (j *fileJob) release() {
	if j.pending.Add(-1) == 0 {
		close(j.done)
	}
}

// blobJob is one chunk on its way to a saver.
type blobJob struct {
	job *fileJob
	i   int
	buf *[]byte
}

var chunkBuffers = sync.Pool{New: func() any { return new([]byte) }}

// putChunkBuffer pools a chunk buffer unless it is much larger than the
// chunk it last held, so one huge chunk does not pin its size on the pool.
func putChunkBuffer(b *[]byte) {
	if cap(*b) > 2*len(*b) && cap(*b) > 1<<20 {
		return
	}
	chunkBuffers.Put(b)
}

// file queues a file for reading, unless the parent snapshot has it.
func (a *archiver) file(ctx context.Context, e *source.Entry, it *item, prev *Tree) error {
	var p *Node
	if prev != nil {
		p = prev.Find(it.node.Path)
	}
	if a.unchanged(e, p) {
		it.node.Content = p.Content
		it.class = &a.filesUnchanged
		a.filesDone.Add(1)
		a.bytesSkipped.Add(uint64(e.Size))
		return nil
	}
	it.class = &a.filesNew
	if p != nil {
		it.class = &a.filesChanged
	}
	j := &fileJob{entry: *e, done: make(chan struct{})}
	j.pending.Store(1)
	if a.seq {
		j.read = make(chan struct{})
	}
	it.job = j
	select {
	case a.files <- j:
	case <-ctx.Done():
		return ctx.Err()
	}
	if a.seq {
		select {
		case <-j.read:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// unchanged reports whether the parent snapshot's node p can stand for e
// without reading it.
func (a *archiver) unchanged(e *source.Entry, p *Node) bool {
	if p == nil || p.Type != source.TypeFile || p.Hardlink != "" || p.Size != e.Size ||
		!p.ModTime.Equal(e.ModTime) ||
		(!a.opts.IgnoreCtime && !p.ChangeTime.Equal(e.ChangeTime)) ||
		(!a.opts.IgnoreInode && p.Inode != e.Inode) {
		return false
	}
	for _, id := range p.Content {
		if loc, ok := a.r.idx.Lookup(pack.Handle{Type: pack.DataBlob, ID: id}); !ok || loc.Condemned {
			return false
		}
	}
	return true
}

// readFiles reads queued files until the queue closes.
func (a *archiver) readFiles(ctx context.Context) error {
	ch, err := chunk.New(a.r.Polynomial(), a.params)
	if err != nil {
		return err
	}
	sp, err := a.newSplitter()
	if err != nil {
		return err
	}
	for j := range a.files {
		if err := a.readFile(ctx, ch, sp, j); err != nil {
			return err
		}
	}
	return nil
}

// readFile cuts one file into chunks for the savers. Problems with the
// file are warnings; only cancellation is an error.
func (a *archiver) readFile(ctx context.Context, ch *chunk.Chunker, sp *chunk.Splitter, j *fileJob) error {
	defer j.release()
	if j.read != nil {
		defer close(j.read)
	}
	path := j.entry.Path
	if j.entry.Open == nil {
		j.failed.Store(true)
		a.warn(path, errors.New("source gave no way to read the file"))
		return nil
	}
	rc, err := j.entry.Open()
	if errors.Is(err, source.ErrAbort) {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err != nil {
		j.failed.Store(true)
		a.warn(path, err)
		return nil
	}
	a.current.Store(&j.entry.Path)
	n, split, err := a.splitFile(ctx, sp, j, rc)
	if !split {
		ch.Reset(&countReader{r: limit.NewReader(ctx, rc, a.opts.readLimit), n: &a.bytesRead})
		n, err = a.chunkFile(ctx, ch, j)
	}
	cerr := rc.Close()
	j.size = n
	switch {
	case errors.Is(err, source.ErrAbort):
		return fmt.Errorf("%s: %w", path, err)
	case errors.Is(cerr, source.ErrAbort):
		return fmt.Errorf("%s: %w", path, cerr)
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		j.failed.Store(true)
		a.warn(path, err)
	case cerr != nil && !errors.Is(cerr, source.ErrChanged):
		j.failed.Store(true)
		a.warn(path, cerr)
	case cerr != nil:
		a.warn(path, cerr) // stored as read
	case j.entry.Size >= 0 && n != j.entry.Size:
		a.warn(path, fmt.Errorf("read %d bytes, expected %d: %w", n, j.entry.Size, source.ErrChanged))
	}
	a.filesDone.Add(1)
	return nil
}

// chunkFile sends the chunks of the file to the savers and returns the
// bytes read.
func (a *archiver) chunkFile(ctx context.Context, ch *chunk.Chunker, j *fileJob) (int64, error) {
	var n int64
	for {
		buf := chunkBuffers.Get().(*[]byte)
		data, err := ch.Next(*buf)
		if err != nil {
			putChunkBuffer(buf)
			if err == io.EOF {
				return n, nil
			}
			return n, err
		}
		*buf = data
		n += int64(len(data))
		if err := a.sendChunk(ctx, j, buf); err != nil {
			return n, err
		}
	}
}

// sendChunk hands the file's next chunk, in buf, to the savers.
func (a *archiver) sendChunk(ctx context.Context, j *fileJob, buf *[]byte) error {
	if err := a.mem.Acquire(ctx, a.weight(*buf)); err != nil {
		return err
	}
	j.mu.Lock()
	i := len(j.content)
	j.content = append(j.content, ID{})
	j.mu.Unlock()
	j.pending.Add(1)
	select {
	case a.blobs <- blobJob{job: j, i: i, buf: buf}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// weight is what a chunk in buf counts against MaxInFlight: the buffer's
// capacity, the memory it holds, but never more than the cap itself, which
// could then never be granted.
func (a *archiver) weight(buf []byte) int64 {
	return min(int64(cap(buf)), a.opts.MaxInFlight)
}

// saveBlobs stores chunks until the queue closes.
func (a *archiver) saveBlobs(ctx context.Context) error {
	for b := range a.blobs {
		data := *b.buf
		id, _, err := a.w.SaveBlob(ctx, pack.DataBlob, data)
		a.mem.Release(a.weight(data))
		putChunkBuffer(b.buf)
		if err != nil {
			return err
		}
		b.job.mu.Lock()
		b.job.content[b.i] = id
		b.job.mu.Unlock()
		b.job.release()
	}
	return nil
}
