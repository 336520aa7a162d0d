package fs

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCount(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, "a", "bb", "dir/ccc", "dir/sub/dddd", "skip/eeeee", "x.log", "empty/")
	require.NoError(t, os.Link(filepath.Join(root, "bb"), filepath.Join(root, "dir/bb-again")))
	require.NoError(t, os.Symlink("a", filepath.Join(root, "link")))
	require.NoError(t, os.WriteFile(filepath.Join(root, "skip/.nobackup"), nil, 0o644))

	tests := []struct {
		name         string
		opts         Options
		files, bytes uint64
	}{
		{"all", Options{}, 7, 1 + 2 + 7 + 12 + 10 + 5}, // bb once; skip/.nobackup is empty
		{"excluded", Options{Exclude: []string{"*.log"}, ExcludeIfPresent: []string{".nobackup"}}, 4, 1 + 2 + 7 + 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Dir(root, tt.opts)
			files, bytes, err := s.Count(context.Background())
			require.NoError(t, err)
			require.Equal(t, tt.files, files)
			require.Equal(t, tt.bytes, bytes)

			// Count agrees with what Walk yields with content.
			var wf, wb uint64
			for _, e := range walkEntries(t, s) {
				if e.Open != nil {
					wf++
					wb += uint64(e.Size)
				}
			}
			require.Equal(t, files, wf)
			require.Equal(t, bytes, wb)
		})
	}
}

func TestCountCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	files, bytes, err := Dir(t.TempDir(), Options{}).Count(ctx)
	require.ErrorIs(t, err, context.Canceled)
	require.Zero(t, files)
	require.Zero(t, bytes)
}
