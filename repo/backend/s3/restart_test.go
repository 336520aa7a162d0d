package s3_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cairnbackup/cairn/internal/tests3"
	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/retry"
	"github.com/cairnbackup/cairn/source/fs"
)

// TestServerRestartMidBackup kills the server once the backup has stored
// a few objects and starts it again a moment later. Through the retrying
// wrapper the backup carries on; either way the repository stays valid.
func TestServerRestartMidBackup(t *testing.T) {
	srv := tests3.Start(t)
	ctx := t.Context()
	var retries atomic.Int64
	be := retry.New(openS3(t, srv, "restart"), retry.Options{
		InitialDelay: 100 * time.Millisecond, MaxDelay: time.Second, MaxAttempts: 20,
		Notify: func(op string, h backend.Handle, attempt int, err error, wait time.Duration) {
			if retries.Add(1) == 1 {
				t.Logf("retrying %s %v after attempt %d: %v", op, h, attempt, err)
			}
		},
	})
	r, err := repo.Init(ctx, be, "pw", repo.InitOptions{Key: cheapKey, Options: repo.Options{PackSize: repo.MinPackSize}})
	require.NoError(t, err)
	src := t.TempDir()
	writeTree(t, src, 7, 40<<20)

	restarted := make(chan struct{})
	go func() {
		defer close(restarted)
		dataDir := srv.Dir + "/restart/repo/data"
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
			if n := countFiles(dataDir); n >= 3 {
				srv.Stop()
				time.Sleep(700 * time.Millisecond)
				srv.Restart()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	sn, err := r.Backup(ctx, fs.Dir(src, fs.Options{}), repo.BackupOptions{})
	<-restarted
	require.NoError(t, err, "the retries carry the backup through the restart")
	t.Logf("%d retries", retries.Load())
	require.NotZero(t, retries.Load(), "the server was down during the backup")

	r2, err := repo.Open(ctx, openS3(t, srv, "restart"), "pw", repo.OpenOptions{})
	require.NoError(t, err)
	rep, err := r2.Check(ctx, repo.CheckOptions{ReadData: true})
	require.NoError(t, err)
	require.True(t, rep.OK(), "%v", rep.Problems)
	dst := t.TempDir()
	require.NoError(t, r2.Restore(ctx, sn.ID, fs.Into(dst, fs.TargetOptions{}), repo.RestoreOptions{Verify: true}))
	requireSameTree(t, src, dst)
}

// TestServerDownFailsCleanly: without retries, a backup whose server goes
// away fails, stores no snapshot, and the next backup works.
func TestServerDownFailsCleanly(t *testing.T) {
	srv := tests3.Start(t)
	ctx := t.Context()
	r, err := repo.Init(ctx, openS3(t, srv, "down"), "pw", repo.InitOptions{Key: cheapKey, Options: repo.Options{PackSize: repo.MinPackSize}})
	require.NoError(t, err)
	src := t.TempDir()
	writeTree(t, src, 8, 30<<20)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
			if countFiles(srv.Dir+"/down/repo/data") >= 2 {
				srv.Stop()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	_, err = r.Backup(ctx, fs.Dir(src, fs.Options{}), repo.BackupOptions{})
	<-stopped
	require.Error(t, err)
	t.Log(err)
	srv.Restart()

	r2, err := repo.Open(ctx, openS3(t, srv, "down"), "pw", repo.OpenOptions{})
	require.NoError(t, err)
	snaps, err := r2.Snapshots(ctx)
	require.NoError(t, err)
	require.Empty(t, snaps)
	_, err = r2.RemoveLocks(ctx, true) // the failed backup could not remove its own
	require.NoError(t, err)
	sn, err := r2.Backup(ctx, fs.Dir(src, fs.Options{}), repo.BackupOptions{})
	require.NoError(t, err)
	rep, err := r2.Check(ctx, repo.CheckOptions{ReadData: true})
	require.NoError(t, err)
	require.True(t, rep.OK(), "%v", rep.Problems)
	require.NotNil(t, sn)
}
