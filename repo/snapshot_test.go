package repo

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/stretchr/testify/require"
)

func TestSnapshotRoundTrip(t *testing.T) {
	ctx := context.Background()
	r, be := newMemRepo(t)
	w := r.NewWriter()
	tree, _, err := w.SaveBlob(ctx, TreeBlob, []byte("root"))
	require.NoError(t, err)
	parent := ID{7}
	sn := &Snapshot{
		Time: time.Date(2026, 11, 21, 12, 0, 0, 123456789, time.UTC), Host: "db-1", Username: "root",
		Tags: []string{"nightly", "pg"}, Paths: []string{"/var/lib/postgresql"}, Tree: tree, Parent: &parent,
		Source:  SourceInfo{Kind: "dump", Description: "pg_dump app", Details: json.RawMessage(`{"exit":0}`)},
		Summary: &Summary{FilesNew: 1, BytesRead: 100, BytesAdded: 50, BytesStored: 20, Duration: time.Second},
	}
	id, err := w.SaveSnapshot(ctx, sn)
	require.NoError(t, err)
	require.Equal(t, id, sn.ID)

	got, err := reopen(t, be).LoadSnapshot(ctx, id)
	require.NoError(t, err)
	require.True(t, sn.Time.Equal(got.Time))
	got.Time = sn.Time
	require.Equal(t, sn, got)
}

func TestSaveSnapshotNeedsItsTree(t *testing.T) {
	ctx := context.Background()
	r, be := newMemRepo(t)
	w := r.NewWriter()
	_, err := w.SaveSnapshot(ctx, &Snapshot{Time: time.Now(), Tree: ID{1}})
	require.ErrorIs(t, err, ErrNotFound)
	data, _, err := w.SaveBlob(ctx, DataBlob, []byte("not a tree"))
	require.NoError(t, err)
	_, err = w.SaveSnapshot(ctx, &Snapshot{Time: time.Now(), Tree: data})
	require.ErrorIs(t, err, ErrNotFound, "a data blob is not a tree")
	tree, _, err := w.SaveBlob(ctx, TreeBlob, []byte("tree"))
	require.NoError(t, err)
	_, err = w.SaveSnapshot(ctx, &Snapshot{Tree: tree})
	require.Error(t, err, "no time")
	require.Empty(t, listFiles(t, be, backend.SnapshotFile))
}

func TestSaveSnapshotFlushesFirst(t *testing.T) {
	ctx := context.Background()
	r, be := newMemRepo(t)
	w := r.NewWriter()
	data, _, err := w.SaveBlob(ctx, DataBlob, []byte("file content"))
	require.NoError(t, err)
	saveSnapshot(t, w, []byte("tree naming "+data.String()))
	// Everything the snapshot needs is indexed after a fresh open.
	r2 := reopen(t, be)
	_, err = r2.LoadBlob(ctx, DataBlob, data, nil)
	require.NoError(t, err)
}

func TestSnapshotsListFindDelete(t *testing.T) {
	ctx := context.Background()
	r, _ := newMemRepo(t)
	w := r.NewWriter()
	var saved []*Snapshot
	for i := range 5 {
		sn := saveSnapshot(t, w, []byte{byte(i)})
		saved = append(saved, sn)
		time.Sleep(time.Millisecond)
	}
	list, err := r.Snapshots(ctx)
	require.NoError(t, err)
	require.Len(t, list, 5)
	for i, sn := range list {
		require.Equal(t, saved[i].ID, sn.ID, "oldest first")
	}

	latest, err := r.FindSnapshot(ctx, "latest")
	require.NoError(t, err)
	require.Equal(t, saved[4].ID, latest.ID)
	byFull, err := r.FindSnapshot(ctx, saved[2].ID.String())
	require.NoError(t, err)
	require.Equal(t, saved[2].ID, byFull.ID)
	byPrefix, err := r.FindSnapshot(ctx, saved[3].ID.String()[:12])
	require.NoError(t, err)
	require.Equal(t, saved[3].ID, byPrefix.ID)
	_, err = r.FindSnapshot(ctx, "abc")
	require.Error(t, err, "too short")
	_, err = r.FindSnapshot(ctx, "0000000000ff")
	if err != nil {
		require.ErrorIs(t, err, ErrNotFound)
	}

	require.NoError(t, r.DeleteSnapshot(ctx, saved[4].ID))
	require.ErrorIs(t, r.DeleteSnapshot(ctx, saved[4].ID), ErrNotFound)
	_, err = r.LoadSnapshot(ctx, saved[4].ID)
	require.ErrorIs(t, err, ErrNotFound)
	latest, err = r.FindSnapshot(ctx, "latest")
	require.NoError(t, err)
	require.Equal(t, saved[3].ID, latest.ID)
}

func TestFindSnapshotInEmptyRepository(t *testing.T) {
	r, _ := newMemRepo(t)
	_, err := r.FindSnapshot(context.Background(), "latest")
	require.ErrorIs(t, err, ErrNotFound)
}

func TestResolvePrefix(t *testing.T) {
	a, _ := ParseID("abcd000000000000000000000000000000000000000000000000000000000001")
	b, _ := ParseID("abcd000000000000000000000000000000000000000000000000000000000002")
	c, _ := ParseID("abce000000000000000000000000000000000000000000000000000000000003")
	ids := []ID{a, b, c}
	got, err := resolvePrefix(ids, "ABCE")
	require.NoError(t, err)
	require.Equal(t, c, got)
	_, err = resolvePrefix(ids, "abcd")
	require.ErrorContains(t, err, "ambiguous")
	_, err = resolvePrefix(ids, a.String()[:62])
	require.ErrorContains(t, err, "ambiguous")
	got, err = resolvePrefix(ids, b.String())
	require.NoError(t, err)
	require.Equal(t, b, got)
	_, err = resolvePrefix(ids, "abcf")
	require.ErrorIs(t, err, ErrNotFound)
	_, err = resolvePrefix(ids, "abc")
	require.Error(t, err)
	require.NotErrorIs(t, err, ErrNotFound)
}
