package fs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/cairnbackup/cairn/source"
)

// stopPoints are the entries of a walk of n entries at which tests stop it.
func stopPoints(n int) []int { return []int{0, 1, 2, 7, n / 3, n / 2, n - 2, n - 1} }

// TestReadAheadStop stops the walk with an error from fn at several points:
// Walk returns that error, fn saw exactly the serial walk up to there, and
// no worker is left running.
func TestReadAheadStop(t *testing.T) {
	root := makeAheadTree(t)
	want := entryPaths(walkWith(t, root, Options{}, serial))
	stop := errors.New("stop")
	for name, ahead := range aheads {
		for _, k := range stopPoints(len(want)) {
			t.Run(fmt.Sprintf("%s/%d", name, k), func(t *testing.T) {
				s := Dir(root, Options{})
				s.ahead = ahead
				var got []string
				err := s.Walk(context.Background(), func(e *source.Entry) error {
					got = append(got, e.Path)
					if len(got) == k+1 {
						// What the check after Walk must not find.
						require.Eventually(t, func() bool { return runningWorkers() == ahead.workers },
							10*time.Second, time.Millisecond)
						return stop
					}
					return nil
				})
				require.Equal(t, stop, err)
				require.Equal(t, want[:k+1], got)
				require.Zero(t, runningWorkers())
			})
		}
	}
}

// TestReadAheadCancel cancels the walk's context from fn, and from
// elsewhere while fn waits and the workers have filled the window.
func TestReadAheadCancel(t *testing.T) {
	root := makeAheadTree(t)
	want := entryPaths(walkWith(t, root, Options{}, serial))
	for name, ahead := range aheads {
		for _, k := range stopPoints(len(want))[:7] { // not at the last entry: nothing is left to stop
			for _, from := range []string{"fn", "elsewhere"} {
				t.Run(fmt.Sprintf("%s/%d/%s", name, k, from), func(t *testing.T) {
					s := Dir(root, Options{})
					s.ahead = ahead
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()
					var got []string
					err := s.Walk(ctx, func(e *source.Entry) error {
						got = append(got, e.Path)
						if len(got) == k+1 && from == "fn" {
							cancel()
						} else if len(got) == k+1 {
							go cancel()
							<-ctx.Done()
						}
						return nil
					})
					require.ErrorIs(t, err, context.Canceled)
					require.Equal(t, want[:k+1], got)
					require.Zero(t, runningWorkers())
				})
			}
		}
	}
}

// TestReadAheadErrors walks a tree too deep to reach by path: the entries
// beyond PATH_MAX come as errors, the same with and without read-ahead.
func TestReadAheadErrors(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, "a/f", "z/f")
	makeDeep(t, filepath.Join(root, "m"), 20)
	want, wantOpen := withoutOpen(walkWith(t, root, Options{}, serial))
	var errs int
	for _, e := range want {
		if e.Err != nil {
			require.ErrorIs(t, e.Err, unix.ENAMETOOLONG)
			errs++
		}
	}
	require.NotZero(t, errs)
	require.Equal(t, "z/f", want[len(want)-1].Path) // the walk went on
	for name, ahead := range aheads {
		t.Run(name, func(t *testing.T) {
			got, gotOpen := withoutOpen(walkWith(t, root, Options{}, ahead))
			require.Equal(t, want, got)
			require.Equal(t, wantOpen, gotOpen)
		})
	}
}

// makeDeep makes depth nested directories of long names at dir, each with
// a file, working relative to the parent, as paths would be too long.
func makeDeep(t *testing.T, dir string, depth int) {
	require.NoError(t, os.Mkdir(dir, 0o755))
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	require.NoError(t, err)
	name := strings.Repeat("d", 250)
	for range depth {
		f, err := unix.Openat(fd, "f", unix.O_CREAT|unix.O_WRONLY, 0o644)
		require.NoError(t, err)
		require.NoError(t, unix.Close(f))
		require.NoError(t, unix.Mkdirat(fd, name, 0o755))
		next, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY, 0)
		require.NoError(t, err)
		require.NoError(t, unix.Close(fd))
		fd = next
	}
	require.NoError(t, unix.Close(fd))
}

// TestReadAheadVanished removes directories while a walk that reads ahead
// runs. Depending on what was read ahead, each comes as an entry, an error
// entry or not at all, but the walk completes in order.
func TestReadAheadVanished(t *testing.T) {
	for name, ahead := range aheads {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			var paths []string
			for i := range 20 {
				paths = append(paths, fmt.Sprintf("d%02d/f", i), fmt.Sprintf("d%02d/sub/g", i))
			}
			makeTree(t, root, paths...)
			s := Dir(root, Options{})
			s.ahead = ahead
			var got []string
			err := s.Walk(context.Background(), func(e *source.Entry) error {
				if len(got) > 0 && e.Path != got[len(got)-1] {
					require.True(t, walkBefore(got[len(got)-1], e.Path), "%q after %q", e.Path, got[len(got)-1])
				}
				got = append(got, e.Path)
				if e.Err != nil {
					require.ErrorIs(t, e.Err, os.ErrNotExist)
				}
				if e.Path == "d05/f" {
					for i := 6; i < 20; i++ {
						require.NoError(t, os.RemoveAll(filepath.Join(root, fmt.Sprintf("d%02d", i))))
					}
				}
				return nil
			})
			require.NoError(t, err)
			require.Contains(t, got, "d05/sub/g")
			require.Zero(t, runningWorkers())
		})
	}
}

// TestJobVanished runs jobs for a directory that is gone and for names of
// which one is gone: the first is a listing error, the second an lstat
// error entry between the others.
func TestJobVanished(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, "a", "c")
	w := newWalker(Dir(root, Options{}), true, 0)
	push := func(...*job) {}

	gone := newDirJob("gone", filepath.Join(root, "gone"))
	gone.run(w, 10, push)
	var pe *os.PathError
	require.ErrorAs(t, gone.err, &pe)
	require.Equal(t, "open", pe.Op)
	require.ErrorIs(t, gone.err, os.ErrNotExist)

	j := &job{rel: ".", abs: root, from: 1, names: []string{"x", "a", "b", "c"}, done: make(chan struct{})}
	j.run(w, 10, push)
	require.Len(t, j.out, 3)
	require.Equal(t, "a", j.out[0].e.Path)
	require.Equal(t, "b", j.out[1].e.Path)
	require.ErrorAs(t, j.out[1].e.Err, &pe)
	require.Equal(t, "lstat", pe.Op)
	require.Equal(t, "c", j.out[2].e.Path)
	require.NoError(t, j.out[2].e.Err)
}

func TestWalkBefore(t *testing.T) {
	ordered := []string{"", "a", "a/b", "a/b/c", "a/c", "a-b", "a.txt", "a0", "b", "b/a"}
	for i, a := range ordered {
		for j, b := range ordered {
			require.Equal(t, i < j, walkBefore(a, b), "%q %q", a, b)
		}
	}
}
