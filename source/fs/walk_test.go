package fs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/cairnbackup/cairn/source"
)

func TestExclude(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root,
		".nobackup", // at the root: the root is not checked
		"a.log", "keep/b.log", "keep/b.txt",
		"cache/x", "keep/cache/y",
		"home/tmp/z", "home/tmpx",
		"skip/.nobackup", "skip/inner/f",
		"keep/skip2/NOBACKUP", "keep/.nobackup-not/f",
	)
	tests := []struct {
		name string
		opts Options
		want []string
	}{
		{"patterns", Options{Exclude: []string{"*.log", "/cache", "home/tmp"}}, []string{
			".", ".nobackup", "home", "home/tmpx", "keep", "keep/.nobackup-not", "keep/.nobackup-not/f",
			"keep/b.txt", "keep/cache", "keep/cache/y", "keep/skip2", "keep/skip2/NOBACKUP",
			"skip", "skip/.nobackup", "skip/inner", "skip/inner/f",
		}},
		{"if present", Options{ExcludeIfPresent: []string{".nobackup", "NOBACKUP"}}, []string{
			".", ".nobackup", "a.log", "cache", "cache/x", "home", "home/tmp", "home/tmp/z", "home/tmpx",
			"keep", "keep/.nobackup-not", "keep/.nobackup-not/f", "keep/b.log", "keep/b.txt",
			"keep/cache", "keep/cache/y",
		}},
		{"both", Options{Exclude: []string{"keep", "/home/**"}, ExcludeIfPresent: []string{".nobackup"}}, []string{
			".", ".nobackup", "a.log", "cache", "cache/x", "home", // "/home/**" is what is in home
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, entryPaths(walkEntries(t, Dir(root, tt.opts))))
		})
	}
}

func TestOneFileSystem(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, "a", "mnt/", "z")
	mnt := filepath.Join(root, "mnt")
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("mounting a tmpfs needs root (CAP_SYS_ADMIN): %v", err)
	}
	t.Cleanup(func() { require.NoError(t, unix.Unmount(mnt, 0)) })
	makeTree(t, mnt, "inner/f")

	es := walkEntries(t, Dir(root, Options{OneFileSystem: true}))
	require.Equal(t, []string{".", "a", "mnt", "z"}, entryPaths(es))
	require.NotEqual(t, es[0].Device, es[2].Device)
	require.Equal(t, source.TypeDir, es[2].Type)

	es = walkEntries(t, Dir(root, Options{}))
	require.Equal(t, []string{".", "a", "mnt", "mnt/inner", "mnt/inner/f", "z"}, entryPaths(es))
}

// TestVanished removes entries while the walk runs: one that was listed but
// is gone before it is lstat'ed, and one that is gone before it is listed.
// Each becomes an entry with an error and the walk goes on. The walk reads
// nothing ahead here, so that it reaches each entry after the consumer has
// seen the one before; TestReadAheadVanished removes entries under a walk
// that reads ahead.
func TestVanished(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, "a/", "b/f", "c/f", "d/f")
	var got []string
	var errs []error
	s := Dir(root, Options{})
	s.ahead = readAhead{batch: 1}
	err := s.Walk(context.Background(), func(e *source.Entry) error {
		got = append(got, e.Path)
		if e.Err != nil {
			errs = append(errs, e.Err)
			return nil
		}
		switch e.Path {
		case "a": // b is listed in the root already
			require.NoError(t, os.RemoveAll(filepath.Join(root, "b")))
		case "c": // c has been lstat'ed, not yet listed
			require.NoError(t, os.RemoveAll(filepath.Join(root, "c")))
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, []string{".", "a", "b", "c", "c", "d", "d/f"}, got)
	require.Len(t, errs, 2)
	for i, want := range []os.PathError{{Op: "lstat", Path: "b"}, {Op: "open", Path: "c"}} {
		require.ErrorIs(t, errs[i], os.ErrNotExist)
		var pe *os.PathError
		require.ErrorAs(t, errs[i], &pe)
		require.Equal(t, want.Op, pe.Op)
		require.Equal(t, filepath.Join(root, want.Path), pe.Path)
	}
}

func TestUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads files without permission; TestVanished covers the error entries")
	}
	root := t.TempDir()
	makeTree(t, root, "closed/f", "secret", "z")
	require.NoError(t, os.Chmod(filepath.Join(root, "closed"), 0))
	require.NoError(t, os.Chmod(filepath.Join(root, "secret"), 0))
	t.Cleanup(func() { _ = os.Chmod(filepath.Join(root, "closed"), 0o755) })

	es := walkEntries(t, Dir(root, Options{}))
	require.Equal(t, []string{".", "closed", "closed", "secret", "z"}, entryPaths(es))
	require.NoError(t, es[1].Err)
	require.ErrorIs(t, es[2].Err, os.ErrPermission)
	_, err := es[3].Open()
	require.ErrorIs(t, err, os.ErrPermission)
}

func TestWalkFnError(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, "a/b/c", "d")
	stop := errors.New("stop")
	var got []string
	err := Dir(root, Options{}).Walk(context.Background(), func(e *source.Entry) error {
		got = append(got, e.Path)
		if e.Path == "a/b" {
			return stop
		}
		return nil
	})
	require.Equal(t, stop, err) // as it is, not wrapped
	require.Equal(t, []string{".", "a", "a/b"}, got)
}

func TestWalkCancel(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, "a/b/c", "d", "e")
	ctx, cancel := context.WithCancel(context.Background())
	var got []string
	err := Dir(root, Options{}).Walk(ctx, func(e *source.Entry) error {
		got = append(got, e.Path)
		if e.Path == "a/b" {
			cancel()
		}
		return nil
	})
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, []string{".", "a", "a/b"}, got)

	got = nil
	require.ErrorIs(t, Dir(root, Options{}).Walk(ctx, func(e *source.Entry) error {
		got = append(got, e.Path)
		return nil
	}), context.Canceled)
	require.Empty(t, got)
}
