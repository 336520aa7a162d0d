package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// maintLockFiles returns the names of the lock files of c's repository.
func maintLockFiles(t *testing.T, c *cli) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(c.repo, "locks"))
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	return names
}

// maintStaleLock leaves the lock of a backup killed while it ran: one of
// this host whose process is gone.
func maintStaleLock(t *testing.T, c *cli) {
	t.Helper()
	cmd := c.command("backup", "--stdin-from-command", "--", "sleep", "60")
	// Its own process group, so that sleep dies with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	require.Eventually(t, func() bool { return len(maintLockFiles(t, c)) > 0 }, 30*time.Second, 20*time.Millisecond)
	require.NoError(t, syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL))
	_ = cmd.Wait()
}

func TestUnlock(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("init")
	require.Equal(t, "no stale locks\n", c.ok("unlock"))

	maintStaleLock(t, c)
	r := maintOpen(t, c)
	ctx := context.Background()
	live, err := r.Lock(ctx, "test", false)
	require.NoError(t, err)
	defer live.Unlock(ctx)
	require.Len(t, maintLockFiles(t, c), 2)

	out := c.ok("unlock")
	require.Contains(t, out, "removed shared lock ")
	require.Contains(t, out, "by backup on ")
	require.Contains(t, out, "left shared lock "+live.Info().ID.Short()+" by test")
	require.Equal(t, []string{live.Info().ID.String()}, maintLockFiles(t, c), "the live lock stays")

	var res struct{ Removed, Left []lockJSON }
	c.okJSON(&res, "unlock", "--remove-all")
	require.Len(t, res.Removed, 1)
	require.Equal(t, live.Info().ID, res.Removed[0].ID)
	require.Equal(t, os.Getpid(), res.Removed[0].PID)
	require.Empty(t, res.Left)
	require.Empty(t, maintLockFiles(t, c))
}

func TestLocked(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	_, _, _ = maintTwoSnapshots(t, c)
	r := maintOpen(t, c)
	ctx := context.Background()
	l, err := r.Lock(ctx, "prune", true)
	require.NoError(t, err)
	defer l.Unlock(ctx)

	holder := fmt.Sprintf("repository is locked by prune on %s (pid %d)", l.Info().Host, os.Getpid())
	for _, args := range [][]string{
		{"prune"},
		{"check"},
		{"repair", "index"},
		{"forget", "--keep-last", "1", "--prune"},
	} {
		c.fails(exitError, holder, args...)
	}
	// Shared locks do not wait for it; unlock leaves a live holder alone.
	c.ok("restore", "latest", "--target", t.TempDir())
	require.Contains(t, c.ok("unlock"), "left exclusive lock "+l.Info().ID.Short())
	require.NoError(t, l.Unlock(ctx))
	c.ok("prune")
}
