package repo

import (
	"context"
	"io"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/cairnbackup/cairn/source"
	"github.com/stretchr/testify/require"
)

func fsSource() *testSource {
	s := sampleSource()
	s.entries[4].LinkTarget = "big" // a/link → a/big, inside the snapshot
	s.add(source.Entry{Path: "up", Type: source.TypeSymlink, LinkTarget: "a/z"}, nil)
	s.add(source.Entry{Path: "escape", Type: source.TypeSymlink, LinkTarget: "../../etc/passwd"}, nil)
	return s
}

func TestSnapshotFS(t *testing.T) {
	ctx := context.Background()
	r := smallChunks(t)
	src := fsSource()
	sn, err := r.Backup(ctx, src, BackupOptions{Host: "h"})
	require.NoError(t, err)
	fsys, err := r.FS(ctx, sn.ID)
	require.NoError(t, err)

	// TestFS opens every entry, so leave out the link that leaves the snapshot.
	sub, err := fs.Sub(fsys, "a")
	require.NoError(t, err)
	require.NoError(t, fstest.TestFS(sub, "big", "empty", "link", "z"))

	got, err := fs.ReadFile(fsys, "a/big")
	require.NoError(t, err)
	require.Equal(t, src.data["a/big"], got)
	got, err = fs.ReadFile(fsys, "c") // a hard link
	require.NoError(t, err)
	require.Equal(t, src.data["a/big"], got)
	got, err = fs.ReadFile(fsys, "a/link") // a symlink, followed
	require.NoError(t, err)
	require.Equal(t, src.data["a/big"], got)

	fi, err := fs.Stat(fsys, "up")
	require.NoError(t, err)
	require.True(t, fi.IsDir())
	fi, err = fs.Lstat(fsys, "up")
	require.NoError(t, err)
	require.Equal(t, fs.ModeSymlink, fi.Mode().Type())
	target, err := fs.ReadLink(fsys, "up")
	require.NoError(t, err)
	require.Equal(t, "a/z", target)
	_, err = fsys.Open("escape")
	require.Error(t, err)

	fi, err = fs.Stat(fsys, "b")
	require.NoError(t, err)
	node := fi.Sys().(*Node)
	require.Equal(t, fs.ModeSetuid|0o755, fi.Mode())
	require.Equal(t, "user.a", node.Xattrs[0].Name)

	_, err = fsys.Open("nope")
	require.ErrorIs(t, err, fs.ErrNotExist)
	_, err = fsys.Open("../x")
	require.ErrorIs(t, err, fs.ErrInvalid)
}

func TestSnapshotFSSeek(t *testing.T) {
	ctx := context.Background()
	r := smallChunks(t)
	src := sampleSource()
	sn, err := r.Backup(ctx, src, BackupOptions{Host: "h"})
	require.NoError(t, err)
	fsys, err := r.FS(ctx, sn.ID)
	require.NoError(t, err)
	f, err := fsys.Open("a/big")
	require.NoError(t, err)
	defer f.Close()
	want := src.data["a/big"]
	rs := f.(io.ReadSeeker)
	for _, off := range []int64{0, 1, 100 << 10, int64(len(want)) - 7} {
		_, err := rs.Seek(off, io.SeekStart)
		require.NoError(t, err)
		buf := make([]byte, 64<<10)
		n, err := io.ReadFull(rs, buf)
		if err != nil {
			require.ErrorIs(t, err, io.ErrUnexpectedEOF)
		}
		require.Equal(t, want[off:off+int64(n)], buf[:n])
	}
	p := make([]byte, 10)
	n, err := f.(io.ReaderAt).ReadAt(p, int64(len(want))-5)
	require.Equal(t, 5, n)
	require.ErrorIs(t, err, io.EOF)
}
