package repo

import (
	"bytes"
	"context"
	"testing"

	"github.com/cairnbackup/cairn/chunk"
	"github.com/cairnbackup/cairn/internal/envelope"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/mem"
	"github.com/stretchr/testify/require"
)

func TestInitOpen(t *testing.T) {
	ctx := context.Background()
	be := mem.New()
	r := initRepo(t, be, Options{})
	require.Equal(t, chunk.DefaultParams(), r.Config().Chunking)
	require.NotZero(t, r.Polynomial())

	again := reopen(t, be)
	require.Equal(t, r.Config().ID, again.Config().ID)
	require.Equal(t, r.Polynomial(), again.Polynomial())
	require.Equal(t, r.key.BlobID([]byte("x")), again.key.BlobID([]byte("x")))

	_, err := Init(ctx, be, testPassword, InitOptions{Key: cheapKey})
	require.ErrorIs(t, err, ErrExists)
}

func TestInitCustomChunking(t *testing.T) {
	be := mem.New()
	p := chunk.Params{Min: 64 << 10, Avg: 128 << 10, Max: 1 << 20}
	_, err := Init(context.Background(), be, testPassword, InitOptions{Chunking: p, Key: cheapKey})
	require.NoError(t, err)
	require.Equal(t, p, reopen(t, be).Config().Chunking)

	_, err = Init(context.Background(), mem.New(), testPassword,
		InitOptions{Chunking: chunk.Params{Min: 1, Avg: 3, Max: 2}, Key: cheapKey})
	require.Error(t, err)
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	_, err := Open(ctx, mem.New(), testPassword, OpenOptions{})
	require.ErrorIs(t, err, ErrNotFound, "empty backend")

	_, be := newMemRepo(t)
	_, err = Open(ctx, be, "wrong", OpenOptions{})
	require.ErrorIs(t, err, ErrWrongPassword)
	require.NotErrorIs(t, err, ErrCorrupt)

	_, err = Open(ctx, be, testPassword, OpenOptions{Options: Options{PackSize: 10}})
	require.Error(t, err, "invalid options")
}

func TestUnknownVersionIsRefused(t *testing.T) {
	ctx := context.Background()
	_, be := newMemRepo(t)
	data, err := backend.LoadAll(ctx, be, configHandle)
	require.NoError(t, err)
	data[envelope.HeaderSize-1] = 2
	require.NoError(t, be.Remove(ctx, configHandle))
	require.NoError(t, be.Save(ctx, configHandle, backend.NewByteReader(data)))

	_, err = Open(ctx, be, testPassword, OpenOptions{})
	require.ErrorIs(t, err, ErrUnsupportedVersion)
	require.ErrorContains(t, err, "config")
	_, err = Open(ctx, be, "even a wrong password", OpenOptions{})
	require.ErrorIs(t, err, ErrUnsupportedVersion, "checked before any key")
}

func TestDamagedConfigIsCorrupt(t *testing.T) {
	ctx := context.Background()
	_, be := newMemRepo(t)
	data, err := backend.LoadAll(ctx, be, configHandle)
	require.NoError(t, err)
	data[len(data)-1] ^= 1
	require.NoError(t, be.Remove(ctx, configHandle))
	require.NoError(t, be.Save(ctx, configHandle, backend.NewByteReader(data)))
	_, err = Open(ctx, be, testPassword, OpenOptions{})
	require.ErrorIs(t, err, ErrCorrupt)
	require.ErrorContains(t, err, "config")
}

func TestKeys(t *testing.T) {
	ctx := context.Background()
	r, be := newMemRepo(t)
	keys, err := r.Keys(ctx)
	require.NoError(t, err)
	require.Len(t, keys, 1)
	require.True(t, keys[0].Current)
	require.Equal(t, "test", keys[0].Host)
	require.Equal(t, "tester", keys[0].Username)
	first := keys[0].ID

	second, err := r.AddKey(ctx, "second password", cheapKey)
	require.NoError(t, err)
	r2, err := Open(ctx, be, "second password", OpenOptions{})
	require.NoError(t, err)
	require.Equal(t, r.Config().ID, r2.Config().ID)
	keys, err = r2.Keys(ctx)
	require.NoError(t, err)
	require.Len(t, keys, 2)
	for _, k := range keys {
		require.Equal(t, k.ID == second, k.Current)
	}

	require.ErrorIs(t, r2.RemoveKey(ctx, second), ErrCurrentKey)
	require.NoError(t, r2.RemoveKey(ctx, first))
	require.ErrorIs(t, r2.RemoveKey(ctx, first), ErrNotFound)
	_, err = Open(ctx, be, testPassword, OpenOptions{})
	require.ErrorIs(t, err, ErrWrongPassword)

	_, err = r2.AddKey(ctx, "", cheapKey)
	require.Error(t, err, "empty password")
}

func TestChangePassword(t *testing.T) {
	ctx := context.Background()
	r, be := newMemRepo(t)
	newID, err := r.ChangePassword(ctx, "new password", cheapKey)
	require.NoError(t, err)
	keys, err := r.Keys(ctx)
	require.NoError(t, err)
	require.Len(t, keys, 1)
	require.Equal(t, newID, keys[0].ID)
	require.True(t, keys[0].Current)

	_, err = Open(ctx, be, testPassword, OpenOptions{})
	require.ErrorIs(t, err, ErrWrongPassword)
	_, err = Open(ctx, be, "new password", OpenOptions{})
	require.NoError(t, err)
}

func TestFlippedBitInKeyFileIsCorrupt(t *testing.T) {
	ctx := context.Background()
	_, be := newMemRepo(t)
	names := listFiles(t, be, backend.KeyFile)
	require.Len(t, names, 1)
	h := backend.Handle{Type: backend.KeyFile, Name: names[0]}
	data, err := backend.LoadAll(ctx, be, h)
	require.NoError(t, err)
	for _, i := range []int{0, len(data) / 3, len(data) / 2, len(data) - 2} {
		bad := bytes.Clone(data)
		bad[i] ^= 0x01
		require.NoError(t, be.Remove(ctx, h))
		require.NoError(t, be.Save(ctx, h, backend.NewByteReader(bad)))
		_, err = Open(ctx, be, testPassword, OpenOptions{})
		require.ErrorIs(t, err, ErrCorrupt, "flip at %d", i)
		require.ErrorContains(t, err, "keys/"+names[0])
	}
}

func TestKeyOfAnotherRepositoryIsSkipped(t *testing.T) {
	ctx := context.Background()
	_, be := newMemRepo(t)
	_, other := newMemRepo(t)
	// Copy the other repository's key file (same password) into this one.
	for _, name := range listFiles(t, other, backend.KeyFile) {
		h := backend.Handle{Type: backend.KeyFile, Name: name}
		data, err := backend.LoadAll(ctx, other, h)
		require.NoError(t, err)
		require.NoError(t, be.Save(ctx, h, backend.NewByteReader(data)))
	}
	_, err := Open(ctx, be, testPassword, OpenOptions{})
	require.NoError(t, err)
}
