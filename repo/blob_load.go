package repo

import (
	"context"
	"fmt"
	"io"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/index"
	"github.com/cairnbackup/cairn/internal/compress"
	"github.com/cairnbackup/cairn/pack"
	"github.com/cairnbackup/cairn/repo/backend"
)

// LoadBlob loads a blob, authenticates and decompresses it, checks that its
// content hashes to its ID, and appends the content to dst[:0].
// A blob the index does not know wraps ErrNotFound; a damaged one wraps
// ErrCorrupt. Both name the blob, and the pack when known.
func (r *Repository) LoadBlob(ctx context.Context, t BlobType, id ID, dst []byte) ([]byte, error) {
	h := pack.Handle{Type: t, ID: id}
	loc, ok := r.idx.Lookup(h)
	if !ok {
		return nil, &BlobError{Blob: h, Err: fmt.Errorf("not in index: %w", ErrNotFound)}
	}
	buf := blobBuffers.Get().(*blobBuffer)
	defer blobBuffers.Put(buf)
	if t == pack.TreeBlob && r.cache != nil {
		if out, err := r.loadCachedBlob(ctx, h, loc, buf, dst); err == nil {
			return out, nil
		}
		// The cache could not help; the backend decides.
	}
	ph := backend.Handle{Type: backend.PackFile, Name: loc.Pack.String()}
	err := r.be.Load(ctx, ph, int(loc.Length), int64(loc.Offset), func(rd io.Reader) error {
		buf.sealed = grow(buf.sealed[:0], int(loc.Length))
		_, err := io.ReadFull(rd, buf.sealed)
		return err
	})
	if err != nil {
		return nil, &BlobError{Blob: h, Pack: loc.Pack, Err: err}
	}
	return r.openBlob(h, loc, buf, dst)
}

// openBlob authenticates and decompresses the sealed blob h in buf.sealed,
// checks it against loc and its ID, and appends its content to dst[:0].
func (r *Repository) openBlob(h pack.Handle, loc index.Location, buf *blobBuffer, dst []byte) ([]byte, error) {
	var err error
	buf.plain, err = pack.OpenBlob(buf.plain[:0], r.key, h, buf.sealed)
	if err != nil {
		return nil, &BlobError{Blob: h, Pack: loc.Pack, Err: err}
	}
	return r.decodeBlob(h, loc, compress.Decode, buf.plain, dst)
}

// openBlobInPlace is openBlob decrypting in sealed's own storage, which it
// overwrites. The content it returns is part of sealed if the blob is
// stored uncompressed; otherwise it is decompressed into *scratch, which
// keeps the buffer for the next blob.
func (r *Repository) openBlobInPlace(h pack.Handle, loc index.Location, sealed []byte, scratch *[]byte) ([]byte, error) {
	plain, err := pack.OpenBlobInPlace(r.key, h, sealed)
	if err != nil {
		return nil, &BlobError{Blob: h, Pack: loc.Pack, Err: err}
	}
	view := func(dst, src []byte, limit int) ([]byte, error) {
		out, err := compress.View(dst, src, limit)
		if err == nil && src[0] != compress.ModeRaw {
			*scratch = out[:0]
		}
		return out, err
	}
	return r.decodeBlob(h, loc, view, plain, *scratch)
}

// decodeBlob decompresses the authenticated blob plain with decode and
// checks its length and ID.
func (r *Repository) decodeBlob(h pack.Handle, loc index.Location, decode func(dst, src []byte, limit int) ([]byte, error), plain, dst []byte) ([]byte, error) {
	out, err := decode(dst[:0], plain, int(loc.RawLength))
	if err != nil {
		return nil, &BlobError{Blob: h, Pack: loc.Pack, Err: fmt.Errorf("%w: %w", err, ErrCorrupt)}
	}
	if len(out) != int(loc.RawLength) {
		return nil, &BlobError{Blob: h, Pack: loc.Pack,
			Err: fmt.Errorf("%d bytes, index says %d: %w", len(out), loc.RawLength, ErrCorrupt)}
	}
	if got := r.key.BlobID(out); got != h.ID {
		return nil, &BlobError{Blob: h, Pack: loc.Pack,
			Err: fmt.Errorf("content hashes to %s: %w", got.Short(), crypto.ErrCorrupt)}
	}
	return out, nil
}

// grow returns b resized to n bytes, reallocating only if it must.
func grow(b []byte, n int) []byte {
	if cap(b) >= n {
		return b[:n]
	}
	return make([]byte, n)
}
