package repo

import (
	"context"
	"errors"
	"testing"

	"github.com/cairnbackup/cairn/source"
	"github.com/stretchr/testify/require"
)

func TestBackupRestoreRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		name   string
		seq    bool
		target func() (source.Target, *memTarget)
	}{
		{"serial", false, func() (source.Target, *memTarget) { m := newMemTarget(); return m, m }},
		{"parallel", false, func() (source.Target, *memTarget) { m := newMemTarget(); return parallelTarget{m}, m }},
		{"sequential source", true, func() (source.Target, *memTarget) { m := newMemTarget(); return m, m }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			r := smallChunks(t)
			src := sampleSource()
			var s source.Source = src
			if tt.seq {
				s = seqSource{src}
			}
			sn, err := r.Backup(ctx, s, BackupOptions{Host: "h", Tags: []string{"b", "a"}})
			require.NoError(t, err)
			require.Equal(t, []string{"a", "b"}, sn.Tags)
			require.Equal(t, "test", sn.Source.Kind)
			require.Nil(t, sn.Parent)
			require.EqualValues(t, 4, sn.Summary.FilesNew)
			require.EqualValues(t, 3, sn.Summary.Dirs)
			require.EqualValues(t, 300<<10+6+8, sn.Summary.BytesRead)
			require.Greater(t, sn.Summary.BytesStored, uint64(300<<10))

			tgt, m := tt.target()
			require.NoError(t, r.Restore(ctx, sn.ID, tgt, RestoreOptions{Verify: true}))
			requireRestored(t, src, m)
			require.Equal(t, "a/big", m.entries["c"].Hardlink)
		})
	}
}

func TestBackupUnchangedReadsNothing(t *testing.T) {
	ctx := context.Background()
	r := smallChunks(t)
	src := sampleSource()
	first, err := r.Backup(ctx, src, BackupOptions{Host: "h"})
	require.NoError(t, err)
	opens := src.opens.Load()

	second, err := r.Backup(ctx, src, BackupOptions{Host: "h"})
	require.NoError(t, err)
	require.Equal(t, opens, src.opens.Load(), "no file opened")
	require.Equal(t, first.ID, *second.Parent)
	require.Equal(t, first.Tree, second.Tree)
	s := second.Summary
	require.Zero(t, s.BytesRead)
	require.Zero(t, s.BytesAdded)
	require.Zero(t, s.FilesNew+s.FilesChanged)
	require.EqualValues(t, 5, s.FilesUnchanged)

	// Another host does not use the first as parent.
	third, err := r.Backup(ctx, src, BackupOptions{Host: "other"})
	require.NoError(t, err)
	require.Nil(t, third.Parent)
	require.NotZero(t, third.Summary.BytesRead)
	require.Zero(t, third.Summary.BytesAdded, "everything deduplicates")
}

func TestBackupStoresOnlyChangedChunks(t *testing.T) {
	ctx := context.Background()
	r := smallChunks(t)
	src := sampleSource()
	_, err := r.Backup(ctx, src, BackupOptions{Host: "h"})
	require.NoError(t, err)

	big := src.data["a/big"]
	big[150<<10] ^= 1 // one byte in the middle
	src.entries[2].ModTime = src.entries[2].ModTime.Add(1)
	sn, err := r.Backup(ctx, src, BackupOptions{Host: "h"})
	require.NoError(t, err)
	s := sn.Summary
	require.EqualValues(t, 1, s.FilesChanged)
	require.EqualValues(t, 300<<10, s.BytesRead)
	// One or two 16 KiB-average chunks of data, plus the changed trees.
	require.Less(t, s.BytesAdded, uint64(150<<10))
	require.Greater(t, s.BytesAdded, uint64(0))

	m := newMemTarget()
	require.NoError(t, r.Restore(ctx, sn.ID, m, RestoreOptions{}))
	require.Equal(t, big, m.data["a/big"])
}

func TestBackupOptionsIgnoreCtimeAndInode(t *testing.T) {
	ctx := context.Background()
	r := smallChunks(t)
	src := sampleSource()
	_, err := r.Backup(ctx, src, BackupOptions{Host: "h"})
	require.NoError(t, err)
	for i := range src.entries {
		src.entries[i].ChangeTime = src.entries[i].ChangeTime.Add(1)
		src.entries[i].Inode += 100
	}
	sn, err := r.Backup(ctx, src, BackupOptions{Host: "h", IgnoreCtime: true, IgnoreInode: true})
	require.NoError(t, err)
	require.Zero(t, sn.Summary.BytesRead)
	for i := range src.entries {
		src.entries[i].Inode += 100
	}
	sn, err = r.Backup(ctx, src, BackupOptions{Host: "h", IgnoreCtime: true})
	require.NoError(t, err)
	require.NotZero(t, sn.Summary.BytesRead, "inode changed")
}

func TestBackupUnreadableFile(t *testing.T) {
	ctx := context.Background()
	r := smallChunks(t)
	src := sampleSource()
	src.openErr = map[string]error{"b": errors.New("permission denied")}
	src.entries = append(src.entries, source.Entry{Path: "gone", Err: errors.New("vanished")})
	var warned []string
	sn, err := r.Backup(ctx, src, BackupOptions{Host: "h", Warn: func(p string, err error) { warned = append(warned, p) }})
	require.ErrorIs(t, err, ErrPartialSnapshot)
	require.NotNil(t, sn)
	require.ElementsMatch(t, []string{"b", "gone"}, warned)
	require.Len(t, sn.Summary.Errors, 2)

	loaded, err := r.LoadSnapshot(ctx, sn.ID)
	require.NoError(t, err)
	tree, err := r.LoadTree(ctx, loaded.Tree)
	require.NoError(t, err)
	require.Nil(t, tree.Find("b"), "unreadable file left out")
	require.NotNil(t, tree.Find("fifo"))
}

func TestBackupRejectsBadWalks(t *testing.T) {
	for name, entries := range map[string][]source.Entry{
		"no root": {{Path: "a", Type: source.TypeDir}},
		"not depth first": {{Path: ".", Type: source.TypeDir}, {Path: "a", Type: source.TypeDir},
			{Path: "b", Type: source.TypeDir}, {Path: "a/x", Type: source.TypeFIFO}},
		"missing parent": {{Path: ".", Type: source.TypeDir}, {Path: "a/x", Type: source.TypeFIFO}},
		"escaping path":  {{Path: ".", Type: source.TypeDir}, {Path: "../x", Type: source.TypeFIFO}},
		"duplicate":      {{Path: ".", Type: source.TypeDir}, {Path: "x", Type: source.TypeFIFO}, {Path: "x", Type: source.TypeFIFO}},
		"empty":          nil,
	} {
		t.Run(name, func(t *testing.T) {
			r := smallChunks(t)
			_, err := r.Backup(context.Background(), &testSource{entries: entries}, BackupOptions{Host: "h"})
			require.Error(t, err)
			snaps, err := r.Snapshots(context.Background())
			require.NoError(t, err)
			require.Empty(t, snaps)
		})
	}
}
