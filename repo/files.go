package repo

import (
	"context"
	"fmt"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/repo/backend"
)

// Every repository file but config is named by the BLAKE3-256 digest of its
// bytes. These helpers keep that rule in one place.

// saveFile stores data under the digest of its bytes and returns that name.
func saveFile(ctx context.Context, be backend.Backend, t backend.FileType, data []byte) (crypto.ID, error) {
	id := crypto.Hash(data)
	h := backend.Handle{Type: t, Name: id.String()}
	if err := be.Save(ctx, h, backend.NewByteReader(data)); err != nil {
		return id, &FileError{File: h, Op: "save", Err: err}
	}
	return id, nil
}

// loadFile loads a whole file and verifies that its bytes hash to its name.
func loadFile(ctx context.Context, be backend.Backend, t backend.FileType, id crypto.ID) ([]byte, error) {
	h := backend.Handle{Type: t, Name: id.String()}
	data, err := backend.LoadAll(ctx, be, h)
	if err != nil {
		return nil, &FileError{File: h, Op: "load", Err: err}
	}
	if got := crypto.Hash(data); got != id {
		return nil, &FileError{File: h, Op: "verify",
			Err: fmt.Errorf("content hashes to %s: %w", got.Short(), crypto.ErrCorrupt)}
	}
	return data, nil
}

// listIDs returns the names of all files of type t. A name that is not an ID
// is reported as corrupt, not skipped, so nothing in the repository goes
// unnoticed.
func listIDs(ctx context.Context, be backend.Backend, t backend.FileType) ([]crypto.ID, error) {
	var ids []crypto.ID
	err := be.List(ctx, t, func(fi backend.FileInfo) error {
		id, err := crypto.ParseID(fi.Name)
		if err != nil {
			return &FileError{File: backend.Handle{Type: t, Name: fi.Name}, Op: "list",
				Err: fmt.Errorf("%v: %w", err, crypto.ErrCorrupt)}
		}
		ids = append(ids, id)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", t, err)
	}
	return ids, nil
}
