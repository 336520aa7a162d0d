package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cairnbackup/cairn/internal/testsrc"
	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/repo/backend/local"
)

// killPoints is how many moments each kill test stops the command at.
const killPoints = 20

// killData writes a tree that takes the command a noticeable time: large
// random files and many small ones.
func killData(t *testing.T, dir string, seed uint64, big int) {
	t.Helper()
	r := testsrc.NewRandom(seed)
	for i := range big {
		require.NoError(t, r.WriteFile(dir, fmt.Sprintf("big/%d.bin", i), 4<<20))
	}
	for i := range 300 {
		require.NoError(t, r.WriteFile(dir, fmt.Sprintf("small/%03d/f", i), 1+r.IntN(8<<10)))
	}
}

// timed runs the command to the end and returns how long it took.
func timed(t *testing.T, c *cli, args ...string) time.Duration {
	t.Helper()
	start := time.Now()
	c.ok(args...)
	return time.Since(start)
}

// killAfter starts the command and kills it with SIGKILL after delay. It
// reports whether the kill came before the command ended.
func killAfter(t *testing.T, c *cli, delay time.Duration, args ...string) bool {
	t.Helper()
	cmd := c.command(args...)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	require.NoError(t, cmd.Start())
	timer := time.AfterFunc(delay, func() { cmd.Process.Kill() })
	err := cmd.Wait()
	timer.Stop()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return true
		}
	}
	require.NoError(t, err, "%v", args)
	return false
}

// requireSound opens the repository as a library user would and checks it
// (reading all data every fifth time): no snapshot may miss a blob.
func requireSound(t *testing.T, c *cli, round int, what string) {
	t.Helper()
	ctx := context.Background()
	r, err := repo.Open(ctx, local.New(c.repo), c.password, repo.OpenOptions{})
	require.NoError(t, err, what)
	rep, err := r.Check(ctx, repo.CheckOptions{ReadData: round%5 == 4})
	require.NoError(t, err, what) // the killed process's lock is stale: its pid is gone
	require.True(t, rep.OK(), "%s: %v", what, rep.Problems)
}

// killDelays spreads killPoints moments over a run of length d, from the
// very start to just past its usual end, in random order.
func killDelays(d time.Duration, seed uint64) []time.Duration {
	rng := rand.New(rand.NewPCG(seed, 11))
	out := make([]time.Duration, killPoints)
	for i := range out {
		slot := d * time.Duration(i) / killPoints
		out[i] = slot + time.Duration(rng.Int64N(int64(d/killPoints)+1))
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// TestKillDuringBackup kills a backup at killPoints moments; each time the
// repository must check clean and the next backup must succeed.
func TestKillDuringBackup(t *testing.T) {
	data := t.TempDir()
	killData(t, data, 1, 8)
	c := newCLI(t)
	c.ok("init")
	d := timed(t, c, "backup", data, "--tag", "reference")
	t.Logf("an uninterrupted backup takes %v", d.Round(time.Millisecond))
	killed := 0
	for i, delay := range killDelays(d, 2) {
		// New content each time, so that every backup has data to store.
		killData(t, filepath.Join(data, "round"), uint64(100+i), 2)
		if killAfter(t, c, delay, "backup", data) {
			killed++
		}
		what := fmt.Sprintf("backup killed after %v", delay.Round(time.Millisecond))
		requireSound(t, c, i, what)
		c.ok("backup", data)
		requireSound(t, c, i, what+", then a backup")
	}
	t.Logf("%d of %d backups killed before they ended", killed, killPoints)
	require.GreaterOrEqual(t, killed, killPoints/2)
}

// TestKillDuringPrune kills a prune with work to do (forgotten snapshots,
// packs to repack) at killPoints moments, each time on a fresh copy of the
// same repository; each time it must check clean, and a backup and a full
// prune must then succeed.
func TestKillDuringPrune(t *testing.T) {
	data := t.TempDir()
	c := newCLI(t)
	c.ok("init")
	for i := range 3 {
		killData(t, filepath.Join(data, "gen"), uint64(10+i), 8)
		c.ok("backup", data)
	}
	ctx := context.Background()
	r, err := repo.Open(ctx, local.New(c.repo), c.password, repo.OpenOptions{})
	require.NoError(t, err)
	snaps, err := r.Snapshots(ctx)
	require.NoError(t, err)
	for _, sn := range snaps[:2] {
		require.NoError(t, r.DeleteSnapshot(ctx, sn.ID))
	}
	pristine := c.repo + ".pristine"
	require.NoError(t, os.CopyFS(pristine, os.DirFS(c.repo)))

	fresh := func() {
		require.NoError(t, os.RemoveAll(c.repo))
		require.NoError(t, os.CopyFS(c.repo, os.DirFS(pristine)))
	}
	fresh()
	d := timed(t, c, "prune")
	t.Logf("an uninterrupted prune takes %v", d.Round(time.Millisecond))
	killed := 0
	for i, delay := range killDelays(d, 3) {
		fresh()
		if killAfter(t, c, delay, "prune") {
			killed++
		}
		what := fmt.Sprintf("prune killed after %v", delay.Round(time.Millisecond))
		requireSound(t, c, i, what)
		c.ok("backup", data)
		c.ok("prune")
		requireSound(t, c, i, what+", then a backup and a prune")
		entries, err := os.ReadDir(filepath.Join(c.repo, "index"))
		require.NoError(t, err)
		require.NotEmpty(t, entries)
	}
	t.Logf("%d of %d prunes killed before they ended", killed, killPoints)
	require.GreaterOrEqual(t, killed, killPoints/2)
}
