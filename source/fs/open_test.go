package fs

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/cairnbackup/cairn/source"
)

// TestOpenContent reads files from other goroutines while the walk goes on,
// and again after it returned.
func TestOpenContent(t *testing.T) {
	root := t.TempDir()
	want := map[string][]byte{}
	for i, size := range []int{0, 1, 4096, 1 << 20} {
		name := filepath.Join(root, string(rune('a'+i)))
		data := bytes.Repeat([]byte{byte(i + 1)}, size)
		require.NoError(t, os.WriteFile(name, data, 0o644))
		want[filepath.Base(name)] = data
	}
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		got = map[string][]byte{}
		es  []*source.Entry
	)
	err := Dir(root, Options{}).Walk(context.Background(), func(e *source.Entry) error {
		es = append(es, e)
		if e.Open == nil {
			return nil
		}
		wg.Go(func() {
			data := readEntry(t, e)
			mu.Lock()
			got[e.Path] = data
			mu.Unlock()
		})
		return nil
	})
	require.NoError(t, err)
	wg.Wait()
	require.Equal(t, want, got)
	for _, e := range es[1:] {
		require.Equal(t, want[e.Path], readEntry(t, e), e.Path)
	}
}

func readEntry(t testing.TB, e *source.Entry) []byte {
	r, err := e.Open()
	if err != nil {
		t.Error(err)
		return nil
	}
	data, err := io.ReadAll(r)
	if err != nil {
		t.Error(err)
	}
	if err := r.Close(); err != nil {
		t.Error(err)
	}
	return data
}

func TestOpenChanged(t *testing.T) {
	tests := []struct {
		name   string
		before func(t *testing.T, path string) // between the walk and Open
		during func(t *testing.T, path string) // between Open and Close
		open   error                           // wrapped by Open's error
		close  error                           // wrapped by Close's error
	}{
		{name: "unchanged"},
		{name: "appended", during: appendTo, close: source.ErrChanged},
		{name: "appended before open", before: appendTo, close: source.ErrChanged},
		{name: "touched", before: func(t *testing.T, path string) {
			require.NoError(t, os.Chtimes(path, time.Time{}, time.Unix(1, 2)))
		}, close: source.ErrChanged},
		{name: "chmod", during: func(t *testing.T, path string) {
			time.Sleep(20 * time.Millisecond) // past the kernel's clock tick
			require.NoError(t, os.Chmod(path, 0o600))
		}, close: source.ErrChanged},
		{name: "replaced", before: func(t *testing.T, path string) {
			require.NoError(t, os.WriteFile(path+".new", []byte("other"), 0o644))
			require.NoError(t, os.Rename(path+".new", path))
		}, open: source.ErrChanged},
		{name: "replaced by fifo", before: func(t *testing.T, path string) {
			require.NoError(t, os.Remove(path))
			require.NoError(t, unix.Mkfifo(path, 0o644))
		}, open: source.ErrChanged},
		{name: "replaced by symlink", before: func(t *testing.T, path string) {
			require.NoError(t, os.Remove(path))
			require.NoError(t, os.Symlink("/etc/passwd", path))
		}, open: unix.ELOOP},
		{name: "removed", before: func(t *testing.T, path string) {
			require.NoError(t, os.Remove(path))
		}, open: os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			path := filepath.Join(root, "f")
			require.NoError(t, os.WriteFile(path, []byte("content"), 0o644))
			e := entryAt(t, walkEntries(t, Dir(root, Options{})), "f")
			if tt.before != nil {
				tt.before(t, path)
			}
			r, err := e.Open()
			if tt.open != nil {
				require.ErrorIs(t, err, tt.open)
				return
			}
			require.NoError(t, err)
			if tt.during != nil {
				tt.during(t, path)
			}
			_, err = io.ReadAll(r)
			require.NoError(t, err)
			err = r.Close()
			if tt.close == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.close)
			var pe *os.PathError
			require.ErrorAs(t, err, &pe)
			require.Equal(t, path, pe.Path)
		})
	}
}

func appendTo(t *testing.T, path string) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.WriteString(" and more")
	require.NoError(t, err)
	require.NoError(t, f.Close())
}
