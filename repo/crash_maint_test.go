package repo

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/fault"
	"github.com/cairnbackup/cairn/repo/backend/mem"
	"github.com/cairnbackup/cairn/source"
)

// crashAt runs op against a copy of the repository in inner whose backend
// stops after n saves and removes, as a crash would, and reports whether
// the crash came before op finished.
func crashAt(t *testing.T, inner backend.Backend, n int, op func(context.Context, *Repository) error) bool {
	t.Helper()
	fb := fault.New(inner)
	r, err := Open(t.Context(), fb, testPassword, OpenOptions{Options: Options{PackSize: MinPackSize, PackWriters: 1}})
	require.NoError(t, err)
	fb.StopAfter(n)
	err = op(t.Context(), r)
	if !fb.Stopped() {
		require.NoError(t, err, "n=%d", n)
		return false
	}
	require.True(t, err == nil || errors.Is(err, fault.ErrStopped), "n=%d: %v", n, err)
	return true
}

// afterCrash checks what must hold whatever a crash left: the repository
// opens, every snapshot's blobs load, a new backup works, and prune then
// works too.
func afterCrash(t *testing.T, inner backend.Backend, n int) {
	t.Helper()
	ctx := t.Context()
	r := requireIntact(t, inner)
	_, err := r.RemoveLocks(ctx, true) // the crashed process's
	require.NoError(t, err)
	rep, err := r.Check(ctx, CheckOptions{ReadData: true})
	require.NoError(t, err)
	require.True(t, rep.OK(), "n=%d: %v", n, rep.Problems)
	_, err = r.Backup(ctx, filesSource(randomBytes(uint64(1000+n), 50<<10)), BackupOptions{NoParent: true})
	require.NoError(t, err, "n=%d", n)
	_, err = r.Prune(ctx, PruneOptions{})
	require.NoError(t, err, "n=%d", n)
	requireIntact(t, inner)
}

// pruneFixture is a repository with something for every part of prune to
// do: a forgotten snapshot, a pack to repack, an unindexed pack.
func pruneFixture(t *testing.T) *mem.Backend {
	t.Helper()
	ctx := t.Context()
	be := mem.New()
	r := initRepo(t, be, Options{PackSize: MinPackSize, PackWriters: 1})
	files := [][]byte{randomBytes(1, 100<<10), randomBytes(2, 300<<10), randomBytes(3, 600<<10)}
	first, err := r.Backup(ctx, filesSource(files...), BackupOptions{})
	require.NoError(t, err)
	_, err = r.Backup(ctx, filesSource(files[0], randomBytes(4, 200<<10)), BackupOptions{NoParent: true})
	require.NoError(t, err)
	require.NoError(t, r.DeleteSnapshot(ctx, first.ID))
	w := r.NewWriter()
	_, _, err = w.SaveBlob(ctx, DataBlob, randomBytes(9, 50<<10))
	require.NoError(t, err)
	require.NoError(t, w.packers[DataBlob].flush(ctx))
	return be
}

// TestCrashDuringPrune stops the backend after every possible number of
// saves and removes of a prune.
func TestCrashDuringPrune(t *testing.T) {
	var reports []*PruneReport
	for n := 0; ; n++ {
		inner := pruneFixture(t)
		crashed := crashAt(t, inner, n, func(ctx context.Context, r *Repository) error {
			rep, err := r.Prune(ctx, PruneOptions{})
			reports = append(reports, rep)
			return err
		})
		afterCrash(t, inner, n)
		if !crashed {
			rep := reports[len(reports)-1]
			require.NotEmpty(t, rep.Repacked)
			require.NotEmpty(t, rep.Unindexed)
			require.NotEmpty(t, rep.Deleted)
			t.Logf("prune finished after %d writes", n)
			return
		}
	}
}

// TestCrashDuringBackup stops the backend after every possible number of
// saves and removes of a backup.
func TestCrashDuringBackup(t *testing.T) {
	for n := 0; ; n++ {
		inner := mem.New()
		r := initRepo(t, inner, Options{PackSize: MinPackSize, PackWriters: 1})
		_, err := r.Backup(t.Context(), filesSource(randomBytes(1, 300<<10)), BackupOptions{})
		require.NoError(t, err)
		crashed := crashAt(t, inner, n, func(ctx context.Context, r *Repository) error {
			_, err := r.Backup(ctx, sampleSourceLarge(), BackupOptions{})
			return err
		})
		afterCrash(t, inner, n)
		if !crashed {
			t.Logf("backup finished after %d writes", n)
			return
		}
	}
}

// sampleSourceLarge is sampleSource with enough data for several packs.
func sampleSourceLarge() *testSource {
	s := sampleSource()
	for i := range 3 {
		e := source.Entry{Path: "big" + string(rune('0'+i)), Type: source.TypeFile, Perm: 0o644, Inode: uint64(20 + i)}
		s.add(e, randomBytes(uint64(50+i), 1500<<10))
	}
	return s
}
