package fs

import (
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/cairnbackup/cairn/source"
)

// serial reads each entry when the walk reaches it, on the consumer's
// goroutine: the walk as it was before it read ahead.
var serial = readAhead{batch: 1}

// aheads are read-ahead settings from tight to the default; small batches
// and windows make many jobs and make the consumer run some itself.
var aheads = map[string]readAhead{
	"one worker":    {workers: 1, window: 1, batch: 1},
	"tight window":  {workers: 4, window: 2, batch: 3},
	"wide window":   {workers: 3, window: 16, batch: 2},
	"default":       defaultReadAhead(),
	"window<worker": {workers: 8, window: 3, batch: 5},
}

// makeAheadTree makes a tree with nested directories, directories of many
// batches, excluded names, markers, hard links across directories, a
// symbolic link, a FIFO and an empty directory.
func makeAheadTree(t *testing.T) string {
	root := t.TempDir()
	paths := []string{"a/f", "a/b/c/d/f", "a/b/g", "empty/", "x.log", "a/y.log",
		"skip/.nobackup", "skip/inner/f", "keep/.nobackup-not/f", "z/f"}
	for i := range 40 {
		paths = append(paths, fmt.Sprintf("big/f%02d", i), fmt.Sprintf("big/sub%d/f", i%5))
	}
	makeTree(t, root, paths...)
	for _, link := range []string{"a/h1", "big/sub4/h2", "z/h3"} {
		require.NoError(t, os.Link(filepath.Join(root, "keep/.nobackup-not/f"), filepath.Join(root, link)))
	}
	require.NoError(t, os.Symlink("f", filepath.Join(root, "a/link")))
	require.NoError(t, unix.Mkfifo(filepath.Join(root, "a/fifo"), 0o644))
	return root
}

// walkWith walks root with opts, reading ahead as ahead says.
func walkWith(t *testing.T, root string, opts Options, ahead readAhead) []*source.Entry {
	t.Helper()
	s := Dir(root, opts)
	s.ahead = ahead
	es := walkEntries(t, s)
	require.Zero(t, runningWorkers(), "workers left running")
	return es
}

// withoutOpen returns the entries without Open, which cannot be compared,
// and whether each had one.
func withoutOpen(es []*source.Entry) ([]source.Entry, []bool) {
	out := make([]source.Entry, len(es))
	opens := make([]bool, len(es))
	for i, e := range es {
		out[i], opens[i] = *e, e.Open != nil
		out[i].Open = nil
	}
	return out, opens
}

// runningWorkers counts the goroutines reading ahead for a walk.
func runningWorkers() int {
	buf := make([]byte, 1<<20)
	return strings.Count(string(buf[:runtime.Stack(buf, true)]), "fs.(*traversal).work(")
}

// TestReadAheadSameAsSerial checks that reading ahead yields the entries a
// serial walk yields, equal and in the same order, with every selection
// option.
func TestReadAheadSameAsSerial(t *testing.T) {
	root := makeAheadTree(t)
	opts := map[string]Options{
		"all":        {},
		"patterns":   {Exclude: []string{"*.log", "a/b", "big/sub2"}},
		"if present": {ExcludeIfPresent: []string{".nobackup"}},
	}
	for oname, o := range opts {
		want, wantOpen := withoutOpen(walkWith(t, root, o, serial))
		for aname, ahead := range aheads {
			t.Run(oname+"/"+aname, func(t *testing.T) {
				got, gotOpen := withoutOpen(walkWith(t, root, o, ahead))
				require.Equal(t, want, got)
				require.Equal(t, wantOpen, gotOpen)
			})
		}
	}
}

// TestReadAheadOrder checks the serial walk itself against the order
// filepath.WalkDir, which sorts names the same way, gives.
func TestReadAheadOrder(t *testing.T) {
	root := makeAheadTree(t)
	var want []string
	require.NoError(t, filepath.WalkDir(root, func(p string, _ iofs.DirEntry, err error) error {
		rel, rerr := filepath.Rel(root, p)
		want = append(want, rel)
		return errors.Join(err, rerr)
	}))
	for name, ahead := range map[string]readAhead{"serial": serial, "default": defaultReadAhead()} {
		t.Run(name, func(t *testing.T) {
			require.Equal(t, want, entryPaths(walkWith(t, root, Options{}, ahead)))
		})
	}
}

// TestReadAheadHardlinks checks that the first path of a file with several
// links in walk order has the content, whichever worker read it first.
func TestReadAheadHardlinks(t *testing.T) {
	root := makeAheadTree(t)
	for name, ahead := range aheads {
		t.Run(name, func(t *testing.T) {
			for range 5 {
				es := walkWith(t, root, Options{}, ahead)
				first := entryAt(t, es, "a/h1")
				require.Empty(t, first.Hardlink)
				require.NotNil(t, first.Open)
				for _, p := range []string{"big/sub4/h2", "keep/.nobackup-not/f", "z/h3"} {
					e := entryAt(t, es, p)
					require.Equal(t, "a/h1", e.Hardlink, p)
					require.Nil(t, e.Open, p)
				}
			}
		})
	}
}
