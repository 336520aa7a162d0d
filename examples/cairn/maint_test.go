package main

import (
	"context"
	"crypto/rand"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/repo/backend/local"
)

// maintPackFiles returns the pack files of c's repository, largest first.
func maintPackFiles(t *testing.T, c *cli) []string {
	t.Helper()
	var files []string
	sizes := map[string]int64{}
	err := filepath.WalkDir(filepath.Join(c.repo, "data"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		files, sizes[p] = append(files, p), info.Size()
		return err
	})
	require.NoError(t, err)
	slices.SortFunc(files, func(a, b string) int { return int(sizes[b] - sizes[a]) })
	return files
}

// maintBackup backs up files as a snapshot of dir and returns its ID.
func maintBackup(t *testing.T, c *cli, dir string, files map[string]string, args ...string) repo.ID {
	t.Helper()
	require.NoError(t, os.RemoveAll(dir))
	writeTree(t, dir, files)
	res := jsonLines[backupResult](t, c.ok(append(append([]string{"backup", "--json"}, args...), dir)...))
	require.Len(t, res, 1)
	return res[0].SnapshotID
}

// maintOpen opens c's repository through the library.
func maintOpen(t *testing.T, c *cli) *repo.Repository {
	t.Helper()
	r, err := repo.Open(context.Background(), local.New(c.repo), c.password, repo.OpenOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	return r
}

// maintRandom returns n random bytes: data that does not compress.
func maintRandom(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return string(b)
}

func snapshotIDs(t *testing.T, c *cli) []string {
	t.Helper()
	var list []snapshotJSON
	c.okJSON(&list, "snapshots")
	ids := make([]string, len(list))
	for i, sn := range list {
		ids[i] = sn.ShortID
	}
	return ids
}

func TestForget(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("init")
	src := filepath.Join(t.TempDir(), "src")
	// Four snapshots of one path, each with data of its own.
	var ids []repo.ID
	for i := range 4 {
		var args []string
		if i == 1 {
			args = []string{"--tag", "keepme"}
		}
		ids = append(ids, maintBackup(t, c, src, map[string]string{"data": maintRandom(100_000)}, args...))
	}
	s1, s2, s3, s4 := ids[0].Short(), ids[1].Short(), ids[2].Short(), ids[3].Short()
	packs := len(maintPackFiles(t, c))

	t.Run("dry run", func(t *testing.T) {
		c := c.on(t)
		out := c.ok("forget", "--keep-last", "1", "--keep-tag", "keepme", "--dry-run")
		for _, want := range []string{s1, s2, s3, s4, "last 1", "tag keepme", "would remove 2 snapshots and keep 2"} {
			require.Contains(t, out, want)
		}
		var res forgetJSON
		c.okJSON(&res, "forget", "--keep-last", "1", "--keep-tag", "keepme", "--dry-run")
		require.True(t, res.DryRun)
		require.Empty(t, res.Removed)
		require.Len(t, res.Groups, 1)
		g := res.Groups[0]
		require.Equal(t, []string{src}, g.Paths)
		require.Len(t, g.Keep, 2)
		require.Equal(t, s4, g.Keep[0].ShortID)
		require.Equal(t, []string{"last 1"}, g.Keep[0].Reasons)
		require.Equal(t, s2, g.Keep[1].ShortID)
		require.Equal(t, []string{"tag keepme"}, g.Keep[1].Reasons)
		require.Len(t, g.Remove, 2)
		require.Equal(t, []string{s3, s1}, []string{g.Remove[0].ShortID, g.Remove[1].ShortID})

		c.okJSON(&res, "forget", "--keep-within", "7d", "--dry-run", "--group-by", "none")
		require.Len(t, res.Groups[0].Keep, 4)
		require.Equal(t, []string{"within 7d"}, res.Groups[0].Keep[0].Reasons)
		require.Equal(t, []string{s1, s2, s3, s4}, snapshotIDs(t, c), "a dry run deletes nothing")
		require.Len(t, maintPackFiles(t, c), packs)
	})

	t.Run("policy and prune", func(t *testing.T) {
		c := c.on(t)
		var res forgetJSON
		c.okJSON(&res, "forget", "--keep-last", "1", "--keep-tag", "keepme", "--prune")
		require.Equal(t, []repo.ID{ids[2], ids[0]}, res.Removed)
		require.Equal(t, []string{s2, s4}, snapshotIDs(t, c))
		require.NotNil(t, res.Prune)
		require.NotEmpty(t, res.Prune.Deleted)
		require.NotZero(t, res.Prune.BytesDeleted)
		require.Less(t, len(maintPackFiles(t, c)), packs, "the data of the removed snapshots is gone")
		require.Contains(t, c.ok("check"), "no errors found")
		out := filepath.Join(t.TempDir(), "out")
		c.ok("restore", s2, "--target", out, "--verify")
	})

	t.Run("IDs then prune", func(t *testing.T) {
		c := c.on(t)
		before := len(maintPackFiles(t, c))
		require.Contains(t, c.ok("forget", s2, "--dry-run"), "would remove 1 snapshot")
		require.Equal(t, []string{s2, s4}, snapshotIDs(t, c))
		out := c.ok("forget", s2)
		require.Contains(t, out, s2)
		require.Contains(t, out, "removed 1 snapshot")
		require.Equal(t, []string{s4}, snapshotIDs(t, c))

		require.Contains(t, c.ok("prune", "--dry-run"), "dry run")
		require.Len(t, maintPackFiles(t, c), before)
		var rep pruneJSON
		c.okJSON(&rep, "prune")
		require.NotEmpty(t, rep.Deleted)
		require.Len(t, maintPackFiles(t, c), before-len(rep.Deleted))
		require.Contains(t, c.ok("check"), "no errors found")
	})

	t.Run("usage errors", func(t *testing.T) {
		c := c.on(t)
		for _, tt := range []struct {
			args []string
			msg  string
		}{
			{[]string{"forget"}, "an empty policy would remove every snapshot"},
			{[]string{"forget", "--prune"}, "no --keep rule given"},
			{[]string{"forget", s4, "--keep-last", "1"}, "not both"},
			{[]string{"forget", "--keep-within", "7x"}, "want a duration such as 7d"},
			{[]string{"forget", "--keep-within", "-1h"}, "want a positive duration"},
			{[]string{"forget", "--keep-last", "-2"}, "-1 for no limit"},
			{[]string{"forget", "--keep-last", "1", "--group-by", "colour"}, "--group-by"},
			{[]string{"forget", "--keep-tag", ""}, "--keep-tag needs a tag"},
			{[]string{"forget", "abcdef12"}, `snapshot "abcdef12" not found`},
			{[]string{"prune", "--max-unused", "150%"}, "want a percentage"},
			{[]string{"prune", "--max-unused", "5"}, "want a percentage"},
			{[]string{"prune", "--max-repack-size", "5X"}, "want a size"},
			{[]string{"forget", "--keep-last", "1", "--prune", "--max-repack-size", "lots"}, "want a size"},
			{[]string{"forget", "--keep-last", "1", "--max-unused", "10%"}, "go with --prune"},
		} {
			c.fails(exitError, tt.msg, tt.args...)
		}
		require.Equal(t, []string{s4}, snapshotIDs(t, c))
		var rep pruneJSON
		c.okJSON(&rep, "prune", "--dry-run", "--max-unused", "0%", "--max-repack-size", "1.5M")
		require.True(t, rep.DryRun)
		c.okJSON(&rep, "prune", "--dry-run", "--max-unused", "unlimited", "--max-repack-size", "1048576")
	})
}

func TestParseHelpers(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]int64{"0": 0, "1048576": 1 << 20, "500M": 500 << 20, "1.5 GiB": 3 << 29, "2g": 2 << 30, "7kb": 7 << 10} {
		got, err := parseSize(s)
		require.NoError(t, err, s)
		require.Equal(t, want, got, s)
	}
	for _, s := range []string{"", "M", "-1", "1.2.3", "5X", "1e3"} {
		_, err := parseSize(s)
		require.Error(t, err, s)
	}
	for s, want := range map[string]string{"7d": "168h0m0s", "36h": "36h0m0s", "1d12h": "36h0m0s", "90m": "1h30m0s"} {
		got, err := parseWithin(s)
		require.NoError(t, err, s)
		require.Equal(t, want, got.String(), s)
	}
	for _, s := range []string{"", "d", "7", "0d", "7dd", "-3d", "1w"} {
		_, err := parseWithin(s)
		require.Error(t, err, s)
	}
}
