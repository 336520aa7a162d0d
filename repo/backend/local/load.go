package local

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/cairnbackup/cairn/repo/backend"
)

// Load opens the object and calls fn with a reader of the requested range.
// The range is checked against the file's size first, so fn only runs when
// the object has the bytes asked for.
func (b *Backend) Load(ctx context.Context, h backend.Handle, length int, offset int64, fn func(rd io.Reader) error) error {
	if err := check(ctx, "load", h); err != nil {
		return err
	}
	if length < 0 || offset < 0 {
		return fmt.Errorf("load %v: invalid range %d+%d", h, offset, length)
	}
	f, err := os.Open(b.path(h))
	if err != nil {
		return objectError("load", h, err)
	}
	defer f.Close()

	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("load %v: %w", h, err)
	}
	size := fi.Size()
	n := size - offset
	if length > 0 {
		n = int64(length)
	}
	if offset > size || offset+n > size {
		return fmt.Errorf("load %v: range %d+%d beyond size %d: %w", h, offset, length, size, io.ErrUnexpectedEOF)
	}
	return fn(&rangeReader{ctx: ctx, h: h, r: io.NewSectionReader(f, offset, n), left: n})
}

// rangeReader reads a range of an object. It checks ctx on every Read, so
// a cancel stops a long load, and it turns an early end, which means the
// file shrank after its size was checked, into io.ErrUnexpectedEOF: a
// truncated object must not pass for a complete one.
type rangeReader struct {
	ctx  context.Context
	h    backend.Handle
	r    io.Reader
	left int64
}

func (r *rangeReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, fmt.Errorf("load %v: %w", r.h, err)
	}
	n, err := r.r.Read(p)
	r.left -= int64(n)
	switch {
	case err == io.EOF && r.left > 0:
		return n, fmt.Errorf("load %v: object ended %d bytes early: %w", r.h, r.left, io.ErrUnexpectedEOF)
	case err != nil && err != io.EOF:
		return n, fmt.Errorf("load %v: %w", r.h, err)
	}
	return n, err
}
