package fs

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/cairnbackup/cairn/source"
)

// walkEntries walks s and returns its entries in walk order.
func walkEntries(t testing.TB, s *Source) []*source.Entry {
	t.Helper()
	var es []*source.Entry
	require.NoError(t, s.Walk(context.Background(), func(e *source.Entry) error {
		es = append(es, e)
		return nil
	}))
	return es
}

func entryPaths(es []*source.Entry) []string {
	ps := make([]string, len(es))
	for i, e := range es {
		ps[i] = e.Path
	}
	return ps
}

// entryAt returns the entry with path p that has no error.
func entryAt(t testing.TB, es []*source.Entry, p string) *source.Entry {
	t.Helper()
	for _, e := range es {
		if e.Path == p && e.Err == nil {
			return e
		}
	}
	require.Failf(t, "no entry", "%q", p)
	return nil
}

// makeTree creates paths under root: a path ending in "/" is a directory,
// any other a file with its name as content.
func makeTree(t testing.TB, root string, paths ...string) {
	t.Helper()
	for _, p := range paths {
		full := filepath.Join(root, p)
		if strings.HasSuffix(p, "/") {
			require.NoError(t, os.MkdirAll(full, 0o755))
			continue
		}
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, []byte(p), 0o644))
	}
}

func TestInfo(t *testing.T) {
	t.Chdir(t.TempDir())
	wd, err := os.Getwd()
	require.NoError(t, err)
	info := Dir("some/dir/", Options{}).Info()
	want := filepath.Join(wd, "some/dir")
	require.Equal(t, source.Info{Kind: "dir", Description: want, Paths: []string{want}}, info)
}

func TestWalkOrder(t *testing.T) {
	root := t.TempDir()
	long := strings.Repeat("l", 255)
	deep := strings.Repeat("d/", 40)
	makeTree(t, root,
		"b", "a.txt", "a-b", "a/x", "a/A", "B", "ä", "z",
		"with space", "new\nline", long, deep+"end", "empty/",
	)
	want := []string{".", "B", "a", "a/A", "a/x", "a-b", "a.txt", "b", "d"}
	p := "d"
	for range 39 {
		p += "/d"
		want = append(want, p)
	}
	want = append(want, p+"/end", "empty", long, "new\nline", "with space", "z", "ä")

	es := walkEntries(t, Dir(root, Options{}))
	require.Equal(t, want, entryPaths(es))
	for _, e := range es {
		require.NoError(t, e.Err, e.Path)
		require.NoError(t, source.ValidPath(e.Path))
	}
	require.Equal(t, source.TypeDir, es[0].Type)
}

func TestWalkRootSymlink(t *testing.T) {
	dir := t.TempDir()
	makeTree(t, dir, "real/f", "real/sub/")
	require.NoError(t, os.Symlink("real", filepath.Join(dir, "link")))
	require.NoError(t, os.Symlink("f", filepath.Join(dir, "real", "l")))

	s := Dir(filepath.Join(dir, "link"), Options{})
	require.Equal(t, []string{filepath.Join(dir, "link")}, s.Info().Paths)
	es := walkEntries(t, s)
	require.Equal(t, []string{".", "f", "l", "sub"}, entryPaths(es))
	require.Equal(t, source.TypeDir, es[0].Type)
	// Only the root is followed.
	require.Equal(t, source.TypeSymlink, es[2].Type)
	require.Equal(t, "f", es[2].LinkTarget)
}

func TestWalkRootErrors(t *testing.T) {
	dir := t.TempDir()
	makeTree(t, dir, "file")
	noop := func(*source.Entry) error { return nil }

	err := Dir(filepath.Join(dir, "missing"), Options{}).Walk(context.Background(), noop)
	require.ErrorIs(t, err, os.ErrNotExist)

	err = Dir(filepath.Join(dir, "file"), Options{}).Walk(context.Background(), noop)
	require.ErrorIs(t, err, unix.ENOTDIR)

	bad := Dir(dir, Options{Exclude: []string{"a/["}})
	require.Error(t, bad.Walk(context.Background(), noop))
	_, _, err = bad.Count(context.Background())
	require.Error(t, err)
}
