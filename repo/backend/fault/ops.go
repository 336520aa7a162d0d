package fault

import (
	"bytes"
	"context"
	"io"
	"sync/atomic"

	"github.com/cairnbackup/cairn/repo/backend"
)

// Save passes the call on unless a fault stops it.
func (b *Backend) Save(ctx context.Context, h backend.Handle, rd backend.RewindReader) error {
	if err := b.before(OpSave, h); err != nil {
		return err
	}
	return b.inner.Save(ctx, h, &countingRewinder{RewindReader: rd, n: &b.bytesSent})
}

// Load passes the call on unless a fault stops it, and applies the
// CorruptLoad hook to the bytes that come back.
func (b *Backend) Load(ctx context.Context, h backend.Handle, length int, offset int64, fn func(rd io.Reader) error) error {
	if err := b.before(OpLoad, h); err != nil {
		return err
	}
	b.mu.Lock()
	corrupt := b.corrupt
	b.mu.Unlock()
	return b.inner.Load(ctx, h, length, offset, func(rd io.Reader) error {
		rd = &countingReader{r: rd, n: &b.bytesRecv}
		if corrupt == nil {
			return fn(rd)
		}
		// The hook needs the whole range to pick what to change.
		data, err := io.ReadAll(rd)
		if err != nil {
			return err
		}
		corrupt(h, offset, data)
		return fn(bytes.NewReader(data))
	})
}

// Stat passes the call on unless a fault stops it.
func (b *Backend) Stat(ctx context.Context, h backend.Handle) (backend.FileInfo, error) {
	if err := b.before(OpStat, h); err != nil {
		return backend.FileInfo{}, err
	}
	return b.inner.Stat(ctx, h)
}

// List passes the call on unless a fault stops it.
func (b *Backend) List(ctx context.Context, t backend.FileType, fn func(backend.FileInfo) error) error {
	if err := b.before(OpList, backend.Handle{Type: t}); err != nil {
		return err
	}
	return b.inner.List(ctx, t, fn)
}

// Remove passes the call on unless a fault stops it.
func (b *Backend) Remove(ctx context.Context, h backend.Handle) error {
	if err := b.before(OpRemove, h); err != nil {
		return err
	}
	return b.inner.Remove(ctx, h)
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

type countingRewinder struct {
	backend.RewindReader
	n *atomic.Int64
}

func (c *countingRewinder) Read(p []byte) (int, error) {
	n, err := c.RewindReader.Read(p)
	c.n.Add(int64(n))
	return n, err
}
