package limit

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/cairnbackup/cairn/repo/backend"
	"golang.org/x/sync/semaphore"
	"golang.org/x/time/rate"
)

// Options are the limits of a Backend. Zero (or less) means no limit.
type Options struct {
	Upload      int64 // bytes per second read from the readers given to Save
	Download    int64 // bytes per second read by the fn given to Load
	Connections int   // calls in flight at once
}

// Backend passes calls on to an inner backend within its limits.
type Backend struct {
	inner    backend.Backend
	up, down *rate.Limiter       // nil: no limit
	conns    *semaphore.Weighted // nil: no limit
}

var _ backend.Nearby = (*Backend)(nil)

// Nearby reports whether the inner backend is nearby; a limited local disk
// still answers without a round trip.
func (b *Backend) Nearby() bool { return backend.IsNearby(b.inner) }

// New returns be limited by opts.
func New(be backend.Backend, opts Options) *Backend {
	b := &Backend{inner: be, up: NewLimiter(opts.Upload), down: NewLimiter(opts.Download)}
	if opts.Connections > 0 {
		b.conns = semaphore.NewWeighted(int64(opts.Connections))
	}
	return b
}

// Save stores the object, reading rd no faster than the upload limit.
func (b *Backend) Save(ctx context.Context, h backend.Handle, rd backend.RewindReader) error {
	if err := b.acquire(ctx); err != nil {
		return fmt.Errorf("save %v: %w", h, err)
	}
	defer b.release()
	if b.up != nil {
		rd = &rewindReader{RewindReader: rd, limited: NewReader(ctx, rd, b.up)}
	}
	return b.inner.Save(ctx, h, rd)
}

// rewindReader limits Read and passes Length and Rewind through. It hides
// any other method of the caller's reader, such as ByteReader.Bytes, that
// would let the inner backend take the bytes without reading them.
type rewindReader struct {
	backend.RewindReader
	limited io.Reader
}

func (r *rewindReader) Read(p []byte) (int, error) { return r.limited.Read(p) }

// Load calls fn with a reader limited to the download rate. The connection
// slot is held until fn returns.
func (b *Backend) Load(ctx context.Context, h backend.Handle, length int, offset int64, fn func(rd io.Reader) error) error {
	if err := b.acquire(ctx); err != nil {
		return fmt.Errorf("load %v: %w", h, err)
	}
	defer b.release()
	if b.down == nil {
		return b.inner.Load(ctx, h, length, offset, fn)
	}
	return b.inner.Load(ctx, h, length, offset, func(rd io.Reader) error {
		return fn(NewReader(ctx, rd, b.down))
	})
}

// Stat returns the object's size.
func (b *Backend) Stat(ctx context.Context, h backend.Handle) (backend.FileInfo, error) {
	if err := b.acquire(ctx); err != nil {
		return backend.FileInfo{}, fmt.Errorf("stat %v: %w", h, err)
	}
	defer b.release()
	return b.inner.Stat(ctx, h)
}

// List calls fn for every object of type t. The connection slot is let go
// while fn runs, so that fn may call the backend again.
func (b *Backend) List(ctx context.Context, t backend.FileType, fn func(backend.FileInfo) error) error {
	if err := b.acquire(ctx); err != nil {
		return fmt.Errorf("list %v: %w", t, err)
	}
	if b.conns == nil {
		return b.inner.List(ctx, t, fn)
	}
	held := true
	err := b.inner.List(ctx, t, func(fi backend.FileInfo) error {
		b.release()
		held = false
		if err := fn(fi); err != nil {
			return err
		}
		if err := b.acquire(ctx); err != nil {
			return err
		}
		held = true
		return nil
	})
	if held {
		b.release()
	}
	return err
}

// Remove deletes the object.
func (b *Backend) Remove(ctx context.Context, h backend.Handle) error {
	if err := b.acquire(ctx); err != nil {
		return fmt.Errorf("remove %v: %w", h, err)
	}
	defer b.release()
	return b.inner.Remove(ctx, h)
}

// acquire takes a connection slot, waiting until one is free or ctx ends.
func (b *Backend) acquire(ctx context.Context) error {
	if b.conns == nil {
		return nil
	}
	return b.conns.Acquire(ctx, 1)
}

func (b *Backend) release() {
	if b.conns != nil {
		b.conns.Release(1)
	}
}

// minBurst is the smallest burst of a limiter from NewLimiter: smaller ones
// would cut reads into pieces too small to be efficient.
const minBurst = 64 << 10

// NewLimiter returns a limiter of bytesPerSecond for NewReader, with a burst
// of one second's worth of bytes but at least 64 KiB (and at most 1 GiB).
// It returns nil, no limit, if bytesPerSecond is zero or less.
func NewLimiter(bytesPerSecond int64) *rate.Limiter {
	if bytesPerSecond <= 0 {
		return nil
	}
	burst := min(max(bytesPerSecond, minBurst), 1<<30)
	return rate.NewLimiter(rate.Limit(bytesPerSecond), int(burst))
}

// NewReader returns a reader of r that reads no faster than l allows; with
// a nil l it returns r. Every Read takes at most l's burst of bytes and
// waits for their tokens before it returns them; if ctx ends meanwhile,
// Read returns the bytes with ctx's error. Limiters are safe to share
// between readers, which then share the rate.
func NewReader(ctx context.Context, r io.Reader, l *rate.Limiter) io.Reader {
	if l == nil {
		return r
	}
	return &reader{ctx: ctx, r: r, l: l}
}

type reader struct {
	ctx context.Context
	r   io.Reader
	l   *rate.Limiter
}

func (r *reader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	if b := r.l.Burst(); len(p) > b {
		p = p[:b]
	}
	n, err := r.r.Read(p)
	if n > 0 {
		if werr := wait(r.ctx, r.l, n); werr != nil {
			return n, werr
		}
	}
	return n, err
}

// wait takes n tokens from l, n at most its burst, waiting until they are
// there or ctx ends. Unlike rate.Limiter.WaitN it fails only when ctx has
// ended, and then with ctx's error, not early because the wait would
// outlast ctx's deadline.
func wait(ctx context.Context, l *rate.Limiter, n int) error {
	res := l.ReserveN(time.Now(), n)
	if !res.OK() {
		return fmt.Errorf("limit: %d bytes exceed the burst of %d", n, l.Burst())
	}
	d := res.Delay()
	if d == 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		res.Cancel()
		return ctx.Err()
	}
}
