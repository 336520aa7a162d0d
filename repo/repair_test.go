package repo

import (
	"context"
	"slices"
	"testing"

	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/stretchr/testify/require"
)

// requireAllRestore checks that every snapshot of the fixture restores
// completely through r.
func requireAllRestore(t *testing.T, r *Repository, f *checkFixture) {
	t.Helper()
	for i, sn := range f.snaps {
		m := newMemTarget()
		require.NoError(t, r.Restore(context.Background(), sn.ID, m, RestoreOptions{Verify: true}), "snapshot %d", i)
		requireRestored(t, f.srcs[i], m)
	}
}

func requireCheckClean(t *testing.T, r *Repository) {
	t.Helper()
	rep, err := r.Check(context.Background(), CheckOptions{ReadData: true})
	require.NoError(t, err)
	require.Empty(t, rep.Problems)
}

func TestRebuildIndexWithoutIndexFiles(t *testing.T) {
	ctx := context.Background()
	f := newCheckFixture(t)
	for _, name := range listFiles(t, f.be, backend.IndexFile) {
		require.NoError(t, f.be.Remove(ctx, backend.Handle{Type: backend.IndexFile, Name: name}))
	}
	r := reopen(t, f.be)
	rep, err := r.Check(ctx, CheckOptions{})
	require.NoError(t, err)
	require.False(t, rep.OK())
	require.Equal(t, f.ids(0, 1, 2), rep.Damaged())

	rebuilt, err := r.RebuildIndex(ctx)
	require.NoError(t, err)
	require.Equal(t, &RebuildReport{Packs: 6, Blobs: 9}, rebuilt)
	require.Len(t, listFiles(t, f.be, backend.IndexFile), 1)
	requireCheckClean(t, r)
	requireAllRestore(t, r, f)

	r = reopen(t, f.be)
	requireCheckClean(t, r)
	requireAllRestore(t, r, f)
}

func TestRebuildIndexSupersedesAndRemoves(t *testing.T) {
	ctx := context.Background()
	f := newCheckFixture(t)
	old := listFiles(t, f.be, backend.IndexFile)
	require.Len(t, old, 3)
	rebuilt, err := f.r.RebuildIndex(ctx)
	require.NoError(t, err)
	var removed []string
	for _, id := range rebuilt.Removed {
		removed = append(removed, id.String())
	}
	slices.Sort(old)
	require.Equal(t, old, removed)
	now := listFiles(t, f.be, backend.IndexFile)
	require.Len(t, now, 1)
	require.NotContains(t, old, now[0])
	requireCheckClean(t, f.r)
	requireAllRestore(t, f.r, f)

	// The new file names what it replaced.
	id, err := ParseID(now[0])
	require.NoError(t, err)
	file, err := f.r.loadIndexFile(ctx, id)
	require.NoError(t, err)
	require.ElementsMatch(t, rebuilt.Removed, file.Supersedes)
}

func TestRebuildIndexKeepsCondemnedOnlyFiles(t *testing.T) {
	ctx := context.Background()
	f := newCheckFixture(t)
	// A prune condemned data pack 2 (d) and has yet to delete it.
	keep := f.condemn(t, f.pack["data2"])
	// A damaged index file is superseded all the same.
	garbage, err := saveFile(ctx, f.be, backend.IndexFile, []byte("not an index file"))
	require.NoError(t, err)
	// A pack whose header is gone is left out.
	rewrite(t, f.be, packFileHandle(f.pack["data1"]), func(b []byte) []byte { return b[:len(b)-10] })

	rebuilt, err := f.r.RebuildIndex(ctx)
	require.NoError(t, err)
	require.Equal(t, 5, rebuilt.Packs)
	require.Equal(t, 8, rebuilt.Blobs)
	require.NotContains(t, rebuilt.Removed, keep)
	require.Contains(t, rebuilt.Removed, garbage)
	require.Len(t, rebuilt.Removed, 4)
	require.Len(t, rebuilt.Unreadable, 2)
	var kinds []ProblemKind
	for _, p := range rebuilt.Unreadable {
		kinds = append(kinds, p.Kind)
	}
	require.ElementsMatch(t, []ProblemKind{UnreadableIndex, UnreadablePack}, kinds)
	require.Contains(t, listFiles(t, f.be, backend.IndexFile), keep.String())
	require.Len(t, listFiles(t, f.be, backend.IndexFile), 2)

	for _, r := range []*Repository{f.r, reopen(t, f.be)} {
		loc, ok := r.idx.Lookup(f.blob["d"])
		require.True(t, ok)
		require.True(t, loc.Condemned, "still condemned")
		require.False(t, r.HasBlob(f.blob["b"]))
		loc, ok = r.idx.Lookup(f.blob["a"])
		require.True(t, ok)
		require.False(t, loc.Condemned)
	}
}

func TestForgetDamaged(t *testing.T) {
	ctx := context.Background()
	f := newCheckFixture(t)
	require.NoError(t, f.be.Remove(ctx, packFileHandle(f.pack["data0"])))
	rep, err := f.r.Check(ctx, CheckOptions{})
	require.NoError(t, err)
	forgotten, err := f.r.ForgetDamaged(ctx, rep)
	require.NoError(t, err)
	require.Equal(t, f.ids(0, 1), forgotten)
	snaps, err := f.r.Snapshots(ctx)
	require.NoError(t, err)
	require.Len(t, snaps, 1)
	require.Equal(t, f.snaps[2].ID, snaps[0].ID)

	// Again: nothing left to forget; the missing pack harms no one now.
	again, err := f.r.Check(ctx, CheckOptions{})
	require.NoError(t, err)
	require.Empty(t, again.Damaged())
	require.Len(t, again.Problems, 1)
	require.Equal(t, MissingPack, again.Problems[0].Kind)
	forgotten, err = f.r.ForgetDamaged(ctx, rep)
	require.NoError(t, err)
	require.Empty(t, forgotten, "already gone")
}

// TestRebuildIndexDamagedFile: an index file that does not open stops
// Open; NoIndex opens the repository anyway so that the index can be
// rebuilt.
func TestRebuildIndexDamagedFile(t *testing.T) {
	ctx := context.Background()
	f := newCheckFixture(t)
	names := listFiles(t, f.be, backend.IndexFile)
	require.NotEmpty(t, names)
	h := backend.Handle{Type: backend.IndexFile, Name: names[0]}
	require.NoError(t, f.be.Remove(ctx, h))
	require.NoError(t, f.be.Save(ctx, h, backend.NewByteReader([]byte("damaged"))))
	_, err := Open(ctx, f.be, testPassword, OpenOptions{})
	require.ErrorIs(t, err, ErrCorrupt)

	r, err := Open(ctx, f.be, testPassword, OpenOptions{NoIndex: true})
	require.NoError(t, err)
	rep, err := r.RebuildIndex(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, rep.Unreadable, "the damaged file is reported")
	require.NotContains(t, listFiles(t, f.be, backend.IndexFile), names[0])
	r = reopen(t, f.be)
	requireCheckClean(t, r)
	requireAllRestore(t, r, f)
}
