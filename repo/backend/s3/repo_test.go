package s3_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/internal/tests3"
	"github.com/cairnbackup/cairn/internal/testsrc"
	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/s3"
	"github.com/cairnbackup/cairn/source/fs"
)

var cheapKey = repo.KeyOptions{KDF: crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}}

// writeTree fills dir with files: seed picks the content, big adds a
// large file.
func writeTree(t *testing.T, dir string, seed uint64, big int) {
	t.Helper()
	r := testsrc.NewRandom(seed)
	for i := range 40 {
		require.NoError(t, r.WriteFile(dir, fmt.Sprintf("d%d/f%d", i%4, i), r.IntN(64<<10)))
	}
	if big > 0 {
		require.NoError(t, r.WriteFile(dir, "big.bin", big))
	}
}

func requireSameTree(t *testing.T, want, got string) {
	t.Helper()
	err := filepath.WalkDir(want, func(p string, d os.DirEntry, err error) error {
		require.NoError(t, err)
		rel, _ := filepath.Rel(want, p)
		if d.Type().IsRegular() {
			a, err := os.ReadFile(p)
			require.NoError(t, err)
			b, err := os.ReadFile(filepath.Join(got, rel))
			require.NoError(t, err, rel)
			require.True(t, bytes.Equal(a, b), rel)
		}
		return nil
	})
	require.NoError(t, err)
}

func openS3(t *testing.T, srv *tests3.Server, bucket string) *s3.Backend {
	t.Helper()
	cfg := srv.Config(bucket, "repo")
	cfg.PartSize = 5 << 20
	be, err := s3.Open(t.Context(), cfg)
	require.NoError(t, err)
	return be
}

// TestRepositoryRoundTrip backs up a tree with a 24 MiB file into S3, so
// that full 16 MiB packs go up in 5 MiB parts, restores it and checks
// every byte.
func TestRepositoryRoundTrip(t *testing.T) {
	srv := tests3.Start(t)
	ctx := t.Context()
	be := openS3(t, srv, "roundtrip")
	r, err := repo.Init(ctx, be, "pw", repo.InitOptions{Key: cheapKey})
	require.NoError(t, err)
	src := t.TempDir()
	writeTree(t, src, 1, 24<<20)
	sn, err := r.Backup(ctx, fs.Dir(src, fs.Options{}), repo.BackupOptions{})
	require.NoError(t, err)

	var multipart int
	require.NoError(t, be.List(ctx, backend.PackFile, func(fi backend.FileInfo) error {
		if fi.Size > 5<<20 {
			multipart++
		}
		return nil
	}))
	require.NotZero(t, multipart, "a pack larger than one part")

	r2, err := repo.Open(ctx, openS3(t, srv, "roundtrip"), "pw", repo.OpenOptions{})
	require.NoError(t, err)
	dst := t.TempDir()
	require.NoError(t, r2.Restore(ctx, sn.ID, fs.Into(dst, fs.TargetOptions{}), repo.RestoreOptions{Verify: true}))
	requireSameTree(t, src, dst)
	rep, err := r2.Check(ctx, repo.CheckOptions{ReadData: true})
	require.NoError(t, err)
	require.True(t, rep.OK(), "%v", rep.Problems)
	second, err := r2.Backup(ctx, fs.Dir(src, fs.Options{}), repo.BackupOptions{})
	require.NoError(t, err)
	require.Zero(t, second.Summary.BytesRead, "unchanged: nothing read")
}

// TestSeveralHosts runs backups from three processes (three Repository
// values, three host names) into one repository at once, with prunes
// running meanwhile; afterwards every snapshot restores and checks clean.
func TestSeveralHosts(t *testing.T) {
	srv := tests3.Start(t)
	ctx := context.Background()
	r, err := repo.Init(ctx, openS3(t, srv, "hosts"), "pw", repo.InitOptions{Key: cheapKey})
	require.NoError(t, err)
	// Something for prune to do: a snapshot to forget.
	old := t.TempDir()
	writeTree(t, old, 99, 0)
	gone, err := r.Backup(ctx, fs.Dir(old, fs.Options{}), repo.BackupOptions{Host: "old"})
	require.NoError(t, err)
	require.NoError(t, r.DeleteSnapshot(ctx, gone.ID))

	hosts := []string{"web", "db", "cache"}
	dirs := make([]string, len(hosts))
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	stop := make(chan struct{})
	for i, host := range hosts {
		dirs[i] = t.TempDir()
		writeTree(t, dirs[i], uint64(i), 3<<20)
		hr, err := repo.Open(ctx, openS3(t, srv, "hosts"), "pw", repo.OpenOptions{})
		require.NoError(t, err)
		wg.Go(func() {
			for round := range 3 {
				writeTree(t, filepath.Join(dirs[i], fmt.Sprint(round)), uint64(100*i+round), 0)
				if _, err := hr.Backup(ctx, fs.Dir(dirs[i], fs.Options{}), repo.BackupOptions{Host: host}); err != nil {
					errs <- fmt.Errorf("%s: %w", host, err)
				}
			}
		})
	}
	pr, err := repo.Open(ctx, openS3(t, srv, "hosts"), "pw", repo.OpenOptions{})
	require.NoError(t, err)
	var prunes int
	pruned := make(chan struct{})
	go func() {
		defer close(pruned)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := pr.Prune(ctx, repo.PruneOptions{}); err != nil {
				errs <- fmt.Errorf("prune: %w", err)
				return
			}
			prunes++
		}
	}()
	wg.Wait()
	close(stop)
	<-pruned
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	t.Logf("%d prunes ran during the backups", prunes)
	require.NotZero(t, prunes)
	_, err = pr.Prune(ctx, repo.PruneOptions{})
	require.NoError(t, err)

	check, err := repo.Open(ctx, openS3(t, srv, "hosts"), "pw", repo.OpenOptions{})
	require.NoError(t, err)
	rep, err := check.Check(ctx, repo.CheckOptions{ReadData: true})
	require.NoError(t, err)
	require.True(t, rep.OK(), "%v", rep.Problems)
	snaps, err := check.Snapshots(ctx)
	require.NoError(t, err)
	latest := map[string]*repo.Snapshot{}
	for _, sn := range snaps {
		latest[sn.Host] = sn
	}
	require.Len(t, snaps, 9)
	for i, host := range hosts {
		sn := latest[host]
		require.NotNil(t, sn, host)
		dst := t.TempDir()
		require.NoError(t, check.Restore(ctx, sn.ID, fs.Into(dst, fs.TargetOptions{}), repo.RestoreOptions{Verify: true}))
		requireSameTree(t, dirs[i], dst)
	}
}

// countFiles counts the regular files below dir.
func countFiles(dir string) int {
	n := 0
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return nil
	})
	return n
}
