package repo

import (
	"context"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/source"
	"github.com/stretchr/testify/require"
)

// TestBackupReadLimit reads 384 KiB at 128 KiB/s, a burst of 128 KiB
// included: at least 2 s, checked with a margin and only from below.
func TestBackupReadLimit(t *testing.T) {
	ctx := context.Background()
	src := &testSource{}
	src.add(source.Entry{Path: ".", Type: source.TypeDir, Perm: 0o755}, nil)
	for i, name := range []string{"a", "b", "c"} {
		src.add(source.Entry{Path: name, Type: source.TypeFile, Inode: uint64(i + 1)}, randomBytes(uint64(i), 128<<10))
	}

	r := smallChunks(t)
	unlimited, err := r.Backup(ctx, src, BackupOptions{Host: "h"})
	require.NoError(t, err)

	start := time.Now()
	limited, err := r.Backup(ctx, src, BackupOptions{Host: "h", NoParent: true, ReadLimit: 128 << 10, Readers: 3})
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(start), 1500*time.Millisecond)
	require.EqualValues(t, 384<<10, limited.Summary.BytesRead)
	require.Equal(t, unlimited.Summary.BytesRead, limited.Summary.BytesRead)
	require.Equal(t, unlimited.Tree, limited.Tree)
}

func TestBackupReadLimitNegative(t *testing.T) {
	_, err := smallChunks(t).Backup(context.Background(), sampleSource(), BackupOptions{Host: "h", ReadLimit: -1})
	require.ErrorContains(t, err, "ReadLimit")
}
