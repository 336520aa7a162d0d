package backendtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/stretchr/testify/require"
)

func testCancelled(t *testing.T, be backend.Backend) {
	h := randomHandle(t, backend.PackFile)
	data := randomBytes(t, 1000)
	save(t, be, h, data)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	newH := randomHandle(t, backend.PackFile)
	err := be.Save(ctx, newH, backend.NewByteReader(data))
	require.ErrorIs(t, err, context.Canceled, "save")
	requireMissing(t, be, newH)

	err = be.Load(ctx, h, 0, 0, func(rd io.Reader) error {
		_, err := io.ReadAll(rd)
		return err
	})
	require.ErrorIs(t, err, context.Canceled, "load")

	_, err = be.Stat(ctx, h)
	require.ErrorIs(t, err, context.Canceled, "stat")

	err = be.List(ctx, backend.PackFile, func(backend.FileInfo) error { return nil })
	require.ErrorIs(t, err, context.Canceled, "list")

	err = be.Remove(ctx, h)
	require.ErrorIs(t, err, context.Canceled, "remove")
	requireContent(t, be, h, data)
}

// testCancelledDuringSave cancels the context while Save is reading: the
// backend must notice before it publishes the object.
func testCancelledDuringSave(t *testing.T, be backend.Backend) {
	data := randomBytes(t, 2<<20)
	h := randomHandle(t, backend.PackFile)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	err := be.Save(ctx, h, cancellingReader{rd: backend.NewByteReader(data), cancel: cancel})
	require.ErrorIs(t, err, context.Canceled)
	requireMissing(t, be, h)

	save(t, be, h, data)
	requireContent(t, be, h, data)
}

// testReentrant calls the backend from inside its own callbacks, as a
// repository does when it lists index files and loads each one.
func testReentrant(t *testing.T, be backend.Backend) {
	want := make(map[string][]byte)
	for range 5 {
		h := randomHandle(t, backend.IndexFile)
		want[h.Name] = randomBytes(t, 100)
		save(t, be, h, want[h.Name])
	}

	seen := 0
	err := be.List(t.Context(), backend.IndexFile, func(fi backend.FileInfo) error {
		seen++
		h := backend.Handle{Type: backend.IndexFile, Name: fi.Name}
		return be.Load(t.Context(), h, 0, 0, func(rd io.Reader) error {
			if _, err := be.Stat(t.Context(), h); err != nil {
				return err
			}
			data, err := io.ReadAll(rd)
			if err == nil && !bytes.Equal(data, want[fi.Name]) {
				err = fmt.Errorf("%v: wrong content", h)
			}
			return err
		})
	})
	require.NoError(t, err)
	require.Equal(t, len(want), seen)

	// Saving and removing from inside List must not deadlock either.
	err = be.List(t.Context(), backend.IndexFile, func(backend.FileInfo) error {
		other := randomHandle(t, backend.SnapshotFile)
		if err := be.Save(t.Context(), other, backend.NewByteReader([]byte("x"))); err != nil {
			return err
		}
		return be.Remove(t.Context(), other)
	})
	require.NoError(t, err)
	require.Empty(t, list(t, be, backend.SnapshotFile))
}
