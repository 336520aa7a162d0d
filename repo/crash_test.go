package repo

import (
	"bytes"
	"context"
	"testing"

	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/fault"
	"github.com/cairnbackup/cairn/repo/backend/mem"
	"github.com/stretchr/testify/require"
)

// TestCrashDuringFlush stops the backend after every possible number of
// writes during a Flush and a snapshot save, as a crash would, and checks that
// the repository still opens, every earlier snapshot still loads with all its
// blobs, and a new backup works.
func TestCrashDuringFlush(t *testing.T) {
	ctx := context.Background()
	for n := 0; ; n++ {
		inner := mem.New()
		r := initRepo(t, inner, Options{PackSize: MinPackSize})
		w := r.NewWriter()
		data1 := randomBytes(1, 3<<20)
		blob1, _, err := w.SaveBlob(ctx, DataBlob, data1)
		require.NoError(t, err)
		before := saveSnapshot(t, w, []byte("first"))

		fb := fault.New(inner)
		r2, err := Open(ctx, fb, testPassword, OpenOptions{Options: Options{PackSize: MinPackSize}})
		require.NoError(t, err)
		fb.StopAfter(n)
		w2 := r2.NewWriter()
		var crashed bool
		for i := range 12 {
			if _, _, err := w2.SaveBlob(ctx, DataBlob, randomBytes(uint64(100+i), 300<<10)); err != nil {
				crashed = true
				break
			}
		}
		if !crashed {
			_, _, err = w2.SaveBlob(ctx, TreeBlob, []byte("second"))
			crashed = err != nil
		}
		if !crashed {
			_, err = w2.SaveSnapshot(ctx, &Snapshot{Time: before.Time.Add(1), Tree: r2.key.BlobID([]byte("second"))})
			crashed = err != nil
		}

		after := reopen(t, inner)
		got, err := after.LoadSnapshot(ctx, before.ID)
		require.NoError(t, err, "n=%d", n)
		tree, err := after.LoadBlob(ctx, TreeBlob, got.Tree, nil)
		require.NoError(t, err)
		require.Equal(t, "first", string(tree))
		content, err := after.LoadBlob(ctx, DataBlob, blob1, nil)
		require.NoError(t, err)
		require.True(t, bytes.Equal(data1, content))

		// Whatever the crash left, every snapshot loads with its tree,
		// and the repository takes new backups.
		list, err := after.Snapshots(ctx)
		require.NoError(t, err)
		for _, sn := range list {
			_, err := after.LoadBlob(ctx, TreeBlob, sn.Tree, nil)
			require.NoError(t, err, "n=%d snapshot %s", n, sn.ID)
		}
		saveSnapshot(t, after.NewWriter(), []byte("third"))

		if !crashed {
			require.Len(t, list, 2)
			t.Logf("every stop point from 0 to %d writes checked", n-1)
			return
		}
		require.Len(t, list, 1, "n=%d: a crashed backup leaves no snapshot", n)
	}
}

// TestCrashDuringInit stops the backend after the key file is written: Init
// fails, no config exists, and Init can run again.
func TestCrashDuringInit(t *testing.T) {
	ctx := context.Background()
	inner := mem.New()
	fb := fault.New(inner)
	fb.StopAfter(1)
	_, err := Init(ctx, fb, testPassword, InitOptions{Key: cheapKey})
	require.ErrorIs(t, err, fault.ErrStopped)
	require.Len(t, listFiles(t, inner, backend.KeyFile), 1)
	require.Empty(t, listFiles(t, inner, backend.ConfigFile))

	_, err = Open(ctx, inner, testPassword, OpenOptions{})
	require.ErrorIs(t, err, ErrNotFound)
	initRepo(t, inner, Options{})
	reopen(t, inner)
}

// TestFailedStoreBreaksOnlyItsWriter injects one failed pack store: that
// writer reports it on every later call and writes no snapshot; a new writer
// on the same Repository works.
func TestFailedStoreBreaksOnlyItsWriter(t *testing.T) {
	ctx := context.Background()
	inner := mem.New()
	initRepo(t, inner, Options{})
	fb := fault.New(inner)
	r := reopen(t, fb)
	w := r.NewWriter()
	_, _, err := w.SaveBlob(ctx, DataBlob, []byte("lost"))
	require.NoError(t, err)
	fb.FailAfter(0)
	require.Error(t, w.Flush(ctx))
	_, _, err = w.SaveBlob(ctx, DataBlob, []byte("more"))
	require.ErrorIs(t, err, ErrWriterBroken)
	_, err = w.SaveSnapshot(ctx, &Snapshot{})
	require.ErrorIs(t, err, ErrWriterBroken)
	require.Empty(t, listFiles(t, inner, backend.SnapshotFile))

	w2 := r.NewWriter()
	id, known, err := w2.SaveBlob(ctx, DataBlob, []byte("lost"))
	require.NoError(t, err)
	require.False(t, known, "the failed writer's blob never reached the index")
	saveSnapshot(t, w2, []byte("tree"))
	_, err = reopen(t, inner).LoadBlob(ctx, DataBlob, id, nil)
	require.NoError(t, err)
}

// TestLongSessionWritesIndexOnItsOwn checks that a Writer writes index files
// while it works, so a crash late in a long backup keeps the packs stored
// so far findable.
func TestLongSessionWritesIndexOnItsOwn(t *testing.T) {
	ctx := context.Background()
	r := initRepo(t, mem.New(), Options{PackSize: MinPackSize, PackWriters: 1})
	w := r.NewWriter()
	w.indexEvery = 2
	var ids []ID
	for i := range 8 {
		id, _, err := w.SaveBlob(ctx, DataBlob, randomBytes(uint64(i), 600<<10))
		require.NoError(t, err)
		ids = append(ids, id)
	}
	require.NotEmpty(t, listFiles(t, r.be, backend.IndexFile), "index written before Flush")
	// Without Flush, a fresh open finds the early blobs.
	r2 := reopen(t, r.be)
	_, err := r2.LoadBlob(ctx, DataBlob, ids[0], nil)
	require.NoError(t, err)
	require.NoError(t, w.Flush(ctx))
}
