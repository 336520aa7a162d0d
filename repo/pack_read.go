package repo

import (
	"context"
	"io"

	"github.com/cairnbackup/cairn/pack"
	"github.com/cairnbackup/cairn/repo/backend"
)

// ReadPackHeader reads and authenticates the header of a stored pack: which
// blobs it holds, where, and of which type. Errors name the pack.
func (r *Repository) ReadPackHeader(ctx context.Context, id ID) (*pack.Header, error) {
	h := backend.Handle{Type: backend.PackFile, Name: id.String()}
	fi, err := r.be.Stat(ctx, h)
	if err != nil {
		return nil, &FileError{File: h, Op: "stat", Err: err}
	}
	return pack.ReadHeader(&readerAt{ctx: ctx, be: r.be, h: h}, id, fi.Size, r.key)
}

// readerAt reads ranges of one object with backend loads.
type readerAt struct {
	ctx context.Context
	be  backend.Backend
	h   backend.Handle
}

func (ra *readerAt) ReadAt(p []byte, off int64) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	err := ra.be.Load(ra.ctx, ra.h, len(p), off, func(rd io.Reader) error {
		var err error
		n, err = io.ReadFull(rd, p)
		return err
	})
	return n, err
}
