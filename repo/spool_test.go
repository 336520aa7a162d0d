package repo

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/repo/backend/local"
	"github.com/cairnbackup/cairn/source"
	"github.com/stretchr/testify/require"
)

// abortingSource wraps a testSource so that reading path fails with
// source.ErrAbort, which fails the whole backup, once ready returns true.
type abortingSource struct {
	*testSource
	path  string
	ready func() bool
}

func (s abortingSource) Walk(ctx context.Context, fn func(*source.Entry) error) error {
	return s.testSource.Walk(ctx, func(e *source.Entry) error {
		if e.Path == s.path {
			e.Open = func() (io.ReadCloser, error) {
				for deadline := time.Now().Add(10 * time.Second); !s.ready() && time.Now().Before(deadline); {
					time.Sleep(10 * time.Millisecond)
				}
				return nil, source.ErrAbort
			}
		}
		return fn(e)
	})
}

// packNames matches what may lie under data/ of a local repository: packs
// in their folders, nothing half-written.
var packNames = regexp.MustCompile(`^data/[0-9a-f]{2}/[0-9a-f]{64}$`)

// dataFiles lists the files under data/ of a local repository.
func dataFiles(dir string) []string {
	var names []string
	_ = filepath.WalkDir(filepath.Join(dir, "data"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			names = append(names, filepath.ToSlash(rel))
		}
		return nil
	})
	return names
}

func requireOnlyPacks(t *testing.T, dir string) int {
	t.Helper()
	names := dataFiles(dir)
	for _, n := range names {
		require.Regexp(t, packNames, n)
	}
	return len(names)
}

// A local repository builds packs in unnamed spool files: a backup that
// fails after finishing some packs leaves only whole packs, the
// repository checks clean, and the next backup restores byte for byte.
func TestSpooledPacks(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := initRepo(t, local.New(dir), Options{PackSize: MinPackSize, PackWriters: 1})

	src := &testSource{}
	src.add(source.Entry{Path: ".", Type: source.TypeDir, Perm: 0o755}, nil)
	for i, name := range []string{"a", "b", "c", "d", "e", "f"} {
		src.add(source.Entry{Path: name, Type: source.TypeFile, Inode: uint64(i + 1)}, randomBytes(uint64(i), 900<<10))
	}
	// The backup fails once a pack is stored (and more are being filled).
	ready := func() bool { return len(dataFiles(dir)) > 0 }
	_, err := r.Backup(ctx, abortingSource{src, "f", ready}, BackupOptions{Readers: 1})
	require.True(t, errors.Is(err, source.ErrAbort), "got %v", err)
	stored := requireOnlyPacks(t, dir)
	t.Logf("the failed backup stored %d whole packs", stored)
	require.NotZero(t, stored, "packs filled before the failure are stored")

	sn, err := r.Backup(ctx, src, BackupOptions{})
	require.NoError(t, err)
	requireOnlyPacks(t, dir)
	rep, err := reopen(t, local.New(dir)).Check(ctx, CheckOptions{ReadData: true})
	require.NoError(t, err)
	for _, p := range rep.Problems {
		require.Equal(t, UnreferencedPack, p.Kind, "%v", p)
	}
	tgt := newMemTarget()
	require.NoError(t, r.Restore(ctx, sn.ID, tgt, RestoreOptions{}))
	requireRestored(t, src, tgt)
}
