package repo

import (
	"bytes"
	"context"
	"testing"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/pack"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/stretchr/testify/require"
)

// rewrite replaces an object with a changed copy, as damage on disk would.
func rewrite(t *testing.T, be backend.Backend, h backend.Handle, change func([]byte) []byte) {
	t.Helper()
	ctx := context.Background()
	data, err := backend.LoadAll(ctx, be, h)
	require.NoError(t, err)
	require.NoError(t, be.Remove(ctx, h))
	require.NoError(t, be.Save(ctx, h, backend.NewByteReader(change(bytes.Clone(data)))))
}

func flipBit(i int) func([]byte) []byte {
	return func(b []byte) []byte { b[i%len(b)] ^= 1 << (i % 8); return b }
}

func onlyFile(t *testing.T, be backend.Backend, ft backend.FileType) backend.Handle {
	t.Helper()
	names := listFiles(t, be, ft)
	require.Len(t, names, 1)
	return backend.Handle{Type: ft, Name: names[0]}
}

// oneBlobRepo makes a repository holding one data blob in one pack.
func oneBlobRepo(t *testing.T) (*Repository, backend.Backend, ID, backend.Handle) {
	r, be := newMemRepo(t)
	w := r.NewWriter()
	id, _, err := w.SaveBlob(context.Background(), DataBlob, []byte("precious data, 30 bytes long.."))
	require.NoError(t, err)
	require.NoError(t, w.Flush(context.Background()))
	return r, be, id, onlyFile(t, be, backend.PackFile)
}

func TestFlippedBitInPackIsCorrupt(t *testing.T) {
	ctx := context.Background()
	_, be, blob, ph := oneBlobRepo(t)
	packID, err := crypto.ParseID(ph.Name)
	require.NoError(t, err)
	size := len(mustLoad(t, be, ph))
	blobLen := pack.MinBlobSize + 30
	for i := range size {
		rewrite(t, be, ph, flipBit(i))
		r := reopen(t, be)
		_, loadErr := r.LoadBlob(ctx, DataBlob, blob, nil)
		_, hdrErr := r.ReadPackHeader(ctx, packID)
		if i < blobLen {
			require.ErrorIs(t, loadErr, ErrCorrupt, "flip in blob at %d", i)
			require.ErrorContains(t, loadErr, "data blob "+blob.String())
			require.ErrorContains(t, loadErr, "pack "+ph.Name)
			require.NoError(t, hdrErr)
		} else {
			require.NoError(t, loadErr, "flip in header at %d does not touch the blob", i)
			require.ErrorIs(t, hdrErr, ErrCorrupt, "flip in header at %d", i)
			require.ErrorContains(t, hdrErr, ph.Name)
		}
		rewrite(t, be, ph, flipBit(i)) // repair
	}
}

func TestTruncatedPack(t *testing.T) {
	ctx := context.Background()
	r, be, blob, ph := oneBlobRepo(t)
	packID, _ := crypto.ParseID(ph.Name)
	rewrite(t, be, ph, func(b []byte) []byte { return b[:20] })
	_, err := r.LoadBlob(ctx, DataBlob, blob, nil)
	require.Error(t, err)
	require.ErrorContains(t, err, ph.Name)
	_, err = r.ReadPackHeader(ctx, packID)
	require.ErrorIs(t, err, ErrCorrupt)
	require.ErrorContains(t, err, ph.Name)
}

func TestMissingPack(t *testing.T) {
	ctx := context.Background()
	r, be, blob, ph := oneBlobRepo(t)
	require.NoError(t, be.Remove(ctx, ph))
	_, err := r.LoadBlob(ctx, DataBlob, blob, nil)
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorContains(t, err, ph.Name)
	var be2 *BlobError
	require.ErrorAs(t, err, &be2)
	require.Equal(t, blob, be2.Blob.ID)
}

func TestFlippedBitInIndexFileIsCorrupt(t *testing.T) {
	ctx := context.Background()
	_, be, _, _ := oneBlobRepo(t)
	ih := onlyFile(t, be, backend.IndexFile)
	size := len(mustLoad(t, be, ih))
	for i := range size {
		rewrite(t, be, ih, flipBit(i))
		_, err := Open(ctx, be, testPassword, OpenOptions{})
		require.ErrorIs(t, err, ErrCorrupt, "flip at %d", i)
		require.ErrorContains(t, err, ih.String())
		rewrite(t, be, ih, flipBit(i))
	}
}

func TestFlippedBitInSnapshotIsCorrupt(t *testing.T) {
	ctx := context.Background()
	r, be := newMemRepo(t)
	sn := saveSnapshot(t, r.NewWriter(), []byte("tree"))
	sh := snapshotHandle(sn.ID)
	size := len(mustLoad(t, be, sh))
	for i := range size {
		rewrite(t, be, sh, flipBit(i))
		_, err := r.LoadSnapshot(ctx, sn.ID)
		require.ErrorIs(t, err, ErrCorrupt, "flip at %d", i)
		require.ErrorContains(t, err, sh.String())
		_, err = r.Snapshots(ctx)
		require.ErrorIs(t, err, ErrCorrupt)
		rewrite(t, be, sh, flipBit(i))
	}
	_, err := r.LoadSnapshot(ctx, sn.ID)
	require.NoError(t, err)
}

func TestSnapshotUnderWrongNameIsCorrupt(t *testing.T) {
	// A valid snapshot file copied under another name fails the name check.
	ctx := context.Background()
	r, be := newMemRepo(t)
	sn := saveSnapshot(t, r.NewWriter(), []byte("tree"))
	data := mustLoad(t, be, snapshotHandle(sn.ID))
	other := ID{0xaa}
	require.NoError(t, be.Save(ctx, snapshotHandle(other), backend.NewByteReader(data)))
	_, err := r.LoadSnapshot(ctx, other)
	require.ErrorIs(t, err, ErrCorrupt)
}

func TestBadFileNameIsReported(t *testing.T) {
	ctx := context.Background()
	r, be := newMemRepo(t)
	require.NoError(t, be.Save(ctx, backend.Handle{Type: backend.SnapshotFile, Name: "abcd"}, backend.NewByteReader([]byte("x"))))
	_, err := r.Snapshots(ctx)
	require.ErrorIs(t, err, ErrCorrupt)
	require.ErrorContains(t, err, "snapshots/abcd")
}

func mustLoad(t *testing.T, be backend.Backend, h backend.Handle) []byte {
	t.Helper()
	data, err := backend.LoadAll(context.Background(), be, h)
	require.NoError(t, err)
	return data
}
