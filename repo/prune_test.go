package repo

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cairnbackup/cairn/pack"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/mem"
	"github.com/cairnbackup/cairn/source"
)

// filesSource is a flat directory of files with the given contents.
func filesSource(contents ...[]byte) *testSource {
	s := &testSource{}
	s.add(source.Entry{Path: ".", Type: source.TypeDir, Perm: 0o755}, nil)
	for i, c := range contents {
		s.add(source.Entry{Path: string(rune('a' + i)), Type: source.TypeFile, Perm: 0o644, Inode: uint64(i + 1)}, c)
	}
	return s
}

// requireIntact reopens the repository and loads every blob that every
// snapshot needs.
func requireIntact(t *testing.T, be backend.Backend) *Repository {
	t.Helper()
	r := reopen(t, be)
	snaps, err := r.Snapshots(t.Context())
	require.NoError(t, err)
	used, err := r.usedBlobs(t.Context(), snaps)
	require.NoError(t, err)
	for h := range used {
		_, err := r.LoadBlob(t.Context(), h.Type, h.ID, nil)
		require.NoError(t, err, "%v", h)
	}
	return r
}

// contentBlobs returns the data blobs of a snapshot's files.
func contentBlobs(t *testing.T, r *Repository, sn *Snapshot) []pack.Handle {
	t.Helper()
	used, err := r.usedBlobs(t.Context(), []*Snapshot{sn})
	require.NoError(t, err)
	var out []pack.Handle
	for h := range used {
		if h.Type == DataBlob {
			out = append(out, h)
		}
	}
	return out
}

func condemned(t *testing.T, r *Repository, h pack.Handle) bool {
	t.Helper()
	loc, ok := r.idx.Lookup(h)
	require.True(t, ok, "%v", h)
	return loc.Condemned
}

func TestPruneTwoPhases(t *testing.T) {
	r, be := newMemRepo(t)
	ctx := t.Context()
	old, err := r.Backup(ctx, filesSource(randomBytes(1, 200<<10)), BackupOptions{})
	require.NoError(t, err)
	kept, err := r.Backup(ctx, filesSource(randomBytes(2, 200<<10)), BackupOptions{NoParent: true})
	require.NoError(t, err)
	oldBlobs := contentBlobs(t, r, old)
	require.NoError(t, r.DeleteSnapshot(ctx, old.ID))

	// With a backup running, the packs are only condemned.
	running, err := reopen(t, be).Lock(ctx, "backup", false)
	require.NoError(t, err)
	before := listFiles(t, be, backend.PackFile)
	rep, err := r.Prune(ctx, PruneOptions{})
	require.NoError(t, err)
	require.Len(t, rep.Condemned, 2, "the old data pack and tree pack")
	require.Empty(t, rep.Deleted)
	require.Len(t, rep.Waiting, 2)
	require.ElementsMatch(t, before, listFiles(t, be, backend.PackFile))
	for _, h := range oldBlobs {
		require.True(t, condemned(t, r, h))
		require.True(t, condemned(t, reopen(t, be), h), "for other processes too")
	}
	// A backup of the same data again stores it again.
	again, err := r.Backup(ctx, filesSource(randomBytes(1, 200<<10)), BackupOptions{NoParent: true})
	require.NoError(t, err)
	require.NotZero(t, again.Summary.BytesAdded)

	// Once that backup is over, the next prune deletes them.
	require.NoError(t, running.Unlock(ctx))
	rep, err = r.Prune(ctx, PruneOptions{})
	require.NoError(t, err)
	require.Len(t, rep.Deleted, 2)
	require.Empty(t, rep.Condemned)
	require.NotZero(t, rep.BytesDeleted)
	for _, id := range rep.Deleted {
		require.NotContains(t, listFiles(t, be, backend.PackFile), id.String())
	}

	// With no backup running, one prune condemns and deletes.
	require.NoError(t, r.DeleteSnapshot(ctx, again.ID))
	rep, err = r.Prune(ctx, PruneOptions{})
	require.NoError(t, err)
	require.Len(t, rep.Condemned, 2)
	require.ElementsMatch(t, rep.Condemned, rep.Deleted)

	r2 := requireIntact(t, be)
	require.NoError(t, r2.Restore(ctx, kept.ID, newMemTarget(), RestoreOptions{}))
	require.Len(t, listFiles(t, be, backend.PackFile), 2, "the kept snapshot's data and tree packs")
	require.Len(t, listFiles(t, be, backend.IndexFile), 1, "one merged index file")

	// Nothing left to do: a further prune writes nothing.
	files := listFiles(t, be, backend.IndexFile)
	rep, err = r.Prune(ctx, PruneOptions{})
	require.NoError(t, err)
	require.Zero(t, rep.IndexFiles)
	require.Equal(t, files, listFiles(t, be, backend.IndexFile))
}

// condemnedWhileRunning forgets a snapshot and prunes while another
// process (returned, with its lock) runs a backup: the snapshot's two packs
// are condemned and wait.
func condemnedWhileRunning(t *testing.T) (r *Repository, be *mem.Backend, old *Snapshot, other *Repository, running *Lock) {
	t.Helper()
	r, be = newMemRepo(t)
	ctx := t.Context()
	old, err := r.Backup(ctx, filesSource(randomBytes(1, 100<<10)), BackupOptions{})
	require.NoError(t, err)
	require.NoError(t, r.DeleteSnapshot(ctx, old.ID))
	other = reopen(t, be)
	running, err = other.Lock(ctx, "backup", false)
	require.NoError(t, err)
	rep, err := r.Prune(ctx, PruneOptions{})
	require.NoError(t, err)
	require.Len(t, rep.Condemned, 2)
	require.Len(t, rep.Waiting, 2)
	return r, be, old, other, running
}

// TestPruneWaitsForBackups: a condemned pack outlives every backup that
// held a lock when it was condemned.
func TestPruneWaitsForBackups(t *testing.T) {
	r, be, _, other, running := condemnedWhileRunning(t)
	ctx := t.Context()

	rep, err := r.Prune(ctx, PruneOptions{})
	require.NoError(t, err)
	require.Empty(t, rep.Deleted)
	require.Len(t, rep.Waiting, 2)

	// A backup that started after the condemnation does not hold it up.
	later, err := other.Lock(ctx, "backup", false)
	require.NoError(t, err)
	require.NoError(t, running.Unlock(ctx))
	rep, err = r.Prune(ctx, PruneOptions{})
	require.Empty(t, rep.Deleted, "%v: within MaxClockSkew of the condemnation", err)
	require.NoError(t, later.Unlock(ctx))
	rep, err = r.Prune(ctx, PruneOptions{})
	require.NoError(t, err)
	require.Len(t, rep.Deleted, 2)
	requireIntact(t, be)
}

// TestPruneKeepsNeededCondemned: a backup that loaded the index before a
// pack was condemned refers to it; the next prune keeps the pack.
func TestPruneKeepsNeededCondemned(t *testing.T) {
	// A backup running since before the prune, with the index it read then,
	// stores a snapshot that uses the condemned packs.
	r, be, old, other, running := condemnedWhileRunning(t)
	ctx := t.Context()
	w := other.NewWriter()
	sn := &Snapshot{Time: time.Now(), Host: "late", Tree: old.Tree}
	_, err := w.SaveSnapshot(ctx, sn)
	require.NoError(t, err)
	require.NoError(t, running.Unlock(ctx))

	rep, err := r.Prune(ctx, PruneOptions{})
	require.NoError(t, err)
	require.Empty(t, rep.Deleted)
	require.Len(t, rep.Kept, 2)
	r2 := requireIntact(t, be)
	for _, h := range contentBlobs(t, r2, sn) {
		require.False(t, condemned(t, r2, h), "no longer condemned")
	}
	rep, err = r.Prune(ctx, PruneOptions{})
	require.NoError(t, err)
	require.Empty(t, rep.Deleted)
	require.Empty(t, rep.Condemned)
}

func TestPruneRepack(t *testing.T) {
	ctx := t.Context()
	be := mem.New()
	r := initRepo(t, be, Options{PackWriters: 1}) // one data pack for all files
	files := [][]byte{randomBytes(1, 100<<10), randomBytes(2, 100<<10), randomBytes(3, 100<<10), randomBytes(4, 100<<10)}
	first, err := r.Backup(ctx, filesSource(files...), BackupOptions{})
	require.NoError(t, err)
	second, err := r.Backup(ctx, filesSource(files[0]), BackupOptions{NoParent: true})
	require.NoError(t, err)
	require.NoError(t, r.DeleteSnapshot(ctx, first.ID))

	before := listFiles(t, be, backend.PackFile)
	rep, err := r.Prune(ctx, PruneOptions{DryRun: true})
	require.NoError(t, err)
	require.Len(t, rep.Repacked, 1, "would repack")
	require.Len(t, rep.Condemned, 1, "would condemn the first snapshot's tree pack")
	require.Equal(t, before, listFiles(t, be, backend.PackFile))
	for _, opts := range []PruneOptions{{MaxRepack: 1}, {MaxUnused: -1}, {MaxUnused: 0.8}} {
		rep, err := r.Prune(ctx, opts)
		require.NoError(t, err)
		require.Empty(t, rep.Repacked, "%+v", opts)
	}

	rep, err = r.Prune(ctx, PruneOptions{})
	require.NoError(t, err)
	require.Len(t, rep.Repacked, 1)
	require.Equal(t, rep.Repacked, rep.Deleted)
	require.EqualValues(t, 100<<10, rep.BytesRepacked, "only the needed file is copied")
	blobs := contentBlobs(t, r, second)
	require.Len(t, blobs, 1)
	require.False(t, condemned(t, r, blobs[0]), "found in its new pack")
	r2 := requireIntact(t, be)
	tgt := newMemTarget()
	require.NoError(t, r2.Restore(ctx, second.ID, tgt, RestoreOptions{}))
	require.Equal(t, files[0], tgt.data["a"])
}

// TestPruneUnindexed: packs no index names (a crashed backup's) are
// condemned, then deleted.
func TestPruneUnindexed(t *testing.T) {
	r, be := newMemRepo(t)
	ctx := t.Context()
	kept, err := r.Backup(ctx, filesSource(randomBytes(1, 100<<10)), BackupOptions{})
	require.NoError(t, err)
	w := r.NewWriter()
	_, _, err = w.SaveBlob(ctx, DataBlob, randomBytes(9, 50<<10))
	require.NoError(t, err)
	require.NoError(t, w.packers[DataBlob].flush(ctx)) // stored, never indexed
	require.Len(t, listFiles(t, be, backend.PackFile), 3)

	rep, err := r.Prune(ctx, PruneOptions{})
	require.NoError(t, err)
	require.Len(t, rep.Unindexed, 1)
	require.Equal(t, rep.Unindexed, rep.Deleted)
	require.Len(t, listFiles(t, be, backend.PackFile), 2)
	r2 := requireIntact(t, be)
	require.NoError(t, r2.Restore(ctx, kept.ID, newMemTarget(), RestoreOptions{}))
}

func TestPruneExclusive(t *testing.T) {
	r, be := newMemRepo(t)
	other := reopen(t, be)
	l, err := other.Lock(t.Context(), "prune", true)
	require.NoError(t, err)
	_, err = r.Prune(t.Context(), PruneOptions{})
	require.ErrorIs(t, err, ErrLocked)
	require.NoError(t, l.Unlock(t.Context()))
	_, err = r.Prune(t.Context(), PruneOptions{MaxUnused: 2})
	require.Error(t, err)
}

func TestForgetPrune(t *testing.T) {
	r, be := newMemRepo(t)
	ctx := t.Context()
	for i := range 3 {
		_, err := r.Backup(ctx, filesSource(randomBytes(uint64(i), 100<<10)), BackupOptions{NoParent: true, Time: time.Now().Add(time.Duration(i) * time.Hour)})
		require.NoError(t, err)
	}
	require.Len(t, listFiles(t, be, backend.PackFile), 6)
	res, err := r.Forget(ctx, Policy{Last: 1}, ForgetOptions{Prune: true})
	require.NoError(t, err)
	require.Len(t, res.Removed, 2)
	require.NotNil(t, res.Prune)
	require.Len(t, res.Prune.Deleted, 4)
	require.Len(t, listFiles(t, be, backend.PackFile), 2)
	requireIntact(t, be)
}
