package drill

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync/atomic"

	"github.com/cairnbackup/cairn/source"
	cairnfs "github.com/cairnbackup/cairn/source/fs"
)

// target restores into a directory through source/fs, leaves out what a
// sample does not keep, and reads every file back as soon as it is
// written.
//
// It does the read-back itself rather than through RestoreOptions.Verify,
// which reads back every file the restore walks, kept or not. The check is
// as strong: Restore hands over bytes that the repository authenticated and
// hashed to their blob IDs, and the file on disk must hash the same.
type target struct {
	fs   *cairnfs.Target
	keep map[string]bool // nil: everything
	c    *checker

	bytes, want, verified atomic.Uint64
}

var _ source.ParallelTarget = (*target)(nil)

func (t *target) Parallel() bool { return true }

func (t *target) Put(ctx context.Context, e *source.Entry, content io.Reader) error {
	if t.keep != nil && !t.keep[e.Path] {
		return nil // content nobody reads is not fetched
	}
	if e.Type != source.TypeFile || e.Hardlink != "" || content == nil {
		return t.fs.Put(ctx, e, content)
	}
	h := sha256.New()
	cr := &countReader{r: io.TeeReader(content, h)}
	if err := t.fs.Put(ctx, e, cr); err != nil {
		return err
	}
	t.bytes.Add(uint64(cr.n))
	t.want.Add(uint64(e.Size))
	if n, _ := content.Read(make([]byte, 1)); n > 0 {
		t.c.mismatch(e.Path, "size", fmt.Sprintf("the snapshot's content is longer than its size, %d bytes", e.Size))
	}
	return t.readBack(ctx, e.Path, h.Sum(nil))
}

// readBack compares the file at p with sum, the hash of what was written.
func (t *target) readBack(ctx context.Context, p string, sum []byte) error {
	got, err := t.hashBack(ctx, p)
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, fs.ErrPermission): // a file its owner may not read
		t.c.warn(p, fmt.Errorf("not read back: %w", err))
	case err != nil:
		t.c.mismatch(p, "content", "cannot read back: "+err.Error())
	case !bytes.Equal(got, sum):
		t.c.mismatch(p, "content", "differs from the snapshot")
	default:
		t.verified.Add(1)
	}
	return nil
}

func (t *target) hashBack(ctx context.Context, p string) ([]byte, error) {
	rc, err := t.fs.ReadBack(ctx, p)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

func (t *target) Close(ctx context.Context) error { return t.fs.Close(ctx) }

// finish adds the target's counts to rep.
func (t *target) finish(rep *Report) {
	rep.Bytes, rep.Verified = t.bytes.Load(), int(t.verified.Load())
	if want := t.want.Load(); rep.Bytes != want {
		t.c.mismatch(".", "bytes", fmt.Sprintf("%d bytes restored, the snapshot's files hold %d", rep.Bytes, want))
	}
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
