package main

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/repo/backend/limit"
	"github.com/cairnbackup/cairn/repo/backend/local"
	"github.com/cairnbackup/cairn/source/fs"
)

const testPassword = "agent test"

// newTestRepo makes a repository with a cheap key in a new directory.
func newTestRepo(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	be := local.New(dir)
	require.NoError(t, be.Create(t.Context()))
	r, err := repo.Init(t.Context(), be, testPassword, repo.InitOptions{
		Key: repo.KeyOptions{KDF: crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}}})
	require.NoError(t, err)
	require.NoError(t, r.Close())
	return dir
}

// newTestRunner is a cairnRunner on dir without Docker.
func newTestRunner(t *testing.T, dir string, init bool) *cairnRunner {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	c := &cairnRunner{repo: &opener{cfg: RepoConfig{Addr: dir, Password: testPassword, Init: init}, log: log},
		host: "h1", sample: 1, log: log}
	t.Cleanup(func() { _ = c.repo.close() })
	return c
}

// backupDir stores a snapshot of a small directory root/name, tagged as
// t's, taken at when by host.
func backupDir(tt *testing.T, c *cairnRunner, t *Target, root, name, host string, when time.Time) {
	tt.Helper()
	src := filepath.Join(root, name)
	require.NoError(tt, os.MkdirAll(src, 0o755))
	require.NoError(tt, os.WriteFile(filepath.Join(src, "f.txt"), []byte(name+when.String()), 0o644))
	r, err := c.repo.get(tt.Context())
	require.NoError(tt, err)
	opts := c.options(t)
	opts.Host, opts.Time = host, when
	_, err = r.Backup(tt.Context(), fs.Dir(src, fs.Options{}), opts)
	require.NoError(tt, err)
}

func TestRunnerForgetDrillPrune(t *testing.T) {
	c := newTestRunner(t, newTestRepo(t), false)
	ctx := t.Context()
	tg := &Target{ID: "container/app", Policy: repo.Policy{Last: 1}}
	other := &Target{ID: "volume/other"}

	_, err := c.Drill(ctx, tg)
	require.ErrorIs(t, err, ErrNoSnapshot)

	base, root := time.Now().Add(-time.Hour), t.TempDir()
	for i := range 3 {
		backupDir(t, c, tg, root, "a", "h1", base.Add(time.Duration(i)*time.Minute))
		backupDir(t, c, tg, root, "b", "h1", base.Add(time.Duration(i)*time.Minute))
	}
	backupDir(t, c, tg, root, "a", "another-host", base)
	backupDir(t, c, other, root, "a", "h1", base)

	// Keep-last 1 per volume (path): two stay; other hosts and targets are
	// not touched.
	res, err := c.Forget(ctx, tg)
	require.NoError(t, err)
	require.Equal(t, ForgetResult{Removed: 4, Remaining: 2}, res)
	res, err = c.Forget(ctx, other)
	require.NoError(t, err)
	require.Equal(t, ForgetResult{Remaining: 1}, res)
	r, err := c.repo.get(ctx)
	require.NoError(t, err)
	all, err := r.Snapshots(ctx)
	require.NoError(t, err)
	require.Len(t, all, 4)

	d, err := c.Drill(ctx, tg)
	require.NoError(t, err)
	require.True(t, d.OK, d.Problem)
	require.Equal(t, 1, d.Files)
	require.NotEmpty(t, d.Snapshot)

	p, err := c.Prune(ctx)
	require.NoError(t, err)
	require.Positive(t, p.RepoSize)
	require.NoError(t, c.Ping(ctx))
}

func TestOpenerMissingRepository(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "none")
	c := newTestRunner(t, dir, false)
	_, err := c.Forget(t.Context(), &Target{ID: "volume/x"})
	require.ErrorIs(t, err, ErrNoRepository)
	require.ErrorContains(t, err, dir)
	require.ErrorIs(t, c.Ping(t.Context()), ErrNoRepository)
	_, statErr := os.Stat(dir)
	require.True(t, errors.Is(statErr, os.ErrNotExist), "nothing created without --init")

	// Wrong password: not taken for a missing repository.
	existing := newTestRepo(t)
	bad := newTestRunner(t, existing, true)
	bad.repo.cfg.Password = "wrong"
	err = bad.Ping(t.Context())
	require.ErrorIs(t, err, repo.ErrWrongPassword)
}

func TestOpenerInit(t *testing.T) {
	if testing.Short() {
		t.Skip("derives a key with the default KDF")
	}
	dir := filepath.Join(t.TempDir(), "new")
	c := newTestRunner(t, dir, true)
	require.NoError(t, c.Ping(t.Context()))
	_, err := os.Stat(filepath.Join(dir, "config"))
	require.NoError(t, err)
	res, err := c.Forget(t.Context(), &Target{ID: "volume/x"})
	require.NoError(t, err)
	require.Zero(t, res.Remaining)
}

func TestOpenerAppliesLimits(t *testing.T) {
	dir := newTestRepo(t)
	plain := newTestRunner(t, dir, false)
	be, remote, err := plain.repo.backend(t.Context())
	require.NoError(t, err)
	require.False(t, remote)
	require.IsType(t, &local.Backend{}, be)

	limited := newTestRunner(t, dir, false)
	limited.repo.cfg.Upload = 1 << 20
	be, _, err = limited.repo.backend(t.Context())
	require.NoError(t, err)
	require.IsType(t, &limit.Backend{}, be)
	require.NoError(t, limited.Ping(t.Context()))
}
