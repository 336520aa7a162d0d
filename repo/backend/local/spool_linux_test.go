package local

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/stretchr/testify/require"
)

func spooled(t *testing.T, b *Backend, data string) *os.File {
	t.Helper()
	f, err := b.Spool(backend.PackFile)
	require.NoError(t, err)
	_, err = f.WriteString(data)
	require.NoError(t, err)
	return f
}

func TestSpoolSave(t *testing.T) {
	ctx := context.Background()
	b := New(t.TempDir()) // never Created: Spool and SaveSpool make the folders
	h := backend.Handle{Type: backend.PackFile, Name: "ab01"}
	require.NoError(t, b.SaveSpool(ctx, h, spooled(t, b, "first")))
	got, err := backend.LoadAll(ctx, b, h)
	require.NoError(t, err)
	require.Equal(t, "first", string(got))

	err = b.SaveSpool(ctx, h, spooled(t, b, "second"))
	require.ErrorIs(t, err, backend.ErrExists)
	got, err = backend.LoadAll(ctx, b, h)
	require.NoError(t, err)
	require.Equal(t, "first", string(got), "an existing object must stay as it was")
}

func TestSpoolLeavesNothing(t *testing.T) {
	ctx := context.Background()
	b := New(t.TempDir())
	require.NoError(t, b.Create(ctx))
	f := spooled(t, b, "dropped")
	require.NoError(t, f.Close())

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	h := backend.Handle{Type: backend.PackFile, Name: "cd02"}
	err := b.SaveSpool(cancelled, h, spooled(t, b, "cancelled"))
	require.True(t, errors.Is(err, context.Canceled), "got %v", err)
	_, err = b.Stat(ctx, h)
	require.ErrorIs(t, err, backend.ErrNotFound)

	var names []string
	require.NoError(t, filepath.WalkDir(b.Dir(), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return err
	}))
	require.Empty(t, names, "spool files must vanish when dropped")
}

func TestSpoolReadBack(t *testing.T) {
	b := New(t.TempDir())
	f := spooled(t, b, "0123456789")
	defer f.Close()
	r := backend.NewSectionReader(f, 10)
	buf := make([]byte, 4)
	_, err := r.ReadAt(buf, 3)
	require.NoError(t, err)
	require.Equal(t, "3456", string(buf))
	require.EqualValues(t, 10, r.Length())
}
